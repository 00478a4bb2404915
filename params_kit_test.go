package infermetrics_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"go.opentelemetry.io/otel/attribute"
)

// TestParamIgnoredEndToEnd sends real requests through openai-go to
// scripted servers that ignore max_completion_tokens, n and stop, and
// checks the flag, the Call's names and the span attribute; and that a
// server honouring the same requests raises nothing.
func TestParamIgnoredEndToEnd(t *testing.T) {
	tests := []struct {
		name   string
		params func(*openai.ChatCompletionNewParams)
		events []infermetricstest.Event
		want   []string
	}{
		{
			name:   "max_completion_tokens ignored",
			params: func(p *openai.ChatCompletionNewParams) { p.MaxCompletionTokens = openai.Int(400) },
			events: []infermetricstest.Event{infermetricstest.Content("long answer"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 10, Output: 582})},
			want:   []string{"max_completion_tokens"},
		},
		{
			name:   "max_completion_tokens honoured",
			params: func(p *openai.ChatCompletionNewParams) { p.MaxCompletionTokens = openai.Int(400) },
			events: []infermetricstest.Event{infermetricstest.Content("answer"), infermetricstest.Finish("length"), infermetricstest.Usage(infermetricstest.Tokens{Input: 10, Output: 400})},
		},
		{
			name: "stop ignored",
			params: func(p *openai.ChatCompletionNewParams) {
				p.Stop = openai.ChatCompletionNewParamsStopUnion{OfString: openai.String("\n\n")}
			},
			events: []infermetricstest.Event{infermetricstest.Content("First paragraph.\n\nSecond paragraph."), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 10, Output: 7})},
			want:   []string{"stop"},
		},
		{
			name: "stop honoured",
			params: func(p *openai.ChatCompletionNewParams) {
				p.Stop = openai.ChatCompletionNewParamsStopUnion{OfString: openai.String("\n\n")}
			},
			events: []infermetricstest.Event{infermetricstest.Content("First paragraph."), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 10, Output: 3})},
		},
	}
	for _, tt := range tests {
		for _, stream := range []bool{true, false} {
			name := tt.name + map[bool]string{true: " streamed", false: " whole"}[stream]
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: append(tt.events, infermetricstest.Done())})
					defer srv.Close()
					tel := infermetricstest.NewTelemetry()
					client := kitClient(srv, tel.Options()...)
					p := chatParams("m")
					tt.params(&p)
					if stream {
						p.StreamOptions.IncludeUsage = openai.Bool(true)
						if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), p)); err != nil {
							t.Fatal(err)
						}
					} else if _, err := client.Chat.Completions.New(context.Background(), p); err != nil {
						t.Fatal(err)
					}
					checkIgnored(t, tel, tt.want)
				})
			})
		}
	}
}

// TestParamNIgnored scripts a server that sends three choices for n=2.
func TestParamNIgnored(t *testing.T) {
	for _, n := range []int64{2, 3} {
		synctest.Test(t, func(t *testing.T) {
			choice := func(i, text string) infermetricstest.Event {
				return infermetricstest.Raw(`data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":` + i + `,"delta":{"content":"` + text + `"},"finish_reason":"stop"}]}` + "\n\n")
			}
			srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
				choice("0", "a"), choice("1", "b"), choice("2", "c"), infermetricstest.Done(),
			}})
			defer srv.Close()
			tel := infermetricstest.NewTelemetry()
			client := kitClient(srv, tel.Options()...)
			p := chatParams("m")
			p.N = openai.Int(n)
			if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), p)); err != nil {
				t.Fatal(err)
			}
			var want []string
			if n == 2 {
				want = []string{"n"}
			}
			checkIgnored(t, tel, want)
		})
	}
}

func checkIgnored(t *testing.T, tel *infermetricstest.Telemetry, want []string) {
	t.Helper()
	c := tel.LastCall()
	if c == nil {
		t.Fatal("no call")
	}
	if got := c.Flags.Has(infermetrics.FlagParamIgnored); got != (len(want) > 0) {
		t.Errorf("param_ignored: got %v, want %v (flags %v)", got, len(want) > 0, c.Flags)
	}
	if !slices.Equal(c.IgnoredParams, want) {
		t.Errorf("IgnoredParams: got %q, want %q", c.IgnoredParams, want)
	}
	spans := tel.Spans()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	var attr []string
	for _, kv := range spans[0].Attributes() {
		if kv.Key == attribute.Key("infermetrics.param_ignored") {
			attr = kv.Value.AsStringSlice()
		}
	}
	if !slices.Equal(attr, want) {
		t.Errorf("span infermetrics.param_ignored: got %q, want %q", attr, want)
	}
}
