// Package infermetrics measures LLM chat completions from inside the
// application that calls them.
//
// Add [Instrument] to an openai-go v3 client, or wrap any HTTP transport with
// [NewTransport], and every chat completion, streamed or not, yields a span,
// metrics following the OpenTelemetry GenAI semantic conventions (v1.41), and
// a [Call] record: per-chunk timing, token usage, cost and fidelity flags.
// The application receives what it would have received without
// instrumentation.
//
//	client := openai.NewClient(option.WithAPIKey(key), infermetrics.Instrument())
//
// Only POST requests to a path ending in /chat/completions are measured;
// other requests pass through untouched, and so do calls that nothing would
// observe: no span that records, no metric instrument that records and no
// [WithOnCall] hook.
package infermetrics

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/infermetrics/infermetrics/internal/prices"
	"github.com/infermetrics/infermetrics/internal/request"
	"github.com/infermetrics/infermetrics/internal/rxstamp"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Version is the version of this library, reported as the instrumentation
// scope version.
const Version = "0.1.0"

// ScopeName is the instrumentation scope name of the spans and metrics.
const ScopeName = "github.com/infermetrics/infermetrics"

// An Option configures [Instrument] or [NewTransport].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

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
	captureLimit  int
	draft         bool
	maxModels     int
	chunkGaps     *ChunkGaps
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
// abandoned (then when the garbage collector notices, see [ErrAbandoned]).
//
// fn runs synchronously on the goroutine that saw the end: the one reading
// or closing the response body (so it has run when the application's stream
// loop ends), the one that sent the request when it failed, a goroutine of
// the context package when the context was cancelled first, or a cleanup
// goroutine for an abandoned body. Calls for different attempts may run
// concurrently. fn must not retain the *Call after it returns (use
// [Call.Clone]). A panic in fn is recovered and reported to [otel.Handle].
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

// WithProvider sets the gen_ai.provider.name value. Without it the provider
// is inferred from the request's host (see the README's provider table);
// unknown hosts are reported as "openai_compatible".
func WithProvider(name string) Option {
	return optionFunc(func(c *config) { c.provider = name })
}

// WithoutUsageInjection stops the library from adding
// stream_options.include_usage to streamed requests that lack it. Without
// usage, token counts of such calls are offline estimates. Use it for
// servers that reject stream_options.
func WithoutUsageInjection() Option {
	return optionFunc(func(c *config) { c.inject = false })
}

// WithMaxChunkTimes caps [Call.ChunkTimes] at n entries per call (default
// 65536); later chunks are still counted and timed into the gap and speed
// figures. n <= 0 keeps no chunk times. The metric
// gen_ai.client.operation.time_per_output_chunk is recorded from the chunk
// times kept, one point per chunk, so a cap also bounds it and n <= 0 turns
// it off.
func WithMaxChunkTimes(n int) Option {
	return optionFunc(func(c *config) { c.maxChunkTimes = max(n, 0) })
}

// WithCaptureContent records generated text in [Call.Answer] and
// [Call.Reasoning], and the prompt and completion as the span attributes
// gen_ai.input.messages and gen_ai.output.messages, each cut to limit bytes
// (limit <= 0 means 4096). Without it no prompt or completion text reaches
// telemetry.
func WithCaptureContent(limit int) Option {
	return optionFunc(func(c *config) {
		if limit <= 0 {
			limit = 4096
		}
		c.captureLimit = limit
	})
}

// WithDraftSemconv replaces gen_ai.client.token.usage with the draft
// metrics of the GenAI conventions repository,
// gen_ai.client.inference.usage.input_tokens and .output_tokens (no
// gen_ai.token.type attribute). The other metrics are unchanged.
func WithDraftSemconv() Option {
	return optionFunc(func(c *config) { c.draft = true })
}

// WithMaxModels caps how many distinct response model names are reported
// as the gen_ai.response.model metric attribute (default 64); further names
// are reported as "_OTHER", so a server echoing arbitrary names cannot blow
// up metric cardinality. Spans and Call records keep the real name.
func WithMaxModels(n int) Option {
	return optionFunc(func(c *config) { c.maxModels = max(n, 1) })
}

// Instrument returns an openai-go request option that measures every chat
// completion the client makes. The instruments are built once per call of
// Instrument; use one value for many clients to share them.
func Instrument(opts ...Option) option.RequestOption {
	in := newInstrumentation(opts)
	return option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		return in.roundTrip(req, next)
	})
}

// NewTransport returns an [http.RoundTripper] that measures every chat
// completion sent through base, for any OpenAI-compatible client that
// accepts an *http.Client. A nil base means [http.DefaultTransport].
func NewTransport(base http.RoundTripper, opts ...Option) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, in: newInstrumentation(opts)}
}

// ReceiveTimestamps wraps dial, an [http.Transport] DialContext function,
// so that the TCP connections it makes learn when the kernel received the
// bytes of each read (SO_TIMESTAMPNS). A call served over such a connection
// with HTTP/1.x stamps its chunks with the kernel's receive time instead of
// the time the read returned, so chunk times stay exact when the process is
// too busy to read promptly: a few microseconds of error where a loaded
// process otherwise adds milliseconds.
//
// A nil dial means a [net.Dialer] with [http.DefaultTransport]'s settings.
// On systems other than Linux, and for connections other than TCP, the
// connections are returned unchanged; so are calls over HTTP/2, which
// multiplexes streams on one connection. The kernel turns stamping on a few
// milliseconds after the first connection asks for it; reads before that
// keep their return time.
//
//	tr := http.DefaultTransport.(*http.Transport).Clone()
//	tr.DialContext = infermetrics.ReceiveTimestamps(tr.DialContext)
//	tr.Protocols = new(http.Protocols)
//	tr.Protocols.SetHTTP1(true)
//	client := openai.NewClient(
//		option.WithHTTPClient(&http.Client{Transport: tr}),
//		infermetrics.Instrument())
func ReceiveTimestamps(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if !rxstamp.Supported {
		return dial
	}
	stamping.Store(true)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return c, err
		}
		return rxstamp.Wrap(c), nil
	}
}

// stamping is set once [ReceiveTimestamps] has made a dialer: from then on
// calls look for the connection that serves them.
var stamping atomic.Bool

// traceConn returns ctx with a trace that gives o, while it is still at gen,
// the stamping connection the request is sent on.
func traceConn(ctx context.Context, o *observer, gen uint64) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			rx := rxstamp.Find(info.Conn)
			o.mu.Lock()
			if o.gen == gen {
				o.rx = rx
			}
			o.mu.Unlock()
		},
	})
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
	cfg           config
	maxChunkTimes int
	noopTracer    bool // the tracer provider is a no-op one: no span ever records
	tracer        trace.Tracer
	inst          *instruments
	prices        *priceBook
}

func newInstrumentation(opts []Option) *instrumentation {
	c := config{inject: true, maxChunkTimes: 1 << 16, maxModels: 64}
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
			panic(err)
		}
	}
	in := &instrumentation{cfg: c, maxChunkTimes: c.maxChunkTimes}
	switch c.tp.(type) {
	case tracenoop.TracerProvider, *tracenoop.TracerProvider:
		in.noopTracer = true
	}
	in.tracer = c.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version))
	in.inst = newInstruments(c.mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version)), c.draft, c.maxModels)
	in.prices = newPriceBook(c.prices, c.catalogs, c.noBuiltin)
	return in
}

// applies reports whether req is a chat completion.
func applies(req *http.Request) bool {
	return req.Method == http.MethodPost && req.URL != nil &&
		strings.HasSuffix(strings.TrimRight(req.URL.Path, "/"), "/chat/completions")
}

func (in *instrumentation) roundTrip(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	if !applies(req) || req.Body == nil || req.Body == http.NoBody {
		return next(req)
	}
	if in.noopTracer && in.cfg.onCall == nil && !in.inst.enabled(req.Context()) {
		return next(req) // telemetry is off: nothing would see the call
	}
	raw, err := readBody(req.Body, req.ContentLength)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	info := request.Parse(raw)

	o := getObserver()
	o.mu.Lock()
	o.in, o.req, o.reqBody = in, info, raw
	o.kind = kindJSON
	if info.Stream {
		o.kind = kindStream
	}
	c := &o.call
	c.RequestModel = info.Model
	c.Stream = info.Stream
	c.ServerAddress, c.ServerPort = hostPort(req)
	c.Provider = in.cfg.provider
	if c.Provider == "" {
		c.Provider = providerFor(c.ServerAddress)
	}
	c.Attempt = 1
	if n, err := strconv.Atoi(req.Header.Get("X-Stainless-Retry-Count")); err == nil && n >= 0 {
		c.Attempt = n + 1
	}
	ctx, span := in.startSpan(req.Context(), o)
	sent := raw
	if !span.IsRecording() && in.cfg.onCall == nil && !in.inst.enabled(ctx) {
		// Nobody would see this call: the span is not sampled, no metric
		// records and there is no hook. Send the request as the
		// application wrote it and leave the response alone.
		span.End()
		o.recycle()
		return next(withBody(ctx, req, sent))
	}
	if info.Stream && !info.IncludeUsage && in.cfg.inject {
		if b, ok := request.IncludeUsage(raw); ok {
			sent, o.strip = b, true
		}
	}
	req = withBody(ctx, req, sent)
	o.ctx, o.span = ctx, span
	o.start = time.Now()
	o.last, o.now = o.start, o.start
	c.Start = o.start
	o.live = true
	gen := o.gen
	o.mu.Unlock()
	if stamping.Load() {
		ctx = traceConn(ctx, o, gen)
		req = req.WithContext(ctx)
	}

	resp, err := next(req)

	o.mu.Lock()
	if o.gen != gen || !o.live {
		o.mu.Unlock()
		return resp, err
	}
	if err != nil {
		o.end(err, time.Now())
		o.recycle()
		return resp, err
	}
	c.StatusCode = resp.StatusCode
	// Hand back a copy: net/http keeps the original response reachable
	// until its body is read or closed, and the wrapper must become
	// unreachable when the application drops it (see abandoned).
	rc := *resp
	resp = &rc
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		// Read the (small) error body now: openai-go closes it unread
		// before a retry. The application gets the same bytes.
		o.kind = kindError
		resp.Body = o.takeErrorBody(resp.Body)
		o.end(nil, time.Now())
		o.recycle()
		return resp, nil
	}
	if !info.Stream {
		o.strip = false
	}
	if resp.ProtoMajor != 1 {
		o.rx = nil // one connection carries many streams: its stamps are not this call's
	}
	o.last = time.Now()
	o.stopAfter = context.AfterFunc(ctx, func() {
		o.mu.Lock()
		if o.gen == gen && o.live {
			o.end(ctx.Err(), time.Now())
		}
		o.mu.Unlock()
	})
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	resp.Body = newBody(o, resp.Body)
	o.mu.Unlock()
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

// hostPort returns the server address and port of req.
func hostPort(req *http.Request) (string, int) {
	host := req.URL.Host
	if host == "" {
		host = req.Host
	}
	h, p := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		h, p = host[:i], host[i+1:]
	}
	port := 443
	if req.URL.Scheme == "http" {
		port = 80
	}
	if p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	return strings.Trim(h, "[]"), port
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
