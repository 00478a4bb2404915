package infermetrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/tidwall/gjson"
)

// ErrAbandoned is the Err of a call whose response body became unreachable
// before it was read to the end or closed: the application dropped the
// stream without calling Close.
var ErrAbandoned = errors.New("infermetrics: response body abandoned without Close")

// ErrMalformedChunk is the Err of a call whose stream carried a data event
// that is not a JSON object; openai-go stops such a stream with a decoding
// error.
var ErrMalformedChunk = errors.New("infermetrics: malformed chunk in stream")

// errNoResponse is the Err of an attempt whose next transport returned
// neither a response nor an error, which the [http.RoundTripper] contract
// forbids.
var errNoResponse = errors.New("infermetrics: transport returned no response and no error")

// An APIError is an error the server reported: an HTTP error status, or an
// error sent inside a 200 stream (InStream).
type APIError struct {
	StatusCode int    // HTTP status of the response
	Type       string // the error object's "type", if any
	Code       string // the error object's "code", if any
	Message    string // the error object's "message", if any
	InStream   bool   // sent as an event inside a streamed response
}

func (e *APIError) Error() string {
	where := "HTTP"
	if e.InStream {
		where = "stream"
	}
	s := fmt.Sprintf("infermetrics: %s error %d", where, e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	} else if e.Type != "" {
		s += " " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// parseAPIError reads an error body or a stream's error value: an object
// {"error":{"message","type","code"}}, the error object itself, or a bare
// message. It never fails; unknown shapes give an empty APIError.
func parseAPIError(raw []byte) *APIError {
	e := &APIError{}
	if len(raw) == 0 || !gjson.ValidBytes(raw) {
		e.Message = strings.TrimSpace(truncate(raw, 256))
		return e
	}
	r := gjson.ParseBytes(raw)
	if v := r.Get("error"); v.Exists() {
		if v.IsObject() {
			r = v
		} else if v.Type == gjson.String {
			e.Message = v.Str
			r = gjson.Result{}
		}
	}
	if r.IsObject() {
		e.Message = r.Get("message").String()
		if e.Message == "" {
			e.Message = r.Get("detail").String()
		}
		e.Type = r.Get("type").String()
		if code := r.Get("code"); code.Exists() && code.Type != gjson.Null {
			e.Code = code.String()
		}
	}
	e.Message = truncate(e.Message, 1024)
	return e
}

// The error.type values of failures below HTTP. The README lists them.
const (
	errTypeRefused    = "connection_refused"
	errTypeReset      = "connection_reset"
	errTypeDNS        = "dns_error"
	errTypeTLS        = "tls_error"
	errTypeTimeout    = "timeout"
	errTypeCanceled   = "canceled"
	errTypeEOF        = "unexpected_eof"
	errTypeTransport  = "transport_error"
	errTypeAbandoned  = "abandoned"
	errTypeMalformed  = "malformed_chunk"
	errTypeStreamErr  = "stream_error"
	errTypeUnroutable = "network_unreachable"
)

// errorType returns the error.type attribute value for err: for a server's
// error, its code or type when it is a short identifier, else the HTTP
// status code; for everything else one name of a fixed, documented set, so
// that the same failure has the same value whichever entry point (and
// whichever wrapping, such as *url.Error) it came through.
func errorType(err error) string {
	if err == nil {
		return ""
	}
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case identifier(ae.Code):
			return ae.Code
		case identifier(ae.Type):
			return ae.Type
		case ae.InStream:
			return errTypeStreamErr
		}
		return strconv.Itoa(ae.StatusCode)
	}
	var (
		dns     *net.DNSError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
		alert   tls.AlertError
		ne      net.Error
	)
	switch {
	case errors.Is(err, ErrAbandoned):
		return errTypeAbandoned
	case errors.Is(err, ErrMalformedChunk):
		return errTypeMalformed
	case errors.Is(err, context.DeadlineExceeded):
		return errTypeTimeout
	case errors.Is(err, context.Canceled):
		return errTypeCanceled
	case errors.As(err, &dns):
		return errTypeDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return errTypeRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return errTypeReset
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return errTypeUnroutable
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host),
		errors.As(err, &invalid), errors.As(err, &record), errors.As(err, &alert):
		return errTypeTLS
	case errors.As(err, &ne) && ne.Timeout():
		return errTypeTimeout
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errTypeEOF
	}
	return errTypeTransport
}

// identifier reports whether s is a short, low-cardinality identifier.
func identifier(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}
