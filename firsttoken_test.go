package infermetrics_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
)

// hasText reports, with a plain JSON decoder, whether a chunk carries
// generated text of any kind: content (a string or text parts), reasoning
// (a string, thinking parts, or the text or summary of a reasoning_details
// item), a refusal, or a tool call's name or arguments. Encrypted reasoning
// (reasoning.encrypted data) and signatures carry no text.
func hasText(data string) bool {
	var v struct {
		Choices []struct {
			Delta   map[string]json.RawMessage `json:"delta"`
			Message map[string]json.RawMessage `json:"message"`
		} `json:"choices"`
	}
	if json.Unmarshal([]byte(data), &v) != nil {
		return false
	}
	str := func(raw json.RawMessage) bool {
		var s string
		return json.Unmarshal(raw, &s) == nil && s != ""
	}
	var parts func(raw json.RawMessage) bool
	parts = func(raw json.RawMessage) bool {
		var ps []map[string]json.RawMessage
		if json.Unmarshal(raw, &ps) != nil {
			return false
		}
		for _, p := range ps {
			if str(p["text"]) || str(p["thinking"]) || parts(p["thinking"]) {
				return true
			}
		}
		return false
	}
	for _, c := range v.Choices {
		d := c.Delta
		if d == nil {
			d = c.Message
		}
		for k, raw := range d {
			switch k {
			case "content":
				if str(raw) || parts(raw) {
					return true
				}
			case "reasoning_content", "reasoning", "thinking", "refusal":
				if str(raw) {
					return true
				}
			case "reasoning_details":
				var items []map[string]json.RawMessage
				_ = json.Unmarshal(raw, &items)
				for _, it := range items {
					if str(it["text"]) || str(it["summary"]) {
						return true
					}
				}
			case "tool_calls":
				var calls []struct {
					Function map[string]json.RawMessage `json:"function"`
				}
				_ = json.Unmarshal(raw, &calls)
				for _, tc := range calls {
					if str(tc.Function["name"]) || str(tc.Function["arguments"]) {
						return true
					}
				}
			case "function_call":
				var fc map[string]json.RawMessage
				if json.Unmarshal(raw, &fc) == nil && (str(fc["name"]) || str(fc["arguments"])) {
					return true
				}
			}
		}
	}
	return false
}

// sseBlocks splits a capture into its SSE events (and comments), each with
// its framing, as a server would write them one at a time.
func sseBlocks(raw []byte) []string {
	text := strings.ReplaceAll(string(raw), "\r\n", "\n")
	var out []string
	for _, b := range strings.Split(text, "\n\n") {
		if strings.TrimSpace(b) != "" {
			out = append(out, b+"\n\n")
		}
	}
	return out
}

// blockData returns the data of one SSE event, or "" for a comment.
func blockData(block string) string {
	var data []string
	for _, line := range strings.Split(strings.TrimSuffix(block, "\n\n"), "\n") {
		if v, ok := strings.CutPrefix(line, "data:"); ok {
			data = append(data, strings.TrimPrefix(v, " "))
		}
	}
	return strings.Join(data, "\n")
}

// TestFirstTokenInCaptures replays every recorded stream on the fake
// clock, one SSE event every 10 ms, and checks that the first token is
// the first event that carries text of any kind: an event with only
// encrypted reasoning or a signature (OpenRouter, Vercel AI Gateway) is a
// chunk, not a token.
func TestFirstTokenInCaptures(t *testing.T) {
	const step = 10 * ms
	encryptedFirst := map[string]bool{}
	for _, path := range captures(t, "*.sse") {
		name := filepath.Base(path)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		blocks := sseBlocks(raw)
		var events []infermetricstest.Event
		var want time.Duration // the first token's arrival, 0 if none
		var opaqueBefore bool  // encrypted reasoning or a signature came before it
		for i, b := range blocks {
			events = append(events, infermetricstest.Raw(b).After(step))
			d := blockData(b)
			if d == "" || strings.HasPrefix(d, "[DONE]") {
				continue
			}
			if want == 0 && hasText(d) {
				want = time.Duration(i+1) * step
			}
			if want == 0 && (strings.Contains(d, `"reasoning.encrypted"`) || strings.Contains(d, `"signature":"E`)) {
				opaqueBefore = true
			}
		}
		if opaqueBefore {
			encryptedFirst[name] = true
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: events})
				defer srv.Close()
				var got collect
				client := kitClient(srv, infermetrics.WithOnCall(got.hook))
				_, _ = drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m")))
				c := onlyCall(t, &got)
				if c.TimeToFirstToken != want {
					t.Errorf("TimeToFirstToken: got %v, want %v (event %d)", c.TimeToFirstToken, want, want/step)
				}
			})
		})
	}
	// The capture this test is about must be among them: OpenRouter's o3
	// sends encrypted reasoning, then the answer.
	if !encryptedFirst["openrouter_stream_with_reasoning.sse"] {
		t.Errorf("openrouter_stream_with_reasoning.sse: no encrypted reasoning before the first text; captures with it: %v", encryptedFirst)
	}
}

// TestEncryptedReasoningIsNotAToken scripts encrypted reasoning and a
// signature-only delta before the answer: both are chunks but not tokens,
// they count as evidence of reasoning (a reasoning switch was ignored),
// and the speed's window starts at the first text.
func TestEncryptedReasoningIsNotAToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chunk := func(delta string) string {
			return `data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}` + "\n\n"
		}
		srv := infermetricstest.NewServer(infermetricstest.Scenario{
			Events: []infermetricstest.Event{
				infermetricstest.Role().After(100 * ms), // 100ms: first chunk
				infermetricstest.Raw(chunk(`{"content":"","reasoning":null,"reasoning_details":[{"type":"reasoning.encrypted","data":"gAAAAABpCCSI","format":"openai-responses-v1","index":0}]}`)).After(100 * ms),
				infermetricstest.Raw(chunk(`{"content":"","reasoning_details":[{"type":"reasoning.text","signature":"EqsBCkgIChAC","format":"anthropic-claude-v1","index":0}]}`)).After(100 * ms),
				infermetricstest.Content("Hello").After(100 * ms), // 400ms: first token
				infermetricstest.Content(" world").After(100 * ms),
				infermetricstest.Finish("stop"),
				infermetricstest.Usage(infermetricstest.Tokens{Input: 10, Output: 2}), // no reasoning count: only the encrypted item shows it
				infermetricstest.Done(),
			},
		})
		defer srv.Close()
		var got collect
		client := kitClient(srv, infermetrics.WithOnCall(got.hook))
		params := chatParams("m")
		params.ReasoningEffort = "minimal"
		_, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), params))
		if err != nil {
			t.Fatal(err)
		}
		c := onlyCall(t, &got)
		if c.TimeToFirstChunk != 100*ms || c.TimeToFirstToken != 400*ms || c.TokenChunks != 2 {
			t.Errorf("got first chunk %v, first token %v, %d token chunks; want 100ms, 400ms, 2", c.TimeToFirstChunk, c.TimeToFirstToken, c.TokenChunks)
		}
		// 2 tokens over the 100ms from the first text to the last.
		if c.OutputTokensPerSecond != 20 {
			t.Errorf("OutputTokensPerSecond: got %v, want 20", c.OutputTokensPerSecond)
		}
		if !c.Flags.Has(infermetrics.FlagParamIgnored) {
			t.Errorf("flags %v: want param_ignored (reasoning_effort minimal, encrypted reasoning came back)", c.Flags)
		}
	})
}
