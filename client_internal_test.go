package infermetrics

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
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
