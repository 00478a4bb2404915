package infermetrics

import (
	"bytes"
	"time"

	"github.com/infermetrics/infermetrics/internal/chunk"
)

// This file reads the Responses API (POST …/responses) into the same
// summary a chat completion fills: its events one at a time as the
// application reads them, or its whole body.

// Finish reasons a response's status is named by when the event that says
// it is too large to read (oversizeEvent); finishToolCalls also when the
// output holds a call the application acts on.
var (
	finishStop       = []byte("stop")
	finishToolCalls  = []byte("tool_calls")
	finishError      = []byte("error")
	finishIncomplete = []byte("incomplete")
)

// responseEvent handles one Responses API event, arrived at t: the
// per-event hot path of that API, as the rest of Event is for chat
// chunks. The caller holds o.mu.
func (o *observer) responseEvent(typ, data []byte, t time.Duration) {
	s := &o.s.sum
	f := &o.s.facts
	chunk.ParseResponseEvent(typ, data, f)
	if f.Malformed {
		s.malformed = true
		return
	}
	token := f.HasReasoning || f.HasAnswer
	if f.Output {
		token = token && s.fromOutput(f)
	} else if k := f.Final; k != 0 {
		// A ".done" event repeats the text its deltas carried; only a
		// provider that sent no deltas delivers the text in it.
		token = token && !s.deltaSeen[k]
		s.deltaSeen[k] = false
	} else if k := f.Delta; k != 0 && token {
		s.deltaSeen[k] = true
	}
	if token {
		s.token(f, t, o.before.Sub(o.start))
	}
	s.responseFacts(f, o.call.StatusCode)
	if f.FinishReason != nil {
		// The terminal event: the response is complete, whatever follows
		// it ([DONE], or nothing).
		o.finish(nil, o.now)
	}
}

// fromOutput reports whether the terminal event's output (in f) brings
// text the stream's events did not: all of it when no event carried a
// token (a provider that sends the terminal event alone), its answer when
// only reasoning streamed. f keeps only the text to count.
func (s *summary) fromOutput(f *chunk.Facts) bool {
	switch {
	case s.tokenChunks == 0:
		return true
	case s.answerChunks == 0 && f.HasAnswer:
		n := 0
		for i := range f.NSpans {
			if sp := f.Spans[i]; sp.Kind != chunk.Reasoning && sp.Kind != chunk.Detail {
				f.Spans[n] = sp
				n++
			}
		}
		f.NSpans, f.HasReasoning = n, false
		return true
	}
	return false
}

// oversizeEvent handles a Responses API event too large to read whole
// (past maxEventBytes; data is its start): in practice an image, partial
// or whole, or a terminal event that repeats one. What its name says is
// kept: an image was delivered, or the response ended (its usage, at the
// end, is lost).
func (o *observer) oversizeEvent(typ, data []byte) {
	s := &o.s.sum
	switch name := chunk.EventName(typ, data); string(name) {
	case "response.image_generation_call.partial_image":
		s.image = true
	case "response.output_item.done":
		s.image = s.image || bytes.Contains(data[:min(len(data), 1024)], []byte(`"image_generation_call"`))
	case "response.completed", "response.incomplete", "response.failed":
		reason := finishStop
		switch {
		case string(name) == "response.failed":
			reason = finishError
		case string(name) == "response.incomplete":
			reason = finishIncomplete
		case s.toolCall:
			reason = finishToolCalls
		}
		s.addFinish(reason, 0)
		o.finish(nil, o.now)
	}
}

// responseBody takes the facts of a whole, non-streamed response.
func (s *summary) responseBody(f *chunk.Facts, status int) {
	if f.HasReasoning || f.HasAnswer {
		s.keepText(f)
	}
	s.responseFacts(f, status)
	if s.streamErr != nil {
		s.streamErr.InStream = false // a failed response, not an event in a stream
	}
}

// responseFacts takes what an event or a body says besides its text and
// timing: identity, tier, reasoning and images, the end, usage, an error.
func (s *summary) responseFacts(f *chunk.Facts, status int) {
	s.identify(f)
	s.encrypted = s.encrypted || f.Encrypted
	s.image = s.image || f.Image
	s.toolCall = s.toolCall || f.HasToolCall
	if f.Error {
		s.streamError(f, status)
	}
	if f.FinishReason == nil {
		return
	}
	// Only the end says which tier served the response: the events
	// before it echo the tier requested.
	if len(f.Tier) > 0 {
		s.tier = decodedString(f.Tier, maxFinishBytes)
	}
	if s.toolCall && string(f.FinishReason) == "stop" {
		f.FinishReason = finishToolCalls
	}
	s.ends(f)
	if f.UsagePresent && usageValid(&f.Usage) {
		s.usage, s.usageSeen = f.Usage, true
	}
}
