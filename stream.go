package infermetrics

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/infermetrics/infermetrics/internal/chunk"
	"github.com/tidwall/gjson"
)

// A summary is what the chunks of one response added up to: counts, the
// moments that matter, the facts the flags need and the text kept. It is
// built as the application reads, a chunk at a time, and read once, when
// the attempt finishes (finish.go). Times are offsets from the attempt's
// start.
type summary struct {
	chunks, tokenChunks, answerChunks int

	firstChunk, firstToken, firstAnswer, lastToken time.Duration
	beforeFirstToken                               time.Duration // the arrival before the first token's
	prev, maxGap                                   time.Duration

	sawDone, sawFinish          bool
	nonBlank, toolCall, refusal bool
	reasoningSeen, filtered     bool
	encrypted                   bool // reasoning came as opaque data (not text, not a token)
	malformed, oversize         bool
	finish                      string
	finishes                    [4]string
	nfinish                     int
	choices                     int // the most choices seen: in one object, or by a finish reason's index
	usage                       chunk.Usage
	usageSeen                   bool
	streamErr                   *APIError
	model, id                   []byte // decoded
	tier, fingerprint           string
	looked                      int    // chunks scanned for tier and fingerprint
	answer, reasoning           []byte // decoded, up to maxTextBytes
	answerBytes, reasonBytes    int    // escaped bytes received, all of them

	// The Responses API's (responses.go): deltaSeen[k] is set when a
	// delta of text kind k arrived since the last ".done" of that kind;
	// image when an image generation call delivered an image.
	deltaSeen [chunk.Tool + 1]bool
	image     bool
}

func (s *summary) reset() {
	id, model := s.id[:0], s.model[:0]
	answer, reasoning := trim(s.answer), trim(s.reasoning)
	*s = summary{id: id, model: model, answer: answer, reasoning: reasoning}
}

var doneMarker = []byte("[DONE]")

// Event handles one SSE event: the per-chunk hot path. It runs under o.mu,
// from the framer fed by observe.
func (o *observer) Event(typ, data []byte, truncated bool, end int) {
	if o.ended.Load() {
		return
	}
	// In strip mode every dispatched event is released (or dropped) whole,
	// whatever it holds: an event held back would stall the application.
	var start int
	droppable := false
	if o.stripping {
		start, droppable = o.s.strip.dispatched(end)
	}
	if bytes.HasPrefix(data, doneMarker) {
		o.s.sum.sawDone = true
		o.finish(nil, o.now)
		return
	}
	t := o.now.Sub(o.start)
	s := &o.s.sum
	s.chunks++
	if len(o.call.ChunkTimes) < o.in.cfg.maxChunkTimes {
		o.call.ChunkTimes = append(o.call.ChunkTimes, t)
	}
	if s.chunks == 1 {
		s.firstChunk = t
	}
	if s.tokenChunks > 0 && t-s.prev > s.maxGap {
		s.maxGap = t - s.prev
	}
	s.prev = t
	if truncated {
		s.oversize = true
		if o.responses {
			o.oversizeEvent(typ, data)
		}
		return
	}
	if o.responses {
		o.responseEvent(typ, data, t)
		return
	}
	f := &o.s.facts
	chunk.Parse(data, f)
	if f.Error || string(typ) == "error" {
		s.streamError(f, o.call.StatusCode)
		return
	}
	if f.Malformed {
		s.malformed = true
		return
	}
	s.identify(f)
	if s.looked < maxServiceLooks && (s.tier == "" || s.fingerprint == "") {
		s.looked++
		s.serviceFields(data)
	}
	s.encrypted = s.encrypted || f.Encrypted
	if f.HasReasoning || f.HasAnswer {
		s.token(f, t, o.before.Sub(o.start))
	}
	s.ends(f)
	if f.UsagePresent && usageValid(&f.Usage) {
		s.usage, s.usageSeen = f.Usage, true
	} else if f.XGroqPresent && usageValid(&f.XGroqUsage) {
		s.usage, s.usageSeen = f.XGroqUsage, true
	}
	if droppable && f.ChoicesArray && f.Choices == 0 && f.UsagePresent && json.Valid(data) {
		// The usage-only chunk the application did not ask for. It is
		// dropped only if openai-go would have decoded it: a chunk that
		// would fail to decode reaches the application, error and all.
		o.s.strip.drop(start)
	}
}

// token counts a chunk that carried generated text, arrived at t; before
// is when the bytes read before it arrived.
func (s *summary) token(f *chunk.Facts, t, before time.Duration) {
	if s.tokenChunks == 0 {
		s.firstToken = t
		s.beforeFirstToken = before
	}
	s.tokenChunks++
	s.lastToken = t
	if f.HasAnswer {
		if s.answerChunks == 0 {
			s.firstAnswer = t
		}
		s.answerChunks++
	}
	s.keepText(f)
}

// maxServiceLooks bounds the chunks of a stream scanned for service_tier
// and system_fingerprint: providers that send them send them from the
// first chunk, and the scan is not a per-chunk cost.
const maxServiceLooks = 2

// serviceFields keeps the top-level service_tier and system_fingerprint of
// a chunk or body, once per call each.
func (s *summary) serviceFields(data []byte) {
	v := gjson.GetManyBytes(data, "service_tier", "system_fingerprint")
	if s.tier == "" && v[0].Type == gjson.String {
		s.tier = truncate(v[0].Str, maxFinishBytes)
	}
	if s.fingerprint == "" && v[1].Type == gjson.String {
		s.fingerprint = truncate(v[1].Str, maxFinishBytes*2)
	}
}

// response takes the facts of a non-streamed response, whole in raw.
func (s *summary) response(f *chunk.Facts, raw []byte) {
	s.identify(f)
	s.serviceFields(raw)
	s.encrypted = s.encrypted || f.Encrypted
	if f.HasReasoning || f.HasAnswer {
		s.keepText(f)
	}
	s.ends(f)
	if f.UsagePresent && usageValid(&f.Usage) {
		s.usage, s.usageSeen = f.Usage, true
	}
}

// identify keeps the first response id and model seen, decoded.
func (s *summary) identify(f *chunk.Facts) {
	if len(s.id) == 0 && len(f.ID) > 0 {
		s.id = appendDecoded(s.id, f.ID[:min(len(f.ID), maxIdentBytes)])
	}
	if len(s.model) == 0 && len(f.Model) > 0 {
		s.model = appendDecoded(s.model, f.Model[:min(len(f.Model), maxIdentBytes)])
	}
}

// ends notes how a chunk says the response ends: finish reasons, a done
// object, a content filter.
func (s *summary) ends(f *chunk.Facts) {
	s.choices = max(s.choices, f.Choices)
	if f.FinishReason != nil {
		s.addFinish(f.FinishReason, f.FinishIndex)
		if f.FinishIndex >= 0 && f.FinishIndex < 1<<20 {
			s.choices = max(s.choices, int(f.FinishIndex)+1)
		}
	}
	if f.ObjectDone {
		s.sawFinish = true
	}
	s.filtered = s.filtered || f.Filtered
}

func usageValid(u *chunk.Usage) bool {
	return u.Prompt >= 0 || u.Completion >= 0 || u.Total >= 0
}

// keepText records what kinds of text a chunk carried and keeps the text
// for estimates, the JSON check and capture.
func (s *summary) keepText(f *chunk.Facts) {
	if f.HasContent && f.NonBlank {
		s.nonBlank = true
	}
	s.toolCall = s.toolCall || f.HasToolCall
	s.refusal = s.refusal || f.HasRefusal
	s.reasoningSeen = s.reasoningSeen || f.HasReasoning
	for i := 0; i < f.NSpans; i++ {
		sp := f.Spans[i]
		switch sp.Kind {
		case chunk.Reasoning:
			s.reasonBytes += len(sp.Raw)
			if len(s.reasoning) < maxTextBytes {
				s.reasoning = chunk.AppendUnescaped(s.reasoning, sp.Raw)
			}
		case chunk.Detail:
			if f.ReasonString {
				continue // the same text came in a reasoning string
			}
			s.reasonBytes += len(sp.Raw)
			if len(s.reasoning) < maxTextBytes {
				s.reasoning = chunk.AppendUnescaped(s.reasoning, sp.Raw)
			}
		default:
			s.answerBytes += len(sp.Raw)
			if len(s.answer) < maxTextBytes {
				s.answer = chunk.AppendUnescaped(s.answer, sp.Raw)
			}
		}
	}
}

// Known finish reasons, interned so that recording one does not allocate.
var finishNames = []string{"stop", "length", "tool_calls", "content_filter", "function_call", "end_turn", "max_tokens", "stop_sequence", "eos", "error", "abort", "tool_use"}

// maxFinishBytes bounds a finish reason kept; longer ones are cut.
const maxFinishBytes = 32

func internFinish(b []byte) string {
	for _, n := range finishNames {
		if string(b) == n {
			return n
		}
	}
	return ""
}

// addFinish records the finish reason raw (escaped) of choice index.
func (s *summary) addFinish(raw []byte, index int64) {
	s.sawFinish = true
	name := internFinish(raw)
	if name == "" {
		var buf [2 * maxFinishBytes]byte
		d := appendDecoded(buf[:0], raw[:min(len(raw), 2*maxFinishBytes)])
		if name = internFinish(d); name == "" {
			name = truncate(d, maxFinishBytes)
		}
	}
	if s.finish == "" || index == 0 {
		s.finish = name
	}
	for i := 0; i < s.nfinish; i++ {
		if s.finishes[i] == name {
			return
		}
	}
	if s.nfinish < len(s.finishes) {
		s.finishes[s.nfinish] = name
		s.nfinish++
	}
}

func (s *summary) streamError(f *chunk.Facts, status int) {
	if s.streamErr != nil {
		return
	}
	e := parseAPIError(f.ErrorRaw)
	e.StatusCode = status
	e.InStream = true
	s.streamErr = e
}

// reasoned reports whether the response showed the model reasoning: as
// text, or as encrypted reasoning, which carries no text.
func (s *summary) reasoned() bool { return s.reasoningSeen || s.encrypted }
