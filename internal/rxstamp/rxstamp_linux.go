//go:build linux

package rxstamp

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Supported reports whether connections can be stamped on this platform.
const Supported = true

// Conn is a TCP connection whose reads use recvmsg(2) to learn when the
// kernel received the bytes read.
type Conn struct {
	net.Conn
	raw  syscall.RawConn
	recv atomic.Int64 // Unix ns of the last read's receive stamp; 0 before one

	mu   sync.Mutex // guards the fields below, the state of one Read
	read func(fd uintptr) bool
	p    []byte
	n    int
	err  error
	oob  [8]uint64 // control messages; uint64 for the alignment of a cmsghdr
}

// Wrap returns c as a stamping connection if c is a TCP connection whose
// socket accepts SO_TIMESTAMPNS, and c itself otherwise.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	})
	if err != nil || serr != nil {
		return c
	}
	x := &Conn{Conn: tc, raw: raw}
	x.read = x.recvmsg
	return x
}

// Received returns the kernel's receive time, in Unix nanoseconds, of the
// newest bytes the last read returned (for TCP, the newest segment in the
// read), or 0 if that read carried no stamp. The kernel turns stamping on
// for the whole system a little after the first socket asks for it, so the
// first reads may carry none.
func (c *Conn) Received() int64 { return c.recv.Load() }

// Read reads like [net.TCPConn.Read] and records the receive stamp.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil // as net.TCPConn: a stream has no empty messages to wait for
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.p, c.n, c.err = p, 0, nil
	err := c.raw.Read(c.read)
	n := c.n
	if err == nil {
		err = c.err
	}
	c.p, c.err = nil, nil
	switch {
	case err != nil:
		return n, c.opError(err)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// recvmsg is the body of one Read, called by the runtime's poller with the
// socket; it returns false to wait until the socket is readable.
func (c *Conn) recvmsg(fd uintptr) bool {
	oob := unsafe.Slice((*byte)(unsafe.Pointer(&c.oob)), len(c.oob)*8)
	for {
		n, oobn, _, _, err := syscall.Recvmsg(int(fd), c.p, oob, 0)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case nil:
			c.n = n
			if n > 0 {
				ns, _ := stamp(oob[:oobn]) // 0 if the kernel did not stamp
				c.recv.Store(ns)
			}
		default:
			c.err = os.NewSyscallError("recvmsg", err)
		}
		return true
	}
}

// opError reports err as the net package reports a failed read.
func (c *Conn) opError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		e := *oe
		e.Op = "read"
		return &e
	}
	return &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// stamp returns the SCM_TIMESTAMPNS time in oob, in Unix nanoseconds.
func stamp(oob []byte) (int64, bool) {
	const word = int(unsafe.Sizeof(uintptr(0)))
	hdr := syscall.CmsgLen(0)
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return 0, false
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS &&
			l >= syscall.CmsgLen(int(unsafe.Sizeof(syscall.Timespec{}))) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&oob[hdr]))
			return ts.Nano(), true
		}
		next := (l + word - 1) &^ (word - 1)
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return 0, false
}
