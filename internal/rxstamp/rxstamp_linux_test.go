//go:build linux

package rxstamp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// pair returns a stamping client connection and the server's end of it.
func pair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	var d net.Dialer
	c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv := <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	x, ok := Wrap(c).(*Conn)
	if !ok {
		t.Fatal("a loopback TCP connection is not stamped")
	}
	warm(t, x, srv)
	return x, srv
}

// warm waits until c's reads carry stamps. The kernel turns receive
// stamping on for the whole system, after a delay, when the first socket
// asks for it, and off when the last one closes; until then reads carry no
// stamp.
func warm(t *testing.T, c *Conn, srv net.Conn) {
	t.Helper()
	buf := make([]byte, 1)
	for range 200 {
		if _, err := srv.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		if c.Received() != 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no receive stamp after 1s")
}

func TestReadIsTransparent(t *testing.T) {
	c, srv := pair(t)
	want := make([]byte, 1<<20)
	_, _ = rand.Read(want)
	go func() {
		for b := want; len(b) > 0; {
			n := min(len(b), 1+len(b)%7919)
			_, _ = srv.Write(b[:n])
			b = b[n:]
		}
		srv.Close()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("read %d bytes, want %d identical ones", len(got), len(want))
	}
	if c.Received() == 0 {
		t.Error("no receive stamp")
	}
}

// TestStampIsArrival: bytes that wait in the kernel are stamped with when
// they arrived, not when the application read them.
func TestStampIsArrival(t *testing.T) {
	c, srv := pair(t)
	sent := time.Now()
	if _, err := srv.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	const late = 300 * time.Millisecond
	time.Sleep(late)
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	read := time.Now()
	rx := time.Unix(0, c.Received())
	if d := rx.Sub(sent); d.Abs() > late/3 {
		t.Errorf("stamp %v after the write, want within %v; read %v after it", d, late/3, read.Sub(sent))
	}

	// A later write gets a later stamp.
	before := c.Received()
	if _, err := srv.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	n, err = c.Read(buf)
	if err != nil || string(buf[:n]) != "again" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if c.Received() <= before {
		t.Errorf("stamp %d after %d, want later", c.Received(), before)
	}
}

func TestReadErrors(t *testing.T) {
	t.Run("EOF", func(t *testing.T) {
		c, srv := pair(t)
		srv.Close()
		if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Errorf("Read = %d, %v; want 0, EOF", n, err)
		}
	})
	t.Run("empty buffer", func(t *testing.T) {
		c, _ := pair(t)
		if n, err := c.Read(nil); n != 0 || err != nil {
			t.Errorf("Read(nil) = %d, %v; want 0, nil", n, err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		c, _ := pair(t)
		if err := c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		_, err := c.Read(make([]byte, 8))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read after the deadline = %v, want a timeout", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		c, _ := pair(t)
		c.Close()
		_, err := c.Read(make([]byte, 8))
		var oe *net.OpError
		if !errors.Is(err, net.ErrClosed) || !errors.As(err, &oe) || oe.Op != "read" {
			t.Errorf("Read after Close = %#v, want a read OpError wrapping net.ErrClosed", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c, srv := pair(t)
		if err := srv.(*net.TCPConn).SetLinger(0); err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("x")) // unread by the server: closing it resets
		time.Sleep(10 * time.Millisecond)
		srv.Close()
		if _, err := c.Read(make([]byte, 8)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("Read after a reset = %v, want ECONNRESET", err)
		}
	})
}

func TestWrapLeavesOthers(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if Wrap(a) != a || Find(a) != nil {
		t.Error("a pipe was wrapped")
	}
}

func TestFindThroughTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	raw, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := Wrap(raw)
	tc := tls.Client(c, srv.Client().Transport.(*http.Transport).TLSClientConfig)
	defer tc.Close()
	if got := Find(tc); got == nil || net.Conn(got) != c {
		t.Errorf("Find = %v, want the stamping connection under the TLS one", got)
	}
}

func TestReadAllocs(t *testing.T) {
	c, srv := pair(t)
	msg := []byte("data: {}\n\n")
	buf := make([]byte, 64)
	allocs := testing.AllocsPerRun(200, func() {
		_, _ = srv.Write(msg)
		_, _ = io.ReadFull(c, buf[:len(msg)])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per read, want 0", allocs)
	}
}

func TestStampParsing(t *testing.T) {
	var oob [8]uint64
	b := unsafe.Slice((*byte)(unsafe.Pointer(&oob)), len(oob)*8)
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS
	h.SetLen(syscall.CmsgLen(int(unsafe.Sizeof(syscall.Timespec{}))))
	*(*syscall.Timespec)(unsafe.Pointer(&b[syscall.CmsgLen(0)])) = syscall.NsecToTimespec(1_795_000_000_123_456_789)
	n := syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{})))

	if ns, ok := stamp(b[:n]); !ok || ns != 1_795_000_000_123_456_789 {
		t.Errorf("stamp = %d, %v", ns, ok)
	}
	for cut := range n {
		if _, ok := stamp(b[:cut]); ok {
			t.Errorf("stamp found in a message cut at %d of %d bytes", cut, n)
		}
	}
	for _, tc := range []struct {
		name string
		typ  int32
		len  int
	}{
		{"another type", syscall.SCM_RIGHTS, syscall.CmsgLen(16)},
		{"a length past the buffer", syscall.SCM_TIMESTAMPNS, 1 << 20},
		{"a zero length", syscall.SCM_TIMESTAMPNS, 0},
		{"a length short of a timespec", syscall.SCM_TIMESTAMPNS, syscall.CmsgLen(4)},
	} {
		h.Type = tc.typ
		h.SetLen(tc.len)
		if _, ok := stamp(b[:n]); ok {
			t.Errorf("%s: stamp found", tc.name)
		}
	}
}
