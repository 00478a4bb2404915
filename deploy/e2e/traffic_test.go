package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

const ms = time.Millisecond

// text returns n bytes of answer text: reported output tokens need text
// to account for them, or the call is flagged usage_mismatch.
func text(n int) string { return strings.Repeat("word ", n/5+1)[:n] }

// Prices in US dollars per million tokens (README, Cost per useful answer).
var prices = map[string]infermetrics.Price{
	"gpt-4o-mini": {Input: 0.15, CachedInput: 0.075, Output: 0.60},
	"o4-mini":     {Input: 1.10, Output: 4.40},
}

// A step is one scripted request: the scenarios its attempts get, in
// order, and what the test expects of each attempt's Call.
type step struct {
	name     string
	provider string // gen_ai.provider.name, set with WithProvider
	model    string
	stream   bool
	api      string // infermetrics.APIResponses for the Responses API; chat otherwise
	retries  int
	script   []infermetricstest.Scenario
	want     []attempt
}

// attempt is what one attempt's Call must show.
type attempt struct {
	useful    bool
	errorType string
	flags     []infermetrics.Flag
	input     int64 // reported usage; the cost follows from prices
	cached    int64
	output    int64
}

// answer streams a role chunk, an answer in two parts (the first after
// ttft, the second 120 ms later), a finish and usage. Delays keep every
// time well inside one histogram bucket: the server waits at least as long
// as scripted, and the chunk gaps (120 ms, bucket 0.08-0.16 s) have 40 ms
// of slack either way.
func answer(ttft time.Duration, finish string, prompt, completion, reasoning int) infermetricstest.Scenario {
	return cachedAnswer(ttft, finish, prompt, completion, reasoning, 0)
}

// cachedAnswer is answer with cached prompt tokens.
func cachedAnswer(ttft time.Duration, finish string, prompt, completion, reasoning, cached int) infermetricstest.Scenario {
	return infermetricstest.Scenario{Events: []infermetricstest.Event{
		infermetricstest.Role(),
		// 750 bytes of "word ": 150 o200k tokens, what the usage below
		// reports for the answers of this traffic (the usage audit holds
		// reported tokens to the text).
		infermetricstest.Content(text(375)).After(ttft),
		infermetricstest.Content(text(375)).After(120 * ms),
		infermetricstest.Finish(finish),
		infermetricstest.Usage(infermetricstest.Tokens{Input: prompt, Output: completion, Reasoning: reasoning, CachedInput: cached}),
		infermetricstest.Done(),
	}}
}

// thinking streams reasoning from 100 ms, then (unless exhausted) the
// answer, 120 ms between chunks.
func thinking(model string, exhausted bool, prompt, completion, reasoning int) infermetricstest.Scenario {
	ev := []infermetricstest.Event{
		infermetricstest.Role(),
		infermetricstest.Reasoning("Let me think").After(100 * ms),
		infermetricstest.Reasoning(" step by step").After(120 * ms),
	}
	finish := "length"
	if !exhausted {
		finish = "stop"
		ev = append(ev,
			infermetricstest.Content(text(625)).After(120*ms), // 250 answer tokens
			infermetricstest.Content(text(625)).After(120*ms))
	}
	ev = append(ev,
		infermetricstest.Finish(finish),
		infermetricstest.Usage(infermetricstest.Tokens{Input: prompt, Output: completion, Reasoning: reasoning}),
		infermetricstest.Done())
	return infermetricstest.Scenario{Model: model, Events: ev}
}

// script is one round of traffic. The test sends it twice (see
// TestPipeline); both rounds produce the same series.
func script() []step {
	rateLimited := infermetricstest.Scenario{
		Status:      429,
		HeaderDelay: 50 * ms,
		Header:      http.Header{"Retry-After-Ms": {"10"}},
		ErrorBody:   `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`,
	}
	ok := func(in, out int64) attempt { return attempt{useful: true, input: in, output: out} }
	return []step{
		{name: "fast 1", provider: "openai", model: "gpt-4o-mini", stream: true,
			script: []infermetricstest.Scenario{answer(50*ms, "stop", 300, 150, 0)}, want: []attempt{ok(300, 150)}},
		{name: "fast 2", provider: "openai", model: "gpt-4o-mini", stream: true,
			script: []infermetricstest.Scenario{answer(50*ms, "stop", 300, 150, 0)}, want: []attempt{ok(300, 150)}},
		{name: "fast 3, prompt cached", provider: "openai", model: "gpt-4o-mini", stream: true,
			script: []infermetricstest.Scenario{cachedAnswer(100*ms, "stop", 300, 150, 0, 100)},
			want:   []attempt{{useful: true, input: 300, cached: 100, output: 150}}},
		{name: "fast slow start", provider: "openai", model: "gpt-4o-mini", stream: true,
			script: []infermetricstest.Scenario{answer(250*ms, "stop", 300, 150, 0)}, want: []attempt{ok(300, 150)}},
		{name: "fast truncated", provider: "openai", model: "gpt-4o-mini", stream: true,
			script: []infermetricstest.Scenario{answer(50*ms, "length", 300, 150, 0)},
			want:   []attempt{{input: 300, output: 150, flags: []infermetrics.Flag{infermetrics.FlagTruncated}}}},
		{name: "fast retried after 429", provider: "openai", model: "gpt-4o-mini", stream: true, retries: 1,
			script: []infermetricstest.Scenario{rateLimited, answer(100*ms, "stop", 300, 150, 0)},
			want:   []attempt{{errorType: "rate_limit_exceeded"}, ok(300, 150)}},
		{name: "fast 500", provider: "openai", model: "gpt-4o-mini", stream: true,
			script: []infermetricstest.Scenario{{Status: 500, HeaderDelay: 50 * ms}},
			want:   []attempt{{errorType: "server_error"}}},
		{name: "fast via the Responses API", provider: "openai", model: "gpt-4o-mini", stream: true, api: infermetrics.APIResponses,
			script: []infermetricstest.Scenario{answer(50*ms, "stop", 300, 150, 0)}, want: []attempt{ok(300, 150)}},
		{name: "fast via the Responses API, not streamed", provider: "openai", model: "gpt-4o-mini", api: infermetrics.APIResponses,
			script: []infermetricstest.Scenario{answer(50*ms, "stop", 300, 150, 0)}, want: []attempt{ok(300, 150)}},
		{name: "fast not streamed", provider: "openai", model: "gpt-4o-mini",
			script: []infermetricstest.Scenario{{Events: []infermetricstest.Event{
				infermetricstest.Content(text(750)).After(100 * ms),
				infermetricstest.Finish("stop"),
				infermetricstest.Usage(infermetricstest.Tokens{Input: 300, Output: 150}),
			}}},
			want: []attempt{ok(300, 150)}},

		{name: "reasoning 1", provider: "openai", model: "o4-mini", stream: true,
			script: []infermetricstest.Scenario{thinking("", false, 300, 1450, 1200)}, want: []attempt{ok(300, 1450)}},
		{name: "reasoning 2", provider: "openai", model: "o4-mini", stream: true,
			script: []infermetricstest.Scenario{thinking("", false, 300, 1450, 1200)}, want: []attempt{ok(300, 1450)}},
		{name: "reasoning exhausted", provider: "openai", model: "o4-mini", stream: true,
			script: []infermetricstest.Scenario{thinking("", true, 300, 1500, 1500)},
			want: []attempt{{input: 300, output: 1500, flags: []infermetrics.Flag{
				infermetrics.FlagTruncated, infermetrics.FlagEmptyAnswer, infermetrics.FlagReasoningExhausted}}}},
		{name: "reasoning substituted", provider: "openai", model: "o4-mini", stream: true,
			script: []infermetricstest.Scenario{thinking("o4-mini-fp8", false, 300, 1450, 1200)},
			want:   []attempt{{useful: true, input: 300, output: 1450, flags: []infermetrics.Flag{infermetrics.FlagModelMismatch}}}},

		{name: "unpriced 1", provider: "together_ai", model: "llama-3.3-70b", stream: true,
			script: []infermetricstest.Scenario{answer(250*ms, "stop", 300, 150, 0)}, want: []attempt{ok(300, 150)}},
		{name: "unpriced 2", provider: "together_ai", model: "llama-3.3-70b", stream: true,
			script: []infermetricstest.Scenario{answer(250*ms, "stop", 300, 150, 0)}, want: []attempt{ok(300, 150)}},
		// 500 bytes of answer for 10 output tokens: usage_mismatch. The
		// answer's two chunks are 250 ms apart so that its speed (10 tokens
		// over 0.25 s) sits inside one bucket.
		{name: "unpriced usage mismatch", provider: "together_ai", model: "llama-3.3-70b", stream: true,
			script: []infermetricstest.Scenario{{Events: []infermetricstest.Event{
				infermetricstest.Role(),
				infermetricstest.Content(text(250)).After(100 * ms),
				infermetricstest.Content(text(250)).After(250 * ms),
				infermetricstest.Finish("stop"),
				infermetricstest.Usage(infermetricstest.Tokens{Input: 300, Output: 10}),
				infermetricstest.Done(),
			}}},
			want: []attempt{{useful: true, input: 300, output: 10, flags: []infermetrics.Flag{infermetrics.FlagUsageMismatch}}}},
	}
}

// driver sends the script through instrumented openai-go clients, one
// per provider, and keeps every attempt's Call.
type driver struct {
	clients map[string]openai.Client
	mu      sync.Mutex
	calls   []*infermetrics.Call
}

func newDriver(tp trace.TracerProvider, mp metric.MeterProvider) *driver {
	d := &driver{clients: map[string]openai.Client{}}
	for _, provider := range []string{"openai", "together_ai"} {
		opts := []infermetrics.Option{
			infermetrics.WithTracerProvider(tp),
			infermetrics.WithMeterProvider(mp),
			infermetrics.WithProvider(provider),
			infermetrics.WithoutBuiltinPrices(),
			infermetrics.WithOnCall(d.record),
		}
		if provider == "openai" {
			for model, p := range prices {
				opts = append(opts, infermetrics.WithPrice(model, p))
			}
		}
		d.clients[provider] = openai.NewClient(
			// Requests are served in memory by infermetricstest; the host
			// only names the server in server.address.
			option.WithBaseURL("http://"+provider+".llm.internal/v1"),
			option.WithAPIKey("e2e"),
			infermetrics.Instrument(opts...),
		)
	}
	return d
}

func (d *driver) record(c *infermetrics.Call) {
	d.mu.Lock()
	d.calls = append(d.calls, c.Clone())
	d.mu.Unlock()
}

// round sends every step once, in order, and returns the attempts'
// Calls after checking them against the script.
func (d *driver) round(t *testing.T, ctx context.Context) []*infermetrics.Call {
	t.Helper()
	d.mu.Lock()
	d.calls = nil
	d.mu.Unlock()
	var all []*infermetrics.Call
	for _, s := range script() {
		srv := infermetricstest.NewServer(s.script...)
		opts := []option.RequestOption{
			option.WithHTTPClient(&http.Client{Transport: srv.Transport()}),
			option.WithMaxRetries(s.retries),
		}
		params := openai.ChatCompletionNewParams{
			Model:    s.model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the answer?")},
		}
		client := d.clients[s.provider]
		rparams := responses.ResponseNewParams{
			Model: s.model,
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What is the answer?")},
		}
		var err error
		switch {
		case s.api == infermetrics.APIResponses && s.stream:
			st := client.Responses.NewStreaming(ctx, rparams, opts...)
			for st.Next() {
			}
			err = st.Err()
			st.Close()
		case s.api == infermetrics.APIResponses:
			_, err = client.Responses.New(ctx, rparams, opts...)
		case s.stream:
			st := client.Chat.Completions.NewStreaming(ctx, params, opts...)
			for st.Next() {
			}
			err = st.Err()
			st.Close()
		default:
			_, err = client.Chat.Completions.New(ctx, params, opts...)
		}
		srv.Close()
		var apiErr *openai.Error
		if wantErr := s.want[len(s.want)-1].errorType != ""; wantErr != (err != nil) || err != nil && !errors.As(err, &apiErr) {
			t.Fatalf("%s: error %v, want an API error: %v", s.name, err, wantErr)
		}
		d.mu.Lock()
		got := d.calls
		d.calls = nil
		d.mu.Unlock()
		if err := checkAttempts(s, got); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		all = append(all, got...)
	}
	return all
}

func checkAttempts(s step, got []*infermetrics.Call) error {
	if len(got) != len(s.want) {
		return fmt.Errorf("%d attempts recorded, want %d", len(got), len(s.want))
	}
	for i, w := range s.want {
		c := got[i]
		var flags infermetrics.Flags
		for _, f := range w.flags {
			flags = flags.Set(f)
		}
		price, priced := prices[s.model]
		cachedPrice := price.CachedInput
		if cachedPrice == 0 {
			cachedPrice = price.Input
		}
		wantCost := (float64(w.input-w.cached)*price.Input + float64(w.cached)*cachedPrice + float64(w.output)*price.Output) / 1e6
		switch {
		case c.Useful() != w.useful:
			return fmt.Errorf("attempt %d: useful %v, want %v", i+1, c.Useful(), w.useful)
		case c.ErrorType != w.errorType:
			return fmt.Errorf("attempt %d: error.type %q, want %q", i+1, c.ErrorType, w.errorType)
		case c.Flags != flags:
			return fmt.Errorf("attempt %d: flags %v, want %v", i+1, c.Flags, flags)
		case w.errorType == "" && (!c.UsageReported || c.InputTokens != w.input || c.CachedInputTokens != w.cached || c.OutputTokens != w.output):
			return fmt.Errorf("attempt %d: usage %d (%d cached)/%d (reported %v), want %d (%d)/%d", i+1,
				c.InputTokens, c.CachedInputTokens, c.OutputTokens, c.UsageReported, w.input, w.cached, w.output)
		case c.PriceKnown != priced:
			return fmt.Errorf("attempt %d: price known %v, want %v", i+1, c.PriceKnown, priced)
		case priced && !close(c.Cost.Total, wantCost):
			return fmt.Errorf("attempt %d: cost %v, want %v", i+1, c.Cost.Total, wantCost)
		case c.Provider != s.provider || c.RequestModel != s.model:
			return fmt.Errorf("attempt %d: provider %q model %q", i+1, c.Provider, c.RequestModel)
		}
	}
	return nil
}
