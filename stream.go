package infermetrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/infermetrics/infermetrics/internal/chunk"
	"github.com/infermetrics/infermetrics/internal/request"
	"github.com/infermetrics/infermetrics/internal/rxstamp"
	"github.com/infermetrics/infermetrics/internal/sse"
	"github.com/infermetrics/infermetrics/internal/tokens"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// Limits on what one call keeps in memory.
const (
	maxEventBytes   = 4 << 20 // one SSE event's data inspected; larger events are counted, not parsed
	maxBodyBytes    = 8 << 20 // a non-streamed response body inspected
	maxErrorBytes   = 64 << 10
	maxTextBytes    = 1 << 20 // generated text kept for estimates and JSON checks
	maxPooledBuffer = 256 << 10
)

// ErrAbandoned is the Err of a call whose response body became unreachable
// before it was read to the end or closed: the application dropped the
// stream without calling Close.
var ErrAbandoned = errors.New("infermetrics: response body abandoned without Close")

// ErrMalformedChunk is the Err of a call whose stream carried a data event
// that is not a JSON object; openai-go stops such a stream with a decoding
// error.
var ErrMalformedChunk = errors.New("infermetrics: malformed chunk in stream")

type respKind uint8

const (
	kindStream respKind = iota
	kindJSON
	kindError
)

// observer holds the state of one attempt. It is pooled; gen changes every
// time it is reused so that a body from an earlier call cannot touch it.
type observer struct {
	mu   sync.Mutex
	gen  uint64
	live bool // started and not yet finished

	in        *instrumentation
	ctx       context.Context
	span      trace.Span
	stopAfter func() bool
	req       request.Info
	reqBody   []byte
	kind      respKind
	strip     bool

	call  Call
	start time.Time
	now   time.Time // when the bytes being observed arrived (see timeRead)
	last  time.Time // when the previous read returned
	rx    *rxstamp.Conn

	framer *sse.Framer
	facts  chunk.Facts
	raw    []byte // JSON or error body

	answer, reasoning           []byte
	answerBytes, reasonBytes    int
	haveChunk, haveToken        bool
	haveAnswer                  bool
	firstChunk, firstToken      time.Duration
	firstAnswer, lastToken      time.Duration
	prev, maxGap                time.Duration
	tokenChunks                 int
	sawDone, sawFinish          bool
	nonBlank, toolCall, refusal bool
	reasoningSeen               bool
	filtered                    bool
	finish                      string
	finishes                    [4]string
	nfinish                     int
	usage                       chunk.Usage
	usageSeen                   bool
	model                       []byte
	id                          []byte
	streamErr                   *APIError
	malformed, oversize         bool
	closedEarly                 bool

	// Strip mode: bytes read from the server but not yet handed on.
	// hold[outStart:outEnd] is released, hold[outEnd:] undecided.
	hold             []byte
	outStart, outEnd int
	segStart         int
	feedBase         int
	drops            [][2]int
	lastEnd          int
	upErr            error
}

var observerPool = sync.Pool{New: func() any { return &observer{framer: sse.New(maxEventBytes)} }}

func getObserver() *observer {
	o := observerPool.Get().(*observer)
	o.mu.Lock()
	o.gen++
	o.mu.Unlock()
	return o
}

// recycle clears o and returns it to the pool. The caller holds o.mu and
// must not use o afterwards.
func (o *observer) recycle() {
	o.gen++
	o.in, o.ctx, o.span, o.stopAfter, o.rx = nil, nil, nil, nil, nil
	o.req = request.Info{}
	o.reqBody = nil
	o.call.reset()
	if cap(o.call.ChunkTimes) > 1<<16 {
		o.call.ChunkTimes = nil
	}
	o.framer.Reset()
	o.raw = trim(o.raw)
	o.answer, o.reasoning = trim(o.answer), trim(o.reasoning)
	o.hold = trim(o.hold)
	o.model, o.id = o.model[:0], o.id[:0]
	o.answerBytes, o.reasonBytes = 0, 0
	o.haveChunk, o.haveToken, o.haveAnswer = false, false, false
	o.firstChunk, o.firstToken, o.firstAnswer, o.lastToken, o.prev, o.maxGap = 0, 0, 0, 0, 0, 0
	o.tokenChunks = 0
	o.sawDone, o.sawFinish = false, false
	o.nonBlank, o.toolCall, o.refusal, o.reasoningSeen, o.filtered = false, false, false, false, false
	o.finish, o.finishes, o.nfinish = "", [4]string{}, 0
	o.usage, o.usageSeen = chunk.Usage{}, false
	o.streamErr, o.malformed, o.oversize, o.closedEarly = nil, false, false, false
	o.outStart, o.outEnd, o.segStart, o.feedBase, o.lastEnd, o.upErr = 0, 0, 0, 0, 0, nil
	o.drops = o.drops[:0]
	o.strip = false
	o.kind = kindStream
	o.mu.Unlock()
	observerPool.Put(o)
}

func trim(b []byte) []byte {
	if cap(b) > maxPooledBuffer {
		return nil
	}
	return b[:0]
}

// body wraps a response body, observing every byte the application reads.
type body struct {
	o     *observer
	gen   uint64
	strip bool
	rc    io.ReadCloser
}

var _ io.ReadCloser = (*body)(nil)

// abandoned is run by the garbage collector when a body becomes unreachable
// before it was read to the end or closed.
func abandoned(a abandonArg) {
	o := a.o
	o.mu.Lock()
	if o.gen != a.gen {
		o.mu.Unlock()
		return
	}
	if o.live {
		o.end(ErrAbandoned, time.Now())
	}
	o.recycle()
	_ = a.rc.Close()
}

type abandonArg struct {
	o   *observer
	gen uint64
	rc  io.ReadCloser
}

func newBody(o *observer, rc io.ReadCloser) *body {
	b := &body{o: o, gen: o.gen, strip: o.strip, rc: rc}
	runtime.AddCleanup(b, abandoned, abandonArg{o, o.gen, rc})
	return b
}

func (b *body) Read(p []byte) (int, error) {
	o := b.o
	if b.strip {
		return b.readStrip(p)
	}
	t0 := time.Now()
	n, err := b.rc.Read(p)
	t1 := time.Now()
	o.mu.Lock()
	if o.gen != b.gen {
		o.mu.Unlock()
		return n, err
	}
	if o.live {
		o.timeRead(t0, t1)
		if n > 0 {
			o.observe(p[:n])
		}
		if err != nil && o.live {
			o.end(err, t1)
		}
	}
	if err != nil {
		o.recycle()
		return n, err
	}
	o.mu.Unlock()
	return n, err
}

// readStrip reads in strip mode: whole events are handed on once complete,
// and the usage-only chunk the application did not ask for is dropped.
func (b *body) readStrip(p []byte) (int, error) {
	o := b.o
	o.mu.Lock()
	for {
		if o.gen != b.gen {
			o.mu.Unlock()
			return b.rc.Read(p)
		}
		if o.outEnd > o.outStart {
			n := copy(p, o.hold[o.outStart:o.outEnd])
			o.outStart += n
			o.compact()
			o.mu.Unlock()
			return n, nil
		}
		if o.upErr != nil {
			if len(o.hold) > o.outEnd {
				o.outEnd = len(o.hold) // the stream ended: hand on what is left as it is
				continue
			}
			err := o.upErr
			o.recycle()
			return 0, err
		}
		o.mu.Unlock()
		t0 := time.Now()
		n, err := b.rc.Read(p)
		t1 := time.Now()
		o.mu.Lock()
		if o.gen != b.gen {
			o.mu.Unlock()
			return n, err
		}
		base := len(o.hold)
		o.hold = append(o.hold, p[:n]...)
		if o.live {
			o.timeRead(t0, t1)
			if n > 0 {
				o.feedBase, o.drops, o.lastEnd = base, o.drops[:0], o.outEnd
				o.observe(o.hold[base:])
				o.applyDrops()
			}
			if err != nil && o.live {
				o.end(err, t1)
			}
		}
		if !o.live {
			o.outEnd = len(o.hold)
		}
		if err != nil {
			o.upErr = err
		}
	}
}

// timeRead accounts for one read of the body that started at t0 and
// returned at t1: the application held the stream since the previous read
// returned, and the bytes read are stamped t1, or with when the kernel
// received them if the connection says (see [ReceiveTimestamps]).
func (o *observer) timeRead(t0, t1 time.Time) {
	o.call.ConsumerTime += t0.Sub(o.last)
	at := t1
	if o.rx != nil {
		at = arrival(t1, o.rx.Received(), o.now)
	}
	o.last, o.now = t1, at
}

// arrival returns when bytes read at t1 arrived, given the kernel's
// receive stamp rx (Unix ns, 0 for none) and the previous bytes' time
// prev. The stamp is wall-clock time; it is carried over to t1's monotonic
// clock, and the result stays in [prev, t1] should the wall clock step.
func arrival(t1 time.Time, rx int64, prev time.Time) time.Time {
	d := t1.UnixNano() - rx
	if rx == 0 || d <= 0 {
		return t1
	}
	at := t1.Add(-time.Duration(d))
	if at.Before(prev) {
		return prev
	}
	return at
}

// applyDrops removes the dropped events from hold and releases every
// complete event.
func (o *observer) applyDrops() {
	if o.lastEnd <= o.outEnd {
		return
	}
	w := o.outEnd
	r := o.outEnd
	for _, d := range o.drops {
		w += copy(o.hold[w:], o.hold[r:d[0]])
		r = d[1]
	}
	w += copy(o.hold[w:], o.hold[r:o.lastEnd])
	tail := copy(o.hold[w:], o.hold[o.lastEnd:])
	o.hold = o.hold[:w+tail]
	o.outEnd = w
	o.segStart = w
}

// compact moves undecided bytes to the front once the released ones are
// consumed.
func (o *observer) compact() {
	if o.outStart < o.outEnd {
		return
	}
	n := copy(o.hold, o.hold[o.outEnd:])
	o.hold = o.hold[:n]
	o.segStart -= o.outEnd
	o.outStart, o.outEnd = 0, 0
}

func (b *body) Close() error {
	err := b.rc.Close()
	o := b.o
	o.mu.Lock()
	if o.gen != b.gen {
		o.mu.Unlock()
		return err
	}
	if o.live {
		o.closedEarly = true
		o.end(nil, time.Now())
	}
	o.recycle()
	return err
}

// takeErrorBody reads up to maxErrorBytes of an error response into o.raw
// and returns a body that yields the same bytes to the application.
func (o *observer) takeErrorBody(rc io.ReadCloser) io.ReadCloser {
	if rc == nil || rc == http.NoBody {
		return rc
	}
	buf := make([]byte, 0, 512)
	lr := io.LimitReader(rc, maxErrorBytes)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if err != io.EOF {
				return &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), errReader{err}), Closer: rc}
			}
			break
		}
	}
	o.raw = append(o.raw[:0], buf...)
	return &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), rc), Closer: rc}
}

type replayBody struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// observe looks at bytes the application is about to receive.
func (o *observer) observe(p []byte) {
	switch o.kind {
	case kindStream:
		o.framer.Feed(p, o)
	case kindJSON:
		o.raw = appendCapped(o.raw, p, maxBodyBytes)
	case kindError:
		o.raw = appendCapped(o.raw, p, maxErrorBytes)
	}
}

func appendCapped(dst, p []byte, limit int) []byte {
	if room := limit - len(dst); room < len(p) {
		p = p[:max(room, 0)]
	}
	return append(dst, p...)
}

var doneMarker = []byte("[DONE]")

// Event handles one SSE event: the per-chunk hot path.
func (o *observer) Event(typ, data []byte, truncated bool, end int) {
	if !o.live {
		return
	}
	// In strip mode every dispatched event is released (or dropped) whole,
	// whatever it holds: an event held back would stall the application.
	segStart := o.segStart
	if o.strip {
		o.lastEnd = o.feedBase + end
		o.segStart = o.lastEnd
	}
	if bytes.HasPrefix(data, doneMarker) {
		o.sawDone = true
		o.end(nil, o.now)
		return
	}
	t := o.now.Sub(o.start)
	c := &o.call
	c.Chunks++
	if len(c.ChunkTimes) < o.in.maxChunkTimes {
		c.ChunkTimes = append(c.ChunkTimes, t)
	}
	if !o.haveChunk {
		o.haveChunk, o.firstChunk = true, t
	}
	if o.haveToken && t-o.prev > o.maxGap {
		o.maxGap = t - o.prev
	}
	o.prev = t
	if truncated {
		o.oversize = true
		return
	}
	f := &o.facts
	chunk.Parse(data, f)
	if f.Error || string(typ) == "error" {
		o.streamError(f)
		return
	}
	if f.Malformed {
		o.malformed = true
		return
	}
	if len(o.id) == 0 && len(f.ID) > 0 {
		o.id = append(o.id, f.ID...)
	}
	if len(o.model) == 0 && len(f.Model) > 0 {
		o.model = append(o.model, f.Model...)
	}
	if f.HasReasoning || f.HasAnswer {
		if !o.haveToken {
			o.haveToken, o.firstToken = true, t
		}
		o.lastToken = t
		o.tokenChunks++
		if f.HasAnswer && !o.haveAnswer {
			o.haveAnswer, o.firstAnswer = true, t
		}
		o.keepText(f)
	}
	if f.FinishReason != nil {
		o.addFinish(f.FinishReason)
	}
	if f.ObjectDone {
		o.sawFinish = true
	}
	o.filtered = o.filtered || f.Filtered
	if f.UsagePresent && usageValid(&f.Usage) {
		o.usage, o.usageSeen = f.Usage, true
	} else if f.XGroqPresent && usageValid(&f.XGroqUsage) {
		o.usage, o.usageSeen = f.XGroqUsage, true
	}
	if o.strip && f.ChoicesArray && f.Choices == 0 && f.UsagePresent && json.Valid(data) {
		// The usage-only chunk the application did not ask for. It is
		// dropped only if openai-go would have decoded it: a chunk that
		// would fail to decode reaches the application, error and all.
		o.drops = append(o.drops, [2]int{segStart, o.lastEnd})
	}
}

func usageValid(u *chunk.Usage) bool {
	return u.Prompt >= 0 || u.Completion >= 0 || u.Total >= 0
}

// keepText records what kinds of text a chunk carried and keeps the text
// for estimates, the JSON check and capture.
func (o *observer) keepText(f *chunk.Facts) {
	if f.HasContent && f.NonBlank {
		o.nonBlank = true
	}
	o.toolCall = o.toolCall || f.HasToolCall
	o.refusal = o.refusal || f.HasRefusal
	o.reasoningSeen = o.reasoningSeen || f.HasReasoning
	for i := 0; i < f.NSpans; i++ {
		s := f.Spans[i]
		switch s.Kind {
		case chunk.Reasoning:
			o.reasonBytes += len(s.Raw)
			if len(o.reasoning) < maxTextBytes {
				o.reasoning = chunk.AppendUnescaped(o.reasoning, s.Raw)
			}
		case chunk.Detail:
			if f.ReasonString {
				continue // the same text came in a reasoning string
			}
			o.reasonBytes += len(s.Raw)
			if len(o.reasoning) < maxTextBytes {
				o.reasoning = chunk.AppendUnescaped(o.reasoning, s.Raw)
			}
		default:
			o.answerBytes += len(s.Raw)
			if len(o.answer) < maxTextBytes {
				o.answer = chunk.AppendUnescaped(o.answer, s.Raw)
			}
		}
	}
}

// Known finish reasons, interned so that recording one does not allocate.
var finishNames = []string{"stop", "length", "tool_calls", "content_filter", "function_call", "end_turn", "max_tokens", "stop_sequence", "eos", "error", "abort", "tool_use"}

func (o *observer) addFinish(raw []byte) {
	o.sawFinish = true
	name := ""
	for _, n := range finishNames {
		if string(raw) == n {
			name = n
			break
		}
	}
	if name == "" {
		name = string(raw)
		if len(name) > 32 {
			name = name[:32]
		}
	}
	if o.finish == "" || o.facts.FinishIndex == 0 {
		o.finish = name
	}
	for i := 0; i < o.nfinish; i++ {
		if o.finishes[i] == name {
			return
		}
	}
	if o.nfinish < len(o.finishes) {
		o.finishes[o.nfinish] = name
		o.nfinish++
	}
}

func (o *observer) streamError(f *chunk.Facts) {
	if o.streamErr != nil {
		return
	}
	e := parseAPIError(f.ErrorRaw)
	e.StatusCode = o.call.StatusCode
	e.InStream = true
	o.streamErr = e
}

// end finishes the call: it computes the record, ends the span, records
// the metrics and calls the hook. It runs exactly once per call, with o.mu
// held, on the goroutine that saw the end: the reader's (end of stream,
// error, [DONE]), the closer's, the context's AfterFunc goroutine, or the
// garbage collector's cleanup goroutine for an abandoned body.
func (o *observer) end(err error, at time.Time) {
	if !o.live {
		return
	}
	o.live = false
	if o.stopAfter != nil {
		o.stopAfter()
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if err == nil && o.closedEarly && o.ctx != nil && o.ctx.Err() != nil {
		err = o.ctx.Err()
	}
	o.in.finish(o, err, at)
}

// finish turns the observer's state into the Call record, emits it and
// calls the hook. It runs once per call, with o.mu held.
func (in *instrumentation) finish(o *observer, err error, at time.Time) {
	c := &o.call
	c.Duration = at.Sub(o.start)
	switch o.kind {
	case kindJSON:
		if err == nil && len(o.raw) > 0 {
			f := &o.facts
			chunk.Parse(o.raw, f)
			if f.Malformed {
				o.malformed = true
			} else {
				o.absorbJSON(f)
			}
		}
	case kindError:
		if err == nil {
			e := parseAPIError(o.raw)
			e.StatusCode = c.StatusCode
			err = e
		}
	}
	if err == nil && o.streamErr != nil {
		err = o.streamErr
	}
	if err == nil && o.malformed {
		err = ErrMalformedChunk
	}
	c.Err = err
	c.ErrorType = errorType(err)
	if len(o.id) > 0 {
		c.ResponseID = string(o.id)
	}
	if len(o.model) > 0 {
		c.ResponseModel = string(o.model)
	}
	c.FinishReason = o.finish
	c.FinishReasons = append(c.FinishReasons, o.finishes[:o.nfinish]...)
	if c.Stream {
		c.TimeToFirstChunk = o.firstChunk
		c.TimeToFirstToken = o.firstToken
		c.TimeToFirstAnswer = o.firstAnswer
		c.TimeToLastToken = o.lastToken
		c.MaxChunkGap = o.maxGap
	}
	responded := c.StatusCode >= 200 && c.StatusCode < 300
	if responded {
		in.usage(o)
		c.Flags = fidelityFlags(o)
		c.OutputTokensPerSecond = tokensPerSecond(o)
	}
	// Failed attempts have no usage and cost nothing, but whether their
	// model has a price is still known.
	in.price(o)
	if in.cfg.captureLimit > 0 {
		c.Answer = capText(o.answer, in.cfg.captureLimit)
		c.Reasoning = capText(o.reasoning, in.cfg.captureLimit)
	}
	in.emit(o)
	if fn := in.cfg.onCall; fn != nil {
		callHook(fn, c)
	}
}

func callHook(fn func(*Call), c *Call) {
	defer func() {
		if r := recover(); r != nil {
			otel.Handle(fmt.Errorf("infermetrics: OnCall hook panicked: %v", r))
		}
	}()
	fn(c)
}

// absorbJSON takes the facts of a non-streamed response.
func (o *observer) absorbJSON(f *chunk.Facts) {
	o.id = append(o.id[:0], f.ID...)
	o.model = append(o.model[:0], f.Model...)
	if f.HasReasoning || f.HasAnswer {
		o.keepText(f)
	}
	if f.FinishReason != nil {
		o.addFinish(f.FinishReason)
	}
	if f.ChoicesArray {
		o.sawDone = true // a whole response is complete by construction
	}
	o.filtered = o.filtered || f.Filtered
	if f.UsagePresent && usageValid(&f.Usage) {
		o.usage, o.usageSeen = f.Usage, true
	}
}

// usage sets the token counts: as reported, normalized, or estimated.
func (in *instrumentation) usage(o *observer) {
	c := &o.call
	u := o.usage
	if o.usageSeen && u.Prompt >= 0 && u.Completion >= 0 {
		c.UsageReported = true
		c.InputTokens = u.Prompt
		c.OutputTokens = u.Completion
		c.ReasoningTokens = max(u.Reasoning, 0)
		cached := u.Cached
		if cached < 0 {
			cached = u.DeepSeekCacheHit
		}
		c.CachedInputTokens = max(cached, 0)
		c.CacheWriteInputTokens = max(u.CacheWrite, 0)
		r := c.ReasoningTokens
		// xAI reports reasoning outside completion_tokens: its total is
		// prompt + completion + reasoning. Count reasoning as output, as the
		// conventions (and the bill) do.
		if r > 0 && ((u.Total >= 0 && u.Total == u.Prompt+u.Completion+r) || r > u.Completion) {
			c.OutputTokens = u.Completion + r
		}
		if u.Cost >= 0 {
			c.ProviderCost, c.ProviderCostReported = u.Cost, true
		}
		return
	}
	// Estimate what the server did not report.
	content := estimateTokens(o.answer, o.answerBytes)
	reasoning := estimateTokens(o.reasoning, o.reasonBytes)
	c.OutputTokens = content + reasoning
	c.ReasoningTokens = reasoning
	c.InputTokens = int64(tokens.CountMessages(o.reqBody))
	if o.usageSeen {
		// Partly reported: keep what was.
		if u.Prompt >= 0 {
			c.InputTokens = u.Prompt
		}
		if u.Completion >= 0 {
			c.OutputTokens = u.Completion
		}
	}
}

// estimateTokens counts the tokens of kept text, scaling up when more text
// streamed than was kept.
func estimateTokens(kept []byte, escapedBytes int) int64 {
	if len(kept) == 0 {
		return 0
	}
	n := int64(tokens.Count(kept))
	if len(kept) >= maxTextBytes && escapedBytes > len(kept) {
		n = n * int64(escapedBytes) / int64(len(kept))
	}
	return n
}

// tokensPerSecond is the output tokens generated between the first and last
// token, divided by that time. Reasoning reported but never streamed was
// generated before the first token and is left out.
func tokensPerSecond(o *observer) float64 {
	c := &o.call
	window := o.lastToken - o.firstToken
	if !c.Stream || o.tokenChunks < 2 || window <= 0 {
		return 0
	}
	n := c.OutputTokens
	if c.ReasoningTokens > 0 && !o.reasoningSeen {
		n -= c.ReasoningTokens
	}
	if n <= 0 {
		return 0
	}
	return float64(n) / window.Seconds()
}

// capText returns b as a string of at most limit bytes, cut at a rune
// boundary.
func capText(b []byte, limit int) string {
	if len(b) <= limit {
		return string(b)
	}
	for limit > 0 && !utf8.RuneStart(b[limit]) {
		limit--
	}
	return string(b[:limit])
}
