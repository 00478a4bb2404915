package infermetrics_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/infermetrics/infermetrics"
	"github.com/openai/openai-go/v3"
)

// streamsDir holds the recorded responses shared beside the project.
const streamsDir = "../shared/streams"

// captures returns the paths of the recorded responses, skipping the test
// where the folder is absent.
func captures(t *testing.T, pattern string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(streamsDir, pattern))
	if err != nil || len(paths) == 0 {
		t.Skipf("no captures at %s", streamsDir)
	}
	return paths
}

// pieceReader hands out its bytes in pieces of at most step bytes. When
// eofWithData is set, the last piece comes with io.EOF, as io.Reader allows.
type pieceReader struct {
	b           []byte
	step        int
	eofWithData bool
}

func (r *pieceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.step, len(r.b))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	if len(r.b) == 0 && r.eofWithData {
		return n, io.EOF
	}
	return n, nil
}

// splitOf turns the fuzzed split into a read size (at least 1) and the
// EOF mode: the low 15 bits are the piece size, the top bit asks for the
// last piece to be returned together with io.EOF.
func splitOf(split uint16) (step int, eofWithData bool) {
	step = int(split & 0x7fff)
	if step == 0 {
		step = 1
	}
	return step, split&0x8000 != 0
}

// cannedTransport answers every request with status, content type and body,
// delivered through a pieceReader. It keeps the request bodies it saw.
type cannedTransport struct {
	status int
	ctype  string
	body   []byte
	split  uint16

	mu   sync.Mutex
	reqs [][]byte
}

func (rt *cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(req.Body)
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, b)
	rt.mu.Unlock()
	step, eofWithData := splitOf(rt.split)
	// openai-go's line scanner rescans its buffer on every read, so tiny
	// reads of a huge body take quadratic time in the SDK itself; bound the
	// number of reads.
	step = max(step, len(rt.body)/1024)
	return &http.Response{
		StatusCode: rt.status,
		Status:     strconv.Itoa(rt.status) + " " + http.StatusText(rt.status),
		Header:     http.Header{"Content-Type": {rt.ctype}},
		Body:       io.NopCloser(&pieceReader{b: rt.body, step: step, eofWithData: eofWithData}),
		Request:    req,
	}, nil
}

// wholeReads makes a cannedTransport hand out its body in reads of up to
// 32 KiB, as a network connection would.
const wholeReads = 0x7fff

// collect gathers the calls an instrumented client reports.
type collect struct {
	mu    sync.Mutex
	calls []*infermetrics.Call
}

func (c *collect) hook(call *infermetrics.Call) {
	c.mu.Lock()
	c.calls = append(c.calls, call.Clone())
	c.mu.Unlock()
}

func (c *collect) all() []*infermetrics.Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*infermetrics.Call(nil), c.calls...)
}

// streamResult is what an application saw of a stream.
type streamResult struct {
	chunks []string // raw JSON of each chunk, as the SDK exposed it
	err    string
}

func readStream(client openai.Client, params openai.ChatCompletionNewParams) streamResult {
	s := client.Chat.Completions.NewStreaming(context.Background(), params)
	var r streamResult
	for s.Next() {
		r.chunks = append(r.chunks, s.Current().RawJSON())
	}
	if err := s.Err(); err != nil {
		r.err = err.Error()
	}
	s.Close()
	return r
}

func streamParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{
			IncludeUsage: openai.Bool(true),
		},
	}
}

// oracle derives what a capture shows with a plain JSON decoder, as an
// independent check on the library's single-pass reader.
type oracle struct {
	chunks                     int
	done                       bool
	finish                     string
	prompt, completion, reason int64
	cached                     int64
	total                      int64
	usage                      bool
	content, reasoning, tool   bool
	streamErr                  bool
	model                      string
}

func (o *oracle) event(data string) {
	if strings.HasPrefix(data, "[DONE]") {
		o.done = true
		return
	}
	o.chunks++
	var v map[string]any
	if json.Unmarshal([]byte(data), &v) != nil {
		return
	}
	if _, ok := v["error"]; ok {
		o.streamErr = true
		return
	}
	if m, ok := v["model"].(string); ok && o.model == "" {
		o.model = m
	}
	u, _ := v["usage"].(map[string]any)
	if u == nil {
		if xg, ok := v["x_groq"].(map[string]any); ok {
			u, _ = xg["usage"].(map[string]any)
		}
	}
	if u != nil {
		o.usage = true
		o.prompt = num(u["prompt_tokens"])
		o.completion = num(u["completion_tokens"])
		o.total = num(u["total_tokens"])
		o.reason, o.cached = 0, 0
		if d, ok := u["completion_tokens_details"].(map[string]any); ok {
			o.reason = num(d["reasoning_tokens"])
		}
		if d, ok := u["prompt_tokens_details"].(map[string]any); ok {
			o.cached = num(d["cached_tokens"])
		}
		if o.cached == 0 {
			o.cached = num(u["prompt_cache_hit_tokens"])
		}
	}
	choices, _ := v["choices"].([]any)
	for _, c := range choices {
		cm, _ := c.(map[string]any)
		if fr, ok := cm["finish_reason"].(string); ok && fr != "" && (o.finish == "" || num(cm["index"]) == 0) {
			o.finish = fr
		}
		d, _ := cm["delta"].(map[string]any)
		if d == nil {
			d, _ = cm["message"].(map[string]any)
		}
		for k, val := range d {
			switch k {
			case "content":
				switch x := val.(type) {
				case string:
					if strings.TrimSpace(x) != "" {
						o.content = true
					}
				case []any:
					for _, p := range x {
						pm, _ := p.(map[string]any)
						if pm["type"] == "text" && pm["text"] != "" {
							o.content = true
						}
						if pm["type"] == "thinking" {
							o.reasoning = true
						}
					}
				}
			case "reasoning_content", "reasoning":
				if s, _ := val.(string); s != "" {
					o.reasoning = true
				}
			case "reasoning_details":
				if a, _ := val.([]any); len(a) > 0 {
					o.reasoning = true
				}
			case "tool_calls":
				if a, _ := val.([]any); len(a) > 0 {
					o.tool = true
				}
			}
		}
	}
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// sseEvents frames a capture the way openai-go does (the framer itself is
// tested against openai-go's decoder in internal/sse).
func sseEvents(b []byte) []string {
	var out []string
	var data []byte
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			if len(data) > 0 {
				out = append(out, string(data))
			}
			data = nil
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		if name == "data" {
			data = append(append(data, value...), '\n')
		}
	}
	return out
}

func TestReplayStreams(t *testing.T) {
	for _, path := range captures(t, "*.sse") {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var want oracle
			for _, ev := range sseEvents(raw) {
				want.event(ev)
			}
			model := want.model
			if model == "" {
				model = "unknown-model"
			}

			plain := readStream(newClient(&cannedTransport{status: 200, ctype: "text/event-stream", body: raw, split: wholeReads}), streamParams(model))

			var got collect
			rt := &cannedTransport{status: 200, ctype: "text/event-stream", body: raw, split: wholeReads}
			instrumented := readStream(newClient(rt, infermetrics.Instrument(infermetrics.WithOnCall(got.hook))), streamParams(model))

			// The application sees exactly the same stream.
			if instrumented.err != plain.err {
				t.Errorf("error: got %q, want %q (plain)", instrumented.err, plain.err)
			}
			if len(instrumented.chunks) != len(plain.chunks) {
				t.Fatalf("chunks: got %d, want %d (plain)", len(instrumented.chunks), len(plain.chunks))
			}
			for i := range plain.chunks {
				if instrumented.chunks[i] != plain.chunks[i] {
					t.Fatalf("chunk %d differs:\n got %s\nwant %s", i, instrumented.chunks[i], plain.chunks[i])
				}
			}

			calls := got.all()
			if len(calls) != 1 {
				t.Fatalf("got %d calls, want 1", len(calls))
			}
			c := calls[0]
			if c.Chunks != want.chunks {
				t.Errorf("Chunks: got %d, want %d", c.Chunks, want.chunks)
			}
			if c.FinishReason != want.finish {
				t.Errorf("FinishReason: got %q, want %q", c.FinishReason, want.finish)
			}
			if c.ResponseModel != want.model {
				t.Errorf("ResponseModel: got %q, want %q", c.ResponseModel, want.model)
			}
			if want.streamErr {
				if c.Err == nil {
					t.Errorf("Err: got nil, want a stream error")
				}
			} else if plain.err == "" && c.Err != nil {
				t.Errorf("Err: got %v, want nil", c.Err)
			}
			if want.usage && want.prompt > 0 {
				if !c.UsageReported {
					t.Fatalf("UsageReported: got false, want true")
				}
				wantOut := want.completion
				if want.reason > 0 && (want.total == want.prompt+want.completion+want.reason || want.reason > want.completion) {
					wantOut += want.reason // reasoning reported outside completion_tokens
				}
				if c.InputTokens != want.prompt || c.OutputTokens != wantOut || c.ReasoningTokens != want.reason || c.CachedInputTokens != want.cached {
					t.Errorf("usage: got in=%d out=%d reasoning=%d cached=%d, want in=%d out=%d reasoning=%d cached=%d",
						c.InputTokens, c.OutputTokens, c.ReasoningTokens, c.CachedInputTokens, want.prompt, wantOut, want.reason, want.cached)
				}
			} else if !want.usage {
				if c.UsageReported || !c.Flags.Has(infermetrics.FlagUsageMissing) {
					t.Errorf("no usage in capture: got UsageReported=%v flags=%v, want estimate with usage_missing", c.UsageReported, c.Flags)
				}
				if want.content && c.OutputTokens == 0 {
					t.Errorf("estimated OutputTokens: got 0, want > 0")
				}
			}
			if got, w := c.Flags.Has(infermetrics.FlagTruncated), want.finish == "length"; got != w {
				t.Errorf("truncated: got %v, want %v", got, w)
			}
			if got, w := c.Flags.Has(infermetrics.FlagIncomplete), want.finish == "" && !want.done; got != w {
				t.Errorf("incomplete: got %v, want %v", got, w)
			}
			if want.content || want.tool {
				if c.TimeToFirstAnswer == 0 && c.Chunks > 0 && c.ChunkTimes[len(c.ChunkTimes)-1] > 0 {
					t.Errorf("TimeToFirstAnswer is zero but the capture has an answer")
				}
				if c.Flags.Has(infermetrics.FlagEmptyAnswer) {
					t.Errorf("empty_answer set, but the capture has an answer")
				}
			}
			if (want.content || want.tool || want.reasoning) != (c.TimeToFirstToken > 0 || c.OutputTokens > 0) {
				t.Errorf("token presence: capture has tokens=%v, call has TTFT=%v out=%d", want.content || want.tool || want.reasoning, c.TimeToFirstToken, c.OutputTokens)
			}
			if len(c.ChunkTimes) != c.Chunks {
				t.Errorf("ChunkTimes: got %d entries, want %d", len(c.ChunkTimes), c.Chunks)
			}
		})
	}
}

var statusInName = regexp.MustCompile(`_(\d{3})_`)

func TestReplayJSON(t *testing.T) {
	for _, path := range captures(t, "*.json") {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			status := 200
			if m := statusInName.FindStringSubmatch(name); m != nil {
				status, _ = strconv.Atoi(m[1])
			}
			params := openai.ChatCompletionNewParams{
				Model:    "m",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
			}
			plainClient := newClient(&cannedTransport{status: status, ctype: "application/json", body: raw, split: wholeReads})
			plainResp, plainErr := plainClient.Chat.Completions.New(context.Background(), params)
			var got collect
			client := newClient(&cannedTransport{status: status, ctype: "application/json", body: raw, split: wholeReads},
				infermetrics.Instrument(infermetrics.WithOnCall(got.hook)))
			resp, err := client.Chat.Completions.New(context.Background(), params)
			if (err == nil) != (plainErr == nil) {
				t.Fatalf("error: got %v, want %v (plain)", err, plainErr)
			}
			if err == nil && resp.RawJSON() != plainResp.RawJSON() {
				t.Fatalf("response differs from plain")
			}
			calls := got.all()
			if len(calls) != 1 {
				t.Fatalf("got %d calls, want 1", len(calls))
			}
			c := calls[0]
			if c.StatusCode != status {
				t.Errorf("StatusCode: got %d, want %d", c.StatusCode, status)
			}
			if status >= 400 {
				var ae *infermetrics.APIError
				if c.Err == nil || !asAPIError(c.Err, &ae) {
					t.Fatalf("Err: got %v, want *APIError", c.Err)
				}
				if c.ErrorType == "" {
					t.Errorf("ErrorType is empty")
				}
				return
			}
			if c.Err != nil {
				t.Fatalf("Err: got %v, want nil", c.Err)
			}
			var v struct {
				Model string `json:"model"`
				Usage struct {
					Prompt     int64 `json:"prompt_tokens"`
					Completion int64 `json:"completion_tokens"`
					Details    struct {
						Reasoning int64 `json:"reasoning_tokens"`
					} `json:"completion_tokens_details"`
				} `json:"usage"`
				Choices []struct {
					Finish string `json:"finish_reason"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			if c.ResponseModel != v.Model || c.InputTokens != v.Usage.Prompt || c.OutputTokens != v.Usage.Completion || c.ReasoningTokens != v.Usage.Details.Reasoning {
				t.Errorf("got model=%q in=%d out=%d reasoning=%d, want %q %d %d %d", c.ResponseModel, c.InputTokens, c.OutputTokens, c.ReasoningTokens,
					v.Model, v.Usage.Prompt, v.Usage.Completion, v.Usage.Details.Reasoning)
			}
			if len(v.Choices) > 0 && c.FinishReason != v.Choices[0].Finish {
				t.Errorf("FinishReason: got %q, want %q", c.FinishReason, v.Choices[0].Finish)
			}
			if c.Stream || c.Chunks != 0 {
				t.Errorf("non-streamed call: got Stream=%v Chunks=%d", c.Stream, c.Chunks)
			}
		})
	}
}

func asAPIError(err error, target **infermetrics.APIError) bool {
	ae, ok := err.(*infermetrics.APIError)
	if ok {
		*target = ae
	}
	return ok
}
