// Package request reads what infermetrics needs from a chat-completions
// request body (and the fields a Responses API body shares with it), and
// adds stream_options.include_usage to it.
package request

import (
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Info is what a request asked for. Numeric fields are set only when the
// matching Has flag is.
type Info struct {
	Model        string
	Stream       bool
	IncludeUsage bool // stream_options.include_usage is true

	// MaxTokens is the output token limit; MaxTokensKey names the field
	// that set it: max_completion_tokens (preferred when both are present),
	// max_tokens, or max_output_tokens (the Responses API's).
	MaxTokens        int64
	HasMaxTokens     bool
	MaxTokensKey     string
	Temperature      float64
	HasTemperature   bool
	TopP             float64
	HasTopP          bool
	FrequencyPenalty float64
	HasFrequency     bool
	PresencePenalty  float64
	HasPresence      bool
	Seed             int64
	HasSeed          bool
	N                int64
	HasN             bool // n was a number
	Stop             []string

	// OutputType is "json" when response_format (the Responses API's
	// text.format) asks for a JSON object or schema, "text" when it asks
	// for text, "" when absent.
	OutputType string
	// NoReasoning is set when the request asked for no or minimal
	// reasoning; NoReasoningBy names the switch that said so.
	NoReasoning   bool
	NoReasoningBy string

	ServiceTier string // service_tier, as requested

	// ConversationID is the Responses API's conversation, as an id or an
	// object's id.
	ConversationID string
}

// Parse reads body. A body that is not a JSON object yields the zero Info.
func Parse(body []byte) Info {
	var in Info
	if !gjson.ValidBytes(body) {
		return in
	}
	r := gjson.ParseBytes(body)
	if !r.IsObject() {
		return in
	}
	r.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			in.Model = v.String()
		case "stream":
			in.Stream = v.Type == gjson.True
		case "stream_options":
			in.IncludeUsage = v.Get("include_usage").Type == gjson.True
		case "max_completion_tokens":
			if v.Type == gjson.Number {
				in.MaxTokens, in.HasMaxTokens, in.MaxTokensKey = v.Int(), true, k.Str
			}
		case "max_tokens", "max_output_tokens":
			if !in.HasMaxTokens && v.Type == gjson.Number {
				in.MaxTokens, in.HasMaxTokens, in.MaxTokensKey = v.Int(), true, k.Str
			}
		case "temperature":
			in.Temperature, in.HasTemperature = v.Float(), v.Type == gjson.Number
		case "top_p":
			in.TopP, in.HasTopP = v.Float(), v.Type == gjson.Number
		case "frequency_penalty":
			in.FrequencyPenalty, in.HasFrequency = v.Float(), v.Type == gjson.Number
		case "presence_penalty":
			in.PresencePenalty, in.HasPresence = v.Float(), v.Type == gjson.Number
		case "seed":
			in.Seed, in.HasSeed = v.Int(), v.Type == gjson.Number
		case "n":
			in.N, in.HasN = v.Int(), v.Type == gjson.Number
		case "stop":
			if v.IsArray() {
				for _, s := range v.Array() {
					in.Stop = append(in.Stop, s.String())
				}
			} else if v.Type == gjson.String {
				in.Stop = []string{v.Str}
			}
		case "reasoning_effort", "reasoning", "thinking", "enable_thinking", "chat_template_kwargs", "think":
			if !in.NoReasoning {
				in.NoReasoning, in.NoReasoningBy = noReasoning(k.Str, v)
			}
		case "conversation":
			id := v
			if v.IsObject() {
				id = v.Get("id")
			}
			if id.Type == gjson.String && len(id.Str) <= 256 {
				in.ConversationID = id.Str
			}
		case "service_tier":
			if v.Type == gjson.String && len(v.Str) <= 64 {
				in.ServiceTier = v.Str
			}
		case "response_format", "text":
			// Chat's response_format.type; the Responses API's
			// text.format.type.
			t := v.Get("type")
			if k.Str == "text" {
				t = v.Get("format.type")
			}
			switch t.String() {
			case "json_object", "json_schema":
				in.OutputType = "json"
			case "text":
				in.OutputType = "text"
			}
		}
		return true
	})
	return in
}

// noReasoning recognises the switches that ask a model not to reason, given
// one top-level key and its value:
//
//   - reasoning_effort "none" or "minimal" (OpenAI, and servers that copy it)
//   - reasoning.effort "none" or "minimal", reasoning.enabled false,
//     reasoning.max_tokens 0 (OpenRouter)
//   - thinking.type "disabled" (Z.ai GLM, DeepSeek, Anthropic-compatible)
//   - enable_thinking false (Alibaba DashScope, Qwen)
//   - chat_template_kwargs.enable_thinking or .thinking false (vLLM, SGLang)
//   - think false (Ollama)
func noReasoning(key string, v gjson.Result) (bool, string) {
	switch key {
	case "reasoning_effort":
		if e := strings.ToLower(v.String()); e == "none" || e == "minimal" {
			return true, "reasoning_effort=" + e
		}
	case "reasoning":
		if e := strings.ToLower(v.Get("effort").String()); e == "none" || e == "minimal" {
			return true, "reasoning.effort=" + e
		}
		if v.Get("enabled").Type == gjson.False {
			return true, "reasoning.enabled=false"
		}
		if m := v.Get("max_tokens"); m.Type == gjson.Number && m.Int() == 0 {
			return true, "reasoning.max_tokens=0"
		}
	case "thinking":
		if strings.ToLower(v.Get("type").String()) == "disabled" {
			return true, "thinking.type=disabled"
		}
	case "enable_thinking":
		if v.Type == gjson.False {
			return true, "enable_thinking=false"
		}
	case "chat_template_kwargs":
		if v.Get("enable_thinking").Type == gjson.False {
			return true, "chat_template_kwargs.enable_thinking=false"
		}
		if v.Get("thinking").Type == gjson.False {
			return true, "chat_template_kwargs.thinking=false"
		}
	case "think":
		if v.Type == gjson.False {
			return true, "think=false"
		}
	}
	return false, ""
}

// IncludeUsage returns body with stream_options.include_usage set to true,
// or body unchanged and false if it cannot be edited.
func IncludeUsage(body []byte) ([]byte, bool) {
	out, err := sjson.SetBytes(body, "stream_options.include_usage", true)
	if err != nil {
		return body, false
	}
	return out, true
}
