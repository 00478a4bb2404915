package infermetrics

import (
	"io"
	"time"

	"github.com/infermetrics/infermetrics/internal/sse"
)

// A stripper removes from a stream the usage-only chunk that the
// application did not ask for, when the library injected
// stream_options.include_usage. It holds the bytes read from the server
// until the events they belong to are complete, then releases each event
// whole or drops it.
//
// Indexes are into hold:
//
//	hold[outStart:outEnd]  released, not yet handed to the application
//	hold[outEnd:]          undecided: the event being framed
//	segStart               where the event being framed starts
//	feedBase               where the bytes of the current read start
//	lastEnd                just past the last dispatched event
//
// What it holds is bounded: once the undecided bytes exceed maxHeldBytes
// the event is taken not to be the usage chunk (a few hundred bytes), so
// its bytes are released as they come and it is not dropped.
// maxHeldBytes bounds the bytes of one event a stripper holds back.
const maxHeldBytes = 1 << 20

type stripper struct {
	hold             []byte
	outStart, outEnd int
	segStart         int
	feedBase         int
	lastEnd          int
	drops            [][2]int // events to drop in the current read, as [start, end)
	passing          bool     // the event being framed started in released bytes
	upErr            error    // the error that ended the server's stream
}

func (st *stripper) reset() {
	hold, drops := trim(st.hold), st.drops[:0]
	*st = stripper{hold: hold, drops: drops}
}

// pending reports whether released bytes wait for the application.
func (st *stripper) pending() bool { return st.outEnd > st.outStart }

// take hands released bytes to p.
func (st *stripper) take(p []byte) int {
	n := copy(p, st.hold[st.outStart:st.outEnd])
	st.outStart += n
	if st.outStart == st.outEnd {
		// Move the undecided bytes to the front.
		k := copy(st.hold, st.hold[st.outEnd:])
		st.hold = st.hold[:k]
		st.segStart -= st.outEnd
		st.outStart, st.outEnd = 0, 0
	}
	return n
}

// add appends the bytes of one read and returns them as held, to be fed
// to the framer.
func (st *stripper) add(p []byte) []byte {
	st.feedBase = len(st.hold)
	st.hold = append(st.hold, p...)
	st.drops = st.drops[:0]
	st.lastEnd = st.outEnd
	return st.hold[st.feedBase:]
}

// dispatched records that an event ended at end, an index into the bytes
// fed, and returns where it started and whether it may be dropped.
func (st *stripper) dispatched(end int) (start int, droppable bool) {
	start, droppable = st.segStart, !st.passing
	st.lastEnd = st.feedBase + end
	st.segStart = st.lastEnd
	st.passing = false
	return start, droppable
}

// drop marks the event that started at start and was just dispatched for
// removal.
func (st *stripper) drop(start int) {
	st.drops = append(st.drops, [2]int{start, st.lastEnd})
}

// settle removes the dropped events of the current read, releases every
// complete event, and releases the undecided bytes too once they exceed
// the bound; fr is the framer they were fed to.
func (st *stripper) settle(fr *sse.Framer) {
	if st.lastEnd > st.outEnd {
		w, r := st.outEnd, st.outEnd
		for _, d := range st.drops {
			w += copy(st.hold[w:], st.hold[r:d[0]])
			r = d[1]
		}
		w += copy(st.hold[w:], st.hold[r:st.lastEnd])
		tail := copy(st.hold[w:], st.hold[st.lastEnd:])
		st.hold = st.hold[:w+tail]
		st.outEnd = w
		st.segStart = w
	}
	if undecided := len(st.hold) - st.outEnd; undecided > maxHeldBytes || (st.passing && undecided > 0) {
		// Too large to be the usage chunk: let it through as it comes.
		// Unless the framer is between events, the next event dispatched
		// began in the released bytes and must not be dropped.
		st.releaseAll()
		st.passing = !fr.Idle()
	}
}

// releaseAll releases every byte held.
func (st *stripper) releaseAll() {
	st.outEnd = len(st.hold)
	st.segStart = st.outEnd
}

// readStrip reads the body in strip mode: whole events are handed on once
// complete, and the usage-only chunk the application did not ask for is
// dropped.
func (o *observer) readStrip(rc io.Reader, p []byte) (int, error) {
	o.mu.Lock()
	for {
		if o.s == nil {
			// Released: the body is done and anything held was handed on.
			o.unlock()
			return rc.Read(p)
		}
		st := &o.s.strip
		if st.pending() {
			n := st.take(p)
			o.unlock()
			return n, nil
		}
		if st.upErr != nil {
			if len(st.hold) > st.outEnd {
				st.releaseAll() // the stream ended: hand on what is left as it is
				continue
			}
			err := st.upErr
			o.endBody()
			o.unlock()
			return 0, err
		}
		o.unlock()
		t0 := time.Now()
		n, err := rc.Read(p)
		t1 := time.Now()
		o.mu.Lock()
		if o.s == nil {
			o.unlock()
			return n, err
		}
		st = &o.s.strip
		fed := st.add(p[:n])
		if !o.ended.Load() {
			o.timeRead(t0, t1, n)
			if n > 0 {
				o.observe(fed)
				st.settle(o.s.framer)
			}
			if err != nil {
				o.finish(err, t1)
			}
		}
		if o.ended.Load() {
			st.releaseAll()
		}
		if err != nil {
			st.upErr = err
		}
	}
}
