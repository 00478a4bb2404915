package infermetrics

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/infermetrics/infermetrics/internal/chunk"
	"github.com/infermetrics/infermetrics/internal/request"
	"github.com/infermetrics/infermetrics/internal/rxstamp"
	"github.com/infermetrics/infermetrics/internal/sse"
	"go.opentelemetry.io/otel/trace"
)

// Limits on what one call keeps in memory.
const (
	maxEventBytes   = 4 << 20 // one SSE event's data inspected; larger events are counted, not parsed
	maxBodyBytes    = 8 << 20 // a non-streamed response body inspected
	maxErrorBytes   = 64 << 10
	maxTextBytes    = 1 << 20 // generated text kept for estimates and JSON checks
	maxIdentBytes   = 1 << 10 // a response id or model name kept
	maxPooledBuffer = 256 << 10
)

type respKind uint8

const (
	kindStream respKind = iota
	kindJSON
	kindError
)

// An observer follows one attempt, from the request being sent to the end
// of its response. Every attempt has its own observer; only the buffers it
// grows (a [scratch]) are pooled.
//
// The attempt ends exactly once, whoever sees it first (the reader, the
// closer, the context, the garbage collector): finish wins a
// compare-and-swap and builds the [Call] under mu; unlock then publishes it
// (span, metrics, the hook) with mu released.
type observer struct {
	in      *instrumentation
	req     request.Info
	reqBody []byte
	kind    respKind
	ctx     context.Context
	span    trace.Span
	// hooks are the request context's functions (ContextWithOnCall),
	// called after the client's hook.
	hooks *hook

	// stripping is set, before the body is handed out, when the library
	// injected include_usage and so removes the usage chunk (strip.go).
	stripping bool
	// responses is set when the attempt calls the Responses API: its
	// events and body are read by responses.go.
	responses bool

	ended atomic.Bool // finish has run

	mu        sync.Mutex // guards what follows
	cond      sync.Cond  // on mu: signalled when the record is published
	toPublish bool       // finish ran; unlock publishes
	published bool       // the record has been published
	bodyDone  bool       // the body will be read no more: its end, Close or collection
	stopCtx   func() bool
	cleanup   runtime.Cleanup
	closed    bool // the application closed the body before its end
	rx        *rxstamp.Conn
	start     time.Time // when the attempt was sent
	now       time.Time // when the bytes being observed arrived
	before    time.Time // when the bytes observed before those arrived
	last      time.Time // when the previous read returned
	s         *scratch  // nil once released
	setup     setupTimes
	call      Call
}

// idleKey is the server and model this attempt calls.
func (o *observer) idleKey() idleKey {
	return idleKey{address: o.call.ServerAddress, port: o.call.ServerPort, model: o.call.RequestModel}
}

// scratch holds the buffers an attempt grows, pooled across attempts.
type scratch struct {
	framer  *sse.Framer
	facts   chunk.Facts
	raw     []byte // a JSON or error body
	sum     summary
	strip   stripper
	times   []time.Duration
	reasons []string
}

var scratchPool = sync.Pool{New: func() any { return &scratch{framer: sse.New(maxEventBytes)} }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// put clears s and returns it to the pool, dropping buffers grown past
// maxPooledBuffer.
func (s *scratch) put() {
	s.framer.Reset()
	if s.framer.Footprint() > maxPooledBuffer {
		s.framer = sse.New(maxEventBytes)
	}
	s.facts.Reset() // no prefix of this stream's chunks carries over to the next
	s.raw = trim(s.raw)
	s.sum.reset()
	s.strip.reset()
	s.times = trim(s.times)
	if cap(s.reasons) > 16 {
		s.reasons = nil
	}
	clear(s.reasons[:cap(s.reasons)])
	s.reasons = s.reasons[:0]
	scratchPool.Put(s)
}

func trim[T any](b []T) []T {
	if cap(b) > maxPooledBuffer {
		return nil
	}
	return b[:0]
}

func (in *instrumentation) newObserver(info request.Info, raw []byte) *observer {
	o := &observer{in: in, req: info, reqBody: raw, kind: kindJSON}
	o.cond.L = &o.mu
	if info.Stream {
		o.kind = kindStream
	}
	return o
}

// begin starts the attempt's clock at now.
func (o *observer) begin(now time.Time) {
	o.s = getScratch()
	o.call.ChunkTimes = o.s.times[:0]
	o.call.FinishReasons = o.s.reasons[:0]
	o.start, o.last, o.now, o.before = now, now, now, now
	o.call.Start = now
}

// unlock releases mu and, if the attempt has just finished, publishes its
// record. Every holder of mu that may have finished the attempt releases
// it this way.
func (o *observer) unlock() {
	publish := o.toPublish
	o.toPublish = false
	o.mu.Unlock()
	if publish {
		o.publish()
	}
}

// publish ends the span, records the metrics and calls the hook, holding
// no lock, then lets the buffers go once the body is done too.
func (o *observer) publish() {
	in := o.in
	endSpan(o.span, &o.call, &in.cfg)
	in.inst.record(o.ctx, &o.call)
	if fn := in.cfg.onCall; fn != nil {
		callHook(fn, &o.call)
	}
	o.hooks.call(&o.call)
	o.mu.Lock()
	o.published = true
	o.releaseIfDone()
	o.cond.Broadcast()
	o.mu.Unlock()
}

// endBody records that the body will be read no more and, when another
// goroutine (the context's) is publishing the record, waits for it: when
// the application's last read or Close returns, the hook has run. The
// caller holds mu.
func (o *observer) endBody() {
	for o.ended.Load() && !o.published && !o.toPublish {
		o.cond.Wait()
	}
	o.dropBody()
}

// dropBody records that the body will be read no more. The caller holds
// mu.
func (o *observer) dropBody() {
	if o.bodyDone {
		return
	}
	o.bodyDone = true
	o.cleanup.Stop()
	o.releaseIfDone()
}

// releaseIfDone returns the buffers to the pool once nothing can use them:
// the record is published and the body done. The caller holds mu.
func (o *observer) releaseIfDone() {
	if !o.published || !o.bodyDone || o.s == nil {
		return
	}
	o.s.times = o.call.ChunkTimes[:0]
	o.s.reasons = o.call.FinishReasons[:0]
	o.call.ChunkTimes, o.call.FinishReasons = nil, nil
	o.s.put()
	o.s = nil
}

// timeRead accounts for one read of the body that started at t0 and
// returned n bytes at t1: the application held the stream since the
// previous read returned, and the bytes read are stamped t1, or with when
// the kernel received them if the connection says (see
// [ReceiveTimestamps]). The caller holds mu.
func (o *observer) timeRead(t0, t1 time.Time, n int) {
	o.call.ConsumerTime += t0.Sub(o.last)
	o.last = t1
	if n == 0 {
		return
	}
	at := t1
	if o.rx != nil {
		at = arrival(t1, o.rx.Received(), o.now)
	}
	o.before, o.now = o.now, at
}

// observe looks at bytes the application is about to receive. The caller
// holds mu and the attempt has not ended.
func (o *observer) observe(p []byte) {
	switch o.kind {
	case kindStream:
		o.s.framer.Feed(p, o)
	case kindJSON:
		o.s.raw = appendCapped(o.s.raw, p, maxBodyBytes)
	case kindError:
		o.s.raw = appendCapped(o.s.raw, p, maxErrorBytes)
	}
}

func appendCapped(dst, p []byte, limit int) []byte {
	if room := limit - len(dst); room < len(p) {
		p = p[:max(room, 0)]
	}
	return append(dst, p...)
}
