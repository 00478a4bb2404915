// Package sse frames a text/event-stream incrementally, from arbitrary byte
// slices as a reader returns them, the way openai-go's decoder frames it.
//
// The rules mirror openai-go v3's packages/ssestream: lines end at '\n' with
// one trailing '\r' removed; an empty line dispatches the event if it has data;
// "data" lines append their value and a '\n'; "event" sets the event type; a
// line starting with ':' is a comment; other fields are ignored; one space
// after the colon is dropped. An event that is not followed by an empty line
// before the end of the stream is never dispatched.
//
// A Framer allocates only while its buffers grow to the largest event seen,
// up to the limit given to [New]; larger events are reported truncated.
package sse

import "bytes"

// Handler receives dispatched events. data is the event's data, each data
// line followed by '\n', valid only during the call; truncated reports that
// data was cut at the Framer's limit; end is the index in the slice passed to
// [Framer.Feed] just past the empty line that dispatched the event.
type Handler interface {
	Event(typ, data []byte, truncated bool, end int)
}

type field uint8

const (
	fieldName    field = iota // still reading the field name
	fieldData                 // "data"
	fieldEvent                // "event"
	fieldComment              // ":" comment
	fieldOther                // any other field
)

const maxName = 16 // longer field names are none we care about

// A Framer splits a byte stream into events. The zero value is not usable;
// call [New].
type Framer struct {
	limit int

	data      []byte
	truncated bool
	typ       []byte

	name      [maxName]byte
	nameLen   int
	nameLong  bool
	field     field
	skipSpace bool // the next value byte is a space to drop
	lineLen   int  // bytes in the current line so far
	lastCR    bool // the last byte of the current line so far is '\r'
}

// New returns a Framer that keeps at most limit bytes of one event's data.
func New(limit int) *Framer {
	if limit <= 0 {
		limit = 1 << 20
	}
	return &Framer{limit: limit}
}

// Footprint returns the bytes of buffer f holds.
func (f *Framer) Footprint() int { return cap(f.data) + cap(f.typ) }

// Reset prepares f for a new stream, keeping its buffers.
func (f *Framer) Reset() {
	f.data = f.data[:0]
	f.typ = f.typ[:0]
	f.truncated = false
	f.resetLine()
}

func (f *Framer) resetLine() {
	f.nameLen = 0
	f.nameLong = false
	f.field = fieldName
	f.skipSpace = false
	f.lineLen = 0
	f.lastCR = false
}

// Pending reports whether bytes of an undispatched event or an unfinished
// line are held: at the end of a stream, such an event is lost.
func (f *Framer) Pending() bool {
	return len(f.data) > 0 || f.lineLen > 0
}

// Idle reports whether f is between events: no field of an event and no
// part of a line is held, so the next byte fed starts a new line that no
// earlier byte belongs to.
func (f *Framer) Idle() bool {
	return len(f.data) == 0 && len(f.typ) == 0 && !f.truncated && f.lineLen == 0
}

// Feed frames p, calling h for every event it completes.
func (f *Framer) Feed(p []byte, h Handler) {
	off := 0
	for off < len(p) {
		rest := p[off:]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			f.segment(rest)
			return
		}
		f.segment(rest[:nl])
		off += nl + 1
		f.endLine(h, off)
	}
}

// segment adds bytes of the current line (containing no '\n').
func (f *Framer) segment(s []byte) {
	if len(s) == 0 {
		return
	}
	f.lineLen += len(s)
	f.lastCR = s[len(s)-1] == '\r'
	if f.field == fieldName {
		c := bytes.IndexByte(s, ':')
		if c < 0 {
			f.addName(s)
			return
		}
		f.addName(s[:c])
		f.classify()
		s = s[c+1:]
		f.skipSpace = true
	}
	if len(s) == 0 {
		return
	}
	if f.skipSpace {
		f.skipSpace = false
		if s[0] == ' ' {
			s = s[1:]
		}
	}
	switch f.field {
	case fieldData:
		f.addData(s)
	case fieldEvent:
		if len(f.typ)+len(s) <= 64 {
			f.typ = append(f.typ, s...)
		}
	}
}

func (f *Framer) addName(s []byte) {
	if f.nameLen+len(s) > maxName {
		f.nameLong = true
		return
	}
	f.nameLen += copy(f.name[f.nameLen:], s)
}

func (f *Framer) classify() {
	name := f.name[:f.nameLen]
	switch {
	case f.nameLong:
		f.field = fieldOther
	case len(name) == 0:
		f.field = fieldComment
	case string(name) == "data":
		f.field = fieldData
	case string(name) == "event":
		f.field = fieldEvent
		f.typ = f.typ[:0]
	default:
		f.field = fieldOther
	}
}

func (f *Framer) addData(s []byte) {
	room := f.limit - len(f.data)
	if room <= 0 {
		f.truncated = true
		return
	}
	if len(s) > room {
		s = s[:room]
		f.truncated = true
	}
	f.data = append(f.data, s...)
}

// endLine finishes the current line; off is the index just past its '\n'.
func (f *Framer) endLine(h Handler, off int) {
	empty := f.lineLen == 0 || (f.lineLen == 1 && f.lastCR)
	if empty {
		if len(f.data) > 0 {
			h.Event(f.typ, f.data, f.truncated, off)
		}
		f.data = f.data[:0]
		f.typ = f.typ[:0]
		f.truncated = false
		f.resetLine()
		return
	}
	if f.field == fieldName {
		// A line without a colon: the whole line (less '\r') is the name.
		if f.lastCR && f.nameLen > 0 && !f.nameLong {
			f.nameLen--
		}
		f.classify()
	}
	switch f.field {
	case fieldData:
		if f.lastCR && len(f.data) > 0 && !f.truncated {
			f.data = f.data[:len(f.data)-1]
		}
		f.addData([]byte{'\n'})
	case fieldEvent:
		if f.lastCR && len(f.typ) > 0 {
			f.typ = f.typ[:len(f.typ)-1]
		}
	}
	f.resetLine()
}
