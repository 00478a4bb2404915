package infermetrics

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"time"
)

// body wraps a response body, observing every byte the application reads.
// It holds the only reference to its observer that the application can
// reach: when the application drops it unread and unclosed, the garbage
// collector's cleanup ends the attempt (see abandoned).
type body struct {
	o  *observer
	rc io.ReadCloser
}

var _ io.ReadCloser = (*body)(nil)

func newBody(o *observer, rc io.ReadCloser) *body {
	b := &body{o: o, rc: rc}
	o.cleanup = runtime.AddCleanup(b, abandoned, abandonArg{o, rc})
	return b
}

type abandonArg struct {
	o  *observer
	rc io.ReadCloser
}

// abandoned runs on the runtime's cleanup goroutine when a body became
// unreachable before it was read to the end or closed.
func abandoned(a abandonArg) {
	o := a.o
	o.mu.Lock()
	o.finish(ErrAbandoned, time.Now())
	o.dropBody()
	o.unlock()
	_ = a.rc.Close()
}

func (b *body) Read(p []byte) (int, error) {
	o := b.o
	if o.stripping {
		return o.readStrip(b.rc, p)
	}
	t0 := time.Now()
	n, err := b.rc.Read(p)
	t1 := time.Now()
	o.mu.Lock()
	if !o.ended.Load() {
		o.timeRead(t0, t1, n)
		if n > 0 {
			o.observe(p[:n])
		}
		if err != nil {
			o.finish(err, t1)
		}
	}
	if err != nil {
		o.endBody()
	}
	o.unlock()
	return n, err
}

// Close closes the body; an attempt not yet ended ends here, incomplete.
func (b *body) Close() error {
	err := b.rc.Close()
	o := b.o
	o.mu.Lock()
	if !o.ended.Load() {
		o.closed = true
		o.finish(nil, time.Now())
	}
	o.endBody()
	o.unlock()
	return err
}

// takeErrorBody reads up to maxErrorBytes of an error response into raw
// and returns a body that yields the same bytes to the application.
// openai-go closes an error body unread before it retries, so it is read
// now.
func takeErrorBody(rc io.ReadCloser, raw []byte) (io.ReadCloser, []byte) {
	if rc == nil || rc == http.NoBody {
		return rc, raw
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
				return &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), errReader{err}), Closer: rc}, raw
			}
			break
		}
	}
	raw = append(raw[:0], buf...)
	return &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), rc), Closer: rc}, raw
}

type replayBody struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
