package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infermetrics/infermetrics/infermetricstest"
)

type (
	event    = infermetricstest.Event
	scenario = infermetricstest.Scenario
	request  = infermetricstest.Request
)

// usage is the test kit's usage chunk with no reasoning or cached tokens.
// It is the only call of infermetricstest.Usage in this package.
func usage(prompt, completion int) event {
	return infermetricstest.Usage(infermetricstest.Tokens{Input: prompt, Output: completion})
}

// answer is a streamed answer whose first token comes after ttft and the
// second 20ms later, with the given finish reason and 100 prompt and 10
// completion tokens.
func answer(ttft time.Duration, finish string) scenario {
	return scenario{Events: []event{
		infermetricstest.Role(),
		infermetricstest.Content("Hello ").After(ttft),
		infermetricstest.Content("world").After(20 * ms),
		infermetricstest.Finish(finish),
		usage(100, 10),
		infermetricstest.Done(),
	}}
}

// servers maps target names to test servers, reached in memory.
type servers map[string]*infermetricstest.Server

func (s servers) transport(t Target) http.RoundTripper { return s[t.Name].Transport() }

func (s servers) close() {
	for _, srv := range s {
		srv.Close()
	}
}

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bench.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readSummary reads summary.json from dir.
func readSummary(t *testing.T, dir string) *Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func findCell(t *testing.T, s *Summary, target, load string) *Cell {
	t.Helper()
	for i := range s.Cells {
		if c := &s.Cells[i]; c.Target == target && c.Load == load {
			return c
		}
	}
	t.Fatalf("no cell %s %s in the summary", target, load)
	return nil
}

// near checks an optional figure against a value worked out by hand.
func near(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %v", name, want)
		return
	}
	if math.Abs(*got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", name, *got, want)
	}
}

const e2eConfig = `
targets:
  - name: fixed
    base_url: http://fixed.invalid/v1
    model: test-model
    provider: testprov
    price: {input: 1, output: 2}
    extra: {reasoning_effort: low}
  - name: flaky
    base_url: http://flaky.invalid/v1
    model: test-model
    price: {input: 1, output: 2}
  - name: down
    base_url: http://down.invalid/v1
    model: test-model
  - name: absent
    base_url: http://absent.invalid/v1
    model: not-here
  - name: coldsim
    base_url: http://coldsim.invalid/v1
    model: sim
scenarios:
  - name: chat
    prompts: ["first prompt", "second prompt", "third prompt"]
    max_tokens: 64
loads: [sequential, burst=4, rate=50/s, cold=1s]
trials: 25
warmups: 3
cold_trials: 3
timeout: 30s
`

// newE2EServers returns the servers of e2eConfig, each with timing known
// in advance.
func newE2EServers() servers {
	return servers{
		// Warmups (requests 0-2) wait 1s for the first token; measured
		// request N waits (N-2)*10ms: 10ms to 250ms in the sequential
		// cell. Every fourth stops at the length limit.
		"fixed": infermetricstest.NewServerFunc(func(r request) scenario {
			if r.N < 3 {
				return answer(time.Second, "stop")
			}
			finish := "stop"
			if r.N%4 == 0 {
				finish = "length"
			}
			return answer(time.Duration(r.N-2)*10*ms, finish)
		}),
		// Every fifth request fails with 500.
		"flaky": infermetricstest.NewServerFunc(func(r request) scenario {
			if r.N%5 == 4 {
				return scenario{Status: 500}
			}
			return answer(50*ms, "stop")
		}),
		"down":   infermetricstest.NewServer(scenario{Status: 503}),
		"absent": infermetricstest.NewServerFunc(infermetricstest.NewSimulator(1, nil).Scenario),
		// 50ms to the first token, 450ms when cold (idle over 500ms);
		// full speed for two requests at once.
		"coldsim": infermetricstest.NewServerFunc(infermetricstest.NewSimulator(1, map[string]infermetricstest.Model{
			"sim": {
				FirstToken: infermetricstest.Fixed(50 * ms), TokenGap: infermetricstest.Fixed(10 * ms), AnswerTokens: 3,
				ColdAfter: 500 * ms, ColdStart: 400 * ms, Capacity: 2,
			},
		}).Scenario),
	}
}

// runE2E runs e2eConfig in a synctest bubble, with 3ms of harness lag
// added ahead of every request, and returns the folder.
func runE2E(t *testing.T, srv servers) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run")
	o := benchOptions{
		config: writeConfig(t, e2eConfig), out: out, warmups: -1,
		transport: srv.transport,
		before:    func(*http.Request) { time.Sleep(3 * ms) },
		progress:  quiet{},
	}
	if _, err := bench(t.Context(), o, io.Discard, io.Discard); err != nil {
		t.Fatalf("bench: %v", err)
	}
	return out
}

func TestBenchEndToEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newE2EServers()
		defer srv.close()
		out := runE2E(t, srv)
		s := readSummary(t, out)
		if s.Schema != "infermetrics.bench/v1" || s.Simulated {
			t.Errorf("schema %q, simulated %v; want infermetrics.bench/v1, false", s.Schema, s.Simulated)
		}
		if got, want := len(s.Cells), 5*4; got != want {
			t.Fatalf("%d cells, want %d", got, want)
		}

		// The sequential cell of "fixed": TTFTs 10ms..250ms, warmups
		// (1s) left out.
		c := findCell(t, s, "fixed", "sequential")
		if c.Trials != 25 || c.Warmups != 3 || c.Succeeded != 25 || c.Useful != 19 {
			t.Errorf("fixed: trials %d warmups %d succeeded %d useful %d; want 25 3 25 19", c.Trials, c.Warmups, c.Succeeded, c.Useful)
		}
		if c.Model != "test-model" || c.Provider != "testprov" || c.Availability != "ok" {
			t.Errorf("fixed: model %q provider %q availability %q", c.Model, c.Provider, c.Availability)
		}
		near(t, "ttft p50", c.TTFT.P50, 0.130)  // h = 12
		near(t, "ttft p90", c.TTFT.P90, 0.226)  // h = 21.6
		near(t, "ttft p95", c.TTFT.P95, 0.238)  // h = 22.8
		near(t, "ttft p99", c.TTFT.P99, 0.2476) // h = 23.76
		near(t, "ttft p50 lo", c.TTFT.P50CI[0], 0.080)
		near(t, "ttft p50 hi", c.TTFT.P50CI[1], 0.180)
		near(t, "ttft p95 lo", c.TTFT.P95CI[0], 0.210)
		if c.TTFT.P95CI[1] != nil {
			t.Errorf("ttft p95 upper bound %v, want null with 25 trials", *c.TTFT.P95CI[1])
		}
		near(t, "ttfa p50", c.TTFA.P50, 0.130)
		near(t, "e2e p50", c.E2E.P50, 0.150)
		near(t, "e2e p99", c.E2E.P99, 0.2676)
		// 100 input tokens at $1/M and 10 output at $2/M: $0.00012 a call;
		// 6 of 25 truncated (requests 4, 8, ..., 24).
		near(t, "cost per call", c.CostPerCall, 0.00012)
		near(t, "cost per useful", c.CostPerUseful, 25*0.00012/19)
		near(t, "wasted", c.Wasted, 6*0.00012)
		if c.Flags["truncated"] != 6 {
			t.Errorf("flags %v, want truncated=6", c.Flags)
		}
		// Every request waited 3ms in the harness before the library saw it.
		near(t, "harness lag p50", c.HarnessLag.P50, 0.003)
		near(t, "harness lag p99", c.HarnessLag.P99, 0.003)
		// 250 output tokens over 25 × 3ms of lag plus the answers' 10..250ms
		// and 20ms each: 3.825s.
		near(t, "throughput", c.Throughput, 250/3.825)

		// Availability.
		f := findCell(t, s, "flaky", "sequential")
		if f.Trials != 25 || f.Succeeded != 20 || f.Availability != "erratic" || f.Errors["server_error"] != 5 {
			t.Errorf("flaky: trials %d succeeded %d availability %q errors %v; want 25 20 erratic server_error=5",
				f.Trials, f.Succeeded, f.Availability, f.Errors)
		}
		near(t, "flaky cost per useful", f.CostPerUseful, 20*0.00012/20)
		if d := findCell(t, s, "down", "sequential"); d.Availability != "unavailable" || d.Succeeded != 0 || d.PriceKnown {
			t.Errorf("down: availability %q succeeded %d price known %v; want unavailable 0 false", d.Availability, d.Succeeded, d.PriceKnown)
		}
		if a := findCell(t, s, "absent", "sequential"); a.Availability != "not_offered" || a.Errors["model_not_found"] != 25 {
			t.Errorf("absent: availability %q errors %v; want not_offered, model_not_found=25", a.Availability, a.Errors)
		}

		// Cold: each request after 1s idle, past the 500ms ColdAfter.
		warm := findCell(t, s, "coldsim", "sequential")
		near(t, "coldsim warm p50", warm.TTFT.P50, 0.050)
		cold := findCell(t, s, "coldsim", "cold=1s")
		if cold.Trials != 3 || cold.Warmups != 0 {
			t.Errorf("cold: trials %d warmups %d, want 3 0", cold.Trials, cold.Warmups)
		}
		near(t, "cold ttft p50", cold.TTFT.P50, 0.450)
		near(t, "cold warm reference", cold.WarmTTFTP50, 0.050)
		// Burst of 4 on capacity 2: first tokens at 50, 50, 75 and 100ms;
		// 25 trials round up to 7 bursts, 28 trials: 14×50, 7×75, 7×100.
		b := findCell(t, s, "coldsim", "burst=4")
		if b.Trials != 28 || b.Concurrency == nil || *b.Concurrency != 4 {
			t.Errorf("burst: trials %d concurrency %v, want 28, 4", b.Trials, b.Concurrency)
		}
		near(t, "burst ttft p50", b.TTFT.P50, 0.0625) // h = 13.5
		near(t, "burst ttft p90", b.TTFT.P90, 0.100)
		near(t, "burst warm reference", b.WarmTTFTP50, 0.050)
		near(t, "burst harness lag p99", b.HarnessLag.P99, 0.003)
		r := findCell(t, s, "coldsim", "rate=50/s")
		if r.Trials != 25 || r.Concurrency != nil {
			t.Errorf("rate: trials %d concurrency %v, want 25, null", r.Trials, r.Concurrency)
		}
		// Poisson arrivals, each sent when it arrives, whatever the
		// queue: the harness adds only the 3ms.
		near(t, "rate harness lag p50", r.HarnessLag.P50, 0.003)
		near(t, "rate harness lag p99", r.HarnessLag.P99, 0.003)
		// On "fixed", the rate cell follows 28 sequential and 31 burst
		// requests: its measured requests are N = 62..86, whose first
		// tokens wait (N-2)*10ms; the median is N = 74.
		near(t, "fixed rate ttft p50", findCell(t, s, "fixed", "rate=50/s").TTFT.P50, 0.720)

		// trials.jsonl keeps every attempt, warmups marked.
		trials, err := readTrials(filepath.Join(out, "trials.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		// Per target: 28 sequential, 3+28 burst, 28 rate, 3 cold.
		if got, want := len(trials), 5*(28+31+28+3); got != want {
			t.Errorf("%d trials recorded, want %d", got, want)
		}
		warmups := 0
		for _, tr := range trials {
			if tr.Warmup {
				warmups++
				if tr.Target == "fixed" && tr.Load == "sequential" && tr.Call.TimeToFirstToken != 1 {
					t.Errorf("fixed warmup %d: TTFT %v, want 1s", tr.Seq, tr.Call.TimeToFirstToken)
				}
			}
		}
		if want := 5 * 3 * 3; warmups != want {
			t.Errorf("%d warmups recorded, want %d", warmups, want)
		}

		// The requests: prompts in order, cycling; temperature 0; the
		// budget; the target's extra fields; retries off.
		reqs := srv["fixed"].Requests()
		for i, want := range []string{"first prompt", "second prompt", "third prompt", "first prompt"} {
			var body struct {
				Messages        []struct{ Content string }
				Temperature     *float64 `json:"temperature"`
				MaxTokens       int      `json:"max_completion_tokens"`
				ReasoningEffort string   `json:"reasoning_effort"`
				Stream          bool     `json:"stream"`
			}
			if err := json.Unmarshal(reqs[i].Body, &body); err != nil {
				t.Fatal(err)
			}
			if len(body.Messages) != 1 || body.Messages[0].Content != want || body.Temperature == nil || *body.Temperature != 0 ||
				body.MaxTokens != 64 || body.ReasoningEffort != "low" || !body.Stream {
				t.Errorf("request %d: %s", i, reqs[i].Body)
			}
		}
		if got := len(srv["flaky"].Requests()); got != 28+31+28+3 {
			t.Errorf("flaky got %d requests, want %d: retries must be off", got, 28+31+28+3)
		}

		// The other outputs exist and name the run.
		for _, name := range []string{"run.json", "summary.csv", "report.html"} {
			if _, err := os.Stat(filepath.Join(out, name)); err != nil {
				t.Error(err)
			}
		}
		var run RunInfo
		b2, _ := os.ReadFile(filepath.Join(out, "run.json"))
		if err := json.Unmarshal(b2, &run); err != nil {
			t.Fatal(err)
		}
		if run.Ended == nil || run.Interrupted || run.Prices["fixed"].Source != "config" || run.Versions.Library == "" {
			t.Errorf("run.json: %s", b2)
		}
		if run.Host.GOMAXPROCS != runtime.GOMAXPROCS(0) || run.Host.GOGC != gcPercent() || run.Host.CPUs != runtime.NumCPU() {
			t.Errorf("run.json host %+v, want GOMAXPROCS %d, GOGC %d", run.Host, runtime.GOMAXPROCS(0), gcPercent())
		}
	})
}

func TestReportMerge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Two runs of one target: TTFTs 10..250ms, then 260..500ms.
		run := func(offset time.Duration) string {
			srv := servers{"fixed": infermetricstest.NewServerFunc(func(r request) scenario {
				return answer(offset+time.Duration(r.N+1)*10*ms, "stop")
			})}
			defer srv.close()
			out := filepath.Join(t.TempDir(), "run")
			o := benchOptions{
				config: writeConfig(t, `
targets: [{name: fixed, base_url: "http://fixed.invalid/v1", model: m}]
scenarios: [{name: chat, prompts: [hi]}]
loads: [sequential]
warmups: 0
`),
				out: out, warmups: -1, transport: srv.transport, progress: quiet{},
			}
			if _, err := bench(t.Context(), o, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			return out
		}
		a, b := run(0), run(250*ms)

		// Re-rendering one folder gives the figures bench wrote.
		before, _ := os.ReadFile(filepath.Join(a, "summary.json"))
		if _, err := report([]string{a}, a, io.Discard); err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(filepath.Join(a, "summary.json"))
		if !bytes.Equal(before, after) {
			t.Errorf("report over the bench folder changed summary.json")
		}

		merged := filepath.Join(t.TempDir(), "merged")
		var stdout bytes.Buffer
		if _, err := report([]string{a, b}, merged, &stdout); err != nil {
			t.Fatal(err)
		}
		s := readSummary(t, merged)
		if len(s.Runs) != 2 || len(s.Cells) != 1 {
			t.Fatalf("merged: %d runs, %d cells; want 2, 1", len(s.Runs), len(s.Cells))
		}
		c := s.Cells[0]
		// 50 values 10..500ms: p50 at h = 24.5; the median's interval of 50
		// is X(18), X(33).
		if c.Trials != 50 || len(c.Windows) != 2 {
			t.Errorf("merged: %d trials, %d windows; want 50, 2", c.Trials, len(c.Windows))
		}
		near(t, "merged p50", c.TTFT.P50, 0.255)
		near(t, "merged p50 lo", c.TTFT.P50CI[0], 0.180)
		near(t, "merged p50 hi", c.TTFT.P50CI[1], 0.330)
		near(t, "window 1 p50", c.Windows[0].TTFTP50, 0.130)
		near(t, "window 2 p50", c.Windows[1].TTFTP50, 0.380)
		if !strings.Contains(stdout.String(), "fixed") {
			t.Errorf("no summary table on stdout: %q", stdout.String())
		}
		if _, err := report([]string{a, a}, merged, io.Discard); err == nil {
			t.Errorf("report accepted the same folder twice")
		}
	})
}

func TestBenchInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Each answer takes 100ms (80ms to the first token, 20ms more).
		srv := servers{"slow": infermetricstest.NewServerFunc(func(request) scenario { return answer(80*ms, "stop") })}
		defer srv.close()
		out := filepath.Join(t.TempDir(), "run")
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(1050*ms, cancel)
		o := benchOptions{
			config: writeConfig(t, `
targets: [{name: slow, base_url: "http://slow.invalid/v1", model: m}]
scenarios: [{name: chat, prompts: [hi]}]
loads: [sequential]
warmups: 2
`),
			out: out, warmups: -1, transport: srv.transport, progress: quiet{},
		}
		if _, err := bench(ctx, o, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		trials, err := readTrials(filepath.Join(out, "trials.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		// Ten answers ended by 1s; the eleventh was cut at 1.05s.
		if len(trials) != 11 {
			t.Fatalf("%d trials recorded, want 11", len(trials))
		}
		last := trials[10]
		if !last.Interrupted || last.Call.ErrorType != "canceled" {
			t.Errorf("last trial: interrupted %v error type %q; want true, canceled", last.Interrupted, last.Call.ErrorType)
		}
		s := readSummary(t, out)
		c := s.Cells[0]
		if c.Trials != 8 || c.Warmups != 2 || c.Interrupted != 1 || c.Availability != "ok" {
			t.Errorf("trials %d warmups %d interrupted %d availability %q; want 8 2 1 ok", c.Trials, c.Warmups, c.Interrupted, c.Availability)
		}
		var run RunInfo
		b, _ := os.ReadFile(filepath.Join(out, "run.json"))
		json.Unmarshal(b, &run)
		if !run.Interrupted {
			t.Errorf("run.json does not say the run was interrupted")
		}
	})
}

func TestBenchCaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := servers{"t": infermetricstest.NewServerFunc(func(request) scenario { return answer(80*ms, "stop") })}
		defer srv.close()
		out := filepath.Join(t.TempDir(), "run")
		o := benchOptions{
			config: writeConfig(t, `
targets: [{name: t, base_url: "http://t.invalid/v1", model: m}]
scenarios: [{name: chat, prompts: [hi]}]
loads: [concurrency=4]
max_requests: 10
`),
			out: out, warmups: -1, transport: srv.transport, progress: quiet{},
		}
		if _, err := bench(t.Context(), o, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		if got := len(srv["t"].Requests()); got != 10 {
			t.Errorf("%d requests sent, want max_requests 10", got)
		}
		var run RunInfo
		b, _ := os.ReadFile(filepath.Join(out, "run.json"))
		json.Unmarshal(b, &run)
		if run.Capped != "max_requests" {
			t.Errorf("run.json capped = %q, want max_requests", run.Capped)
		}
	})
}

func TestBadConfigSendsNothing(t *testing.T) {
	srv := infermetricstest.NewServer(answer(0, "stop"))
	defer srv.Close()
	good := "  - {name: good, base_url: " + srv.URL() + ", model: m}\n"
	tests := []struct {
		name, config, want string
	}{
		{"no targets", "scenarios: [{name: c, prompts: [hi]}]\n", "targets"},
		{"unknown key", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi]}]\ntrails: 5\n", "trails"},
		{"target without model", "targets:\n" + good + "  - {name: bad, base_url: http://x/v1}\nscenarios: [{name: c, prompts: [hi]}]\n", "targets[1] (bad).model"},
		{"duplicate target", "targets:\n" + good + good + "scenarios: [{name: c, prompts: [hi]}]\n", "targets[1] (good).name"},
		{"bad base_url", "targets:\n  - {name: b, base_url: localhost:8000, model: m}\nscenarios: [{name: c, prompts: [hi]}]\n", "targets[0] (b).base_url"},
		{"negative price", "targets:\n  - {name: b, base_url: http://x/v1, model: m, price: {input: -1}}\nscenarios: [{name: c, prompts: [hi]}]\n", "targets[0] (b).price.input"},
		{"extra sets stream", "targets:\n  - {name: b, base_url: http://x/v1, model: m, extra: {stream: false}}\nscenarios: [{name: c, prompts: [hi]}]\n", "targets[0] (b).extra.stream"},
		{"no prompts", "targets:\n" + good + "scenarios: [{name: c}]\n", "scenarios[0] (c).prompts"},
		{"missing prompts file", "targets:\n" + good + "scenarios: [{name: c, prompts_file: nope.jsonl}]\n", "scenarios[0] (c).prompts_file"},
		{"bad load", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi]}]\nloads: [sequential, concurrency=zero]\n", "loads[1]"},
		{"rate without /s", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi]}]\nloads: [rate=5]\n", "loads[0]"},
		{"zero trials", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi]}]\ntrials: 0\n", "trials"},
		{"bad timeout", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi]}]\ntimeout: soon\n", "soon"},
		{"bad window_gap", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi]}]\nwindow_gap: -1m\n", "window_gap"},
		{"bad max_tokens_field", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi], max_tokens_field: budget}]\n", "max_tokens_field"},
		{"chat budget named for responses", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi], max_tokens_field: max_output_tokens}]\n", "scenarios[0] (c).max_tokens_field"},
		{"unknown api", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi], api: completions}]\n", "scenarios[0] (c).api"},
		{"responses with a chat budget", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi], api: responses, max_tokens_field: max_tokens}]\n", "scenarios[0] (c).max_tokens_field"},
		{"extra sets input", "targets:\n  - {name: b, base_url: http://x/v1, model: m, extra: {input: x}}\nscenarios: [{name: c, prompts: [hi]}]\n", "targets[0] (b).extra.input"},
		{"negative max_requests", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi]}]\nmax_requests: -1\n", "max_requests: -1 is negative"},
		{"negative timeout", "targets:\n" + good + "scenarios: [{name: c, prompts: [hi]}]\ntimeout: -5s\n", "timeout: -5s is negative"},
		{"scenario without name", "targets:\n" + good + "scenarios: [{prompts: [hi]}]\n", "scenarios[0].name"},
		{"empty", "", "empty config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := benchOptions{config: writeConfig(t, tt.config), out: filepath.Join(t.TempDir(), "run"), warmups: -1, progress: quiet{}}
			_, err := bench(t.Context(), o, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("bad configs sent %d requests, want none", n)
	}
}

func TestPromptsFileAndNonStreamed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := servers{"t": infermetricstest.NewServerFunc(func(request) scenario { return answer(30*ms, "stop") })}
		defer srv.close()
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "p.jsonl"), []byte(
			`[{"role":"system","content":"be brief"},{"role":"user","content":"one"}]`+"\n\n"+
				`[{"role":"user","content":"two"}]`+"\n"), 0o644)
		path := filepath.Join(dir, "bench.yaml")
		os.WriteFile(path, []byte(`
targets: [{name: t, base_url: "http://t.invalid/v1", model: m}]
scenarios: [{name: file, prompts_file: p.jsonl, stream: false, temperature: none}]
trials: 3
warmups: 0
`), 0o644)
		out := filepath.Join(dir, "run")
		o := benchOptions{config: path, out: out, warmups: -1, transport: srv.transport, progress: quiet{}}
		if _, err := bench(t.Context(), o, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		reqs := srv["t"].Requests()
		if len(reqs) != 3 {
			t.Fatalf("%d requests, want 3", len(reqs))
		}
		for i, want := range []string{`"content":"one"`, `"content":"two"`, `"content":"one"`} {
			body := string(reqs[i].Body)
			if !strings.Contains(body, want) || strings.Contains(body, `"stream":true`) || strings.Contains(body, "temperature") {
				t.Errorf("request %d: %s; want %s, not streamed, no temperature", i, body, want)
			}
		}
		if !strings.Contains(string(reqs[0].Body), `"be brief"`) {
			t.Errorf("request 0 lost the system message: %s", reqs[0].Body)
		}
		c := readSummary(t, out).Cells[0]
		// Not streamed: the answer arrives in one piece after 50ms.
		if c.Succeeded != 3 {
			t.Errorf("succeeded %d, want 3", c.Succeeded)
		}
		near(t, "e2e p50", c.E2E.P50, 0.050)
	})
}
