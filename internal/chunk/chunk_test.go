package chunk

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want func(t *testing.T, f *Facts)
	}{
		{"role only", `{"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			func(t *testing.T, f *Facts) {
				if f.HasAnswer || f.HasReasoning || string(f.ID) != "c1" || string(f.Model) != "m" || f.Choices != 1 {
					t.Errorf("got %+v", f)
				}
			}},
		{"content", `{"choices":[{"index":0,"delta":{"content":"Hi \"there\""}}]}`,
			func(t *testing.T, f *Facts) {
				if !f.HasAnswer || !f.HasContent || !f.NonBlank || f.NSpans != 1 || string(f.Spans[0].Raw) != `Hi \"there\"` {
					t.Errorf("got %+v", f)
				}
			}},
		{"blank content", `{"choices":[{"delta":{"content":"\n\n  "}}]}`,
			func(t *testing.T, f *Facts) {
				if !f.HasAnswer || f.NonBlank {
					t.Errorf("got HasAnswer=%v NonBlank=%v, want true false", f.HasAnswer, f.NonBlank)
				}
			}},
		{"reasoning", `{"choices":[{"delta":{"reasoning_content":"think"}}]}`,
			func(t *testing.T, f *Facts) {
				if !f.HasReasoning || f.HasAnswer || !f.ReasonString {
					t.Errorf("got %+v", f)
				}
			}},
		{"reasoning details only", `{"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.encrypted","data":"xyz"}]}}]}`,
			func(t *testing.T, f *Facts) {
				if f.HasReasoning || !f.Encrypted || f.ReasonString || f.NSpans != 0 {
					t.Errorf("got %+v", f)
				}
			}},
		{"signature only", `{"choices":[{"delta":{"content":"","reasoning_details":[{"type":"reasoning.text","signature":"EqsBCk","format":"anthropic-claude-v1","index":0}]}}]}`,
			func(t *testing.T, f *Facts) {
				if f.HasReasoning || f.Encrypted || f.HasAnswer || f.NSpans != 0 {
					t.Errorf("got %+v", f)
				}
			}},
		{"encrypted beside text", `{"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.encrypted","data":"xyz"},{"type":"reasoning.summary","summary":"Plan"}]}}]}`,
			func(t *testing.T, f *Facts) {
				if !f.HasReasoning || !f.Encrypted || f.NSpans != 1 || string(f.Spans[0].Raw) != "Plan" {
					t.Errorf("got %+v", f)
				}
			}},
		{"tool call", `{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":""}}]}}]}`,
			func(t *testing.T, f *Facts) {
				if !f.HasToolCall || !f.HasAnswer {
					t.Errorf("got %+v", f)
				}
			}},
		{"mistral thinking parts", `{"choices":[{"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"Okay"}]}]}}]}`,
			func(t *testing.T, f *Facts) {
				if !f.HasReasoning || f.HasAnswer || f.NSpans != 1 || f.Spans[0].Kind != Reasoning {
					t.Errorf("got %+v", f)
				}
			}},
		{"mistral text parts", `{"choices":[{"delta":{"content":[{"type":"text","text":"Hi"}]}}]}`,
			func(t *testing.T, f *Facts) {
				if !f.HasContent || f.HasReasoning {
					t.Errorf("got %+v", f)
				}
			}},
		{"usage only", `{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":5}}}`,
			func(t *testing.T, f *Facts) {
				u := f.Usage
				if !f.ChoicesArray || f.Choices != 0 || !f.UsagePresent || u.Prompt != 10 || u.Completion != 20 || u.Total != 30 || u.Cached != 4 || u.Reasoning != 5 {
					t.Errorf("got %+v usage %+v", f, u)
				}
			}},
		{"usage null", `{"choices":[{"delta":{}}],"usage":null}`,
			func(t *testing.T, f *Facts) {
				if f.UsagePresent {
					t.Errorf("UsagePresent for null usage")
				}
			}},
		{"x_groq usage", `{"choices":[],"x_groq":{"id":"r","usage":{"prompt_tokens":3,"completion_tokens":4}}}`,
			func(t *testing.T, f *Facts) {
				if !f.XGroqPresent || f.XGroqUsage.Prompt != 3 || f.XGroqUsage.Completion != 4 {
					t.Errorf("got %+v", f.XGroqUsage)
				}
			}},
		{"openrouter cost", `{"usage":{"prompt_tokens":1,"completion_tokens":2,"cost":0.000669}}`,
			func(t *testing.T, f *Facts) {
				if d := f.Usage.Cost - 0.000669; d > 1e-12 || d < -1e-12 {
					t.Errorf("Cost: got %v, want 0.000669", f.Usage.Cost)
				}
			}},
		{"xai ticks", `{"usage":{"prompt_tokens":1,"completion_tokens":2,"cost_in_usd_ticks":739000}}`,
			func(t *testing.T, f *Facts) {
				if d := f.Usage.Cost - 0.0000739; d > 1e-15 || d < -1e-15 {
					t.Errorf("Cost: got %v, want 0.0000739", f.Usage.Cost)
				}
			}},
		{"finish prefers choice 0", `{"choices":[{"index":1,"delta":{},"finish_reason":"length"},{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			func(t *testing.T, f *Facts) {
				if string(f.FinishReason) != "stop" || f.FinishCount != 2 {
					t.Errorf("got %q count %d", f.FinishReason, f.FinishCount)
				}
			}},
		{"error", `{"error":{"message":"overloaded","code":529}}`,
			func(t *testing.T, f *Facts) {
				if !f.Error || string(f.ErrorRaw) != `{"message":"overloaded","code":529}` {
					t.Errorf("got Error=%v raw=%s", f.Error, f.ErrorRaw)
				}
			}},
		{"nested error is not top-level", `{"choices":[{"delta":{"content":"x"}}],"meta":{"error":1}}`,
			func(t *testing.T, f *Facts) {
				if f.Error {
					t.Errorf("nested error reported as top-level")
				}
			}},
		{"azure filtered", `{"choices":[{"delta":{},"content_filter_results":{"hate":{"filtered":true,"severity":"high"}}}]}`,
			func(t *testing.T, f *Facts) {
				if !f.Filtered {
					t.Errorf("Filtered: got false")
				}
			}},
		{"azure not filtered", `{"choices":[],"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false}}}]}`,
			func(t *testing.T, f *Facts) {
				if f.Filtered {
					t.Errorf("Filtered: got true")
				}
			}},
		{"python spacing", `{"id": "x", "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}`,
			func(t *testing.T, f *Facts) {
				if !f.HasContent || string(f.FinishReason) != "stop" || f.Usage.Completion != 2 {
					t.Errorf("got %+v", f)
				}
			}},
		{"content key inside string", `{"choices":[{"delta":{"role":"assistant","x":"\"content\":\"no\""}}]}`,
			func(t *testing.T, f *Facts) {
				if f.HasAnswer {
					t.Errorf("text inside a string taken for content")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Facts
			Parse([]byte(tt.in), &f)
			if f.Malformed {
				t.Fatalf("Malformed for %s", tt.in)
			}
			tt.want(t, &f)
		})
	}
}

func TestParseMalformed(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{`, `{"a":}`, `{"a":1,}`, `{"a" 1}`, `{"choices":[{"delta":{"content":"x}]}`,
		`{"a":1} trailing`, `nul`, `{"a":tru}`, `{"a":"\`, `{"usage":{"prompt_tokens":}}`,
		`{"choices":[{},`, `{"choices":[],"usage":{"":{""}}}`, `{"a":[1,]}`, `{"a":{"b":1,}}`,
		`{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
	} {
		var f Facts
		Parse([]byte(in), &f)
		if !f.Malformed {
			t.Errorf("Parse(%q): Malformed = false, want true", in)
		}
	}
}

func TestAppendUnescaped(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, "plain"},
		{`a\nb\t\"c\"\\`, "a\nb\t\"c\"\\"},
		{`\u00e9\u4e2d`, "é中"},
		{`\ud83d\ude00`, "😀"},
		{`\ud83d`, "\uFFFD"},
		{`\ude00x`, "\uFFFDx"},
		{`\uZZZZ`, `\uZZZZ`},
		{`end\`, `end\`},
	}
	for _, tt := range tests {
		if got := string(AppendUnescaped(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("AppendUnescaped(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

var sample = []byte(`{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"k4"}`)

func TestParseAllocs(t *testing.T) {
	var f Facts
	allocs := testing.AllocsPerRun(1000, func() { Parse(sample, &f) })
	if allocs != 0 {
		t.Errorf("Parse allocates %v times, want 0", allocs)
	}
}

func BenchmarkParse(b *testing.B) {
	var f Facts
	b.ReportAllocs()
	b.SetBytes(int64(len(sample)))
	for b.Loop() {
		Parse(sample, &f)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add([]byte(`{"choices":[{"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"a"}]}]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fa Facts
		Parse(b, &fa)
		for i := 0; i < fa.NSpans; i++ {
			_ = AppendUnescaped(nil, fa.Spans[i].Raw)
		}
	})
}
