package request

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := Parse([]byte(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":100,"max_tokens":5,
		"temperature":0.2,"top_p":0.9,"seed":7,"n":2,"stop":["a","b"],"response_format":{"type":"json_schema"},"messages":[]}`))
	if in.Model != "gpt-4o" || !in.Stream || !in.IncludeUsage || in.MaxTokens != 100 || !in.HasTemperature || in.Temperature != 0.2 ||
		in.TopP != 0.9 || in.Seed != 7 || in.N != 2 || len(in.Stop) != 2 || in.OutputType != "json" || in.NoReasoning {
		t.Errorf("got %+v", in)
	}
	if in := Parse([]byte(`not json`)); in.Model != "" {
		t.Errorf("got %+v for invalid JSON", in)
	}
}

func TestNoReasoning(t *testing.T) {
	tests := []struct{ body, by string }{
		{`{"reasoning_effort":"minimal"}`, "reasoning_effort=minimal"},
		{`{"reasoning_effort":"none"}`, "reasoning_effort=none"},
		{`{"reasoning_effort":"low"}`, ""},
		{`{"reasoning":{"effort":"none"}}`, "reasoning.effort=none"},
		{`{"reasoning":{"enabled":false}}`, "reasoning.enabled=false"},
		{`{"reasoning":{"max_tokens":0}}`, "reasoning.max_tokens=0"},
		{`{"thinking":{"type":"disabled"}}`, "thinking.type=disabled"},
		{`{"thinking":{"type":"enabled"}}`, ""},
		{`{"enable_thinking":false}`, "enable_thinking=false"},
		{`{"chat_template_kwargs":{"enable_thinking":false}}`, "chat_template_kwargs.enable_thinking=false"},
		{`{"chat_template_kwargs":{"thinking":false}}`, "chat_template_kwargs.thinking=false"},
		{`{"think":false}`, "think=false"},
		{`{"think":true}`, ""},
	}
	for _, tt := range tests {
		in := Parse([]byte(tt.body))
		if in.NoReasoningBy != tt.by || in.NoReasoning != (tt.by != "") {
			t.Errorf("Parse(%s): got %v %q, want %q", tt.body, in.NoReasoning, in.NoReasoningBy, tt.by)
		}
	}
}

func TestIncludeUsage(t *testing.T) {
	for _, body := range []string{`{"model":"m","stream":true}`, `{"stream_options":{"include_usage":false}}`, `{"stream_options":{}}`} {
		out, ok := IncludeUsage([]byte(body))
		if !ok || !Parse(out).IncludeUsage {
			t.Errorf("IncludeUsage(%s) = %s", body, out)
		}
		if !strings.HasPrefix(string(out), "{") {
			t.Errorf("IncludeUsage(%s) = %s", body, out)
		}
	}
}

func TestMaxTokensKey(t *testing.T) {
	tests := []struct {
		body string
		max  int64
		key  string
	}{
		{`{"max_tokens":5}`, 5, "max_tokens"},
		{`{"max_completion_tokens":100,"max_tokens":5}`, 100, "max_completion_tokens"},
		{`{"max_tokens":5,"max_completion_tokens":100}`, 100, "max_completion_tokens"},
		{`{"max_output_tokens":64}`, 64, "max_output_tokens"},
		{`{"max_tokens":null}`, 0, ""},
		{`{"max_completion_tokens":"400"}`, 0, ""},
		{`{}`, 0, ""},
	}
	for _, tt := range tests {
		in := Parse([]byte(tt.body))
		if in.MaxTokens != tt.max || in.MaxTokensKey != tt.key || in.HasMaxTokens != (tt.key != "") {
			t.Errorf("Parse(%s): got %d %q %v, want %d %q", tt.body, in.MaxTokens, in.MaxTokensKey, in.HasMaxTokens, tt.max, tt.key)
		}
	}
	if in := Parse([]byte(`{"n":2}`)); !in.HasN || in.N != 2 {
		t.Errorf("n: got %d %v, want 2 true", in.N, in.HasN)
	}
	if in := Parse([]byte(`{"n":null}`)); in.HasN {
		t.Errorf("n null: HasN set")
	}
}

func TestParseResponses(t *testing.T) {
	in := Parse([]byte(`{"model":"gpt-5","input":"hi","stream":true,"max_output_tokens":64,"text":{"format":{"type":"json_schema","name":"x","schema":{}}},"reasoning":{"effort":"minimal"}}`))
	if in.Model != "gpt-5" || !in.Stream || in.MaxTokens != 64 || in.MaxTokensKey != "max_output_tokens" ||
		in.OutputType != "json" || !in.NoReasoning || in.NoReasoningBy != "reasoning.effort=minimal" {
		t.Errorf("got %+v", in)
	}
	for _, body := range []string{`{"conversation":"conv_1"}`, `{"conversation":{"id":"conv_1"}}`} {
		if in := Parse([]byte(body)); in.ConversationID != "conv_1" {
			t.Errorf("%s: conversation %q", body, in.ConversationID)
		}
	}
	if in := Parse([]byte(`{"text":{"format":{"type":"text"}}}`)); in.OutputType != "text" {
		t.Errorf("text format: got %q", in.OutputType)
	}
}
