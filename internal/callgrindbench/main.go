// Command callgrindbench reads chat completions served from memory through
// openai-go, plain or instrumented, so that scripts/callgrind-chunk-cost can
// count the instructions each variant executes under valgrind's callgrind.
//
// It uses only infermetrics' public API, openai-go and the OpenTelemetry SDK.
// Run it twice with different -calls and subtract the totals: what is left
// is the marginal cost of the extra calls, without process start-up, pools
// filling or buffers growing.
//
//	callgrindbench -mode stream -variant sdk -calls 7
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/infermetrics/infermetrics/internal/benchload"
	"net/http"
	"os"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// discard is a span processor that drops every span, so that an
// always-sampled tracer does all its recording work and keeps nothing.
type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }

func sdkProviders() (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(discard{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	return tp, mp
}

func main() {
	mode := flag.String("mode", "stream", "stream or nonstream")
	variant := flag.String("variant", "plain", "plain, hook (no-op providers and a WithOnCall hook), sdk (real SDK, always sampled), sdk-gaps (sdk with a ChunkGaps producer), floor (nonstream: the SDK alone emitting the same telemetry)")
	calls := flag.Int("calls", 1, "calls to make")
	chunks := flag.Int("chunks", 1000, "content chunks per stream")
	flag.Parse()

	if *variant == "floor" {
		floor(*calls)
		return
	}
	var rt http.RoundTripper = &benchload.Transport{Body: []byte(benchload.JSON), ContentType: "application/json"}
	if *mode == "stream" {
		rt = benchload.Stream(*chunks)
	}
	opts := []option.RequestOption{
		option.WithBaseURL("http://bench.invalid/v1"),
		option.WithAPIKey("sk-bench"),
		option.WithHTTPClient(&http.Client{Transport: rt}),
		option.WithMaxRetries(0),
	}
	switch *variant {
	case "plain":
	case "hook":
		opts = append(opts, infermetrics.Instrument(
			infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()),
			infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()),
			infermetrics.WithOnCall(func(*infermetrics.Call) {})))
	case "sdk":
		tp, mp := sdkProviders()
		opts = append(opts, infermetrics.Instrument(infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp)))
	case "sdk-gaps":
		// As sdk, with time_per_output_chunk aggregated by a ChunkGaps
		// registered with the reader.
		gaps := infermetrics.NewChunkGaps(nil)
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(discard{}))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader(sdkmetric.WithProducer(gaps))))
		opts = append(opts, infermetrics.Instrument(infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp), infermetrics.WithChunkGaps(gaps)))
	default:
		fmt.Fprintf(os.Stderr, "unknown variant %q\n", *variant)
		os.Exit(2)
	}
	client := openai.NewClient(opts...)
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Explain Go's garbage collector in one paragraph.")},
	}
	ctx := context.Background()
	for range *calls {
		if *mode == "stream" {
			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			s := client.Chat.Completions.NewStreaming(ctx, params)
			n := 0
			for s.Next() {
				_ = s.Current()
				n++
			}
			if err := s.Err(); err != nil || n != *chunks+3 {
				fmt.Fprintf(os.Stderr, "stream: %d chunks, err %v\n", n, err)
				os.Exit(1)
			}
			_ = s.Close()
		} else {
			r, err := client.Chat.Completions.New(ctx, params)
			if err != nil || len(r.Choices) != 1 {
				fmt.Fprintf(os.Stderr, "call: %v\n", err)
				os.Exit(1)
			}
		}
	}
}

// floor emits what one non-streamed call's telemetry is, through the SDK
// alone (as BenchmarkSDKFloor in bench_test.go): a sampled CLIENT span with
// the same attributes and events, and the same metric records.
func floor(calls int) {
	tp, mp := sdkProviders()
	tracer := tp.Tracer("floor")
	meter := mp.Meter("floor")
	duration, _ := meter.Float64Histogram("duration")
	tokens, _ := meter.Int64Histogram("tokens")
	callc, _ := meter.Int64Counter("calls")
	cost, _ := meter.Float64Counter("cost")
	base := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("server.address", "api.openai.com"), attribute.Int("server.port", 443),
		attribute.String("gen_ai.request.model", "gpt-4o"), attribute.String("gen_ai.response.model", "gpt-4o-2024-08-06"),
	}
	set := func(kv ...attribute.KeyValue) []metric.RecordOption {
		return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(append(base[:len(base):len(base)], kv...)...))}
	}
	baseSet, in, out := set(), set(attribute.String("gen_ai.token.type", "input")), set(attribute.String("gen_ai.token.type", "output"))
	callSet := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(append(base[:len(base):len(base)], attribute.Bool("infermetrics.useful", true))...))}
	ctx := context.Background()
	for range calls {
		start := time.Now()
		sctx, span := tracer.Start(ctx, "chat gpt-4o", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(base[:5]...))
		span.SetAttributes(
			attribute.Bool("gen_ai.request.stream", false), attribute.Int64("gen_ai.request.max_tokens", 256),
			attribute.Float64("gen_ai.request.temperature", 0.2), attribute.Int("infermetrics.attempt", 1),
		)
		span.SetAttributes(
			attribute.Int("http.response.status_code", 200), attribute.String("gen_ai.response.id", "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"),
			base[5], attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
			attribute.Int64("gen_ai.usage.input_tokens", 23), attribute.Int64("gen_ai.usage.output_tokens", 88),
			attribute.Int64("gen_ai.usage.reasoning.output_tokens", 0), attribute.Int64("gen_ai.usage.cache_read.input_tokens", 0),
			attribute.Bool("infermetrics.usage_estimated", false), attribute.Float64("infermetrics.output_tokens_per_second", 0),
			attribute.Float64("infermetrics.consumer_time", 0.00001), attribute.Bool("infermetrics.useful", true),
			attribute.Bool("infermetrics.price_known", true), attribute.Float64("infermetrics.cost", 0.0009375),
		)
		span.AddEvent("infermetrics.first_token", trace.WithTimestamp(start))
		span.AddEvent("infermetrics.first_answer", trace.WithTimestamp(start))
		span.End(trace.WithTimestamp(time.Now()))
		mctx := context.WithoutCancel(sctx)
		duration.Record(mctx, 0.1, baseSet...)
		tokens.Record(mctx, 23, in...)
		tokens.Record(mctx, 88, out...)
		duration.Record(mctx, 0.1, baseSet...)
		duration.Record(mctx, 0.1, baseSet...)
		callc.Add(mctx, 1, callSet...)
		cost.Add(mctx, 0.0009375, callSet...)
	}
}
