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
	"net/http"
	"os"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/internal/benchload"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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
	mode := flag.String("mode", "stream", "stream, nonstream or responses (a Responses API stream)")
	variant := flag.String("variant", "plain", "plain, hook (no-op providers and a WithOnCall hook), sdk (real SDK, always sampled), sdk-gaps (sdk with a ChunkGaps producer), floor (nonstream: the SDK alone emitting the same telemetry)")
	calls := flag.Int("calls", 1, "calls to make")
	chunks := flag.Int("chunks", 1000, "content chunks per stream")
	flag.Parse()

	if *variant == "floor" {
		floor(*calls)
		return
	}
	var rt http.RoundTripper = &benchload.Transport{Body: []byte(benchload.JSON), ContentType: "application/json"}
	switch *mode {
	case "stream":
		rt = benchload.Stream(*chunks)
	case "responses":
		rt = benchload.ResponsesStream(*chunks)
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
	if *mode == "responses" {
		p := responses.ResponseNewParams{
			Model: "gpt-4o",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Explain Go's garbage collector in one paragraph.")},
		}
		for range *calls {
			s := client.Responses.NewStreaming(ctx, p)
			n := 0
			for s.Next() {
				_ = s.Current()
				n++
			}
			if err := s.Err(); err != nil || n != benchload.ResponsesEvents(*chunks) {
				fmt.Fprintf(os.Stderr, "responses: %d events, err %v\n", n, err)
				os.Exit(1)
			}
			_ = s.Close()
		}
		return
	}
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
	f, err := benchload.NewFloor(tp, mp)
	if err != nil {
		panic(err)
	}
	for range calls {
		f.Emit(context.Background())
	}
}
