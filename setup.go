package infermetrics

import (
	"context"
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/infermetrics/infermetrics/internal/rxstamp"
)

// Idle classes, the values of the infermetrics.idle attribute.
const (
	IdleWarm = "warm" // the server and model served this process recently
	IdleIdle = "idle" // they have been idle a while
	IdleCold = "cold" // long idle, or never called by this process
)

// Defaults of WithIdleThresholds.
const (
	defaultIdleAfter = time.Minute
	defaultColdAfter = 5 * time.Minute // Ollama's default keep_alive
)

// WithIdleThresholds sets how [Call.Idle] classes a call by
// [Call.IdleTime], the time since this process last finished a call to
// the same server and model: "warm" below idleAfter, "idle" from
// idleAfter, "cold" from coldAfter and for the first call. Without it the
// thresholds are one and five minutes (Ollama unloads a model after five
// idle minutes by default). A negative threshold, or idleAfter above
// coldAfter, makes [Instrument] and [NewTransport] panic.
func WithIdleThresholds(idleAfter, coldAfter time.Duration) Option {
	return optionFunc(func(c *config) {
		if idleAfter < 0 || coldAfter < idleAfter {
			c.errs = append(c.errs, errIdleThresholds(idleAfter, coldAfter))
			return
		}
		c.idleAfter, c.coldAfter = idleAfter, coldAfter
	})
}

type idleThresholdError struct{ idle, cold time.Duration }

func (e idleThresholdError) Error() string {
	return "infermetrics: WithIdleThresholds(" + e.idle.String() + ", " + e.cold.String() + "): want 0 <= idleAfter <= coldAfter"
}

func errIdleThresholds(idle, cold time.Duration) error { return idleThresholdError{idle, cold} }

// idleKey names a server and model.
type idleKey struct {
	address string
	port    int
	model   string
}

// maxIdleKeys bounds idleTracker; past it the tracker starts afresh
// (calls to the servers and models it forgot then count as cold).
const maxIdleKeys = 4096

// idleTracker remembers when each server and model last finished a call.
// It is safe for concurrent use. Every call reads it twice (at its start
// and its end) and a client's calls share it, so those reads take no
// exclusive lock: on a small machine with more threads than cores, a
// thread preempted while holding one stalled every call behind it (the
// bench harness's p99 lag at 256 streams, BENCHMARKS.md section 6). Only a
// key's first call takes the write lock.
type idleTracker struct {
	mu   sync.RWMutex
	last map[idleKey]*idleEntry
}

// An idleEntry holds when a call to its key last finished, as an offset
// from idleEpoch (so that it keeps the monotonic clock), updated
// atomically.
type idleEntry struct{ at atomic.Int64 }

// idleEpoch is the origin of idleEntry times.
var idleEpoch = time.Now()

// entry returns k's entry, nil if k was never seen.
func (t *idleTracker) entry(k idleKey) *idleEntry {
	t.mu.RLock()
	e := t.last[k]
	t.mu.RUnlock()
	return e
}

// since returns how long k has been idle at now, and whether it was ever
// seen.
func (t *idleTracker) since(k idleKey, now time.Time) (time.Duration, bool) {
	e := t.entry(k)
	if e == nil {
		return 0, false
	}
	return max(now.Sub(idleEpoch)-time.Duration(e.at.Load()), 0), true
}

// done records that a call to k finished at at.
func (t *idleTracker) done(k idleKey, at time.Time) {
	d := int64(at.Sub(idleEpoch))
	e := t.entry(k)
	if e == nil {
		t.mu.Lock()
		if e = t.last[k]; e == nil {
			switch {
			case t.last == nil:
				t.last = make(map[idleKey]*idleEntry)
			case len(t.last) >= maxIdleKeys:
				clear(t.last)
			}
			e = new(idleEntry)
			e.at.Store(d) // before any reader can see it
			t.last[k] = e
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
	}
	for {
		prev := e.at.Load()
		if d <= prev || e.at.CompareAndSwap(prev, d) {
			return
		}
	}
}

// idleClass classes an idle time by the thresholds; seen is false for a
// server and model this process never finished a call to.
func idleClass(d time.Duration, seen bool, idleAfter, coldAfter time.Duration) string {
	switch {
	case !seen || d >= coldAfter:
		return IdleCold
	case d >= idleAfter:
		return IdleIdle
	}
	return IdleWarm
}

// setupTimes are the moments net/http reported for one attempt, as
// offsets from its start; zero when they did not happen.
type setupTimes struct {
	traced, reused            bool
	dnsStart, dnsDone         time.Duration
	connectStart, connectDone time.Duration
	tlsStart, tlsDone         time.Duration
	wroteRequest, firstByte   time.Duration
}

// traceAttempt returns ctx with a trace that records o's connection setup
// and, when receive stamping is on, the stamping connection. Hooks run on
// net/http's goroutines, some (a losing dial) after the attempt ended:
// each takes o.mu and does nothing once it has.
func traceAttempt(ctx context.Context, o *observer) context.Context {
	at := func(dst *time.Duration) {
		d := time.Since(o.start)
		o.mu.Lock()
		if !o.ended.Load() && *dst == 0 {
			*dst = max(d, 1)
		}
		o.mu.Unlock()
	}
	st := &o.setup
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { at(&st.dnsStart) },
		DNSDone:           func(httptrace.DNSDoneInfo) { at(&st.dnsDone) },
		ConnectStart:      func(string, string) { at(&st.connectStart) },
		ConnectDone:       func(string, string, error) { at(&st.connectDone) },
		TLSHandshakeStart: func() { at(&st.tlsStart) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { at(&st.tlsDone) },
		GotConn: func(info httptrace.GotConnInfo) {
			var rx *rxstamp.Conn
			if stamping.Load() {
				rx = rxstamp.Find(info.Conn)
			}
			o.mu.Lock()
			if !o.ended.Load() {
				st.traced, st.reused = true, info.Reused
				if rx != nil {
					o.rx = rx
				}
			}
			o.mu.Unlock()
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { at(&st.wroteRequest) },
		GotFirstResponseByte: func() { at(&st.firstByte) },
	})
}

// span returns the duration from start to done, or 0 when either is
// missing.
func span(start, done time.Duration) time.Duration {
	if start == 0 || done < start {
		return 0
	}
	return done - start
}

// apply fills in c's connection setup and the split of its time to
// first token.
func (st *setupTimes) apply(c *Call) {
	c.ConnTraced, c.ConnReused = st.traced, st.reused
	if !st.reused {
		// A request sent on a reused connection may still have seen a
		// dial's events: net/http dials when no connection is idle, and
		// hands the request one returned meanwhile if that comes first.
		// That dial's connection is not this attempt's.
		c.DNSTime = span(st.dnsStart, st.dnsDone)
		c.ConnectTime = span(st.connectStart, st.connectDone)
		c.TLSTime = span(st.tlsStart, st.tlsDone)
	}
	c.TimeToRequestWritten = st.wroteRequest
	c.TimeToResponseHeaders = st.firstByte
	if c.TokenChunks > 0 && st.wroteRequest > 0 && c.TimeToFirstToken >= st.wroteRequest {
		c.ServerTimeToFirstToken = c.TimeToFirstToken - st.wroteRequest
	}
}
