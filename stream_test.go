package infermetrics_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

const ms = time.Millisecond

func chatParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
}

// drain reads a stream to its end and returns the chunks the application saw.
func drain(t *testing.T, s interface {
	Next() bool
	Current() openai.ChatCompletionChunk
	Err() error
	Close() error
}) ([]openai.ChatCompletionChunk, error) {
	t.Helper()
	var out []openai.ChatCompletionChunk
	for s.Next() {
		out = append(out, s.Current())
	}
	err := s.Err()
	s.Close()
	return out, err
}

func onlyCall(t *testing.T, c *collect) *infermetrics.Call {
	t.Helper()
	calls := c.all()
	if len(calls) != 1 {
		t.Fatalf("got %d calls, want 1", len(calls))
	}
	return calls[0]
}

// TestTiming checks every timing figure against a scripted stream on the
// fake clock.
func TestTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(infermetricstest.Scenario{
			HeaderDelay: 50 * ms,
			Events: []infermetricstest.Event{
				infermetricstest.Role().After(50 * ms),                                                                              // 100ms: first chunk
				infermetricstest.Reasoning("Let me").After(200 * ms),                                                                // 300ms: first token
				infermetricstest.Reasoning(" think").After(100 * ms),                                                                // 400ms
				infermetricstest.Content("Hello").After(400 * ms),                                                                   // 800ms: first answer
				infermetricstest.Content(" world").After(50 * ms),                                                                   // 850ms
				infermetricstest.Content("!").After(1000 * ms),                                                                      // 1850ms: a 1s stall
				infermetricstest.Finish("stop").After(10 * ms),                                                                      // 1860ms
				infermetricstest.Usage(infermetricstest.Tokens{Input: 12, Output: 30, Reasoning: 8, CachedInput: 4}).After(10 * ms), // 1870ms
				infermetricstest.Done().After(10 * ms),                                                                              // 1880ms
			},
		})
		var got collect
		client := kitClient(srv, infermetrics.WithOnCall(got.hook))
		chunks, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o")))
		if err != nil {
			t.Fatal(err)
		}
		// The usage chunk the library asked for is not shown to the application.
		if len(chunks) != 7 {
			t.Errorf("application saw %d chunks, want 7", len(chunks))
		}
		for i, ch := range chunks {
			if len(ch.Choices) == 0 {
				t.Errorf("chunk %d has no choices: the injected usage chunk leaked", i)
			}
		}
		c := onlyCall(t, &got)
		checks := []struct {
			name      string
			got, want time.Duration
		}{
			{"TimeToFirstChunk", c.TimeToFirstChunk, 100 * ms},
			{"TimeToFirstToken", c.TimeToFirstToken, 300 * ms},
			{"TimeToFirstAnswer", c.TimeToFirstAnswer, 800 * ms},
			{"TimeToLastToken", c.TimeToLastToken, 1850 * ms},
			{"MaxChunkGap", c.MaxChunkGap, 1000 * ms},
			{"Duration", c.Duration, 1880 * ms},
		}
		for _, ck := range checks {
			if ck.got != ck.want {
				t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
			}
		}
		wantTimes := []time.Duration{100 * ms, 300 * ms, 400 * ms, 800 * ms, 850 * ms, 1850 * ms, 1860 * ms, 1870 * ms}
		if c.Chunks != len(wantTimes) || len(c.ChunkTimes) != len(wantTimes) {
			t.Fatalf("Chunks: got %d (%d times), want %d", c.Chunks, len(c.ChunkTimes), len(wantTimes))
		}
		for i := range wantTimes {
			if c.ChunkTimes[i] != wantTimes[i] {
				t.Errorf("ChunkTimes[%d]: got %v, want %v", i, c.ChunkTimes[i], wantTimes[i])
			}
		}
		if c.InputTokens != 12 || c.OutputTokens != 30 || c.ReasoningTokens != 8 || c.CachedInputTokens != 4 || !c.UsageReported {
			t.Errorf("usage: got in=%d out=%d reasoning=%d cached=%d reported=%v, want 12 30 8 4 true",
				c.InputTokens, c.OutputTokens, c.ReasoningTokens, c.CachedInputTokens, c.UsageReported)
		}
		// 30 output tokens (reasoning was streamed, so it counts) over 300ms..1850ms.
		if want := 30 / 1.55; !near(c.OutputTokensPerSecond, want) {
			t.Errorf("OutputTokensPerSecond: got %v, want %v", c.OutputTokensPerSecond, want)
		}
		if c.FinishReason != "stop" || c.Flags != 0 || !c.Useful() || c.Err != nil {
			t.Errorf("got finish=%q flags=%v useful=%v err=%v, want stop, none, true, nil", c.FinishReason, c.Flags, c.Useful(), c.Err)
		}
		if c.Attempt != 1 || c.StatusCode != 200 || !c.Stream || c.RequestModel != "gpt-4o" || c.ResponseModel != "gpt-4o" {
			t.Errorf("got attempt=%d status=%d stream=%v models=%q/%q", c.Attempt, c.StatusCode, c.Stream, c.RequestModel, c.ResponseModel)
		}
		if c.Start.IsZero() {
			t.Error("Start is zero")
		}
		// The server was asked for usage it would not otherwise have sent.
		reqs := srv.Requests()
		if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"include_usage":true`) {
			t.Errorf("request body lacks include_usage: %s", reqs[0].Body)
		}
	})
}

// TestHiddenReasoningSpeed checks that reasoning reported but never
// streamed is left out of the generation speed.
func TestHiddenReasoningSpeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
			infermetricstest.Role(),
			infermetricstest.Content("A").After(2 * time.Second),
			infermetricstest.Content("B").After(100 * ms),
			infermetricstest.Finish("stop").After(100 * ms),
			infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 104, Reasoning: 100}),
			infermetricstest.Done(),
		}})
		var got collect
		client := kitClient(srv, infermetrics.WithOnCall(got.hook))
		if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("o4-mini"))); err != nil {
			t.Fatal(err)
		}
		c := onlyCall(t, &got)
		// 104 output tokens of which 100 were hidden reasoning: 4 over 100ms.
		if want := 4 / 0.1; !near(c.OutputTokensPerSecond, want) {
			t.Errorf("OutputTokensPerSecond: got %v, want %v", c.OutputTokensPerSecond, want)
		}
	})
}

// TestConsumerTime checks that a slow application is measured, not
// blamed on the provider.
func TestConsumerTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := []infermetricstest.Event{infermetricstest.Role()}
		for i := 0; i < 5; i++ {
			events = append(events, infermetricstest.Content("x").After(10*ms))
		}
		events = append(events, infermetricstest.Finish("stop").After(10*ms), infermetricstest.Usage(infermetricstest.Tokens{Input: 1, Output: 5}), infermetricstest.Done())
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: events})
		var got collect
		client := kitClient(srv, infermetrics.WithOnCall(got.hook))
		s := client.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))
		for s.Next() {
			time.Sleep(time.Second) // a slow consumer
		}
		s.Close()
		c := onlyCall(t, &got)
		// The server sent every chunk within 60ms, but the application read
		// the first, slept a second, then read the rest in one go: it held
		// the stream for the whole second, and the late chunk times are its
		// doing, not the provider's.
		if c.ConsumerTime != time.Second || c.Duration != time.Second {
			t.Errorf("got ConsumerTime=%v Duration=%v, want 1s and 1s", c.ConsumerTime, c.Duration)
		}
		if c.TimeToFirstAnswer != time.Second {
			t.Errorf("TimeToFirstAnswer: got %v, want 1s (stamped when read)", c.TimeToFirstAnswer)
		}
	})
}

func TestNonStreamed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(infermetricstest.Scenario{HeaderDelay: 700 * ms, Events: []infermetricstest.Event{
			infermetricstest.Reasoning("hmm"),
			infermetricstest.Content("Hello"),
			infermetricstest.Finish("stop"),
			infermetricstest.Usage(infermetricstest.Tokens{Input: 9, Output: 20, Reasoning: 15, CachedInput: 3}),
		}})
		var got collect
		client := kitClient(srv, infermetrics.WithOnCall(got.hook))
		resp, err := client.Chat.Completions.New(context.Background(), chatParams("deepseek-reasoner"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != "Hello" {
			t.Errorf("content: got %q", resp.Choices[0].Message.Content)
		}
		c := onlyCall(t, &got)
		if c.Stream || c.Duration != 700*ms || c.TimeToFirstChunk != 0 || c.Chunks != 0 {
			t.Errorf("got stream=%v duration=%v ttfc=%v chunks=%d", c.Stream, c.Duration, c.TimeToFirstChunk, c.Chunks)
		}
		if c.InputTokens != 9 || c.OutputTokens != 20 || c.ReasoningTokens != 15 || c.CachedInputTokens != 3 || c.FinishReason != "stop" || !c.Useful() {
			t.Errorf("got in=%d out=%d r=%d cached=%d finish=%q useful=%v", c.InputTokens, c.OutputTokens, c.ReasoningTokens, c.CachedInputTokens, c.FinishReason, c.Useful())
		}
	})
}

func TestUsageInjection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		script := infermetricstest.Scenario{Events: []infermetricstest.Event{
			infermetricstest.Role(),
			infermetricstest.Content("Hello there, friend"),
			infermetricstest.Finish("stop"),
			infermetricstest.Usage(infermetricstest.Tokens{Input: 7, Output: 5}),
			infermetricstest.Done(),
		}}

		// Off: the server is asked as the application asked, and usage is estimated.
		srv := infermetricstest.NewServer(script)
		var got collect
		client := kitClient(srv, infermetrics.WithOnCall(got.hook), infermetrics.WithoutUsageInjection())
		if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o"))); err != nil {
			t.Fatal(err)
		}
		if b := string(srv.Requests()[0].Body); strings.Contains(b, "stream_options") {
			t.Errorf("request was changed: %s", b)
		}
		c := onlyCall(t, &got)
		if c.UsageReported || !c.Flags.Has(infermetrics.FlagUsageMissing) {
			t.Errorf("got UsageReported=%v flags=%v, want an estimate flagged usage_missing", c.UsageReported, c.Flags)
		}
		if c.OutputTokens < 3 || c.OutputTokens > 8 || c.InputTokens < 3 {
			t.Errorf("estimates: got in=%d out=%d, want out about 5 for %q", c.InputTokens, c.OutputTokens, "Hello there, friend")
		}

		// An application that asked for usage itself sees the usage chunk.
		srv2 := infermetricstest.NewServer(script)
		var got2 collect
		client2 := kitClient(srv2, infermetrics.WithOnCall(got2.hook))
		p := chatParams("gpt-4o")
		p.StreamOptions.IncludeUsage = openai.Bool(true)
		chunks, err := drain(t, client2.Chat.Completions.NewStreaming(context.Background(), p))
		if err != nil {
			t.Fatal(err)
		}
		if last := chunks[len(chunks)-1]; len(last.Choices) != 0 || last.Usage.PromptTokens != 7 {
			t.Errorf("application asked for usage but did not get the usage chunk: %s", last.RawJSON())
		}
		if c := onlyCall(t, &got2); !c.UsageReported || c.OutputTokens != 5 {
			t.Errorf("got reported=%v out=%d", c.UsageReported, c.OutputTokens)
		}
	})
}

func TestFlags(t *testing.T) {
	type E = infermetricstest.Event
	content := func(n int) []E {
		var out []E
		for i := 0; i < n; i++ {
			out = append(out, infermetricstest.Content("word "))
		}
		return out
	}
	cat := func(parts ...[]E) []E {
		var out []E
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	r := infermetricstest.Role
	tests := []struct {
		name   string
		sc     infermetricstest.Scenario
		params func(*openai.ChatCompletionNewParams)
		want   []infermetrics.Flag
		useful bool
	}{
		{"clean", infermetricstest.Scenario{Events: cat([]E{r()}, content(3), []E{infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 6}), infermetricstest.Done()})},
			nil, nil, true},
		{"truncated", infermetricstest.Scenario{Events: cat([]E{r()}, content(3), []E{infermetricstest.Finish("length"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 6}), infermetricstest.Done()})},
			nil, []infermetrics.Flag{infermetrics.FlagTruncated}, false},
		{"reasoning exhausted", infermetricstest.Scenario{Events: []E{r(), infermetricstest.Reasoning("thinking hard"), infermetricstest.Finish("length"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 64, Reasoning: 64}), infermetricstest.Done()}},
			nil, []infermetrics.Flag{infermetrics.FlagTruncated, infermetrics.FlagEmptyAnswer, infermetrics.FlagReasoningExhausted}, false},
		{"empty answer", infermetricstest.Scenario{Events: []E{r(), infermetricstest.Content("\n\n"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 1}), infermetricstest.Done()}},
			nil, []infermetrics.Flag{infermetrics.FlagEmptyAnswer}, false},
		{"content filtered", infermetricstest.Scenario{Events: cat([]E{r()}, content(2), []E{infermetricstest.Finish("content_filter"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 4}), infermetricstest.Done()})},
			nil, []infermetrics.Flag{infermetrics.FlagContentFiltered}, false},
		{"incomplete", infermetricstest.Scenario{Events: cat([]E{r()}, content(3), []E{infermetricstest.Drop()})},
			nil, []infermetrics.Flag{infermetrics.FlagIncomplete, infermetrics.FlagUsageMissing}, false},
		{"usage mismatch", infermetricstest.Scenario{Events: cat([]E{r()}, content(80), []E{infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 2}), infermetricstest.Done()})},
			nil, []infermetrics.Flag{infermetrics.FlagUsageMismatch}, true},
		{"model substituted", infermetricstest.Scenario{Model: "gpt-4o-fp8", Events: cat([]E{r()}, content(2), []E{infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 4}), infermetricstest.Done()})},
			nil, []infermetrics.Flag{infermetrics.FlagModelMismatch}, true},
		{"dated snapshot is fine", infermetricstest.Scenario{Model: "gpt-4o-2024-08-06", Events: cat([]E{r()}, content(2), []E{infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 4}), infermetricstest.Done()})},
			nil, nil, true},
		{"param ignored", infermetricstest.Scenario{Events: []E{r(), infermetricstest.Reasoning("hmm"), infermetricstest.Content("ok"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 20, Reasoning: 18}), infermetricstest.Done()}},
			func(p *openai.ChatCompletionNewParams) { p.ReasoningEffort = shared.ReasoningEffortMinimal },
			[]infermetrics.Flag{infermetrics.FlagParamIgnored}, true},
		{"invalid json", infermetricstest.Scenario{Events: []E{r(), infermetricstest.Content(`{"a": 1`), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 4}), infermetricstest.Done()}},
			func(p *openai.ChatCompletionNewParams) {
				p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
			},
			[]infermetrics.Flag{infermetrics.FlagInvalidJSON}, true},
		{"valid json", infermetricstest.Scenario{Events: []E{r(), infermetricstest.Content(`{"a": 1}`), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 4}), infermetricstest.Done()}},
			func(p *openai.ChatCompletionNewParams) {
				p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
			},
			nil, true},
		{"tool call answers", infermetricstest.Scenario{Events: []E{r(), infermetricstest.ToolCall("call_1", "get_weather", `{"city":`), infermetricstest.ToolArgs(`"Paris"}`), infermetricstest.Finish("tool_calls"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 9}), infermetricstest.Done()}},
			nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := infermetricstest.NewServer(tt.sc)
				var got collect
				client := kitClient(srv, infermetrics.WithOnCall(got.hook))
				p := chatParams("gpt-4o")
				if tt.params != nil {
					tt.params(&p)
				}
				drain(t, client.Chat.Completions.NewStreaming(context.Background(), p))
				c := onlyCall(t, &got)
				var want infermetrics.Flags
				for _, f := range tt.want {
					want = want.Set(f)
				}
				if c.Flags != want {
					t.Errorf("Flags: got %q, want %q", c.Flags, want)
				}
				if c.Useful() != tt.useful {
					t.Errorf("Useful: got %v, want %v", c.Useful(), tt.useful)
				}
			})
		})
	}
}

func TestErrors(t *testing.T) {
	t.Run("retry after 429", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := infermetricstest.NewServer(
				infermetricstest.Scenario{Status: 429, Header: http.Header{"Retry-After": {"1"}},
					ErrorBody: `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`},
				infermetricstest.Scenario{Events: []infermetricstest.Event{infermetricstest.Role(), infermetricstest.Content("ok"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 1, Output: 1}), infermetricstest.Done()}},
			)
			var got collect
			client := openai.NewClient(
				option.WithBaseURL("http://infermetricstest.invalid/v1"), option.WithAPIKey("k"),
				option.WithHTTPClient(&http.Client{Transport: srv.Transport()}),
				option.WithMaxRetries(2),
				infermetrics.Instrument(infermetrics.WithOnCall(got.hook)))
			if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o"))); err != nil {
				t.Fatal(err)
			}
			calls := got.all()
			if len(calls) != 2 {
				t.Fatalf("got %d calls, want one per attempt (2)", len(calls))
			}
			first, second := calls[0], calls[1]
			var ae *infermetrics.APIError
			if !errors.As(first.Err, &ae) || ae.StatusCode != 429 || first.ErrorType != "rate_limit_exceeded" || first.Attempt != 1 || first.Useful() {
				t.Errorf("first attempt: got err=%v type=%q attempt=%d", first.Err, first.ErrorType, first.Attempt)
			}
			if second.Err != nil || second.Attempt != 2 || !second.Useful() {
				t.Errorf("second attempt: got err=%v attempt=%d useful=%v", second.Err, second.Attempt, second.Useful())
			}
		})
	})
	t.Run("error inside a 200 stream", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
				infermetricstest.Role(), infermetricstest.Content("partial"), infermetricstest.ErrorEvent("Upstream overloaded", "overloaded_error"),
			}})
			var got collect
			client := kitClient(srv, infermetrics.WithOnCall(got.hook))
			_, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m")))
			if err == nil {
				t.Fatal("application saw no error")
			}
			c := onlyCall(t, &got)
			var ae *infermetrics.APIError
			if !errors.As(c.Err, &ae) || !ae.InStream || ae.StatusCode != 200 || c.ErrorType != "overloaded_error" {
				t.Errorf("got err=%v type=%q", c.Err, c.ErrorType)
			}
			if !c.Flags.Has(infermetrics.FlagIncomplete) || c.Useful() {
				t.Errorf("got flags=%v useful=%v, want incomplete and not useful", c.Flags, c.Useful())
			}
		})
	})
	t.Run("error event then an open stall, usage injected", func(t *testing.T) {
		// The library holds back bytes only until an event is complete: an
		// error event must reach the application at once even if the server
		// keeps the connection open.
		synctest.Test(t, func(t *testing.T) {
			srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
				infermetricstest.Role(), infermetricstest.Content("partial").After(10 * ms),
				infermetricstest.ErrorEvent("Upstream overloaded", "overloaded_error").After(10 * ms),
				infermetricstest.Stall(time.Hour), infermetricstest.Done(),
			}})
			var got collect
			client := kitClient(srv, infermetrics.WithOnCall(got.hook))
			start := time.Now()
			_, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m")))
			if err == nil || time.Since(start) != 20*ms {
				t.Errorf("got err=%v after %v, want the stream error after 20ms", err, time.Since(start))
			}
			if c := onlyCall(t, &got); c.ErrorType != "overloaded_error" || c.Duration != 20*ms {
				t.Errorf("got type=%q duration=%v", c.ErrorType, c.Duration)
			}
		})
	})
	t.Run("closed early", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
				infermetricstest.Role(), infermetricstest.Content("a").After(10 * ms), infermetricstest.Content("b").After(time.Hour),
			}})
			var got collect
			client := kitClient(srv, infermetrics.WithOnCall(got.hook))
			s := client.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))
			s.Next()
			s.Next()
			s.Close()
			c := onlyCall(t, &got)
			if c.Err != nil || !c.Flags.Has(infermetrics.FlagIncomplete) || c.Duration != 10*ms {
				t.Errorf("got err=%v flags=%v duration=%v, want nil, incomplete, 10ms", c.Err, c.Flags, c.Duration)
			}
		})
	})
	t.Run("context cancelled mid-stream", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
				infermetricstest.Role(), infermetricstest.Content("a"), infermetricstest.Content("b").After(time.Hour),
			}})
			var got collect
			client := kitClient(srv, infermetrics.WithOnCall(got.hook))
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := drain(t, client.Chat.Completions.NewStreaming(ctx, chatParams("m")))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("application error: got %v, want deadline exceeded", err)
			}
			c := onlyCall(t, &got)
			if !errors.Is(c.Err, context.DeadlineExceeded) || c.ErrorType != "timeout" || c.Duration != 3*time.Second {
				t.Errorf("got err=%v type=%q duration=%v", c.Err, c.ErrorType, c.Duration)
			}
		})
	})
}

// TestTransport checks the RoundTripper form with a plain HTTP client.
func TestTransport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
			infermetricstest.Role(), infermetricstest.Content("hi").After(40 * ms), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 3, Output: 1}), infermetricstest.Done(),
		}})
		var got collect
		hc := &http.Client{Transport: infermetrics.NewTransport(srv.Transport(), infermetrics.WithOnCall(got.hook), infermetrics.WithProvider("acme"))}
		client := openai.NewClient(option.WithBaseURL("http://infermetricstest.invalid/v1"), option.WithAPIKey("k"), option.WithHTTPClient(hc))
		if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))); err != nil {
			t.Fatal(err)
		}
		c := onlyCall(t, &got)
		if c.Provider != "acme" || c.TimeToFirstToken != 40*ms || c.OutputTokens != 1 {
			t.Errorf("got provider=%q ttft=%v out=%d", c.Provider, c.TimeToFirstToken, c.OutputTokens)
		}
		// Requests that are not chat completions pass through unmeasured.
		req, _ := http.NewRequest(http.MethodGet, "http://infermetricstest.invalid/v1/models", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
		}
		if n := len(got.all()); n != 1 {
			t.Errorf("got %d calls after a non-chat request, want 1", n)
		}
	})
}

func TestHookPanicIsContained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
			infermetricstest.Role(), infermetricstest.Content("hi"), infermetricstest.Finish("stop"), infermetricstest.Done(),
		}})
		client := kitClient(srv, infermetrics.WithOnCall(func(*infermetrics.Call) { panic("boom") }))
		chunks, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m")))
		if err != nil || len(chunks) != 3 {
			t.Errorf("got %d chunks, err %v; want 3, nil", len(chunks), err)
		}
	})
}
