package infermetrics_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func ExampleInstrument() {
	// A scripted provider: a reasoning model that runs out of budget.
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
		infermetricstest.Role(),
		infermetricstest.Reasoning("The user wants a poem. First, "),
		infermetricstest.Finish("length"),
		infermetricstest.Usage(infermetricstest.Tokens{Input: 20, Output: 256, Reasoning: 256}),
		infermetricstest.Done(),
	}})
	defer srv.Close()

	client := openai.NewClient(
		option.WithBaseURL(srv.URL()),
		option.WithAPIKey("sk-..."),
		infermetrics.Instrument(
			infermetrics.WithPrice("o4-mini", infermetrics.Price{Input: 1.10, CachedInput: 0.275, Output: 4.40}),
			infermetrics.WithOnCall(func(c *infermetrics.Call) {
				fmt.Printf("tokens in=%d out=%d (reasoning %d)\n", c.InputTokens, c.OutputTokens, c.ReasoningTokens)
				fmt.Printf("cost $%.6f, useful %v, flags %s\n", c.Cost.Total, c.Useful(), c.Flags)
			}),
		),
	)
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "o4-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Write a poem.")},
	})
	for stream.Next() {
	}
	stream.Close()
	// Output:
	// tokens in=20 out=256 (reasoning 256)
	// cost $0.001148, useful false, flags truncated|empty_answer|reasoning_exhausted
}

func ExampleNewTransport() {
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
		infermetricstest.Content("Hello"), infermetricstest.Finish("stop"), infermetricstest.Done(),
	}})
	defer srv.Close()

	// Any client that takes an *http.Client can be measured.
	hc := &http.Client{Transport: infermetrics.NewTransport(srv.Client().Transport,
		infermetrics.WithoutUsageInjection(),
		infermetrics.WithOnCall(func(c *infermetrics.Call) {
			fmt.Printf("finish=%s estimated=%v flags=%s\n", c.FinishReason, !c.UsageReported, c.Flags)
		}))}
	client := openai.NewClient(option.WithBaseURL(srv.URL()), option.WithAPIKey("sk-..."), option.WithHTTPClient(hc))
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
	})
	for stream.Next() {
	}
	stream.Close()
	// Output:
	// finish=stop estimated=true flags=usage_missing
}

func ExampleReceiveTimestamps() {
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
		infermetricstest.Content("Hello"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 1}), infermetricstest.Done(),
	}})
	defer srv.Close()

	// Connections that learn when the kernel received each read, spoken
	// over HTTP/1.1: chunk times are arrivals even when the process is
	// busy.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = infermetrics.ReceiveTimestamps(tr.DialContext)
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP1(true)
	defer tr.CloseIdleConnections()

	client := openai.NewClient(
		option.WithBaseURL(srv.URL()),
		option.WithAPIKey("sk-..."),
		option.WithHTTPClient(&http.Client{Transport: tr}),
		infermetrics.Instrument(infermetrics.WithOnCall(func(c *infermetrics.Call) {
			fmt.Printf("chunks=%d first chunk after start: %v\n", c.Chunks, c.TimeToFirstChunk > 0)
		})),
	)
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
	})
	for stream.Next() {
	}
	stream.Close()
	// Output:
	// chunks=3 first chunk after start: true
}
