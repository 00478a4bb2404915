package infermetrics_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// quietOptions are a client with no telemetry that records and no hook:
// without a context's function, its calls pass through unmeasured.
func quietOptions() []infermetrics.Option {
	return []infermetrics.Option{
		infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()),
		infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()),
	}
}

// TestContextWithOnCall checks that concurrent requests through one
// quiet client each hand their own Call to their own context's function,
// once, through Instrument and through NewTransport.
func TestContextWithOnCall(t *testing.T) {
	for _, path := range []string{"Instrument", "NewTransport"} {
		t.Run(path, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Each request is answered after a delay of its own, so
				// that the two overlap and end in the other order.
				srv := infermetricstest.NewServerFunc(func(r infermetricstest.Request) infermetricstest.Scenario {
					delay := 30 * time.Millisecond
					if r.Model == "second" {
						delay = 10 * time.Millisecond
					}
					return infermetricstest.Scenario{Events: []infermetricstest.Event{
						infermetricstest.Content("hi").After(delay),
						infermetricstest.Finish("stop"),
						infermetricstest.Done(),
					}}
				})
				defer srv.Close()
				var client openai.Client
				if path == "Instrument" {
					client = kitClient(srv, quietOptions()...)
				} else {
					client = newClient(infermetrics.NewTransport(srv.Transport(), quietOptions()...))
				}
				var wg sync.WaitGroup
				got := make([][]string, 2)
				for i, model := range []string{"first", "second"} {
					wg.Go(func() {
						ctx := infermetrics.ContextWithOnCall(context.Background(), func(c *infermetrics.Call) {
							got[i] = append(got[i], c.RequestModel)
						})
						st := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
							Model:    model,
							Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
						})
						for st.Next() {
						}
						if err := st.Close(); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				if !slices.Equal(got[0], []string{"first"}) || !slices.Equal(got[1], []string{"second"}) {
					t.Errorf("the hooks saw %q and %q, want [first] and [second]", got[0], got[1])
				}
			})
		})
	}
}

// TestContextWithOnCallOrder checks that the client's hook runs first,
// then the context's functions in the order they were added, once per
// attempt (a retry is another attempt), and that a panicking function
// does not keep the next from running.
func TestContextWithOnCallOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(
			infermetricstest.Scenario{Status: http.StatusInternalServerError},
			infermetricstest.Scenario{Events: []infermetricstest.Event{
				infermetricstest.Content("ok"), infermetricstest.Finish("stop"), infermetricstest.Done(),
			}},
		)
		defer srv.Close()
		var order []string
		record := func(name string) func(*infermetrics.Call) {
			return func(c *infermetrics.Call) { order = append(order, name+":"+c.FinishReason) }
		}
		var mu sync.Mutex
		var handled []error
		prev := otel.GetErrorHandler()
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); handled = append(handled, err); mu.Unlock() }))
		defer otel.SetErrorHandler(prev)
		client := newClient(srv.Transport(), option.WithMaxRetries(1),
			infermetrics.Instrument(append(quietOptions(), infermetrics.WithOnCall(record("client")))...))
		ctx := infermetrics.ContextWithOnCall(context.Background(), record("first"))
		ctx = infermetrics.ContextWithOnCall(ctx, func(*infermetrics.Call) { panic("boom") })
		ctx = infermetrics.ContextWithOnCall(ctx, nil)
		ctx = infermetrics.ContextWithOnCall(ctx, record("last"))
		st := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:    "m",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		for st.Next() {
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		want := []string{"client:", "first:", "last:", "client:stop", "first:stop", "last:stop"}
		if !slices.Equal(order, want) {
			t.Errorf("hooks ran %q, want %q", order, want)
		}
		mu.Lock()
		defer mu.Unlock()
		booms := 0
		for _, err := range handled {
			if strings.Contains(err.Error(), "boom") {
				booms++
			}
		}
		if booms != 2 {
			t.Errorf("otel.Handle got %v, want the two panics", handled)
		}
	})
}

// TestContextWithOnCallNil checks that a nil function leaves the context
// as it was.
func TestContextWithOnCallNil(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	if got := infermetrics.ContextWithOnCall(ctx, nil); got != ctx {
		t.Error("a nil function made a new context")
	}
	// A request without a function, through a quiet client, is not
	// measured: nothing would see it.
	srv := infermetricstest.NewServer()
	defer srv.Close()
	var saw bool
	ctx = infermetrics.ContextWithOnCall(context.Background(), func(*infermetrics.Call) { saw = true })
	client := kitClient(srv, quietOptions()...)
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	if saw {
		t.Error("a request without the context saw its function")
	}
	if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if !saw {
		t.Error("the request with the context did not call its function")
	}
}
