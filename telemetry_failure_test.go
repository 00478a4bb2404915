package infermetrics_test

import (
	"context"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// errorCounter installs an OTel error handler that counts errors, restored
// when the test ends.
func errorCounter(t *testing.T) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) { n.Add(1) }))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	return &n
}

// TestTelemetryFailures sends calls while the OTLP exporters point at a
// closed port or at a server that accepts connections and never answers:
// every call completes with correct results, and the export errors go to
// otel.Handle, not to the application.
func TestTelemetryFailures(t *testing.T) {
	// A port nobody listens on.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	// A server that accepts and then says nothing.
	slow, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	go func() {
		for {
			c, err := slow.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	for _, tc := range []struct{ name, addr string }{{"dead endpoint", deadAddr}, {"silent endpoint", slow.Addr().String()}} {
		t.Run(tc.name, func(t *testing.T) {
			errs := errorCounter(t)
			ctx := context.Background()
			te, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(tc.addr), otlptracehttp.WithInsecure(), otlptracehttp.WithTimeout(200*time.Millisecond),
				otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
			if err != nil {
				t.Fatal(err)
			}
			me, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(tc.addr), otlpmetrichttp.WithInsecure(), otlpmetrichttp.WithTimeout(200*time.Millisecond),
				otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}))
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(te, sdktrace.WithBatchTimeout(20*time.Millisecond)))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me, sdkmetric.WithInterval(20*time.Millisecond))))

			srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
				infermetricstest.Role(), infermetricstest.Content("hello"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 3, Output: 1}), infermetricstest.Done(),
			}})
			defer srv.Close()
			var got collect
			client := openai.NewClient(option.WithBaseURL(srv.URL()), option.WithAPIKey("k"), option.WithHTTPClient(srv.Client()),
				infermetrics.Instrument(infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp), infermetrics.WithOnCall(got.hook)))
			const calls = 30
			for i := 0; i < calls; i++ {
				chunks, err := drain(t, client.Chat.Completions.NewStreaming(ctx, chatParams("gpt-4o")))
				if err != nil || len(chunks) != 3 {
					t.Fatalf("call %d: %d chunks, err %v", i, len(chunks), err)
				}
				time.Sleep(5 * time.Millisecond) // let the exporters try meanwhile
			}
			for _, c := range got.all() {
				if c.Err != nil || c.OutputTokens != 1 || !c.Useful() {
					t.Errorf("got err=%v out=%d useful=%v", c.Err, c.OutputTokens, c.Useful())
				}
			}
			if n := len(got.all()); n != calls {
				t.Errorf("got %d records, want %d", n, calls)
			}
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_ = tp.Shutdown(sctx)
			_ = mp.Shutdown(sctx)
			if errs.Load() == 0 {
				t.Error("no export error reached otel.Handle")
			}
			srv.Client().CloseIdleConnections()
		})
	}
}

func TestHookPanicReachesOtelHandle(t *testing.T) {
	errs := errorCounter(t)
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
		infermetricstest.Role(), infermetricstest.Content("hi"), infermetricstest.Finish("stop"), infermetricstest.Done(),
	}})
	client := kitClient(srv, infermetrics.WithOnCall(func(*infermetrics.Call) { panic("boom") }))
	if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))); err != nil {
		t.Fatal(err)
	}
	if errs.Load() != 1 {
		t.Errorf("otel.Handle got %d errors, want 1", errs.Load())
	}
}

func TestBadConfigurationPanicsAtConstruction(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model string
		p     infermetrics.Price
		want  string
	}{
		{"negative", "gpt-4o", infermetrics.Price{Input: -1, Output: 10}, "Input price -1"},
		{"NaN", "gpt-4o", infermetrics.Price{Input: 1, Output: math.NaN()}, "Output price NaN"},
		{"empty model", "", infermetrics.Price{Input: 1, Output: 1}, "empty model name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(error).Error(), tc.want) {
					t.Errorf("got panic %v, want one mentioning %q", r, tc.want)
				}
			}()
			infermetrics.Instrument(infermetrics.WithPrice(tc.model, tc.p))
		})
	}
}
