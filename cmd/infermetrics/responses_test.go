package main

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infermetrics/infermetrics/infermetricstest"
)

// TestBenchResponsesAPI runs scenarios with api: responses against a test
// server speaking the Responses API, with timing known in advance, and
// checks the requests (input, max_output_tokens, no stream_options) and
// the figures worked out by hand.
func TestBenchResponsesAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Request 0 is the streamed cell's warmup (1s to the first token);
		// request N of 1-6 waits N*10ms, and every third stops at the
		// budget (status incomplete, max_output_tokens). Requests 7-9 are
		// the whole cell's (one warmup, two trials).
		srv := infermetricstest.NewServerFunc(func(r request) scenario {
			if !r.Responses {
				return scenario{Status: 404}
			}
			if r.N == 0 {
				return answer(time.Second, "stop")
			}
			finish := "stop"
			if r.N%3 == 0 && r.N <= 6 {
				finish = "length"
			}
			return answer(time.Duration(r.N)*10*ms, finish)
		})
		defer srv.Close()
		cfg := `
targets: [{name: r, base_url: "http://r.invalid/v1", model: m, price: {input: 1, output: 2}}]
scenarios:
  - {name: streamed, api: responses, prompts: ["first prompt", "second prompt"], max_tokens: 64}
  - {name: whole, api: responses, stream: false, prompts: ["third prompt"], max_tokens: 32}
loads: [sequential]
trials: 6
warmups: 1
`
		out := filepath.Join(t.TempDir(), "run")
		o := benchOptions{config: writeConfig(t, cfg), out: out, warmups: -1, progress: quiet{},
			transport: func(Target) http.RoundTripper { return srv.Transport() }}
		if _, err := bench(t.Context(), o, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}

		reqs := srv.Requests()
		if len(reqs) != 14 {
			t.Fatalf("%d requests, want 14", len(reqs))
		}
		for i, r := range reqs {
			var body map[string]any
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			stream := i < 7
			prompt, budget := []string{"first prompt", "second prompt"}[i%2], 64.0
			if !stream {
				prompt, budget = "third prompt", 32
			}
			input, _ := body["input"].([]any)
			var content any
			if len(input) == 1 {
				content = input[0].(map[string]any)["content"]
			}
			if r.Path != "/v1/responses" || content != prompt || body["max_output_tokens"] != budget ||
				body["temperature"] != 0.0 || (body["stream"] == true) != stream ||
				body["messages"] != nil || body["stream_options"] != nil || body["model"] != "m" {
				t.Errorf("request %d: %s %s", i, r.Path, r.Body)
			}
		}

		s := readSummary(t, out)
		if len(s.Cells) != 2 {
			t.Fatalf("%d cells, want 2", len(s.Cells))
		}
		c := s.Cells[0]
		if c.Scenario != "streamed" || c.API != "responses" || c.Trials != 6 || c.Succeeded != 6 || c.Useful != 4 ||
			c.Warmups != 1 || c.Flags["truncated"] != 2 || c.Availability != "ok" {
			t.Errorf("streamed cell: %+v", c)
		}
		// TTFT 10ms to 60ms: type 7 puts p50 between 30 and 40ms, p90 at
		// 50 + 0.5*10ms.
		near(t, "ttft p50", c.TTFT.P50, 0.035)
		near(t, "ttft p90", c.TTFT.P90, 0.055)
		near(t, "ttfa p50", c.TTFA.P50, 0.035)
		near(t, "e2e p50", c.E2E.P50, 0.055)
		w := s.Cells[1]
		if w.Scenario != "whole" || w.API != "responses" || w.Trials != 6 || w.Succeeded != 6 || w.Useful != 6 {
			t.Errorf("whole cell: %+v", w)
		}

		f, err := os.Open(filepath.Join(out, "summary.csv"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if head := rows[0]; head[len(head)-1] != "api" || len(rows) != 3 || rows[1][len(head)-1] != "responses" {
			t.Errorf("summary.csv: %q", rows)
		}

		trials, err := readTrials(filepath.Join(out, "trials.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range trials {
			if tr.Call.API != "responses" || tr.Call.Stream != (tr.Scenario == "streamed") ||
				tr.Call.InputTokens != 100 || tr.Call.OutputTokens != 10 || !tr.Call.UsageReported {
				t.Errorf("trial %s %d: api %q, stream %v, usage %d/%d (reported %v)", tr.Scenario, tr.Seq,
					tr.Call.API, tr.Call.Stream, tr.Call.InputTokens, tr.Call.OutputTokens, tr.Call.UsageReported)
			}
		}
	})
}
