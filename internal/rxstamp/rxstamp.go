// Package rxstamp makes TCP connections that record when the kernel
// received the bytes of each read (SO_TIMESTAMPNS), so that a process too
// busy to read promptly can still tell when data arrived.
//
// Only Linux stamps; elsewhere [Wrap] returns its connection unchanged and
// [Find] finds nothing.
package rxstamp

import (
	"crypto/tls"
	"net"
)

// Find returns the stamping connection under c, looking through
// [tls.Conn] and any other wrapper with a NetConn method, or nil.
func Find(c net.Conn) *Conn {
	for range 8 {
		switch x := c.(type) {
		case *Conn:
			return x
		case *tls.Conn:
			c = x.NetConn()
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
	return nil
}
