package infermetrics

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/infermetrics/infermetrics/internal/rxstamp"
)

// ReceiveTimestamps wraps dial, an [http.Transport] DialContext function,
// so that the TCP connections it makes learn when the kernel received the
// bytes of each read (SO_TIMESTAMPNS). A call served over such a connection
// with HTTP/1.x stamps its chunks with the kernel's receive time instead of
// the time the read returned, so chunk times stay exact when the process is
// too busy to read promptly: a few microseconds of error where a loaded
// process otherwise adds milliseconds.
//
// A nil dial means a [net.Dialer] with [http.DefaultTransport]'s settings.
// On systems other than Linux, and for connections other than TCP, the
// connections are returned unchanged; so are calls over HTTP/2, which
// multiplexes streams on one connection. The kernel turns stamping on a few
// milliseconds after the first connection asks for it; reads before that
// keep their return time.
//
// The effect is process-wide: once any such dialer exists, every observed
// call (through any [Instrument] or [NewTransport]) looks up the connection
// that serves it, from the [net/http/httptrace.ClientTrace] every observed call
// carries for its connection setup (see [Call.ConnReused]); calls over
// other connections keep read-return stamps.
//
//	tr := http.DefaultTransport.(*http.Transport).Clone()
//	tr.DialContext = infermetrics.ReceiveTimestamps(tr.DialContext)
//	tr.Protocols = new(http.Protocols)
//	tr.Protocols.SetHTTP1(true)
//	client := openai.NewClient(
//		option.WithHTTPClient(&http.Client{Transport: tr}),
//		infermetrics.Instrument())
func ReceiveTimestamps(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if !rxstamp.Supported {
		return dial
	}
	stamping.Store(true)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return c, err
		}
		return rxstamp.Wrap(c), nil
	}
}

// stamping is set once [ReceiveTimestamps] has made a dialer: from then on
// calls look for the connection that serves them.
var stamping atomic.Bool

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
