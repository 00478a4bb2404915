package infermetrics_test

// Benchmarks for issue "Performance: near-zero overhead per chunk".
// Run side by side with:
//
//	go test -run '^$' -bench 'Stream|NonStream' -benchmem -count 6 . | tee bench.txt
//	go test -run '^$' -bench Scale -benchtime 1x -count 3 .
//
// See BENCHMARKS.md for the results.

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/internal/benchbase"
	"github.com/infermetrics/infermetrics/internal/benchload"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ---- workload --------------------------------------------------------------

func benchParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Explain Go's garbage collector in one paragraph.")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{
			IncludeUsage: openai.Bool(true),
		},
	}
}

// benchRead reads one stream to its end and returns the chunks seen.
func benchRead(tb testing.TB, c *openai.Client, p *openai.ChatCompletionNewParams) int {
	s := c.Chat.Completions.NewStreaming(context.Background(), *p)
	n := 0
	for s.Next() {
		_ = s.Current()
		n++
	}
	if err := s.Err(); err != nil {
		tb.Fatal(err)
	}
	_ = s.Close()
	return n
}

// cpuNow returns the process's user+system CPU time. Under a loaded
// machine it is a steadier cost measure than wall time.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sdkProviders returns real SDK providers: AlwaysSample with a span recorder
// (reset by the caller) and a ManualReader that is never collected.
func sdkProviders() (*sdktrace.TracerProvider, *tracetest.SpanRecorder, *sdkmetric.MeterProvider) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	return tp, rec, mp
}

type variant struct {
	name   string
	client func(rt http.RoundTripper) openai.Client
}

// variants are the clients compared. Instrumented/noop is telemetry turned
// off (no-op providers, no hook): calls pass through untouched.
// Instrumented/noop+hook does all the library's work and exports nothing:
// its cost is the library's own.
func variants(rec **tracetest.SpanRecorder) []variant {
	tp, r, mp := sdkProviders()
	*rec = r
	return []variant{
		{"Plain", func(rt http.RoundTripper) openai.Client { return newClient(rt) }},
		{"Instrumented/otel-sdk", func(rt http.RoundTripper) openai.Client {
			return newClient(rt, infermetrics.Instrument(infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp)))
		}},
		{"Instrumented/noop", func(rt http.RoundTripper) openai.Client {
			return newClient(rt, infermetrics.Instrument(
				infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()),
				infermetrics.WithMeterProvider(metricnoop.NewMeterProvider())))
		}},
		{"Instrumented/noop+hook", func(rt http.RoundTripper) openai.Client {
			return newClient(rt, infermetrics.Instrument(
				infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()),
				infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()),
				infermetrics.WithOnCall(func(*infermetrics.Call) {})))
		}},
		{"otelhttp", func(rt http.RoundTripper) openai.Client {
			return newClient(otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp)))
		}},
		{"PipeMapBaseline", func(rt http.RoundTripper) openai.Client {
			return newClient(rt, option.WithMiddleware(benchbase.Middleware(nil)))
		}},
	}
}

// ---- 1. per-chunk cost -----------------------------------------------------

const benchChunks = 1000

// BenchmarkStream reads a 1,000-chunk stream (1,003 data events; per-chunk
// figures divide by 1,001 as the issue asks) served from memory.
func BenchmarkStream(b *testing.B) {
	var rec *tracetest.SpanRecorder
	for _, v := range variants(&rec) {
		b.Run(v.name, func(b *testing.B) {
			c := v.client(benchload.Stream(benchChunks))
			p := benchParams("gpt-4o")
			if got := benchRead(b, &c, &p); got != benchChunks+3 {
				b.Fatalf("read %d chunks, want %d", got, benchChunks+3)
			}
			rec.Reset()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			b.ReportAllocs()
			cpu0 := cpuNow()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				benchRead(b, &c, &p)
				if i&63 == 63 {
					rec.Reset()
				}
			}
			b.StopTimer()
			cpu := cpuNow() - cpu0
			runtime.ReadMemStats(&m1)
			rec.Reset()
			per := float64(b.N) * (benchChunks + 1)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/chunk")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/per, "allocs/chunk")
			b.ReportMetric(float64(cpu.Nanoseconds())/per, "cpu-ns/chunk")
		})
	}
}

// BenchmarkResponsesStream reads a Responses API stream of 1,000 text
// deltas (1,008 events; per-event figures divide by 1,008) served from
// memory, through each client: the Responses path's cost beside the plain
// SDK's in the same run.
func BenchmarkResponsesStream(b *testing.B) {
	var rec *tracetest.SpanRecorder
	events := benchload.ResponsesEvents(benchChunks)
	for _, v := range variants(&rec) {
		b.Run(v.name, func(b *testing.B) {
			c := v.client(benchload.ResponsesStream(benchChunks))
			p := respParams("gpt-4o")
			if got := readResponses(b, &c, p); got != events {
				b.Fatalf("read %d events, want %d", got, events)
			}
			rec.Reset()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				readResponses(b, &c, p)
				if i&63 == 63 {
					rec.Reset()
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&m1)
			rec.Reset()
			per := float64(b.N) * float64(events)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/event")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/per, "allocs/event")
		})
	}
}

// BenchmarkStreamRaw isolates the library's own per-chunk cost from
// openai-go's decoding (which is ~30 µs/chunk and drowns it in noise on a
// loaded machine): the same 1,000-chunk body is read through an
// *http.Client with and without infermetrics.NewTransport, and scanned into
// lines with a bufio.Scanner as openai-go's ssestream does, but nothing is
// JSON-decoded by the reader.
func BenchmarkStreamRaw(b *testing.B) {
	tp, rec, mp := sdkProviders()
	reqBody := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"Explain Go's garbage collector in one paragraph."}],"stream":true,"stream_options":{"include_usage":true}}`)
	for _, v := range []struct {
		name string
		rt   func(http.RoundTripper) http.RoundTripper
	}{
		{"Plain", func(rt http.RoundTripper) http.RoundTripper { return rt }},
		{"Instrumented/otel-sdk", func(rt http.RoundTripper) http.RoundTripper {
			return infermetrics.NewTransport(rt, infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp))
		}},
		{"Instrumented/noop", func(rt http.RoundTripper) http.RoundTripper {
			return infermetrics.NewTransport(rt, infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()), infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()))
		}},
		{"Instrumented/noop+hook", func(rt http.RoundTripper) http.RoundTripper {
			return infermetrics.NewTransport(rt, infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()), infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()),
				infermetrics.WithOnCall(func(*infermetrics.Call) {}))
		}},
		{"Instrumented/noop+hook-nochunktimes", func(rt http.RoundTripper) http.RoundTripper {
			return infermetrics.NewTransport(rt, infermetrics.WithMaxChunkTimes(0), infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()), infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()),
				infermetrics.WithOnCall(func(*infermetrics.Call) {}))
		}},
	} {
		b.Run(v.name, func(b *testing.B) {
			hc := &http.Client{Transport: v.rt(benchload.Stream(benchChunks))}
			read := func() {
				req, _ := http.NewRequest(http.MethodPost, "http://bench.invalid/v1/chat/completions", bytes.NewReader(reqBody))
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				sc := bufio.NewScanner(resp.Body)
				sc.Buffer(nil, bufio.MaxScanTokenSize<<9)
				for sc.Scan() {
				}
				_ = resp.Body.Close()
			}
			read()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			b.ReportAllocs()
			cpu0 := cpuNow()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				read()
				if i&63 == 63 {
					rec.Reset()
				}
			}
			b.StopTimer()
			cpu := cpuNow() - cpu0
			runtime.ReadMemStats(&m1)
			rec.Reset()
			per := float64(b.N) * (benchChunks + 1)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/chunk")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/per, "allocs/chunk")
			b.ReportMetric(float64(cpu.Nanoseconds())/per, "cpu-ns/chunk")
		})
	}
}

// ---- 2. non-streamed -------------------------------------------------------

func BenchmarkNonStream(b *testing.B) {
	var rec *tracetest.SpanRecorder
	vs := variants(&rec)
	for _, v := range vs[:5] { // the pipe+map baseline only concerns streams
		b.Run(v.name, func(b *testing.B) {
			c := v.client(&benchload.Transport{Body: []byte(benchload.JSON), ContentType: "application/json"})
			p := benchParams("gpt-4o")
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{}
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := cpuNow()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := c.Chat.Completions.New(ctx, p)
				if err != nil || len(r.Choices) != 1 {
					b.Fatal(err)
				}
				if i&63 == 63 {
					rec.Reset()
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuNow()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			rec.Reset()
		})
	}
}

// BenchmarkSDKFloor measures what the OpenTelemetry SDK alone costs for the
// telemetry of one non-streamed call, with no library code: a sampled
// CLIENT span carrying the same 26 attributes and 2 events, and the same
// 7 metric records with attribute sets built once. It is the floor under
// any instrumentation that emits this telemetry through the SDK.
func BenchmarkSDKFloor(b *testing.B) {
	tp, rec, mp := sdkProviders()
	f, err := benchload.NewFloor(tp, mp)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuNow()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.Emit(ctx)
		if i&63 == 63 {
			rec.Reset()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuNow()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// ---- allocation guard --------------------------------------------------------

// raceEnabled reports whether the test binary was built with -race, under
// which sync.Pool drops items at random and allocation counts are noisy.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// TestChunkPathAllocs fails if the instrumentation's allocations grow with
// the number of chunks: the extra allocations of an instrumented stream over
// a plain one must be the same for 1,000 and 2,000 chunks.
func TestChunkPathAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 36,000 chunks")
	}
	allocs := func(n int, opts ...infermetrics.Option) float64 {
		var ro []option.RequestOption
		if opts != nil {
			ro = append(ro, infermetrics.Instrument(opts...))
		}
		c := newClient(benchload.Stream(n), ro...)
		p := benchParams("gpt-4o")
		for range 3 { // warm-up: fill pools, grow buffers
			benchRead(t, &c, &p)
		}
		return testing.AllocsPerRun(10, func() { benchRead(t, &c, &p) })
	}
	plain2000, plain1000 := allocs(2000), allocs(1000)
	// One allocation per chunk adds 1,000; one per 100 chunks adds 10.
	// Below that the averages move by a few from run to run with the SDK
	// (its lazily grown state, sync.Pool drops at a GC), so the limit is
	// 10, not 2: the old limit failed about 3 runs in 10 on 2 cores.
	limit := 10.0
	if raceEnabled() {
		// sync.Pool drops items at random under -race, which moves these
		// averages by tens (up to 23 seen). One allocation per chunk would
		// add 1,000, so this still catches it.
		limit = 100
	}
	// No-op providers with a hook: the library does all its work (a call
	// nobody observes is passed through untouched) and exports nothing.
	noop := []infermetrics.Option{
		infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()),
		infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()),
		infermetrics.WithOnCall(func(*infermetrics.Call) {}),
	}
	// Always sampled, but no processor keeps the spans: a recorder's
	// growing slice would be the test's allocations, not the library's.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	for _, tc := range []struct {
		name string
		opts []infermetrics.Option
	}{
		// WithMaxChunkTimes(0) keeps no chunk times, so emit records no
		// per-chunk histogram values: this is the per-chunk read path alone.
		{"read-path", append([]infermetrics.Option{infermetrics.WithMaxChunkTimes(0)}, noop...)},
		// Default options add the chunk times kept for the hook.
		{"default", noop},
		// With the SDK, the time_per_output_chunk points recorded from the
		// chunk times when the call ends, and the span.
		{"otel-sdk", []infermetrics.Option{infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			instr2000, instr1000 := allocs(2000, tc.opts...), allocs(1000, tc.opts...)
			growth := (instr2000 - plain2000) - (instr1000 - plain1000)
			t.Logf("plain %.0f / %.0f allocs, instrumented %.0f / %.0f (1000 / 2000 chunks): extra %.0f / %.0f, growth %.0f (allowed %.0f)",
				plain1000, plain2000, instr1000, instr2000, instr1000-plain1000, instr2000-plain2000, growth, limit)
			if growth > limit {
				t.Errorf("instrumented allocations grow with the number of chunks: +%.0f for 1,000 more chunks (limit %.0f)", growth, limit)
			}
		})
	}
}
