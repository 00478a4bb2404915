package infermetrics_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
)

// replayCall replays one capture through an instrumented client and
// returns its record.
func replayCall(t *testing.T, name string, opts ...infermetrics.Option) *infermetrics.Call {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(streamsDir, name))
	if err != nil {
		t.Skipf("capture %s absent: %v", name, err)
	}
	var got collect
	opts = append(opts, infermetrics.WithOnCall(got.hook))
	client := newClient(&cannedTransport{status: 200, ctype: "text/event-stream", body: raw, split: wholeReads}, infermetrics.Instrument(opts...))
	var o oracle
	for _, ev := range sseEvents(raw) {
		o.event(ev)
	}
	readStream(client, streamParams(o.model))
	return onlyCall(t, &got)
}

// TestCostOnCaptures checks dollars against values worked out by hand from
// each capture's usage; two of them also match the provider's own bill.
func TestCostOnCaptures(t *testing.T) {
	tests := []struct {
		capture, model string
		price          infermetrics.Price
		want           infermetrics.Cost
		providerCost   float64 // 0: none reported
	}{
		// 19 in, 84 out (64 of them reasoning, billed as output).
		{"openai_o4mini_simple.sse", "o4-mini-2025-04-16", infermetrics.Price{Input: 1.10, CachedInput: 0.275, Output: 4.40},
			infermetrics.Cost{Input: 19 * 1.10 / 1e6, Output: 84 * 4.40 / 1e6, Total: 19*1.10/1e6 + 84*4.40/1e6}, 0},
		// xAI: 165 in of which 164 cached; 2 completion + 129 reasoning
		// reported outside completion_tokens = 131 out. $0.0000739 in all,
		// exactly xAI's 739000 cost_in_usd_ticks.
		{"xai_grok4fast_simple.sse", "grok-4-fast-reasoning", infermetrics.Price{Input: 0.20, CachedInput: 0.05, Output: 0.50},
			infermetrics.Cost{Input: 1 * 0.20 / 1e6, CachedInput: 164 * 0.05 / 1e6, Output: 131 * 0.50 / 1e6, Total: 0.0000739}, 0.0000739},
		// OpenRouter -> Claude Sonnet 4.5 at $3/$15: 43 in, 36 out =
		// $0.000669, exactly OpenRouter's usage.cost.
		{"openrouter_streaming_reasoning.sse", "anthropic/claude-sonnet-4.5", infermetrics.Price{Input: 3, Output: 15},
			infermetrics.Cost{Input: 43 * 3 / 1e6, Output: 36 * 15 / 1e6, Total: 0.000669}, 0.000669},
		// Cerebras GLM 4.7: 433 in of which 256 cached, 122 out. A zero
		// cached price bills cached tokens at the input price.
		{"cerebras_glm47_tools_b.sse", "zai-glm-4.7", infermetrics.Price{Input: 2.25, Output: 2.75},
			infermetrics.Cost{Input: 177 * 2.25 / 1e6, CachedInput: 256 * 2.25 / 1e6, Output: 122 * 2.75 / 1e6, Total: 433*2.25/1e6 + 122*2.75/1e6}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			c := replayCall(t, tt.capture, infermetrics.WithPrice(tt.model, tt.price))
			if !c.PriceKnown {
				t.Fatalf("PriceKnown = false for %s", tt.model)
			}
			got := c.Cost
			if !near(got.Input, tt.want.Input) || !near(got.CachedInput, tt.want.CachedInput) || !near(got.Output, tt.want.Output) || !near(got.Total, tt.want.Total) {
				t.Errorf("Cost: got %+v, want %+v", got, tt.want)
			}
			if tt.providerCost > 0 {
				if !c.ProviderCostReported || !near(c.ProviderCost, tt.providerCost) {
					t.Errorf("ProviderCost: got %v (reported %v), want %v", c.ProviderCost, c.ProviderCostReported, tt.providerCost)
				}
				if c.Flags.Has(infermetrics.FlagCostMismatch) {
					t.Errorf("cost_mismatch raised though the costs agree")
				}
			}
		})
	}
}

// TestCostMismatch checks that a provider bill far from ours is flagged.
func TestCostMismatch(t *testing.T) {
	c := replayCall(t, "openrouter_streaming_reasoning.sse", infermetrics.WithPrice("anthropic/claude-sonnet-4.5", infermetrics.Price{Input: 30, Output: 150}))
	if !c.Flags.Has(infermetrics.FlagCostMismatch) {
		t.Errorf("flags %v: want cost_mismatch for a 10x price", c.Flags)
	}
}

// TestBuiltinPricesResolveCaptureModels checks that the built-in catalogue
// prices the real model names found in the captures.
func TestBuiltinPricesResolveCaptureModels(t *testing.T) {
	for _, tt := range []struct{ capture, provider string }{
		{"openai_o4mini_simple.sse", "openai"},               // o4-mini-2025-04-16
		{"openai_gpt4omini_a.sse", "openai"},                 // gpt-4o-mini-2024-07-18
		{"openai_gpt4o_issue15789_step2.sse", "openai"},      // gpt-4o-2024-08-06
		{"azure_gpt5mini_simple.sse", "azure.ai.openai"},     // gpt-5-mini-2025-08-07
		{"deepseek_chat_beta_usage.sse", "deepseek"},         // deepseek-chat
		{"xai_grok3mini_text_long.sse", "x_ai"},              // grok-3-mini
		{"groq_llama33_toolcall.sse", "groq"},                // llama-3.3-70b-versatile
		{"groq_gptoss_tooluse_1.sse", "groq"},                // openai/gpt-oss-120b
		{"openrouter_streaming_reasoning.sse", "openrouter"}, // anthropic/claude-sonnet-4.5
		{"openai_gpt4omini_multitool_content.sse", "openai"}, // gpt-4o-mini-2024-07-18
	} {
		t.Run(tt.capture, func(t *testing.T) {
			c := replayCall(t, tt.capture, infermetrics.WithProvider(tt.provider))
			if !c.PriceKnown || c.Cost.Total <= 0 {
				t.Errorf("model %q at %s: PriceKnown=%v cost=%v, want a built-in price", c.ResponseModel, tt.provider, c.PriceKnown, c.Cost.Total)
			}
		})
	}
}

func TestUnknownPriceIsNotZero(t *testing.T) {
	c := replayCall(t, "vllm_opt125m_local.sse")
	if c.PriceKnown || c.Cost != (infermetrics.Cost{}) {
		t.Errorf("got PriceKnown=%v cost=%+v for facebook/opt-125m, want unknown", c.PriceKnown, c.Cost)
	}
}

func TestPriceCatalogs(t *testing.T) {
	cat, err := infermetrics.ParsePriceCatalog(strings.NewReader(`{"format":"infermetrics/prices/v1","models":[{"model":"house-model","input":1,"output":2,"as_of":"2026-11-01","source":"https://example.com/prices"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := infermetrics.ParsePriceCatalog(strings.NewReader(`{"format":"infermetrics/prices/v1","models":[{"model":"x","input":-1,"output":2}]}`)); err == nil {
		t.Error("negative price accepted")
	}
	if _, err := infermetrics.LoadPriceCatalog(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
	litellm := filepath.Join("..", "shared", "prices", "model_prices_and_context_window.json")
	if _, err := os.Stat(litellm); err == nil {
		if _, err := infermetrics.LoadPriceCatalog(litellm); err != nil {
			t.Errorf("LiteLLM catalogue: %v", err)
		}
	}

	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
			infermetricstest.Role(), infermetricstest.Content("hi"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 1000, Output: 500}), infermetricstest.Done(),
		}})
		var got collect
		client := kitClient(srv, infermetrics.WithOnCall(got.hook), infermetrics.WithPriceCatalog(cat))
		drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("house-model")))
		c := onlyCall(t, &got)
		if want := 1000*1/1e6 + 500*2/1e6; !c.PriceKnown || !near(c.Cost.Total, want) {
			t.Errorf("got known=%v total=%v, want %v", c.PriceKnown, c.Cost.Total, want)
		}
	})
}

func TestReport(t *testing.T) {
	var r infermetrics.Report
	add := func(model string, useful bool, cost float64, out, reasoning int64) {
		c := &infermetrics.Call{ResponseModel: model, StatusCode: 200, PriceKnown: true, UsageReported: true,
			Cost: infermetrics.Cost{Total: cost}, OutputTokens: out, ReasoningTokens: reasoning}
		if !useful {
			c.Flags = c.Flags.Set(infermetrics.FlagTruncated)
		}
		r.Add(c)
	}
	add("small", true, 0.001, 100, 0)
	add("small", true, 0.001, 100, 0)
	add("reasoner", true, 0.010, 900, 800)
	add("reasoner", false, 0.020, 1000, 1000)
	r.Add(&infermetrics.Call{ResponseModel: "unpriced", StatusCode: 200})
	ms := r.Models()
	if len(ms) != 3 || ms[0].Model != "reasoner" || ms[1].Model != "small" || ms[2].Model != "unpriced" {
		t.Fatalf("Models: got %+v", ms)
	}
	reasoner, small, unpriced := ms[0], ms[1], ms[2]
	if !near(reasoner.CostPerUseful(), 0.030) || !near(reasoner.Wasted, 0.020) || reasoner.UsefulRate() != 0.5 || !near(reasoner.ReasoningShare(), 1800.0/1900) {
		t.Errorf("reasoner: per useful %v, wasted %v, rate %v, reasoning share %v", reasoner.CostPerUseful(), reasoner.Wasted, reasoner.UsefulRate(), reasoner.ReasoningShare())
	}
	if !near(small.CostPerUseful(), 0.001) || !near(small.CostPerCall(), 0.001) || small.Wasted != 0 {
		t.Errorf("small: per useful %v, per call %v, wasted %v", small.CostPerUseful(), small.CostPerCall(), small.Wasted)
	}
	if unpriced.Unpriced != 1 || unpriced.Cost != 0 || unpriced.CostPerCall() != 0 {
		t.Errorf("unpriced: %+v", unpriced)
	}
}
