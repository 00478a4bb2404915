package prices

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// sharedLiteLLM is the real LiteLLM price file kept beside the repository.
const sharedLiteLLM = "../../../shared/prices/model_prices_and_context_window.json"

func mustParse(t testing.TB, s string) *Catalog {
	t.Helper()
	c, err := Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestParseLiteLLMFile(t *testing.T) {
	data, err := os.ReadFile(sharedLiteLLM)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not present", sharedLiteLLM)
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if n := len(c.entries); n < 100 {
		t.Errorf("got %d entries, want at least 100", n)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}

	// Each case gives the raw per-token values as they appear in the file,
	// and the per-million prices worked out by hand.
	type field struct {
		name    string
		perTok  float64
		million float64
		got     func(Price) float64
	}
	input := func(p Price) float64 { return p.Input }
	output := func(p Price) float64 { return p.Output }
	cached := func(p Price) float64 { return p.CachedInput }
	write := func(p Price) float64 { return p.CacheWrite }
	reasoning := func(p Price) float64 { return p.Reasoning }
	tests := []struct {
		key    string
		fields []field
	}{
		{"gpt-4o", []field{
			{"input_cost_per_token", 2.5e-06, 2.5, input},
			{"cache_read_input_token_cost", 1.25e-06, 1.25, cached},
			{"output_cost_per_token", 1e-05, 10, output},
		}},
		{"gpt-5-mini", []field{
			{"input_cost_per_token", 2.5e-07, 0.25, input},
			{"cache_read_input_token_cost", 2.5e-08, 0.025, cached},
			{"output_cost_per_token", 2e-06, 2, output},
		}},
		{"gpt-5-nano", []field{
			{"input_cost_per_token", 5e-08, 0.05, input},
			{"cache_read_input_token_cost", 5e-09, 0.005, cached},
			{"output_cost_per_token", 4e-07, 0.4, output},
		}},
		{"claude-opus-4-1", []field{
			{"input_cost_per_token", 1.5e-05, 15, input},
			{"cache_read_input_token_cost", 1.5e-06, 1.5, cached},
			{"cache_creation_input_token_cost", 1.875e-05, 18.75, write},
			{"output_cost_per_token", 7.5e-05, 75, output},
		}},
		{"gemini-2.5-flash", []field{
			{"input_cost_per_token", 3e-07, 0.3, input},
			{"output_cost_per_reasoning_token", 2.5e-06, 2.5, reasoning},
		}},
		{"deepseek-v4-pro", []field{
			{"input_cost_per_token", 4.35e-07, 0.435, input},
			{"cache_read_input_token_cost", 3.625e-09, 0.003625, cached},
			{"output_cost_per_token", 8.7e-07, 0.87, output},
		}},
		{"o4-mini", []field{
			{"input_cost_per_token", 1.1e-06, 1.1, input},
			{"cache_read_input_token_cost", 2.75e-07, 0.275, cached},
			{"output_cost_per_token", 4.4e-06, 4.4, output},
		}},
		{"gpt-5-pro", []field{ // mode "responses"
			{"input_cost_per_token", 1.5e-05, 15, input},
			{"output_cost_per_token", 0.00012, 120, output},
		}},
	}
	for _, tt := range tests {
		p, key, ok := c.Lookup("", tt.key)
		if !ok || key != tt.key {
			t.Errorf("Lookup(%q) = _, %q, %v, want key %q", tt.key, key, ok, tt.key)
			continue
		}
		for _, f := range tt.fields {
			if v := raw[tt.key][f.name]; v != f.perTok {
				t.Errorf("%s %s in file: got %v, want %v", tt.key, f.name, v, f.perTok)
			}
			if got := f.got(p); got != f.million {
				t.Errorf("%s %s per million: got %v, want %v", tt.key, f.name, got, f.million)
			}
		}
	}

	// Entries of other modes, and entries without prices, are skipped.
	for _, key := range []string{
		"gpt-4o-mini-tts",        // audio_speech
		"gemini-embedding-001",   // embedding
		"gpt-3.5-turbo-instruct", // completion
		"gpt-realtime-whisper",   // no prices
		"gpt-image-1",            // image_generation
	} {
		if _, ok := raw[key]; !ok {
			t.Errorf("%s is not in the file any more; pick another", key)
		}
		if p, k, ok := c.Lookup("", key); ok && k == key {
			t.Errorf("Lookup(%q) = %+v, %q, true; want it skipped", key, p, k)
		}
	}
}

func TestPerMillion(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"2.5e-07", 0.25},
		{"2.5e-06", 2.5},
		{"1.25e-06", 1.25},
		{"5e-09", 0.005},
		{"3.625e-09", 0.003625},
		{"1.875e-05", 18.75},
		{"7.5E-08", 0.075},
		{"0.00012", 120},
		{"0.0000006", 0.6},
		{"1e-05", 10},
		{"3", 3000000},
		{"0", 0},
		{"-0", 0},
		{"0.0", 0},
	}
	for _, tt := range tests {
		got, err := parseNumber(json.RawMessage(tt.in), 6)
		if err != nil || got != tt.want {
			t.Errorf("parseNumber(%s, 6) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestParseLiteLLM(t *testing.T) {
	c := mustParse(t, `{
		"sample_spec": {"input_cost_per_token": "not a price", "mode": "one of: chat, embedding"},
		"llama-3.3-70b-versatile": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "litellm_provider": "meta"},
		"groq/llama-3.3-70b-versatile": {"input_cost_per_token": 5.9e-07, "output_cost_per_token": 7.9e-07, "litellm_provider": "groq", "mode": "chat"},
		"fireworks_ai/accounts/fireworks/models/llama-v3p3-70b-instruct": {"input_cost_per_token": 9e-07, "output_cost_per_token": 9e-07, "litellm_provider": "fireworks_ai"},
		"vertex_ai/claude-sonnet-4-5": {"input_cost_per_token": 3.3e-06, "output_cost_per_token": 1.65e-05, "litellm_provider": "vertex_ai-anthropic_models"},
		"text-embedding-3-small": {"input_cost_per_token": 2e-08, "output_cost_per_token": 0, "mode": "embedding"},
		"no-prices": {"mode": "chat", "litellm_provider": "openai"},
		"input-only": {"mode": "chat", "input_cost_per_token": 1e-06},
		"null-output": {"mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": null},
		"free-model": {"mode": "chat", "input_cost_per_token": 0, "output_cost_per_token": 0.0},
		"gpt-test": {"mode": "responses", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
			"source": "https://example.com/pricing", "unknown_future_field": {"a": [1, 2]}, "search_context_cost_per_query": {"x": 1}}
	}`)
	tests := []struct {
		provider, model string
		key             string
		input, output   float64
	}{
		{"groq", "llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile", 0.59, 0.79},
		{"deepinfra", "llama-3.3-70b-versatile", "llama-3.3-70b-versatile", 1, 2},
		{"fireworks_ai", "accounts/fireworks/models/llama-v3p3-70b-instruct", "fireworks_ai/accounts/fireworks/models/llama-v3p3-70b-instruct", 0.9, 0.9},
		{"gcp.vertex_ai", "claude-sonnet-4-5", "vertex_ai/claude-sonnet-4-5", 3.3, 16.5},
		{"", "free-model", "free-model", 0, 0},
		{"openai", "gpt-test", "gpt-test", 1, 2},
	}
	for _, tt := range tests {
		p, key, ok := c.Lookup(tt.provider, tt.model)
		if !ok || key != tt.key || p.Input != tt.input || p.Output != tt.output {
			t.Errorf("Lookup(%q, %q) = %v/%v, %q, %v; want %v/%v, %q, true",
				tt.provider, tt.model, p.Input, p.Output, key, ok, tt.input, tt.output, tt.key)
		}
	}
	if p, _, _ := c.Lookup("", "gpt-test"); p.Source != "https://example.com/pricing" {
		t.Errorf("Source: got %q, want %q", p.Source, "https://example.com/pricing")
	}
	for _, m := range []string{"sample_spec", "text-embedding-3-small", "no-prices", "input-only", "null-output"} {
		if _, key, ok := c.Lookup("", m); ok {
			t.Errorf("Lookup(%q) found %q, want it skipped", m, key)
		}
	}
}

func TestParseV1(t *testing.T) {
	c := mustParse(t, `{"format": "infermetrics/prices/v1", "models": [
		{"provider": "OpenAI", "model": "gpt-4o", "input": 2.5, "cached_input": 1.25, "output": 10,
		 "as_of": "2026-07-24", "source": "https://platform.openai.com/docs/pricing"},
		{"model": "o3", "input": 2, "cached_input": 0.5, "cache_write": 0, "output": 8, "reasoning": 8.5},
		{"provider": "xai", "model": "grok-4", "input": 3, "output": 15, "as_of": null, "source": null}
	]}`)
	want := Price{Input: 2.5, CachedInput: 1.25, Output: 10, AsOf: "2026-07-24", Source: "https://platform.openai.com/docs/pricing"}
	if got, key, ok := c.Lookup("openai", "gpt-4o"); !ok || got != want || key != "openai/gpt-4o" {
		t.Errorf("Lookup(openai, gpt-4o) = %+v, %q, %v; want %+v, %q, true", got, key, ok, want, "openai/gpt-4o")
	}
	want = Price{Input: 2, CachedInput: 0.5, Output: 8, Reasoning: 8.5}
	if got, key, ok := c.Lookup("", "o3"); !ok || got != want || key != "o3" {
		t.Errorf("Lookup(\"\", o3) = %+v, %q, %v; want %+v, %q, true", got, key, ok, want, "o3")
	}
	if _, key, ok := c.Lookup("x_ai", "grok-4"); !ok || key != "x_ai/grok-4" {
		t.Errorf("Lookup(x_ai, grok-4) = _, %q, %v; want %q, true", key, ok, "x_ai/grok-4")
	}
	if c := mustParse(t, `{"models": [], "format": "infermetrics/prices/v1"}`); len(c.entries) != 0 {
		t.Errorf("empty models: got %d entries, want 0", len(c.entries))
	}
}

func TestParseErrors(t *testing.T) {
	v1 := func(models string) string {
		return `{"format": "infermetrics/prices/v1", "models": [` + models + `]}`
	}
	tests := []struct {
		name, in string
		want     string // the error text, or a part of it
	}{
		{"empty", ``, "prices: not JSON: unexpected end of JSON input"},
		{"not JSON", `model: gpt-4o`, "prices: not JSON: invalid character"},
		{"truncated", `{"gpt-4o": {"input_cost_per_token": 1e-06`, "prices: not JSON"},
		{"trailing data", `{} {}`, "prices: not JSON"},
		{"NaN literal", `{"gpt-4o": {"input_cost_per_token": NaN, "output_cost_per_token": 1}}`, "prices: not JSON"},
		{"array", `[{"model": "gpt-4o"}]`, "prices: top-level value is array, want an object"},
		{"string", `"gpt-4o"`, "prices: top-level value is string, want an object"},
		{"number", `42`, "prices: top-level value is number, want an object"},
		{"null", `null`, "prices: top-level value is null, want an object"},

		{"litellm negative", `{"gpt-4o": {"input_cost_per_token": -1, "output_cost_per_token": 1e-05}}`,
			`prices: model "gpt-4o": input_cost_per_token: negative price -1`},
		{"litellm negative cache", `{"gpt-4o": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": -2.5e-07}}`,
			`prices: model "gpt-4o": cache_read_input_token_cost: negative price -2.5e-07`},
		{"litellm string price", `{"gpt-4o": {"input_cost_per_token": "0.000001", "output_cost_per_token": 1e-05}}`,
			`prices: model "gpt-4o": input_cost_per_token: not a number: string "0.000001"`},
		{"litellm NaN string", `{"gpt-4o": {"input_cost_per_token": 1e-06, "output_cost_per_token": "NaN"}}`,
			`prices: model "gpt-4o": output_cost_per_token: not a number: string "NaN"`},
		{"litellm Infinity string", `{"gpt-4o": {"input_cost_per_token": "Infinity", "output_cost_per_token": 1}}`,
			`prices: model "gpt-4o": input_cost_per_token: not a number: string "Infinity"`},
		{"litellm overflow", `{"gpt-4o": {"input_cost_per_token": 1e400, "output_cost_per_token": 1}}`,
			`prices: model "gpt-4o": input_cost_per_token: price 1e400 out of range`},
		{"litellm huge exponent", `{"gpt-4o": {"input_cost_per_token": 1e99999999999999999999, "output_cost_per_token": 1}}`,
			`prices: model "gpt-4o": input_cost_per_token: price 1e99999999999999999999 out of range`},
		{"litellm bool price", `{"gpt-4o": {"input_cost_per_token": true, "output_cost_per_token": 1}}`,
			`prices: model "gpt-4o": input_cost_per_token: not a number: boolean true`},
		{"litellm entry not object", `{"gpt-4o": 2.5}`, `prices: model "gpt-4o": entry is number, want an object`},
		{"litellm mode not string", `{"gpt-4o": {"mode": 1, "input_cost_per_token": 1, "output_cost_per_token": 1}}`,
			`prices: model "gpt-4o": mode: number 1, want a string`},

		{"unknown format", `{"format": "infermetrics/prices/v9", "models": []}`,
			`prices: unknown format "infermetrics/prices/v9", want "infermetrics/prices/v1"`},
		{"format not string", `{"format": 1, "models": []}`, `prices: format: number 1, want a string`},
		{"missing models", `{"format": "infermetrics/prices/v1"}`, `prices: missing "models"`},
		{"models not array", `{"format": "infermetrics/prices/v1", "models": {}}`, `prices: models: object, want an array`},
		{"unknown top-level", `{"format": "infermetrics/prices/v1", "models": [], "modles": []}`, `prices: unknown top-level member "modles"`},
		{"entry not object", v1(`"gpt-4o"`), `prices: models[0]: string, want an object`},
		{"no model name", v1(`{"provider": "openai", "input": 1, "output": 2}`), `prices: models[0]: missing model name`},
		{"blank model name", v1(`{"model": "  ", "input": 1, "output": 2}`), `prices: models[0]: missing model name`},
		{"model not string", v1(`{"model": 4, "input": 1, "output": 2}`), `prices: models[0]: model: number 4, want a string`},
		{"v1 negative", v1(`{"model": "gpt-4o", "input": 2.5, "output": 10}, {"model": "o3", "input": 2, "output": -8}`),
			`prices: models[1] (model "o3"): output: negative price -8`},
		{"v1 string price", v1(`{"model": "gpt-4o", "input": "2.5", "output": 10}`),
			`prices: models[0] (model "gpt-4o"): input: not a number: string "2.5"`},
		{"v1 overflow", v1(`{"model": "gpt-4o", "input": 2.5, "output": 1e999}`),
			`prices: models[0] (model "gpt-4o"): output: price 1e999 out of range`},
		{"v1 missing output", v1(`{"model": "gpt-4o", "input": 2.5}`),
			`prices: models[0] (model "gpt-4o"): missing output price`},
		{"v1 null input", v1(`{"model": "gpt-4o", "input": null, "output": 10}`),
			`prices: models[0] (model "gpt-4o"): missing input price`},
		{"v1 unknown member", v1(`{"model": "gpt-4o", "input": 2.5, "ouput": 10}`),
			`prices: models[0] (model "gpt-4o"): unknown member "ouput"`},
		{"v1 bad date", v1(`{"model": "gpt-4o", "input": 2.5, "output": 10, "as_of": "July 2026"}`),
			`prices: models[0] (model "gpt-4o"): as_of: "July 2026" is not a YYYY-MM-DD date`},
		{"v1 duplicate", v1(`{"provider": "groq", "model": "Qwen/Qwen3-32B", "input": 1, "output": 2}, {"provider": "GROQ", "model": "qwen/qwen3-32b", "input": 1, "output": 2}`),
			`prices: models[1] (model "groq/qwen/qwen3-32b"): duplicate of models[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Parse = %v, nil; want error %q", c, tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got error %q, want %q", got, tt.want)
			}
			if c != nil {
				t.Errorf("got catalogue %v with error, want nil", c)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReadError(t *testing.T) {
	_, err := Parse(errReader{})
	if err == nil || err.Error() != "prices: disk on fire" {
		t.Errorf("got error %v, want %q", err, "prices: disk on fire")
	}
}

// lookupCatalog is a small catalogue for the lookup tests. Each price has a
// distinct Input so that the matched entry is obvious.
const lookupCatalog = `{"format": "infermetrics/prices/v1", "models": [
	{"model": "llama-3.3-70b-versatile", "input": 1, "output": 1},
	{"provider": "groq", "model": "llama-3.3-70b-versatile", "input": 2, "output": 2},
	{"model": "gpt-4o", "input": 3, "output": 3, "as_of": "2026-07-24", "source": "https://platform.openai.com/docs/pricing"},
	{"model": "gpt-4o-2024-05-13", "input": 4, "output": 4},
	{"model": "gpt-4", "input": 5, "output": 5},
	{"model": "claude-sonnet-4-5", "input": 6, "output": 6},
	{"model": "gpt-5-nano", "input": 7, "output": 7},
	{"model": "grok-4-1-fast", "input": 8, "output": 8},
	{"model": "grok-4.20", "input": 9, "output": 9},
	{"provider": "groq", "model": "openai/gpt-oss-120b", "input": 10, "output": 10},
	{"provider": "cerebras", "model": "gpt-oss-120b", "input": 11, "output": 11},
	{"provider": "fireworks_ai", "model": "accounts/fireworks/models/llama-v3p3-70b-instruct", "input": 12, "output": 12},
	{"provider": "huggingface", "model": "meta-llama/Llama-3.3-70B-Instruct", "input": 13, "output": 13},
	{"provider": "openai", "model": "o3", "input": 14, "output": 14},
	{"provider": "gcp.gemini", "model": "gemini-2.5-pro", "input": 15, "output": 15},
	{"model": "mistral-small", "input": 16, "output": 16},
	{"model": "llama3-70b", "input": 17, "output": 17},
	{"model": "gpt-3.5-turbo", "input": 18, "output": 18},
	{"model": "gpt-3.5-turbo-1106", "input": 19, "output": 19},
	{"provider": "openrouter", "model": "openai/gpt-oss-20b:free", "input": 20, "output": 20},
	{"model": "deepseek-v3", "input": 21, "output": 21},
	{"provider": "together_ai", "model": "meta-llama/Llama-3.3-70B-Instruct-Turbo", "input": 22, "output": 22},
	{"model": "o1-2024-12-17", "input": 23, "output": 23}
]}`

func TestLookup(t *testing.T) {
	c := mustParse(t, lookupCatalog)
	tests := []struct {
		name            string
		provider, model string
		key             string  // "" means not found
		input           float64 // of the price found
	}{
		// Exact keys, and provider-qualified entries before bare ones.
		{"exact bare", "", "gpt-4o", "gpt-4o", 3},
		{"provider wins over bare", "groq", "llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile", 2},
		{"bare for other provider", "deepinfra", "llama-3.3-70b-versatile", "llama-3.3-70b-versatile", 1},
		{"bare for no provider", "", "llama-3.3-70b-versatile", "llama-3.3-70b-versatile", 1},
		{"qualified only", "cerebras", "gpt-oss-120b", "cerebras/gpt-oss-120b", 11},
		{"qualified for another provider", "deepinfra", "gpt-oss-120b", "", 0},

		// Case and spelling.
		{"case", "GROQ", "Llama-3.3-70B-Versatile", "groq/llama-3.3-70b-versatile", 2},
		{"spaces", " groq ", " llama-3.3-70b-versatile ", "groq/llama-3.3-70b-versatile", 2},
		{"dotted version", "", "claude-sonnet-4.5", "claude-sonnet-4-5", 6},
		{"dashed version", "x_ai", "grok-4-20", "grok-4.20", 9},

		// Provider prefixes in the model name.
		{"groq openai prefix", "groq", "openai/gpt-oss-120b", "groq/openai/gpt-oss-120b", 10},
		{"cerebras drops prefix", "cerebras", "openai/gpt-oss-120b", "cerebras/gpt-oss-120b", 11},
		{"fireworks path", "fireworks_ai", "accounts/fireworks/models/llama-v3p3-70b-instruct", "fireworks_ai/accounts/fireworks/models/llama-v3p3-70b-instruct", 12},
		{"fireworks alias", "fireworks", "accounts/fireworks/models/llama-v3p3-70b-instruct", "fireworks_ai/accounts/fireworks/models/llama-v3p3-70b-instruct", 12},
		{"huggingface org", "huggingface", "meta-llama/Llama-3.3-70B-Instruct", "huggingface/meta-llama/Llama-3.3-70B-Instruct", 13},
		{"together org", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", 22},
		{"openrouter anthropic", "openrouter", "anthropic/claude-sonnet-4.5", "claude-sonnet-4-5", 6},
		{"openrouter x-ai", "openrouter", "x-ai/grok-4.1-fast", "grok-4-1-fast", 8},
		{"openrouter openai", "openrouter", "openai/gpt-4o", "gpt-4o", 3},
		{"vendor hint", "openrouter", "openai/o3", "openai/o3", 14},
		{"provider in model", "", "groq/llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile", 2},
		{"litellm-style key", "", "openrouter/openai/gpt-4o", "gpt-4o", 3},
		{"org prefix to bare", "together_ai", "deepseek-ai/DeepSeek-V3", "deepseek-v3", 21},

		// OpenRouter variants.
		{"nitro", "openrouter", "openai/gpt-4o:nitro", "gpt-4o", 3},
		{"online", "openrouter", "anthropic/claude-sonnet-4.5:online", "claude-sonnet-4-5", 6},
		{"free with base", "openrouter", "openai/gpt-4o:free", "gpt-4o:free", 0},
		{"free without base", "openrouter", "meta-llama/llama-3.3-8b-instruct:free", "meta-llama/llama-3.3-8b-instruct:free", 0},
		{"free exact entry", "openrouter", "openai/gpt-oss-20b:free", "openrouter/openai/gpt-oss-20b:free", 20},

		// Dated snapshots.
		{"dated 4o", "openai", "gpt-4o-2024-08-06", "gpt-4o", 3},
		{"exact dated wins", "openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13", 4},
		{"mmdd", "openai", "gpt-4-0613", "gpt-4", 5},
		{"exact mmdd wins", "openai", "gpt-3.5-turbo-1106", "gpt-3.5-turbo-1106", 19},
		{"mmdd base", "openai", "gpt-3.5-turbo-0125", "gpt-3.5-turbo", 18},
		{"yyyymmdd", "anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5", 6},
		{"vertex @date", "gcp.vertex_ai", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5", 6},
		{"nano dated", "", "gpt-5-nano-2025-08-07", "gpt-5-nano", 7},
		{"prefixed and dated", "openrouter", "openai/gpt-4o-2024-11-20", "gpt-4o", 3},
		{"yymm", "mistral_ai", "mistral-small-2506", "mistral-small", 16},
		{"not a date", "groq", "llama3-70b-8192", "", 0},
		{"no reverse", "openai", "o1", "", 0},
		{"exact date only", "openai", "o1-2024-12-17", "o1-2024-12-17", 23},

		// Bedrock model ids.
		{"bedrock", "aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5", 6},
		{"bedrock no region", "bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5", 6},
		{"dotted name not bedrock", "", "gpt-3.5-turbo", "gpt-3.5-turbo", 18},

		// Providers that charge another's list prices.
		{"azure", "azure.ai.openai", "o3", "openai/o3", 14},
		{"azure alias", "azure", "o3", "openai/o3", 14},
		{"vertex gemini", "gcp.vertex_ai", "gemini-2.5-pro", "gcp.gemini/gemini-2.5-pro", 15},
		{"vertex alias", "vertex_ai", "gemini-2.5-pro", "gcp.gemini/gemini-2.5-pro", 15},
		{"qualified elsewhere", "groq", "o3", "", 0},

		// Not found.
		{"unknown", "openai", "gpt-99", "", 0},
		{"empty", "openai", "", "", 0},
		{"only prefix", "openrouter", "openai/", "", 0},
		{"only slashes", "", "///", "", 0},
		{"only colon", "", ":free", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, key, ok := c.Lookup(tt.provider, tt.model)
			if key != tt.key || ok != (tt.key != "") || p.Input != tt.input {
				t.Errorf("Lookup(%q, %q) = {Input: %v}, %q, %v; want {Input: %v}, %q, %v",
					tt.provider, tt.model, p.Input, key, ok, tt.input, tt.key, tt.key != "")
			}
		})
	}
}

func TestLookupFree(t *testing.T) {
	c := mustParse(t, lookupCatalog)
	p, key, ok := c.Lookup("openrouter", "openai/gpt-4o:free")
	want := Price{AsOf: "2026-07-24", Source: "https://platform.openai.com/docs/pricing"}
	if !ok || key != "gpt-4o:free" || p != want {
		t.Errorf("Lookup(openrouter, openai/gpt-4o:free) = %+v, %q, %v; want %+v, %q, true", p, key, ok, want, "gpt-4o:free")
	}
}

func TestLookupEmpty(t *testing.T) {
	var nilCat *Catalog
	for _, c := range []*Catalog{nilCat, {}, Merge(), Merge(nil, nil)} {
		if p, key, ok := c.Lookup("openai", "gpt-4o"); ok || key != "" || p != (Price{}) {
			t.Errorf("Lookup on empty catalogue = %+v, %q, %v; want zero, \"\", false", p, key, ok)
		}
		if _, _, ok := c.Lookup("openai", "x:free"); ok {
			t.Errorf("Lookup(x:free) on empty catalogue found a price, want not found")
		}
	}
}

func TestMerge(t *testing.T) {
	a := mustParse(t, `{"format": "infermetrics/prices/v1", "models": [
		{"model": "gpt-4o", "input": 2.5, "output": 10},
		{"provider": "groq", "model": "llama-3.1-8b-instant", "input": 0.05, "output": 0.08},
		{"model": "only-in-a", "input": 1, "output": 1}
	]}`)
	b := mustParse(t, `{
		"GPT-4o": {"input_cost_per_token": 5e-06, "output_cost_per_token": 1.5e-05, "litellm_provider": "openai"},
		"groq/llama-3.1-8b-instant": {"input_cost_per_token": 1e-07, "output_cost_per_token": 2e-07, "litellm_provider": "groq"},
		"only-in-b": {"input_cost_per_token": 2e-06, "output_cost_per_token": 2e-06}
	}`)
	tests := []struct {
		name            string
		cat             *Catalog
		provider, model string
		key             string
		input           float64
	}{
		{"later wins", Merge(a, b), "", "gpt-4o", "GPT-4o", 5},
		{"later wins reversed", Merge(b, a), "", "gpt-4o", "gpt-4o", 2.5},
		{"later wins qualified", Merge(a, b), "groq", "llama-3.1-8b-instant", "groq/llama-3.1-8b-instant", 0.1},
		{"later wins qualified reversed", Merge(b, a), "groq", "llama-3.1-8b-instant", "groq/llama-3.1-8b-instant", 0.05},
		{"union a", Merge(a, b), "", "only-in-a", "only-in-a", 1},
		{"union b", Merge(a, b), "", "only-in-b", "only-in-b", 2},
		{"nil skipped", Merge(nil, a, nil), "", "gpt-4o", "gpt-4o", 2.5},
		{"self", Merge(a, a), "", "gpt-4o", "gpt-4o", 2.5},
		{"inputs unchanged", a, "", "gpt-4o", "gpt-4o", 2.5},
		{"inputs unchanged b", b, "", "gpt-4o", "GPT-4o", 5},
	}
	for _, tt := range tests {
		p, key, ok := tt.cat.Lookup(tt.provider, tt.model)
		if !ok || key != tt.key || p.Input != tt.input {
			t.Errorf("%s: Lookup(%q, %q) = {Input: %v}, %q, %v; want {Input: %v}, %q, true",
				tt.name, tt.provider, tt.model, p.Input, key, ok, tt.input, tt.key)
		}
	}
	if got, want := len(Merge(a, b).entries), 4; got != want {
		t.Errorf("len(Merge(a, b)): got %d, want %d", got, want)
	}
}

func TestBuiltin(t *testing.T) {
	c, err := Parse(bytes.NewReader(builtinJSON))
	if err != nil {
		t.Fatalf("builtin.json: %v", err)
	}
	if len(c.entries) < 50 {
		t.Errorf("builtin has %d entries, want at least 50", len(c.entries))
	}
	for _, e := range c.entries {
		if _, err := time.Parse(time.DateOnly, e.price.AsOf); err != nil {
			t.Errorf("%s: as_of %q: %v", e.key, e.price.AsOf, err)
		}
		if !strings.HasPrefix(e.price.Source, "https://") {
			t.Errorf("%s: source %q, want an https URL", e.key, e.price.Source)
		}
		if e.price.Input <= 0 || e.price.Output <= 0 {
			t.Errorf("%s: input %v, output %v; want both positive", e.key, e.price.Input, e.price.Output)
		}
	}
	if b := Builtin(); b != Builtin() || len(b.entries) != len(c.entries) {
		t.Errorf("Builtin() is not the parsed builtin.json, parsed once")
	}

	tests := []struct {
		provider, model string
		key             string
		input, output   float64
	}{
		{"openai", "gpt-4o-2024-08-06", "gpt-4o", 2.5, 10},
		{"openai", "gpt-5-nano-2025-08-07", "gpt-5-nano", 0.05, 0.4},
		{"azure.ai.openai", "gpt-4.1-mini", "gpt-4.1-mini", 0.4, 1.6},
		{"groq", "openai/gpt-oss-120b", "groq/openai/gpt-oss-120b", 0.15, 0.6},
		{"groq", "llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile", 0.59, 0.79},
		{"cerebras", "gpt-oss-120b", "cerebras/gpt-oss-120b", 0.35, 0.75},
		{"fireworks_ai", "accounts/fireworks/models/llama-v3p3-70b-instruct", "fireworks_ai/accounts/fireworks/models/llama-v3p3-70b-instruct", 0.9, 0.9},
		{"openrouter", "anthropic/claude-sonnet-4.5", "claude-sonnet-4-5", 3, 15},
		{"anthropic", "claude-haiku-4-5-20251001", "claude-haiku-4-5", 1, 5},
		{"x_ai", "grok-4-0709", "grok-4", 3, 15},
		{"openrouter", "x-ai/grok-4.1-fast", "grok-4-1-fast", 0.2, 0.5},
		{"deepseek", "deepseek-chat", "deepseek-chat", 0.28, 0.42},
		{"gcp.gemini", "gemini-2.5-flash", "gemini-2.5-flash", 0.3, 2.5},
		{"mistral_ai", "magistral-medium-2509", "magistral-medium", 2, 5},
	}
	for _, tt := range tests {
		p, key, ok := Builtin().Lookup(tt.provider, tt.model)
		if !ok || key != tt.key || p.Input != tt.input || p.Output != tt.output {
			t.Errorf("Builtin().Lookup(%q, %q) = %v/%v, %q, %v; want %v/%v, %q, true",
				tt.provider, tt.model, p.Input, p.Output, key, ok, tt.input, tt.output, tt.key)
		}
	}
}

// TestBuiltinAgainstLiteLLM checks every bare builtin entry that the shared
// LiteLLM file also prices at the same as_of date against that file.
func TestBuiltinAgainstLiteLLM(t *testing.T) {
	f, err := os.Open(sharedLiteLLM)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not present", sharedLiteLLM)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lite, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range Builtin().entries {
		if e.provider != "" || e.price.AsOf != "2026-07-24" {
			continue
		}
		got := e.price
		name := e.model
		if name == "o1" {
			name = "o1-2024-12-17" // the snapshot the o1 alias points to
		}
		want, key, ok := lite.Lookup("", name)
		if !ok {
			t.Errorf("%s: not in the LiteLLM file", e.key)
			continue
		}
		if want.Reasoning == want.Output {
			want.Reasoning = 0 // the same thing said twice
		}
		got.AsOf, got.Source, want.AsOf, want.Source = "", "", "", ""
		if got != want {
			t.Errorf("%s: got %+v, want %+v (LiteLLM %s)", e.key, got, want, key)
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("checked %d entries against LiteLLM, want at least 20", checked)
	}
}

func TestConcurrentLookup(t *testing.T) {
	c := Merge(Builtin(), mustParse(t, lookupCatalog))
	queries := [][2]string{
		{"openai", "gpt-4o-2024-08-06"}, {"groq", "openai/gpt-oss-120b"},
		{"openrouter", "anthropic/claude-sonnet-4.5:free"}, {"aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"", "unknown-model"}, {"cerebras", "gpt-oss-120b"}, {"azure", "o3"},
	}
	type result struct {
		p   Price
		key string
		ok  bool
	}
	want := make([]result, len(queries))
	for i, q := range queries {
		want[i].p, want[i].key, want[i].ok = c.Lookup(q[0], q[1])
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for n := 0; n < 500; n++ {
				i := (g + n) % len(queries)
				var r result
				r.p, r.key, r.ok = c.Lookup(queries[i][0], queries[i][1])
				if _, _, ok := Builtin().Lookup("openai", "gpt-4o"); !ok || r != want[i] {
					errs <- fmt.Sprintf("Lookup%v = %+v, want %+v", queries[i], r, want[i])
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(lookupCatalog))
	f.Add(builtinJSON)
	f.Add([]byte(`{"gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05}}`))
	f.Add([]byte(`{"x": {"input_cost_per_token": 1e-9999999999, "output_cost_per_token": -0}}`))
	f.Add([]byte(`{"format": "infermetrics/prices/v1", "models": [{"model": "a/b:free", "input": 0, "output": 0}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range c.entries {
			c.Lookup(e.provider, e.model)
			c.Lookup("", e.key)
		}
	})
}

func FuzzLookup(f *testing.F) {
	for _, s := range [][2]string{
		{"openrouter", "openai/gpt-4o:free"}, {"aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"", "-0613"}, {"", "@20250929"}, {"", "a.b"}, {"", "us.anthropic."}, {"", "x-2024-13-45"}, {"", ":"},
	} {
		f.Add(s[0], s[1])
	}
	c := Merge(Builtin(), mustParse(f, lookupCatalog))
	f.Fuzz(func(t *testing.T, provider, model string) {
		p, key, ok := c.Lookup(provider, model)
		if !ok && (key != "" || p != Price{}) {
			t.Errorf("Lookup(%q, %q) = %+v, %q, false; want zero values when not found", provider, model, p, key)
		}
	})
}
