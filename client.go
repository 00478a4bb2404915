// Package infermetrics measures LLM chat completions and responses from
// inside the application that calls them.
//
// Add [Instrument] to an openai-go v3 client, or wrap any HTTP transport with
// [NewTransport], and every chat completion or Responses API call, streamed
// or not, yields a span,
// metrics following the OpenTelemetry GenAI semantic conventions (v1.41), and
// a [Call] record: per-chunk timing, token usage, cost and fidelity flags.
// The application receives what it would have received without
// instrumentation.
//
//	client := openai.NewClient(option.WithAPIKey(key), infermetrics.Instrument())
//
// Only POST requests to a path ending in /chat/completions or /responses
// are measured (the Responses API's WebSocket mode is not); other requests
// pass through untouched, and so do calls that nothing would
// observe: no span that records, no metric instrument that records and no
// [WithOnCall] hook.
//
// The library does not inject trace context (a traceparent header) into
// requests: providers do not continue traces, and the header would hand
// them the application's trace identifiers. To propagate it to an endpoint
// of your own, wrap the base transport with otelhttp.
package infermetrics

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/infermetrics/infermetrics/internal/request"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Version is the version of this library, reported as the instrumentation
// scope version.
const Version = "0.1.0"

// ScopeName is the instrumentation scope name of the spans and metrics.
const ScopeName = "github.com/infermetrics/infermetrics"

// SchemaURL is the schema URL of the instrumentation scope: the semantic
// conventions the gen_ai.* names follow.
const SchemaURL = "https://opentelemetry.io/schemas/1.41.0"

// Instrument returns an openai-go request option that measures every chat
// completion the client makes. The instruments are built once per call of
// Instrument; use one value for many clients to share them. The option is
// safe for concurrent use by any number of requests.
func Instrument(opts ...Option) option.RequestOption {
	in := newInstrumentation(opts)
	return option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		return in.roundTrip(req, next)
	})
}

// NewTransport returns an [http.RoundTripper] that measures every chat
// completion sent through base, for any OpenAI-compatible client that
// accepts an *http.Client. A nil base means [http.DefaultTransport]. The
// transport is safe for concurrent use, as base must be.
func NewTransport(base http.RoundTripper, opts ...Option) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, in: newInstrumentation(opts)}
}

type transport struct {
	base http.RoundTripper
	in   *instrumentation
}

var _ http.RoundTripper = (*transport)(nil)

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.in.roundTrip(req, t.base.RoundTrip)
}

// instrumentation is what one Instrument or NewTransport call built.
type instrumentation struct {
	cfg        config
	noopTracer bool // the tracer provider is a no-op one: no span ever records
	tracer     trace.Tracer
	inst       *instruments
	prices     *priceBook
	idle       idleTracker
	// lastHost caches the provider of the host called last: a client
	// talks to one host, and matching it against the table is a per-call
	// cost.
	lastHost atomic.Pointer[hostProvider]
}

func newInstrumentation(opts []Option) *instrumentation {
	c := newConfig(opts)
	in := &instrumentation{cfg: c}
	switch c.tp.(type) {
	case tracenoop.TracerProvider, *tracenoop.TracerProvider:
		in.noopTracer = true
	}
	in.tracer = c.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version), trace.WithSchemaURL(SchemaURL))
	in.inst = newInstruments(c.mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version), metric.WithSchemaURL(SchemaURL)), c.draft, c.maxModels)
	in.inst.estimates = c.estimates
	in.inst.chunkGaps = c.chunkGaps
	in.prices = newPriceBook(c.prices, c.catalogs, c.noBuiltin)
	return in
}

// The APIs the library measures, as the openai.api.type attribute names
// them.
const (
	APIChatCompletions = "chat_completions" // POST …/chat/completions
	APIResponses       = "responses"        // POST …/responses
)

// api returns which API req calls, or "" when it is not one the library
// measures.
func api(req *http.Request) string {
	if req.Method != http.MethodPost || req.URL == nil {
		return ""
	}
	switch p := strings.TrimRight(req.URL.Path, "/"); {
	case strings.HasSuffix(p, "/chat/completions"):
		return APIChatCompletions
	case strings.HasSuffix(p, "/responses"):
		return APIResponses
	}
	return ""
}

// roundTrip is one attempt: it reads the request's facts, sends it through
// next, and wraps the response body so that reading it measures the call.
func (in *instrumentation) roundTrip(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	kind := api(req)
	if kind == "" || req.Body == nil || req.Body == http.NoBody {
		return next(req)
	}
	hooks := contextHooks(req.Context())
	if in.noopTracer && in.cfg.onCall == nil && hooks == nil && !in.inst.enabled(req.Context()) {
		return next(req) // telemetry is off: nothing would see the call
	}
	raw, err := readBody(req.Body, req.ContentLength)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	info := request.Parse(raw)
	o := in.newObserver(info, raw)
	o.hooks = hooks
	c := &o.call
	c.API = kind
	o.responses = kind == APIResponses
	c.RequestModel = info.Model
	c.Stream = info.Stream
	c.ServerAddress, c.ServerPort = hostPort(req)
	c.Provider = in.cfg.provider
	if c.Provider == "" {
		c.Provider = in.provider(c.ServerAddress)
	}
	c.Attempt = 1
	// openai-go sets the header canonically: read the map, not Get, which
	// canonicalizes the key on every call.
	if v := req.Header["X-Stainless-Retry-Count"]; len(v) > 0 {
		if n, err := strconv.Atoi(v[0]); err == nil && n >= 0 {
			c.Attempt = n + 1
		}
	}
	ctx, span := in.startSpan(req.Context(), &o.req, c, raw)
	if !span.IsRecording() && in.cfg.onCall == nil && hooks == nil && !in.inst.enabled(ctx) {
		// Nobody would see this call: the span is not sampled, no metric
		// records and there is no hook. Send the request as the
		// application wrote it and leave the response alone.
		span.End()
		return next(withBody(ctx, req, raw))
	}
	sent, strip := raw, false
	// The Responses API always reports usage (and rejects
	// stream_options.include_usage).
	if kind == APIChatCompletions && info.Stream && !info.IncludeUsage && in.cfg.inject {
		if b, ok := request.IncludeUsage(raw); ok {
			sent, strip = b, true
		}
	}
	o.ctx, o.span = ctx, span
	now := time.Now()
	var seen bool
	c.IdleTime, seen = in.idle.since(o.idleKey(), now)
	c.Idle = idleClass(c.IdleTime, seen, in.cfg.idleAfter, in.cfg.coldAfter)
	o.mu.Lock()
	o.begin(now)
	o.mu.Unlock()
	req = withBody(traceAttempt(ctx, o), req, sent)

	resp, err := next(req)

	at := time.Now()
	o.mu.Lock()
	defer o.unlock()
	switch {
	case err != nil:
		o.finish(err, at)
		o.dropBody()
		return resp, err
	case resp == nil:
		o.finish(errNoResponse, at)
		o.dropBody()
		return nil, nil // as the base transport said; net/http reports it
	}
	c.StatusCode = resp.StatusCode
	// Hand back a copy: net/http keeps the original response reachable
	// until its body is read or closed, and the wrapper must become
	// unreachable when the application drops it (see abandoned).
	rc := *resp
	resp = &rc
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		o.kind = kindError
		resp.Body, o.s.raw = takeErrorBody(resp.Body, o.s.raw)
		o.finish(nil, time.Now())
		o.dropBody()
		return resp, nil
	}
	o.stripping = strip && info.Stream
	if resp.ProtoMajor != 1 {
		o.rx = nil // one connection carries many streams: its stamps are not this call's
	}
	o.last, o.now, o.before = at, at, at
	o.stopCtx = context.AfterFunc(ctx, func() {
		o.mu.Lock()
		o.finish(ctx.Err(), time.Now())
		o.unlock()
	})
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	resp.Body = newBody(o, resp.Body)
	return resp, nil
}

// readBody reads r to the end as io.ReadAll does, in one allocation when
// size, the declared length, is right.
func readBody(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 || size > maxBodyBytes {
		size = 512
	}
	b := make([]byte, 0, size+1) // +1: EOF is seen without growing
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// withBody returns a shallow copy of req with ctx and a body replaying b:
// a RoundTripper must not modify the request it was given.
func withBody(ctx context.Context, req *http.Request, b []byte) *http.Request {
	r := req.WithContext(ctx)
	r.Body = newReplay(b)
	r.ContentLength = int64(len(b))
	r.GetBody = func() (io.ReadCloser, error) { return newReplay(b), nil }
	return r
}

// replay is a request body the transport has read and passes on.
type replay struct{ bytes.Reader }

func newReplay(b []byte) *replay {
	r := new(replay)
	r.Reset(b)
	return r
}

// Close does nothing: the bytes stay readable for GetBody.
func (*replay) Close() error { return nil }
