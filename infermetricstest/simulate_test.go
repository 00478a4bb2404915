package infermetricstest

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// simCall is what one simulated answer looked like to a client.
type simCall struct {
	firstChunk time.Duration // from the request to the first chunk
	end        time.Duration
	content    string
	reasoning  int // reasoning chunks
	finish     string
	usage      []openai.CompletionUsage
	status     int
}

// simRequest streams one request for model with the given max_tokens
// budget (0 for none) and reports what arrived when.
func simRequest(t *testing.T, client openai.Client, model string, budget int64) simCall {
	t.Helper()
	p := chatParams(true)
	p.Model = model
	if budget > 0 {
		p.MaxCompletionTokens = openai.Int(budget)
	}
	start := time.Now()
	stream := client.Chat.Completions.NewStreaming(t.Context(), p)
	var c simCall
	var b strings.Builder
	for stream.Next() {
		ch := stream.Current()
		if c.firstChunk == 0 {
			c.firstChunk = time.Since(start)
		}
		for _, choice := range ch.Choices {
			b.WriteString(choice.Delta.Content)
			if strings.Contains(choice.Delta.RawJSON(), `"reasoning_content"`) {
				c.reasoning++
			}
			if choice.FinishReason != "" {
				c.finish = choice.FinishReason
			}
		}
		if len(ch.Choices) == 0 && ch.JSON.Usage.Valid() {
			c.usage = append(c.usage, ch.Usage)
		}
	}
	c.end = time.Since(start)
	c.content = b.String()
	var apiErr *openai.Error
	if err := stream.Err(); errors.As(err, &apiErr) {
		c.status = apiErr.StatusCode
	} else if err != nil {
		t.Fatalf("stream error: %v", err)
	} else {
		c.status = http.StatusOK
	}
	stream.Close()
	return c
}

func TestSimulatorTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := NewSimulator(1, map[string]Model{
			"small": {FirstToken: Fixed(100 * ms), TokenGap: Fixed(10 * ms), AnswerTokens: 5},
			"think": {FirstToken: Fixed(50 * ms), TokenGap: Fixed(2 * ms), AnswerTokens: 4, ReasoningTokens: 10},
		})
		srv := NewServerFunc(sim.Scenario)
		defer srv.Close()
		client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL)

		got := simRequest(t, client, "small", 0)
		if got.firstChunk != 100*ms || got.end != 140*ms {
			t.Errorf("small: first chunk at %v, end at %v; want 100ms, 140ms", got.firstChunk, got.end)
		}
		if want := "The answer is forty-two, as "; got.content != want || got.finish != "stop" {
			t.Errorf("small: content %q finish %q, want %q stop", got.content, got.finish, want)
		}
		if len(got.usage) != 1 || got.usage[0].CompletionTokens != 5 {
			t.Errorf("small: usage %+v, want one chunk with 5 completion tokens", got.usage)
		}

		// 10 reasoning tokens and 4 answer tokens, 2ms apart after the first.
		got = simRequest(t, client, "think", 0)
		if got.reasoning != 10 || got.end != 50*ms+13*2*ms || got.finish != "stop" {
			t.Errorf("think: %d reasoning chunks, end %v, finish %q; want 10, 76ms, stop", got.reasoning, got.end, got.finish)
		}
		if u := got.usage[0]; u.CompletionTokens != 14 || u.CompletionTokensDetails.ReasoningTokens != 10 {
			t.Errorf("think: usage %+v, want 14 completion tokens, 10 reasoning", u)
		}

		// A budget of 8 is spent on reasoning: no answer, finish "length".
		got = simRequest(t, client, "think", 8)
		if got.reasoning != 8 || got.content != "" || got.finish != "length" {
			t.Errorf("think, budget 8: %d reasoning chunks, content %q, finish %q; want 8, empty, length", got.reasoning, got.content, got.finish)
		}
		// A budget of 12 leaves 2 answer tokens.
		got = simRequest(t, client, "think", 12)
		if got.reasoning != 10 || got.content != "The answer " || got.finish != "length" {
			t.Errorf("think, budget 12: %d reasoning chunks, content %q, finish %q; want 10, %q, length", got.reasoning, got.content, got.finish, "The answer ")
		}

		got = simRequest(t, client, "absent", 0)
		if got.status != http.StatusNotFound {
			t.Errorf("absent model: status %d, want 404", got.status)
		}
	})
}

func TestSimulatorModelNotFound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServerFunc(NewSimulator(1, nil).Scenario)
		defer srv.Close()
		client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL)
		p := chatParams(false)
		_, err := client.Chat.Completions.New(t.Context(), p)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Fatalf("got error %v, want 404 model_not_found", err)
		}
	})
}

func TestSimulatorColdStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := NewSimulator(1, map[string]Model{
			"m": {FirstToken: Fixed(20 * ms), AnswerTokens: 1, ColdAfter: time.Second, ColdStart: 500 * ms},
		})
		srv := NewServerFunc(sim.Scenario)
		defer srv.Close()
		client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL)

		var got []time.Duration
		for _, idle := range []time.Duration{0, 0, 900 * ms, 1100 * ms, 0} {
			time.Sleep(idle)
			got = append(got, simRequest(t, client, "m", 0).firstChunk)
		}
		// Cold before the first request, and after idling past a second.
		want := []time.Duration{520 * ms, 20 * ms, 20 * ms, 520 * ms, 20 * ms}
		if !slices.Equal(got, want) {
			t.Errorf("first chunks at %v, want %v", got, want)
		}
	})
}

func TestSimulatorCapacityAndErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := NewSimulator(7, map[string]Model{
			"shared": {FirstToken: Fixed(100 * ms), AnswerTokens: 1, Capacity: 2},
			"flaky":  {FirstToken: Fixed(10 * ms), AnswerTokens: 1, ErrorRate: 0.5, ErrorStatus: 503},
		})
		srv := NewServerFunc(sim.Scenario)
		defer srv.Close()
		client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL, option.WithMaxRetries(0))

		// Four at once on a capacity of two: the first two at full speed,
		// the third at 3/2 and the fourth at 4/2 of it.
		var mu sync.Mutex
		var got []time.Duration
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				c := simRequest(t, client, "shared", 0)
				mu.Lock()
				got = append(got, c.firstChunk)
				mu.Unlock()
			})
			synctest.Wait()
		}
		wg.Wait()
		slices.Sort(got)
		if want := []time.Duration{100 * ms, 100 * ms, 150 * ms, 200 * ms}; !slices.Equal(got, want) {
			t.Errorf("first chunks at %v, want %v", got, want)
		}

		failed := 0
		for range 200 {
			if c := simRequest(t, client, "flaky", 0); c.status == 503 {
				failed++
			} else if c.status != 200 {
				t.Fatalf("status %d, want 200 or 503", c.status)
			}
		}
		// 200 draws at 0.5: outside 70..130 has a probability below 1e-5.
		if failed < 70 || failed > 130 {
			t.Errorf("%d of 200 requests failed, want about 100", failed)
		}
	})
}

func TestDist(t *testing.T) {
	sim := NewSimulator(3, nil)
	tail := Dist{Median: 10 * ms, TailProb: 0.1, TailFactor: 10}
	spread := Dist{Median: 10 * ms, Spread: 0.5}
	var tails, below int
	const n = 10000
	for range n {
		if tail.sample(sim.rng) == 100*ms {
			tails++
		}
		if spread.sample(sim.rng) < 10*ms {
			below++
		}
	}
	if tails < 800 || tails > 1200 {
		t.Errorf("%d of %d draws in the tail, want about 1000", tails, n)
	}
	if below < 4700 || below > 5300 {
		t.Errorf("%d of %d log-normal draws below the median, want about 5000", below, n)
	}
	if d := (Dist{}).sample(sim.rng); d != 0 {
		t.Errorf("zero Dist drew %v, want 0", d)
	}
}
