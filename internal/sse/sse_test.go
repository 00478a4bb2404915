package sse

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/packages/ssestream"
)

type event struct {
	typ, data string
	truncated bool
}

type recorder struct{ events []event }

func (r *recorder) Event(typ, data []byte, truncated bool, end int) {
	r.events = append(r.events, event{string(typ), string(data), truncated})
}

// sdkEvents frames input with openai-go's own decoder.
func sdkEvents(t *testing.T, input string) []event {
	t.Helper()
	res := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(input))}
	d := ssestream.NewDecoder(res)
	var out []event
	for d.Next() {
		e := d.Event()
		out = append(out, event{e.Type, string(e.Data), false})
	}
	return out
}

// feedSplit feeds input to a Framer in pieces of size n.
func feedSplit(input string, n int) []event {
	f := New(1 << 20)
	r := &recorder{}
	b := []byte(input)
	for len(b) > 0 {
		k := min(n, len(b))
		f.Feed(b[:k], r)
		b = b[k:]
	}
	return r.events
}

var cases = []string{
	"data: {\"a\":1}\n\ndata: [DONE]\n\n",
	"data: {\"a\":1}\r\n\r\ndata: [DONE]\r\n\r\n",
	": OPENROUTER PROCESSING\n\ndata: {}\n\n",
	"event: error\ndata: {\"error\":{\"message\":\"x\"}}\n\n",
	"data: line1\ndata: line2\n\n",
	"data:nospace\n\n",
	"data\n\n",
	"data:\n\n",
	"id: 7\nretry: 10\ndata: x\n\n",
	"data: x\n\n\n\ndata: y\n\n",
	"data: unterminated",
	"data: unterminated\n",
	"event: a\n\ndata: x\n\n",
	"data: \xe2\x82\n\n",
	"dat\r\n\r\n",
	"event: ping\r\ndata: {}\r\n\r\n",
	"data:  two spaces\n\n",
	": comment only\n",
	"",
	"\n\n\n",
	"data: x\r\r\n\r\n",
	"verylongfieldnamethatgoesonandon: v\ndata: z\n\n",
}

func TestFramerMatchesSDK(t *testing.T) {
	for _, input := range cases {
		want := sdkEvents(t, input)
		for _, n := range []int{1, 2, 3, 7, 64, 1 << 16} {
			got := feedSplit(input, n)
			if len(got) != len(want) {
				t.Errorf("input %q split %d: got %d events %+v, want %d %+v", input, n, len(got), got, len(want), want)
				continue
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("input %q split %d: event %d got %+v, want %+v", input, n, i, got[i], want[i])
				}
			}
		}
	}
}

func TestFramerLimit(t *testing.T) {
	f := New(8)
	r := &recorder{}
	f.Feed([]byte("data: 0123456789abcdef\n\ndata: ok\n\n"), r)
	if len(r.events) != 2 {
		t.Fatalf("got %d events, want 2", len(r.events))
	}
	if !r.events[0].truncated || r.events[0].data != "01234567" {
		t.Errorf("got %+v, want truncated 01234567", r.events[0])
	}
	if r.events[1].truncated || r.events[1].data != "ok\n" {
		t.Errorf("got %+v, want ok", r.events[1])
	}
}

func TestFramerEnd(t *testing.T) {
	f := New(0)
	r := &recorder{}
	in := []byte("data: a\n\ndata: b\n\n")
	var ends []int
	h := endRecorder{&ends}
	f.Feed(in, h)
	if want := []int{9, 18}; len(ends) != 2 || ends[0] != want[0] || ends[1] != want[1] {
		t.Errorf("ends got %v, want %v", ends, want)
	}
	f.Feed([]byte("data: partial"), r)
	if !f.Pending() {
		t.Error("Pending() = false after a partial event, want true")
	}
	f.Reset()
	if f.Pending() {
		t.Error("Pending() = true after Reset, want false")
	}
}

type endRecorder struct{ ends *[]int }

func (e endRecorder) Event(_, _ []byte, _ bool, end int) { *e.ends = append(*e.ends, end) }

func TestFramerAllocs(t *testing.T) {
	f := New(1 << 20)
	var h nopHandler
	in := bytes.Repeat([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"), 10)
	f.Feed(in, h) // grow buffers
	allocs := testing.AllocsPerRun(100, func() { f.Feed(in, h) })
	if allocs != 0 {
		t.Errorf("Feed allocates %v times per run, want 0", allocs)
	}
}

type nopHandler struct{}

func (nopHandler) Event(_, _ []byte, _ bool, _ int) {}

// TestFramerIdle: Idle holds exactly between events, so a filter that
// releases bytes while a framer is mid-event knows it did (strip.go).
func TestFramerIdle(t *testing.T) {
	tests := []struct {
		fed  string
		idle bool
	}{
		{"", true},
		{"data: {}\n\n", true},
		{": a comment\n", true},
		{": a comm", false},
		{"data: {}\n", false},
		{"event: error\n", false},
		{"data: {", false},
		{"id: 7\n", true}, // a field that is not kept: nothing of it is held
		{"data: " + strings.Repeat("x", 40) + "\n", false},
		{"data: " + strings.Repeat("x", 40) + "\n\n", true},
	}
	for _, tt := range tests {
		f := New(16)
		f.Feed([]byte(tt.fed), nopHandler{})
		if got := f.Idle(); got != tt.idle {
			t.Errorf("after %q: Idle() = %v, want %v", tt.fed, got, tt.idle)
		}
	}
}

// TestFramerFootprint: the buffer grown for a large event is what
// Footprint reports, so a pool can drop it.
func TestFramerFootprint(t *testing.T) {
	f := New(1 << 20)
	f.Feed([]byte("data: "+strings.Repeat("x", 100000)+"\n\n"), nopHandler{})
	f.Reset()
	if n := f.Footprint(); n < 100000 {
		t.Errorf("Footprint() = %d after a 100,000-byte event, want at least that", n)
	}
}
