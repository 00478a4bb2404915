package infermetricstest

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// A Dist is a distribution of durations: log-normal with median Median
// and shape Spread (the standard deviation of the duration's natural
// logarithm), and, with probability TailProb, a draw multiplied by
// TailFactor, for a heavy tail.
//
// The zero Dist is always zero. A Dist with zero Spread and TailProb is
// always Median.
type Dist struct {
	Median     time.Duration
	Spread     float64
	TailProb   float64
	TailFactor float64
}

// Fixed returns the Dist that is always d.
func Fixed(d time.Duration) Dist { return Dist{Median: d} }

// sample draws a duration from d.
func (d Dist) sample(r *rand.Rand) time.Duration {
	v := float64(d.Median)
	if d.Spread > 0 {
		v *= math.Exp(d.Spread * r.NormFloat64())
	}
	if d.TailProb > 0 && r.Float64() < d.TailProb {
		v *= d.TailFactor
	}
	return time.Duration(v)
}

// A Model describes how a [Simulator] answers requests for one model: with
// timings drawn from distributions, rather than the fixed script of a
// [Scenario].
//
// A streamed answer sends its headers at once; after FirstToken (plus
// ColdStart when the model is cold) the first chunk arrives, carrying the
// role and the first token; then each further token arrives TokenGap after
// the one before. Reasoning tokens come first, as reasoning_content, then
// the answer's tokens as content, then a finish chunk, the usage chunk
// when the request asked for it, and [DONE]. A request that is not
// streamed is answered in one piece after the same total time.
//
// The zero Model answers at once with 16 tokens of content.
type Model struct {
	// ResponseModel, if non-empty, is the model named in responses; by
	// default the requested model is echoed.
	ResponseModel string

	// FirstToken is the wait from the request's arrival to the first
	// token; TokenGap the wait between consecutive tokens.
	FirstToken Dist
	TokenGap   Dist

	// AnswerTokens is the length of the answer in tokens, one word a token
	// (zero means 16). ReasoningTokens is the median number of reasoning
	// tokens sent before it, drawn log-normally with shape ReasoningSpread.
	//
	// When the request sets max_completion_tokens or max_tokens, output
	// stops at that budget, reasoning first: the finish reason is then
	// "length", and a budget spent on reasoning leaves no answer at all.
	AnswerTokens    int
	ReasoningTokens int
	ReasoningSpread float64

	// ErrorRate is the probability that a request fails with ErrorStatus
	// (zero means 500) after a FirstToken wait, with an OpenAI-style error
	// body of type "server_error" (or "invalid_request_error" for a status
	// below 500).
	ErrorRate   float64
	ErrorStatus int

	// ColdAfter, if positive, makes the model cold when it has been idle
	// for longer than ColdAfter (and before its first request): the first
	// token of a request that finds it cold is delayed by ColdStart more.
	// Idle time runs from the end of the last answer the model was giving.
	ColdAfter time.Duration
	ColdStart time.Duration

	// Capacity, if positive, is how many requests the server answers at
	// full speed. Beyond it, the FirstToken and TokenGap waits of a new
	// request are multiplied by in-flight requests / Capacity, as on a
	// server that shares its capacity among them.
	Capacity int

	// UsageFactor, if positive, multiplies the completion tokens the
	// usage chunk reports, to simulate a server that misreports usage.
	UsageFactor float64
}

// A Simulator chooses scenarios for a [Server] made with [NewServerFunc],
// answering each request as its model's [Model] describes. A request for
// a model the Simulator does not offer gets 404 with the error code
// "model_not_found", as OpenAI's API answers.
//
// Draws are made from a generator seeded at construction, so a Simulator
// answering requests one at a time, in the same order, answers them the
// same way each time.
//
// A Simulator can be used concurrently by multiple goroutines.
type Simulator struct {
	models map[string]Model

	mu   sync.Mutex
	rng  *rand.Rand
	busy map[string]time.Time // when each model's last answer ends
}

// NewSimulator returns a Simulator offering the given models, by the name
// requests use, with draws seeded by seed.
func NewSimulator(seed uint64, models map[string]Model) *Simulator {
	m := make(map[string]Model, len(models))
	for name, model := range models {
		m[name] = model
	}
	return &Simulator{
		models: m,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		busy:   make(map[string]time.Time),
	}
}

// Scenario returns the scenario that answers r. Its signature suits
// [NewServerFunc].
func (s *Simulator) Scenario(r Request) Scenario {
	m, ok := s.models[r.Model]
	if !ok {
		return Scenario{
			Status:    http.StatusNotFound,
			ErrorBody: errorText("The model `"+r.Model+"` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
		}
	}
	now := time.Now()

	s.mu.Lock()
	defer s.mu.Unlock()
	scale := 1.0
	if m.Capacity > 0 && r.InFlight > m.Capacity {
		scale = float64(r.InFlight) / float64(m.Capacity)
	}
	first := time.Duration(float64(m.FirstToken.sample(s.rng)) * scale)
	if m.ColdAfter > 0 {
		last, seen := s.busy[r.Model]
		if !seen || now.Sub(last) > m.ColdAfter {
			first += m.ColdStart
		}
	}
	if m.ErrorRate > 0 && s.rng.Float64() < m.ErrorRate {
		status := m.ErrorStatus
		if status == 0 {
			status = http.StatusInternalServerError
		}
		typ := "server_error"
		if status < 500 {
			typ = "invalid_request_error"
		}
		s.markBusy(r.Model, now.Add(first))
		return Scenario{
			Status:      status,
			HeaderDelay: first,
			ErrorBody:   errorText("infermetricstest: simulated failure", typ, ""),
		}
	}

	answer := m.AnswerTokens
	if answer <= 0 {
		answer = 16
	}
	reasoning := 0
	if m.ReasoningTokens > 0 {
		v := float64(m.ReasoningTokens)
		if m.ReasoningSpread > 0 {
			v *= math.Exp(m.ReasoningSpread * s.rng.NormFloat64())
		}
		reasoning = max(1, int(math.Round(v)))
	}
	finish := "stop"
	if budget := r.MaxTokens; budget > 0 && reasoning+answer > budget {
		finish = "length"
		reasoning = min(reasoning, budget)
		answer = budget - reasoning
	}

	events := make([]Event, 0, reasoning+answer+4)
	events = append(events, Role().After(first))
	total := first
	for i := range reasoning + answer {
		var gap time.Duration
		if i > 0 {
			gap = time.Duration(float64(m.TokenGap.sample(s.rng)) * scale)
		}
		total += gap
		if i < reasoning {
			events = append(events, Reasoning(words[i%len(words)]).After(gap))
		} else {
			events = append(events, Content(words[(i-reasoning)%len(words)]).After(gap))
		}
	}
	completion := reasoning + answer
	if m.UsageFactor > 0 {
		completion = int(math.Round(float64(completion) * m.UsageFactor))
	}
	events = append(events,
		Finish(finish),
		simulatedUsage(max(1, len(r.Body)/4), completion, reasoning),
		Done())
	s.markBusy(r.Model, now.Add(total))
	return Scenario{Model: m.ResponseModel, Events: events}
}

// markBusy records that model is answering until t. s.mu is held.
func (s *Simulator) markBusy(model string, t time.Time) {
	if t.After(s.busy[model]) {
		s.busy[model] = t
	}
}

// simulatedUsage is the usage chunk of a simulated answer. Prompt tokens
// are a quarter of the request body's length in bytes.
func simulatedUsage(prompt, completion, reasoning int) Event {
	return Usage(Tokens{Input: prompt, Output: completion, Reasoning: reasoning})
}

// words are the tokens of simulated text, one word a token.
var words = []string{"The ", "answer ", "is ", "forty-two, ", "as ", "the ", "simulation ", "says. "}

// errorText returns an OpenAI-style error body.
func errorText(message, typ, code string) string {
	e := map[string]any{"message": message, "type": typ, "param": nil, "code": nil}
	if code != "" {
		e["code"] = code
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}
