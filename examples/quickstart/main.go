// Quickstart measures a few chat completions and prints each call's numbers.
//
// With no configuration it talks to a simulated provider running on
// loopback (a fast instruct model, a reasoning model, one that runs out of
// budget while thinking, and one that stalls mid-answer). To measure a real
// endpoint, set OPENAI_API_KEY, and optionally OPENAI_BASE_URL and
// OPENAI_MODEL:
//
//	OPENAI_API_KEY=sk-... OPENAI_MODEL=gpt-4o-mini go run ./examples/quickstart
//
// Telemetry stays in memory unless OTEL_EXPORTER_OTLP_ENDPOINT is set; then
// spans and metrics are exported over OTLP as the standard OTEL_* variables
// say (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_SERVICE_NAME, ...),
// through go.opentelemetry.io/contrib/exporters/autoexport. The library
// itself never chooses exporters: the application does, as here.
//
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=quickstart go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func main() {
	log.SetFlags(0)
	ctx := context.Background()

	// A real OpenTelemetry SDK pipeline, installed as the global
	// providers that Instrument uses by default.
	report := setupTelemetry(ctx)

	var mu sync.Mutex
	var calls []*infermetrics.Call
	instrument := infermetrics.Instrument(
		infermetrics.WithOnCall(func(c *infermetrics.Call) {
			mu.Lock()
			calls = append(calls, c.Clone())
			mu.Unlock()
		}),
	)

	var opts []option.RequestOption
	var models []string
	prompt := "In two sentences, why does time to first token matter for chat applications?"
	if key := os.Getenv("OPENAI_API_KEY"); key != "" {
		opts = append(opts, option.WithAPIKey(key))
		if base := os.Getenv("OPENAI_BASE_URL"); base != "" {
			opts = append(opts, option.WithBaseURL(base))
		}
		model := os.Getenv("OPENAI_MODEL")
		if model == "" {
			model = "gpt-4o-mini"
		}
		models = []string{model, model, model}
		fmt.Printf("Measuring %s at %s\n\n", model, orDefault(os.Getenv("OPENAI_BASE_URL"), "api.openai.com"))
	} else {
		srv := infermetricstest.NewServer(simulated()...)
		defer srv.Close()
		opts = append(opts, option.WithBaseURL(srv.URL()), option.WithAPIKey("simulated"))
		models = []string{"gpt-4o-mini", "o4-mini", "o4-mini", "gpt-4o-mini"}
		fmt.Printf("No OPENAI_API_KEY: measuring the simulated provider at %s\n\n", srv.URL())
	}
	client := openai.NewClient(append(opts, instrument)...)

	for _, model := range models {
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:               model,
			Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
			MaxCompletionTokens: openai.Int(400),
		})
		for stream.Next() {
			// An application would render stream.Current() here.
		}
		if err := stream.Err(); err != nil {
			log.Printf("%s: %v", model, err)
		}
		stream.Close()
	}

	printCalls(calls)
	report()
}

// setupTelemetry installs global tracer and meter providers and returns
// a function that flushes them and reports what they saw. With
// OTEL_EXPORTER_OTLP_ENDPOINT set, autoexport builds the exporters from
// the OTEL_* variables (README, Production); otherwise spans and metrics
// are recorded in memory and listed.
func setupTelemetry(ctx context.Context) (report func()) {
	if endpoint := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); endpoint != "" {
		spans, err := autoexport.NewSpanExporter(ctx)
		if err != nil {
			log.Fatal(err)
		}
		metrics, err := autoexport.NewMetricReader(ctx)
		if err != nil {
			log.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(metrics))
		otel.SetTracerProvider(tp)
		otel.SetMeterProvider(mp)
		return func() {
			// Shutdown flushes what is still buffered.
			if err := tp.Shutdown(ctx); err != nil {
				log.Printf("spans: %v", err)
			}
			if err := mp.Shutdown(ctx); err != nil {
				log.Printf("metrics: %v", err)
			}
			fmt.Printf("\nOpenTelemetry: spans and metrics exported to %s\n", endpoint)
		}
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	return func() {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("\nOpenTelemetry (in memory; set OTEL_EXPORTER_OTLP_ENDPOINT to export): %d spans; metrics:", len(spans.Ended()))
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				fmt.Printf(" %s", m.Name)
			}
		}
		fmt.Println()
	}
}

func printCalls(calls []*infermetrics.Call) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "model\tTTFC\tTTFT\tanswer\tmax gap\ttotal\ttok/s\tin\tout\treasoning\tcost $\tuseful\tflags\t")
	for _, c := range calls {
		cost := "?"
		if c.PriceKnown {
			cost = fmt.Sprintf("%.6f", c.Cost.Total)
		}
		out := fmt.Sprint(c.OutputTokens)
		if !c.UsageReported {
			out = "~" + out
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%d\t%s\t%d\t%s\t%v\t%s\t\n",
			c.ResponseModel, ms(c.TimeToFirstChunk), ms(c.TimeToFirstToken), ms(c.TimeToFirstAnswer),
			ms(c.MaxChunkGap), ms(c.Duration), c.OutputTokensPerSecond, c.InputTokens, out,
			c.ReasoningTokens, cost, c.Useful(), orDefault(c.Flags.String(), "-"))
	}
	w.Flush()
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// simulated returns the simulated provider's scripted responses.
func simulated() []infermetricstest.Scenario {
	type E = infermetricstest.Event
	words := func(text string, every time.Duration) []E {
		var out []E
		for _, w := range strings.SplitAfter(text, " ") {
			out = append(out, infermetricstest.Content(w).After(every))
		}
		return out
	}
	thinking := func(n int, every time.Duration) []E {
		var out []E
		for i := 0; i < n; i++ {
			out = append(out, infermetricstest.Reasoning("step ").After(every))
		}
		return out
	}
	answer := "Users judge responsiveness by when text starts to appear, so a long wait for the first token feels like a broken app. A steady first token matters more than a high average speed. "
	join := func(parts ...[]E) []E {
		var out []E
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	return []infermetricstest.Scenario{
		{Events: join(
			[]E{infermetricstest.Role().After(180 * time.Millisecond)},
			words(answer, 8*time.Millisecond),
			[]E{infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 24, Output: 38}), infermetricstest.Done()},
		)},
		{Model: "o4-mini-2025-04-16", Events: join(
			[]E{infermetricstest.Role().After(120 * time.Millisecond)},
			thinking(40, 6*time.Millisecond),
			words(answer, 10*time.Millisecond),
			[]E{infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 24, Output: 118, Reasoning: 80}), infermetricstest.Done()},
		)},
		{Model: "o4-mini-2025-04-16", Events: join(
			[]E{infermetricstest.Role().After(120 * time.Millisecond)},
			thinking(60, 6*time.Millisecond),
			[]E{infermetricstest.Finish("length"), infermetricstest.Usage(infermetricstest.Tokens{Input: 24, Output: 60, Reasoning: 60}), infermetricstest.Done()},
		)},
		{Events: join(
			[]E{infermetricstest.Role().After(150 * time.Millisecond)},
			words(answer[:80], 8*time.Millisecond),
			[]E{infermetricstest.Stall(900 * time.Millisecond)},
			words(answer[80:], 8*time.Millisecond),
			[]E{infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 24, Output: 38}), infermetricstest.Done()},
		)},
	}
}
