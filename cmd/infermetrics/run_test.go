package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// cannedStream is an http.RoundTripper that answers every request with the
// same streamed chat completion of n content chunks, from memory, so that
// it allocates nothing per chunk itself.
type cannedStream struct{ body []byte }

func newCannedStream(n int) *cannedStream {
	var b strings.Builder
	chunk := func(delta, finish, usage string) {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]%s}`+"\n\n", delta, finish, usage)
	}
	chunk(`{"role":"assistant","content":""}`, "null", "")
	for range n {
		chunk(`{"content":"tok "}`, "null", "")
	}
	chunk(`{}`, `"stop"`, "")
	fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n", n, n+1)
	b.WriteString("data: [DONE]\n\n")
	return &cannedStream{body: []byte(b.String())}
}

func (c *cannedStream) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/event-stream"}},
		Body:    io.NopCloser(bytes.NewReader(c.body)),
		Request: req,
	}, nil
}

// TestAttemptAllocsPerChunk checks that a streamed attempt leaves its
// chunks undecoded: openai-go's stream reader frames them (about 5
// allocations and 400 bytes a chunk) but builds no ChatCompletionChunk,
// which took about 50 allocations and 5 KB a chunk and, at hundreds of
// streams, brought on the collections that made the harness's p99 lag
// (BENCHMARKS.md section 6). The library reads the chunks itself.
func TestAttemptAllocsPerChunk(t *testing.T) {
	allocs := func(chunks int) float64 {
		cfg, err := loadConfig(writeConfig(t, `
targets: [{name: canned, base_url: "http://canned.invalid/v1", model: m, api_key_env: INFERMETRICS_NO_KEY}]
scenarios: [{name: chat, prompts: [hi], max_tokens: 16}]
loads: [concurrency=1]
trials: 1
warmups: 0
`))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := newRecorder(filepath.Join(t.TempDir(), "trials.jsonl"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rec.close()
		canned := newCannedStream(chunks)
		r := &runner{cfg: cfg, runID: "r", rec: rec, prog: quiet{}, stop: context.Background(),
			transport: func(Target) http.RoundTripper { return canned }}
		load, _ := parseLoad("concurrency=1")
		tr, err := r.newTargetRun(cfg.Targets[0], []Load{load})
		if err != nil {
			t.Fatal(err)
		}
		c := &cellRun{tr: tr, scenario: &cfg.Scenarios[0], load: load}
		c.attempt(0, 0, true, time.Now()) // the slot, pools and caches
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		a := testing.AllocsPerRun(20, func() {
			if !c.attempt(0, 1, false, time.Now()) {
				t.Fatal("attempt not started")
			}
		})
		runtime.ReadMemStats(&m1)
		t.Logf("%d chunks: %.0f bytes an attempt", chunks, float64(m1.TotalAlloc-m0.TotalAlloc)/21)
		return a
	}
	short, long := allocs(10), allocs(510)
	if perChunk := (long - short) / 500; perChunk > 10 {
		t.Errorf("an attempt of 510 chunks allocates %.0f times, one of 10 %.0f: %.1f a chunk, want at most 10", long, short, perChunk)
	}
	t.Logf("allocations per attempt: %.0f (10 chunks), %.0f (510 chunks)", short, long)
}

// gatedFile is a trials.jsonl whose writes wait for open to be closed.
type gatedFile struct {
	open  chan struct{}
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // a value after every write
}

func (f *gatedFile) Write(p []byte) (int, error) {
	<-f.open
	f.mu.Lock()
	defer f.mu.Unlock()
	f.b.Write(p)
	select {
	case f.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (f *gatedFile) Close() error { return nil }

func (f *gatedFile) lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Split(strings.TrimSuffix(f.b.String(), "\n"), "\n")
}

// TestRecorderOffDispatchPath checks that recording a trial does not wait
// for its line to be encoded and written (the goroutine that records it
// sends the next request), that each line still reaches the file without
// waiting for later ones, and that close writes every queued line, in
// order, and runs after for each.
func TestRecorderOffDispatchPath(t *testing.T) {
	f := &gatedFile{open: make(chan struct{}), wrote: make(chan struct{}, 1)}
	var after []int
	rec := newRecorderTo(f, func(tr *Trial) { after = append(after, tr.Seq) })
	added := make(chan struct{})
	go func() {
		for i := range 3 {
			rec.add(&Trial{Run: "r", Seq: i})
		}
		close(added)
	}()
	select {
	case <-added:
	case <-time.After(5 * time.Second):
		t.Fatal("add waited for the file")
	}
	close(f.open)
	<-f.wrote // the three queued lines, in one write or more

	// A line added on its own is flushed without waiting for another.
	for len(f.lines()) < 3 {
		<-f.wrote
	}
	rec.add(&Trial{Run: "r", Seq: 3})
	for deadline := time.Now().Add(5 * time.Second); len(f.lines()) < 4; {
		if time.Now().After(deadline) {
			t.Fatal("a lone line was not flushed")
		}
		time.Sleep(time.Millisecond)
	}
	rec.add(&Trial{Run: "r", Seq: 4})
	if err := rec.close(); err != nil {
		t.Fatal(err)
	}
	lines := f.lines()
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5: %q", len(lines), lines)
	}
	for i, l := range lines {
		var tr Trial
		if err := json.Unmarshal([]byte(l), &tr); err != nil || tr.Seq != i {
			t.Errorf("line %d: seq %d, %v", i, tr.Seq, err)
		}
		want, _ := json.Marshal(&Trial{Run: "r", Seq: i})
		if l != string(want) {
			t.Errorf("line %d is %s, json.Marshal gives %s", i, l, want)
		}
	}
	if !slices.Equal(after, []int{0, 1, 2, 3, 4}) {
		t.Errorf("after ran for %v, want 0 to 4", after)
	}
}

// BenchmarkDispatch measures the CPU a request costs the client, from
// memory (no sockets, no server): a harness attempt of a stream of 0 or 10
// content chunks, everything included (the library, the Call, the
// trials.jsonl line), and a plain openai-go call reading the same stream.
// In the phase-locked lag workload every stream ends and sends again at
// the same moment, so N streams queue about N times the 0-chunk figure
// (and the server's share) on the machine's cores (BENCHMARKS.md
// section 6).
func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{0, 10} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) { benchmarkDispatch(b, newCannedStream(n)) })
	}
}

func benchmarkDispatch(b *testing.B, canned *cannedStream) {
	b.Run("harness", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "bench.yaml")
		if err := os.WriteFile(path, []byte(`
targets: [{name: canned, base_url: "http://canned.invalid/v1", model: m, api_key_env: INFERMETRICS_NO_KEY}]
scenarios: [{name: chat, prompts: [hi], max_tokens: 16}]
loads: [concurrency=1]
trials: 1
warmups: 0
`), 0o644); err != nil {
			b.Fatal(err)
		}
		cfg, err := loadConfig(path)
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxRequests = 1 << 62
		rec, err := newRecorder(filepath.Join(b.TempDir(), "trials.jsonl"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer rec.close()
		r := &runner{cfg: cfg, runID: "r", rec: rec, prog: quiet{}, stop: context.Background(),
			transport: func(Target) http.RoundTripper { return canned }}
		load, _ := parseLoad("concurrency=1")
		tr, err := r.newTargetRun(cfg.Targets[0], []Load{load})
		if err != nil {
			b.Fatal(err)
		}
		c := &cellRun{tr: tr, scenario: &cfg.Scenarios[0], load: load}
		b.ReportAllocs()
		for b.Loop() {
			c.attempt(0, 1, false, time.Now())
		}
	})
	b.Run("plain", func(b *testing.B) {
		client := openai.NewClient(option.WithBaseURL("http://canned.invalid/v1"), option.WithAPIKey("k"),
			option.WithHTTPClient(&http.Client{Transport: canned}), option.WithMaxRetries(0))
		b.ReportAllocs()
		for b.Loop() {
			st := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
				Model:       "m",
				Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
				Temperature: openai.Float(0),
			})
			for st.Next() {
			}
			st.Close()
		}
	})
}

// TestStreamKeepsConnection checks that a slot's next request reuses its
// connection when the server ends the chunked body a little after [DONE]:
// the stream reader stops at [DONE], and a body closed before its end
// would close the connection, and the next request would dial inside its
// lag.
func TestStreamKeepsConnection(t *testing.T) {
	var conns atomic.Int32
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}`+"\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
		w.(http.Flusher).Flush()
		time.Sleep(5 * time.Millisecond) // the terminator comes on its own
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	cfg := fmt.Sprintf(`
targets: [{name: t, base_url: %q, model: m, api_key_env: INFERMETRICS_NO_KEY}]
scenarios: [{name: chat, prompts: [hi], max_tokens: 16}]
loads: [sequential]
trials: 5
warmups: 0
`, ts.URL+"/v1")
	s, err := bench(t.Context(), benchOptions{config: writeConfig(t, cfg), out: filepath.Join(t.TempDir(), "run"), warmups: -1, progress: quiet{}}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Cells[0]; c.Succeeded != 5 {
		t.Fatalf("%d of 5 succeeded", c.Succeeded)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 requests one after another opened %d connections, want 1", n)
	}
}

// TestIdleIsPerTarget checks that the library's idle tracking (Call.Idle)
// sees a target's requests as one client's: only the first request of
// the run to the target is cold, whichever slot sends a later one.
func TestIdleIsPerTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := servers{"t": infermetricstest.NewServerFunc(func(request) scenario { return answer(30*ms, "stop") })}
		defer srv.close()
		cfg := `
targets: [{name: t, base_url: "http://t.invalid/v1", model: m}]
scenarios: [{name: chat, prompts: [hi], max_tokens: 16}]
loads: [sequential, concurrency=4]
trials: 8
warmups: 1
`
		trials := benchTrials(t, srv, cfg)
		if len(trials) != 18 {
			t.Fatalf("%d trials, want 18", len(trials))
		}
		for _, tr := range trials {
			first := tr.Load == "sequential" && tr.Seq == 0
			if (tr.Call.Idle == infermetrics.IdleCold) != first {
				t.Errorf("%s attempt %d: idle %q (%.3fs)", tr.Load, tr.Seq, tr.Call.Idle, tr.Call.IdleTime)
			}
		}
	})
}

// TestLanesRoute checks that a request goes to the lane its context
// names, modulo the number of lanes, and to the first without one.
func TestLanesRoute(t *testing.T) {
	var got []int
	l := make(lanes, 3)
	for i := range l {
		l[i] = roundTripFunc(func(*http.Request) (*http.Response, error) {
			got = append(got, i)
			return nil, errors.New("no network")
		})
	}
	for _, lane := range []int{0, 1, 2, 3, 7} {
		req, _ := http.NewRequestWithContext(context.WithValue(context.Background(), laneKey{}, lane), "POST", "http://x/v1/chat/completions", nil)
		l.RoundTrip(req)
	}
	req, _ := http.NewRequest("POST", "http://x/v1/chat/completions", nil)
	l.RoundTrip(req)
	if want := []int{0, 1, 2, 0, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("lanes %v, want %v", got, want)
	}
}

// TestMeasuredAfterWarmups checks that a closed loop's measured requests
// start only once every warmup has ended: the warmups here take 10ms to
// 100ms, and no measured request may be scheduled before the slowest ends.
func TestMeasuredAfterWarmups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := servers{"t": infermetricstest.NewServerFunc(func(r request) scenario {
			if r.N < 4 {
				return answer(time.Duration(1+r.N*3)*10*ms, "stop")
			}
			return answer(10*ms, "stop")
		})}
		defer srv.close()
		cfg := `
targets: [{name: t, base_url: "http://t.invalid/v1", model: m}]
scenarios: [{name: chat, prompts: [hi], max_tokens: 16}]
loads: [concurrency=4]
trials: 8
warmups: 4
`
		trials := benchTrials(t, srv, cfg)
		var lastWarmup time.Time
		for _, tr := range trials {
			if tr.Warmup && tr.End.After(lastWarmup) {
				lastWarmup = tr.End
			}
		}
		measured := 0
		for _, tr := range trials {
			if tr.Warmup {
				continue
			}
			measured++
			if tr.Scheduled.Before(lastWarmup) {
				t.Errorf("measured attempt %d scheduled %v before the last warmup ended", tr.Seq, lastWarmup.Sub(tr.Scheduled))
			}
		}
		if measured != 8 {
			t.Errorf("%d measured attempts, want 8", measured)
		}
	})
}

// benchTrials runs cfg against srv and returns the trials it recorded.
func benchTrials(t *testing.T, srv servers, cfg string) []Trial {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run")
	if _, err := bench(t.Context(), benchOptions{config: writeConfig(t, cfg), out: out, warmups: -1,
		transport: srv.transport, progress: quiet{}}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	trials, err := readTrials(filepath.Join(out, "trials.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return trials
}
