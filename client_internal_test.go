package infermetrics

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestReadBody(t *testing.T) {
	body := strings.Repeat(`{"model":"gpt-4o","messages":[]}`, 100)
	fail := errors.New("read failed")
	for _, tc := range []struct {
		name string
		r    func() io.Reader
		size int64
		want string
		err  error
	}{
		{"declared length", func() io.Reader { return strings.NewReader(body) }, int64(len(body)), body, nil},
		{"declared too short", func() io.Reader { return strings.NewReader(body) }, 10, body, nil},
		{"declared too long", func() io.Reader { return strings.NewReader(body) }, 1 << 20, body, nil},
		{"unknown length", func() io.Reader { return strings.NewReader(body) }, -1, body, nil},
		{"one byte a read", func() io.Reader { return iotest.OneByteReader(strings.NewReader(body)) }, 0, body, nil},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(strings.NewReader(body)) }, int64(len(body)), body, nil},
		{"empty", func() io.Reader { return strings.NewReader("") }, 0, "", nil},
		{"error midway", func() io.Reader { return io.MultiReader(strings.NewReader(body[:100]), iotest.ErrReader(fail)) }, int64(len(body)), body[:100], fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readBody(tc.r(), tc.size)
			if !bytes.Equal(got, []byte(tc.want)) || !errors.Is(err, tc.err) {
				t.Errorf("readBody = %d bytes, %v; want %d bytes, %v", len(got), err, len(tc.want), tc.err)
			}
		})
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = readBody(strings.NewReader(body), int64(len(body)))
	})
	if allocs > 2 { // the buffer, and the reader the closure makes
		t.Errorf("%v allocations reading a body of declared length, want at most 2", allocs)
	}
}

// TestArrival checks how a kernel receive stamp becomes a chunk's time.
func TestArrival(t *testing.T) {
	t1 := time.Now() // with a monotonic reading
	prev := t1.Add(-50 * time.Millisecond)
	ns := t1.UnixNano()
	for _, tc := range []struct {
		name string
		rx   int64
		want time.Time
	}{
		{"no stamp", 0, t1},
		{"received 10ms before the read returned", ns - 10e6, t1.Add(-10 * time.Millisecond)},
		{"received as the read returned", ns, t1},
		{"stamp after the read (wall clock stepped back)", ns + 5e6, t1},
		{"stamp before the previous bytes (wall clock stepped forward)", ns - 80e6, prev},
	} {
		got := arrival(t1, tc.rx, prev)
		if !got.Equal(tc.want) {
			t.Errorf("%s: arrival = %v before t1, want %v", tc.name, t1.Sub(got), t1.Sub(tc.want))
		}
		if got.Sub(t1) > 0 || got.Sub(prev) < 0 {
			t.Errorf("%s: arrival %v outside [prev, t1]", tc.name, got)
		}
	}
	// The result keeps t1's monotonic reading, so offsets from Start taken
	// on the monotonic clock stay right.
	if got := arrival(t1, ns-10e6, prev); !strings.Contains(got.String(), " m=") {
		t.Error("arrival dropped the monotonic clock reading")
	}
}
