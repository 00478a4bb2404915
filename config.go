package infermetrics

import (
	"fmt"
	"time"

	"github.com/infermetrics/infermetrics/internal/prices"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// An Option configures [Instrument] or [NewTransport].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is what the options set. It is read once, at construction.
type config struct {
	mp            metric.MeterProvider
	tp            trace.TracerProvider
	onCall        func(*Call)
	prices        map[string]Price
	catalogs      []*prices.Catalog
	noBuiltin     bool
	provider      string
	inject        bool
	maxChunkTimes int
	captureLimit  int // 0: content is not captured
	draft         bool
	estimates     bool       // offline estimates reach the conventions' usage signals
	chunkGaps     *ChunkGaps // time_per_output_chunk aggregated here, not recorded per chunk
	maxModels     int
	idleAfter     time.Duration
	coldAfter     time.Duration
	errs          []error // programmer errors, reported by newConfig
}

// Defaults of the options that take a count.
const (
	defaultMaxChunkTimes = 1 << 16
	defaultMaxModels     = 64
)

// newConfig applies opts over the defaults. It panics on a programmer
// error (a negative count, a bad price), so that a misconfiguration is
// found at construction, never at request time.
func newConfig(opts []Option) config {
	c := config{inject: true, maxChunkTimes: defaultMaxChunkTimes, maxModels: defaultMaxModels,
		idleAfter: defaultIdleAfter, coldAfter: defaultColdAfter}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	for model, p := range c.prices {
		if err := validPrice(model, p); err != nil {
			c.errs = append(c.errs, err)
		}
	}
	if len(c.errs) > 0 {
		panic(c.errs[0])
	}
	return c
}

// count records n for an option that takes a count: n is taken as it is,
// 0 meaning none, and a negative n is a programmer error.
func (c *config) count(option string, n int, dst *int) {
	if n < 0 {
		c.errs = append(c.errs, fmt.Errorf("infermetrics: %s(%d): negative count", option, n))
		return
	}
	*dst = n
}

// WithMeterProvider sets the meter provider the metrics are recorded with.
// Without it, or with nil, the global provider ([otel.GetMeterProvider]) is
// used.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.mp = mp })
}

// WithTracerProvider sets the tracer provider the spans are started with.
// Without it, or with nil, the global provider ([otel.GetTracerProvider]) is
// used.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// WithOnCall sets a function called exactly once per HTTP attempt, when
// the attempt has ended for whatever reason: its response read to the end,
// an error, the body closed early, the context cancelled, or the body
// abandoned (see [ErrAbandoned]). Without it no function is called.
//
// fn runs on the goroutine that saw the end, after the span has ended and
// the metrics are recorded, and holding no lock of the library's: the one
// reading or closing the response body (so it has run when the
// application's stream loop ends), the one that sent the request when it
// failed, a goroutine of the context package when the context was
// cancelled first, or the runtime's cleanup goroutine when an abandoned
// body was collected. Calls for different attempts may run concurrently.
// fn must not retain the *Call after it returns (use [Call.Clone]). A
// panic in fn is recovered and reported to [otel.Handle].
func WithOnCall(fn func(*Call)) Option {
	return optionFunc(func(c *config) { c.onCall = fn })
}

// WithPrice sets the price of model, overriding any catalogue. model is
// matched against the request's model, then the response's, exactly.
// [Instrument] and [NewTransport] panic if a price is negative, NaN or
// infinite, or model is empty: a programmer error found at construction,
// never at request time.
func WithPrice(model string, p Price) Option {
	return optionFunc(func(c *config) {
		if c.prices == nil {
			c.prices = make(map[string]Price)
		}
		c.prices[model] = p
	})
}

// WithPriceCatalog adds a catalogue consulted before the built-in one; of
// several, the one given last wins. [WithPrice] overrides every catalogue. A
// nil catalogue is ignored.
func WithPriceCatalog(pc *PriceCatalog) Option {
	return optionFunc(func(c *config) {
		if pc != nil && pc.c != nil {
			c.catalogs = append(c.catalogs, pc.c)
		}
	})
}

// WithoutBuiltinPrices stops the library from using its built-in price
// catalogue: only [WithPrice] and [WithPriceCatalog] prices apply. Without
// it the built-in catalogue is consulted last.
func WithoutBuiltinPrices() Option {
	return optionFunc(func(c *config) { c.noBuiltin = true })
}

// WithProvider sets the gen_ai.provider.name value. Without it the provider
// is inferred from the request's host (see the README's provider table);
// unknown hosts are reported as "openai_compatible".
func WithProvider(name string) Option {
	return optionFunc(func(c *config) { c.provider = name })
}

// WithoutUsageInjection stops the library from adding
// stream_options.include_usage to streamed requests that lack it. Without
// usage, token counts of such calls are offline estimates. Use it for
// servers that reject stream_options. Without it usage is injected and its
// extra chunk hidden from the application.
func WithoutUsageInjection() Option {
	return optionFunc(func(c *config) { c.inject = false })
}

// WithMaxChunkTimes caps [Call.ChunkTimes] at n entries per call; later
// chunks are still counted and timed into the gap and speed figures.
// Without it the cap is 65536; n = 0 keeps no chunk times. The metric
// gen_ai.client.operation.time_per_output_chunk is recorded from the chunk
// times kept, one point per chunk, so the cap also bounds it and 0 turns it
// off. A negative n makes [Instrument] and [NewTransport] panic.
func WithMaxChunkTimes(n int) Option {
	return optionFunc(func(c *config) { c.count("WithMaxChunkTimes", n, &c.maxChunkTimes) })
}

// WithCaptureContent records generated text in [Call.Answer] and
// [Call.Reasoning], and the prompt and completion as the span attributes
// gen_ai.input.messages and gen_ai.output.messages, each cut to limit bytes
// at a rune boundary. Without it, or with limit = 0, no prompt or
// completion text reaches telemetry. A negative limit makes [Instrument]
// and [NewTransport] panic.
func WithCaptureContent(limit int) Option {
	return optionFunc(func(c *config) { c.count("WithCaptureContent", limit, &c.captureLimit) })
}

// WithDraftSemconv records the draft of the GenAI conventions repository
// (semantic-conventions-genai: the migration guide at commit 32c328e8, the
// token metrics at 9b2ce3b4) instead of v1.41 where they differ: the
// inference metrics gen_ai.client.inference.duration,
// .time_to_first_chunk and .time_per_output_chunk; in place of
// gen_ai.client.token.usage, the counters
// gen_ai.client.inference.usage.input_tokens, .output_tokens,
// .cache_read.input_tokens, .cache_write.input_tokens and
// .reasoning.output_tokens with gen_ai.token.modality "text", and the
// histograms gen_ai.client.inference.operation.input_tokens and
// .output_tokens; the span attribute gen_ai.usage.cache_write.input_tokens
// for cache_creation; and the proposed cost attributes
// gen_ai.usage.cost.amount, .currency and .source on the span. This
// library's infermetrics.* signals are unchanged. A [ChunkGaps] keeps
// the v1.41 name. Without it the v1.41 conventions are followed.
func WithDraftSemconv() Option {
	return optionFunc(func(c *config) { c.draft = true })
}

// WithEstimatedUsage reports offline token estimates, made when a server
// reports no usage, where the conventions report usage: the
// gen_ai.client.token.usage metric and the gen_ai.usage.* span attributes
// (with infermetrics.usage_estimated=true). Without it, as the conventions
// ask of instrumentations that do not opt in to offline counting,
// estimates reach only the [Call], this library's own metrics (cost,
// reasoning tokens, calls with infermetrics.usage_estimated) and the
// span attributes infermetrics.usage.input_tokens and .output_tokens.
func WithEstimatedUsage() Option {
	return optionFunc(func(c *config) { c.estimates = true })
}

// WithMaxModels caps how many distinct response model names are reported
// as the gen_ai.response.model metric attribute; further names are
// reported as "_OTHER", so a server echoing arbitrary names cannot blow up
// metric cardinality. Spans and Call records keep the real name. Without
// it the cap is 64; n = 0 reports every response model as "_OTHER". A
// negative n makes [Instrument] and [NewTransport] panic.
func WithMaxModels(n int) Option {
	return optionFunc(func(c *config) { c.count("WithMaxModels", n, &c.maxModels) })
}
