package infermetricstest_test

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func telClient(srv *infermetricstest.Server, tel *infermetricstest.Telemetry) openai.Client {
	return openai.NewClient(
		option.WithBaseURL("http://infermetricstest.invalid/v1"),
		option.WithAPIKey("sk-test"),
		option.WithHTTPClient(&http.Client{Transport: srv.Transport()}),
		option.WithMaxRetries(0),
		infermetrics.Instrument(tel.Options()...),
	)
}

func telParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
}

func TestTelemetryEmpty(t *testing.T) {
	tel := infermetricstest.NewTelemetry()
	if got := tel.Calls(); len(got) != 0 {
		t.Errorf("Calls: got %d, want 0", len(got))
	}
	if got := tel.LastCall(); got != nil {
		t.Errorf("LastCall: got %+v, want nil", got)
	}
	if got := tel.Spans(); len(got) != 0 {
		t.Errorf("Spans: got %d, want 0", len(got))
	}
	if _, ok := tel.Metric(infermetrics.MetricCalls); ok {
		t.Error("Metric found before any call")
	}
	if n := tel.HistogramCount(infermetrics.MetricOperationDuration); n != 0 {
		t.Errorf("HistogramCount: got %d, want 0", n)
	}
	if s := tel.Sum(infermetrics.MetricCalls); s != 0 {
		t.Errorf("Sum: got %v, want 0", s)
	}
}

func TestTelemetryRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(
			infermetricstest.Scenario{Events: []infermetricstest.Event{
				infermetricstest.Role().After(100 * time.Millisecond),
				infermetricstest.Content("Hello").After(100 * time.Millisecond),
				infermetricstest.Content(" world").After(100 * time.Millisecond),
				infermetricstest.Finish("stop"),
				infermetricstest.Usage(infermetricstest.Tokens{Input: 10, Output: 2}),
				infermetricstest.Done(),
			}},
			infermetricstest.Scenario{Status: http.StatusTooManyRequests},
		)
		defer srv.Close()
		tel := infermetricstest.NewTelemetry()
		client := telClient(srv, tel)
		ctx := context.Background()

		s := client.Chat.Completions.NewStreaming(ctx, telParams("gpt-4o"))
		for s.Next() {
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := client.Chat.Completions.New(ctx, telParams("gpt-4o")); err == nil {
			t.Fatal("second call: want an error")
		}

		calls := tel.Calls()
		if len(calls) != 2 {
			t.Fatalf("Calls: got %d, want 2", len(calls))
		}
		if calls[0].Err != nil || calls[0].Chunks != 5 || calls[1].StatusCode != 429 {
			t.Errorf("Calls: got err=%v chunks=%d, status=%d; want nil, 5, 429", calls[0].Err, calls[0].Chunks, calls[1].StatusCode)
		}
		// Calls returns copies.
		calls[0].ChunkTimes[0] = time.Hour
		calls[0].ResponseModel = "changed"
		if again := tel.Calls()[0]; again.ChunkTimes[0] == time.Hour || again.ResponseModel == "changed" {
			t.Error("Calls returned the stored records, not copies")
		}
		if last := tel.LastCall(); last == nil || last.StatusCode != 429 {
			t.Errorf("LastCall: got %+v, want the 429 call", last)
		}

		spans := tel.Spans()
		if len(spans) != 2 {
			t.Fatalf("Spans: got %d, want 2", len(spans))
		}
		for _, sp := range spans {
			if sp.Name() != "chat gpt-4o" || sp.SpanKind() != trace.SpanKindClient {
				t.Errorf("span: got %q kind %v, want \"chat gpt-4o\" client", sp.Name(), sp.SpanKind())
			}
		}

		if m, ok := tel.Metric(infermetrics.MetricOperationDuration); !ok || m.Unit != "s" {
			t.Errorf("Metric(duration): got %+v, %v", m, ok)
		}
		if n := tel.HistogramCount(infermetrics.MetricOperationDuration); n != 2 {
			t.Errorf("HistogramCount(duration): got %d, want 2", n)
		}
		errType := attribute.String("error.type", calls[1].ErrorType)
		if calls[1].ErrorType != "invalid_request_error" {
			t.Errorf("ErrorType: got %q, want invalid_request_error", calls[1].ErrorType)
		}
		if n := tel.HistogramCount(infermetrics.MetricOperationDuration, errType); n != 1 {
			t.Errorf("HistogramCount(duration, %v): got %d, want 1", errType, n)
		}
		// Int64 histogram.
		if n := tel.HistogramCount(infermetrics.MetricTokenUsage, attribute.String("gen_ai.token.type", "input")); n != 1 {
			t.Errorf("HistogramCount(token usage, input): got %d, want 1", n)
		}
		// Int64 counter.
		if s := tel.Sum(infermetrics.MetricCalls); s != 2 {
			t.Errorf("Sum(calls): got %v, want 2", s)
		}
		if s := tel.Sum(infermetrics.MetricCalls, attribute.Bool("infermetrics.useful", true)); s != 1 {
			t.Errorf("Sum(calls, useful): got %v, want 1", s)
		}
		if s := tel.Sum(infermetrics.MetricCalls, attribute.Bool("infermetrics.useful", true), errType); s != 0 {
			t.Errorf("Sum(calls, useful, error): got %v, want 0", s)
		}
		// Float64 counter: gpt-4o has a built-in price.
		if s := tel.Sum(infermetrics.MetricCost); s <= 0 || s != calls[0].Cost.Total {
			t.Errorf("Sum(cost): got %v, want %v", s, calls[0].Cost.Total)
		}
		// A histogram is not a counter, and the reverse.
		if s := tel.Sum(infermetrics.MetricOperationDuration); s != 0 {
			t.Errorf("Sum(histogram): got %v, want 0", s)
		}
		if n := tel.HistogramCount(infermetrics.MetricCalls); n != 0 {
			t.Errorf("HistogramCount(counter): got %d, want 0", n)
		}
		// Collections are cumulative.
		if n := tel.HistogramCount(infermetrics.MetricOperationDuration); n != 2 {
			t.Errorf("second collection: got %d, want 2", n)
		}
	})
}

// TestTelemetryOverride checks that a WithOnCall given after Options
// replaces the Telemetry's hook.
func TestTelemetryOverride(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer()
		defer srv.Close()
		tel := infermetricstest.NewTelemetry()
		var mine int
		client := openai.NewClient(
			option.WithBaseURL("http://infermetricstest.invalid/v1"),
			option.WithAPIKey("sk-test"),
			option.WithHTTPClient(&http.Client{Transport: srv.Transport()}),
			option.WithMaxRetries(0),
			infermetrics.Instrument(append(tel.Options(), infermetrics.WithOnCall(func(*infermetrics.Call) { mine++ }))...),
		)
		if _, err := client.Chat.Completions.New(context.Background(), telParams("gpt-4o")); err != nil {
			t.Fatal(err)
		}
		if mine != 1 || len(tel.Calls()) != 0 || len(tel.Spans()) != 1 {
			t.Errorf("got hook=%d calls=%d spans=%d, want 1 0 1", mine, len(tel.Calls()), len(tel.Spans()))
		}
	})
}
