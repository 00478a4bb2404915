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
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/internal/benchbase"
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

const benchChunkHead = `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[`

// sseBody builds a realistic OpenAI stream: a role chunk, n content chunks
// (~250 bytes each), a finish chunk, a usage chunk and [DONE]. It has n+3
// data events before [DONE].
func sseBody(n int) []byte {
	var b bytes.Buffer
	ev := func(s string) { b.WriteString("data: "); b.WriteString(s); b.WriteString("\n\n") }
	ev(benchChunkHead + `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x8Fq"}`)
	words := []string{" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog", ",", " and", ` \"quoted\"`, " caf\u00e9", "\\n"}
	for i := 0; i < n; i++ {
		ev(benchChunkHead + `{"index":0,"delta":{"content":"` + words[i%len(words)] + `"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Qz3k` + strconv.Itoa(i%10) + `"}`)
	}
	ev(benchChunkHead + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null,"obfuscation":"a1"}`)
	ev(benchChunkHead + `],"usage":{"prompt_tokens":19,"completion_tokens":` + strconv.Itoa(n) + `,"total_tokens":` + strconv.Itoa(n+19) + `,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":"b2"}`)
	ev("[DONE]")
	return b.Bytes()
}

// jsonBody is a realistic ~1 KB non-streamed chat.completion.
const jsonBody = `{
  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "gpt-4o-2024-08-06",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "Go's garbage collector is a concurrent, tri-color mark-and-sweep collector. It runs alongside your program, marking reachable objects while goroutines keep executing, and only briefly stops the world to enable the write barrier and to finish marking. Memory that is not reachable is swept lazily as new allocations need space. The pacer decides when to start a cycle from GOGC and the memory limit, trading CPU for heap size.",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 23,
    "completion_tokens": 88,
    "total_tokens": 111,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": "fp_f9f4fb6dbf"
}`

// memTransport serves a pre-built body from memory on every request.
type memTransport struct {
	body        []byte
	contentType string
}

func (t *memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	h := make(http.Header, 1)
	h.Set("Content-Type", t.contentType)
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    200,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: -1,
		Request:       req,
	}, nil
}

func streamTransport(n int) *memTransport {
	return &memTransport{body: sseBody(n), contentType: "text/event-stream; charset=utf-8"}
}

func benchClient(rt http.RoundTripper, opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{
		option.WithBaseURL("http://bench.invalid/v1"),
		option.WithAPIKey("sk-bench"),
		option.WithHTTPClient(&http.Client{Transport: rt}),
		option.WithMaxRetries(0),
	}
	return openai.NewClient(append(base, opts...)...)
}

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

func variants(rec **tracetest.SpanRecorder) []variant {
	tp, r, mp := sdkProviders()
	*rec = r
	return []variant{
		{"Plain", func(rt http.RoundTripper) openai.Client { return benchClient(rt) }},
		{"Instrumented/otel-sdk", func(rt http.RoundTripper) openai.Client {
			return benchClient(rt, infermetrics.Instrument(infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp)))
		}},
		{"Instrumented/noop", func(rt http.RoundTripper) openai.Client {
			return benchClient(rt, infermetrics.Instrument(
				infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()),
				infermetrics.WithMeterProvider(metricnoop.NewMeterProvider())))
		}},
		{"otelhttp", func(rt http.RoundTripper) openai.Client {
			return benchClient(otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp)))
		}},
		{"PipeMapBaseline", func(rt http.RoundTripper) openai.Client {
			return benchClient(rt, option.WithMiddleware(benchbase.Middleware(nil)))
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
			c := v.client(streamTransport(benchChunks))
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
		{"Instrumented/noop-nochunktimes", func(rt http.RoundTripper) http.RoundTripper {
			return infermetrics.NewTransport(rt, infermetrics.WithMaxChunkTimes(0), infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()), infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()))
		}},
	} {
		b.Run(v.name, func(b *testing.B) {
			hc := &http.Client{Transport: v.rt(streamTransport(benchChunks))}
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
	for _, v := range vs[:3] {
		b.Run(v.name, func(b *testing.B) {
			c := v.client(&memTransport{body: []byte(jsonBody), contentType: "application/json"})
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

// ---- 3. scale: timestamp accuracy under concurrency ------------------------

const scaleChunks = 50

// scaleServer streams scaleChunks chunks gap apart; each chunk's id is
// "chatcmpl-<send time in Unix ns>", stamped just before the write. With
// stagger, the n-th of streams requests waits n/streams of a gap before its
// first chunk, so streams are not phase-locked (real traffic is not);
// without it every stream sends at the same instants, in bursts.
func scaleServer(gap time.Duration, streams int, stagger bool) *httptest.Server {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		fl := w.(http.Flusher)
		fl.Flush()
		if stagger {
			time.Sleep(gap * time.Duration(n.Add(1)%int64(streams)) / time.Duration(streams))
		}
		buf := make([]byte, 0, 512)
		for i := 0; i < scaleChunks; i++ {
			if i > 0 {
				time.Sleep(gap)
			}
			buf = buf[:0]
			buf = append(buf, `data: {"id":"chatcmpl-`...)
			buf = strconv.AppendInt(buf, time.Now().UnixNano(), 10)
			buf = append(buf, `","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_f9f4fb6dbf","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":`...)
			if i == scaleChunks-1 {
				buf = append(buf, `"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":50,"total_tokens":69}}`...)
			} else {
				buf = append(buf, `null}],"usage":null}`...)
			}
			buf = append(buf, "\n\n"...)
			if i == scaleChunks-1 {
				buf = append(buf, "data: [DONE]\n\n"...)
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
			fl.Flush()
		}
	}))
}

type scaleRecord struct {
	start  time.Time
	times  []time.Duration
	stamps []int64
	app    []int64 // when the application got each chunk from Next
}

// BenchmarkScale runs 100/500/1000 concurrent loopback streams through one
// client. For the instrumented client it reports the error of Call.Start +
// ChunkTimes[i] against the server's send stamp (p50/p99/max/min, µs); for
// both it reports app-* percentiles, the delay from the send stamp to the
// application getting the chunk from Next, and chunks/s. Run with
// -benchtime 1x. Chunks 10 ms apart (100 chunks/s a stream, a fast model)
// saturate this 2-core machine at 500 streams; 50 ms apart (20 chunks/s a
// stream) it keeps up, which is what timestamp accuracy should be judged
// on.
func BenchmarkScale(b *testing.B) {
	for _, load := range []struct {
		name    string
		gap     time.Duration
		stagger bool
	}{
		{"gap=10ms", 10 * time.Millisecond, false},
		{"gap=50ms", 50 * time.Millisecond, false},
		{"gap=50ms-staggered", 50 * time.Millisecond, true},
	} {
		for _, mode := range []string{"Instrumented", "Plain"} {
			for _, streams := range []int{100, 500, 1000} {
				b.Run(fmt.Sprintf("%s/%s/streams=%d", load.name, mode, streams), func(b *testing.B) {
					benchScale(b, streams, load.gap, load.stagger, mode == "Instrumented")
				})
			}
		}
	}
}

func benchScale(b *testing.B, streams int, gap time.Duration, stagger, instrumented bool) {
	{
		{
			srv := scaleServer(gap, streams, stagger)
			defer srv.Close()
			var mu sync.Mutex
			recs := make(map[string]*scaleRecord, streams)
			tp, _, mp := sdkProviders()
			tr := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 30 * time.Second}
			defer tr.CloseIdleConnections()
			ro := []option.RequestOption{
				option.WithBaseURL(srv.URL + "/v1"),
				option.WithAPIKey("sk-bench"),
				option.WithHTTPClient(&http.Client{Transport: tr}),
				option.WithMaxRetries(0),
			}
			if instrumented {
				ro = append(ro, infermetrics.Instrument(
					infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp),
					infermetrics.WithOnCall(func(call *infermetrics.Call) {
						mu.Lock()
						r := recs[call.RequestModel]
						mu.Unlock()
						if r != nil {
							r.start = call.Start
							r.times = append(r.times[:0], call.ChunkTimes...)
						}
					})))
			}
			c := openai.NewClient(ro...)
			var errs, appErrs []time.Duration
			var chunks int
			var wall time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for it := 0; it < b.N; it++ {
				mu.Lock()
				clear(recs)
				for i := 0; i < streams; i++ {
					recs["scale-"+strconv.Itoa(i)] = &scaleRecord{}
				}
				mu.Unlock()
				var wg sync.WaitGroup
				failures := make(chan error, streams)
				t0 := time.Now()
				for i := 0; i < streams; i++ {
					model := "scale-" + strconv.Itoa(i)
					mu.Lock()
					r := recs[model]
					mu.Unlock()
					wg.Go(func() {
						p := benchParams(model)
						s := c.Chat.Completions.NewStreaming(context.Background(), p)
						for s.Next() {
							id := s.Current().ID
							ns, err := strconv.ParseInt(strings.TrimPrefix(id, "chatcmpl-"), 10, 64)
							if err != nil {
								failures <- err
								break
							}
							r.app = append(r.app, time.Now().UnixNano())
							r.stamps = append(r.stamps, ns)
						}
						if err := s.Err(); err != nil {
							failures <- err
						}
						_ = s.Close()
					})
				}
				wg.Wait()
				wall += time.Since(t0)
				close(failures)
				for err := range failures {
					b.Fatal(err)
				}
				for model, r := range recs {
					if (instrumented && len(r.times) != len(r.stamps)) || len(r.stamps) != scaleChunks {
						b.Fatalf("%s: %d chunk times, %d stamps", model, len(r.times), len(r.stamps))
					}
					for i, d := range r.times {
						errs = append(errs, time.Duration(r.start.Add(d).UnixNano()-r.stamps[i]))
					}
					for i, a := range r.app {
						appErrs = append(appErrs, time.Duration(a-r.stamps[i]))
					}
					chunks += len(r.stamps)
				}
			}
			b.StopTimer()
			q := func(e []time.Duration, p float64) float64 { return float64(e[int(p*float64(len(e)-1))].Microseconds()) }
			if instrumented {
				slices.Sort(errs)
				b.ReportMetric(q(errs, 0.50), "p50-µs")
				b.ReportMetric(q(errs, 0.99), "p99-µs")
				b.ReportMetric(q(errs, 1), "max-µs")
				b.ReportMetric(q(errs, 0), "min-µs")
			}
			slices.Sort(appErrs)
			b.ReportMetric(q(appErrs, 0.50), "app-p50-µs")
			b.ReportMetric(q(appErrs, 0.99), "app-p99-µs")
			b.ReportMetric(q(appErrs, 1), "app-max-µs")
			b.ReportMetric(float64(chunks)/wall.Seconds(), "chunks/s")
		}
	}
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
			opts = append(opts,
				infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()),
				infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()))
			ro = append(ro, infermetrics.Instrument(opts...))
		}
		c := benchClient(streamTransport(n), ro...)
		p := benchParams("gpt-4o")
		for range 3 { // warm-up: fill pools, grow buffers
			benchRead(t, &c, &p)
		}
		return testing.AllocsPerRun(10, func() { benchRead(t, &c, &p) })
	}
	plain2000, plain1000 := allocs(2000), allocs(1000)
	limit := 2.0
	if raceEnabled() {
		limit = 16 // sync.Pool drops items at random under -race
	}
	for _, tc := range []struct {
		name string
		opts []infermetrics.Option
	}{
		// WithMaxChunkTimes(0) keeps no chunk times, so emit records no
		// per-chunk histogram values: this is the per-chunk read path alone.
		{"read-path", []infermetrics.Option{infermetrics.WithMaxChunkTimes(0)}},
		// Default options add the time_per_output_chunk points recorded
		// from the chunk times when the call ends.
		{"default", []infermetrics.Option{}},
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
