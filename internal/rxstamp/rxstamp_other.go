//go:build !linux

package rxstamp

import "net"

// Supported reports whether connections can be stamped on this platform.
const Supported = false

// Conn is a stamping connection; none are made on this platform.
type Conn struct{ net.Conn }

// Wrap returns c: this platform does not stamp.
func Wrap(c net.Conn) net.Conn { return c }

// Received returns 0: this platform does not stamp.
func (c *Conn) Received() int64 { return 0 }
