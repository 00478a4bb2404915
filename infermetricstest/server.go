// Package infermetricstest provides an in-process OpenAI-compatible
// chat-completions server for tests. It answers with scripted
// [Scenario] values, streaming their events with controlled timing.
//
// The server can be reached over loopback TCP, through [Server.URL] and
// [Server.Client], or in memory, through [Server.Transport]. In memory,
// no sockets are used and every delay is an ordinary timer, so inside a
// [testing/synctest] bubble the client observes exactly the scripted
// timing on the fake clock.
package infermetricstest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Server is an OpenAI-compatible chat-completions server that answers
// successive POST .../chat/completions requests with successive scenarios;
// once the scenarios are used up, the last one is repeated. Other paths
// get 404, other methods 405, and a body that is not a JSON object 400;
// these do not use up a scenario.
//
// A Server can be used concurrently by multiple goroutines.
type Server struct {
	scenarios []Scenario
	respond   func(Request) Scenario // set by NewServerFunc

	mu       sync.Mutex
	served   int // number of scenarios handed out
	chats    int // chat-completions requests being answered
	requests []RecordedRequest
	inflight map[*exchange]struct{} // in-memory exchanges being served
	closed   bool
	ts       *httptest.Server   // loopback server, started on first use
	netCtx   context.Context    // done when the loopback server closes
	netStop  context.CancelFunc // cancels netCtx
}

// A RecordedRequest is a request received by a [Server].
type RecordedRequest struct {
	Method string
	Path   string // URL path, such as "/v1/chat/completions"
	Header http.Header
	Body   []byte
}

// NewServer returns a server that answers with the given scenarios in
// order. With no scenarios, every request gets the zero [Scenario].
//
// The server's loopback listener, on 127.0.0.1, is started by the first
// call to [Server.URL] or [Server.Client]. A server used only through
// [Server.Transport] opens no socket, so it may be created inside a
// synctest bubble. The caller should call [Server.Close] when finished.
func NewServer(scenarios ...Scenario) *Server {
	s := &Server{inflight: make(map[*exchange]struct{})}
	for _, sc := range scenarios {
		sc.Events = append([]Event(nil), sc.Events...)
		sc.Header = sc.Header.Clone()
		s.scenarios = append(s.scenarios, sc)
	}
	return s
}

// A Request is what a [Server] made with [NewServerFunc] knows of a
// chat-completions request when it chooses the scenario that answers it.
type Request struct {
	// N counts the chat-completions and Responses API requests before
	// this one.
	N int
	// Responses is set for a Responses API request (POST …/responses).
	Responses bool
	// Model, Stream and MaxTokens are the request's "model", "stream" and
	// "max_completion_tokens" (or, when that is absent, "max_tokens", or
	// the Responses API's "max_output_tokens") fields; MaxTokens is zero
	// when none is set.
	Model     string
	Stream    bool
	MaxTokens int
	// InFlight counts the chat-completions requests the server is
	// answering, this one included.
	InFlight int
	// Header and Body are the request's headers and body. They must not
	// be modified or retained.
	Header http.Header
	Body   []byte
}

// NewServerFunc returns a server that answers each chat-completions request
// with the scenario f returns for it, such as a [Simulator]'s. Requests
// that are not valid chat-completions requests are answered as by
// [NewServer] and do not reach f.
//
// f may be called concurrently by multiple goroutines, one per request
// being answered, and is called before the response starts: the time it
// takes delays the response.
func NewServerFunc(f func(Request) Scenario) *Server {
	s := NewServer()
	s.respond = f
	return s
}

// URL returns the base URL of the loopback server, ending in "/v1", as
// expected by openai-go's option.WithBaseURL. It starts the server if
// needed. After Close it returns the URL of the closed server, or "" if
// the loopback server was never started.
func (s *Server) URL() string {
	ts := s.start()
	if ts == nil {
		return ""
	}
	return ts.URL + "/v1"
}

// Client returns an HTTP client for the loopback server. It starts the
// server if needed. Close closes the client's idle connections; requests
// made with the client after Close fail.
func (s *Server) Client() *http.Client {
	if ts := s.start(); ts != nil {
		return ts.Client()
	}
	return &http.Client{Transport: s.Transport()}
}

// Transport returns a RoundTripper that delivers requests to the server in
// memory, whatever their URL, without sockets.
//
// Each request is served by a goroutine that writes the response into a
// buffer read by the response body, so all of the server's waiting is done
// with timers and channels. Inside a synctest bubble, those use the
// bubble's fake clock, and the client observes the scripted delays
// exactly. RoundTrip returns when the response headers are sent. Reading
// the body returns the request context's error once it is done, and
// [io.ErrUnexpectedEOF] after a [Drop]. Closing the body stops the
// goroutine serving it and waits for it to return.
func (s *Server) Transport() http.RoundTripper { return transport{s} }

// Requests returns a copy of the requests received so far, in order of
// arrival.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	reqs := make([]RecordedRequest, len(s.requests))
	for i, r := range s.requests {
		reqs[i] = RecordedRequest{
			Method: r.Method,
			Path:   r.Path,
			Header: r.Header.Clone(),
			Body:   bytes.Clone(r.Body),
		}
	}
	return reqs
}

// Close shuts the server down. Responses still being served are aborted,
// as by [Drop], and Close waits for their handlers to return. Close may be
// called more than once.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	xs := make([]*exchange, 0, len(s.inflight))
	for x := range s.inflight {
		xs = append(xs, x)
	}
	ts, stop := s.ts, s.netStop
	s.mu.Unlock()

	for _, x := range xs {
		x.cancel()
	}
	for _, x := range xs {
		<-x.done
	}
	if ts != nil {
		stop()
		ts.Close()
	}
}

// start starts the loopback server unless it is started or the Server is
// closed, and returns it.
func (s *Server) start() *httptest.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts != nil || s.closed {
		return s.ts
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("infermetricstest: failed to listen on a loopback port: %v", err))
	}
	s.netCtx, s.netStop = context.WithCancel(context.Background())
	s.ts = &httptest.Server{
		Listener: l,
		Config:   &http.Server{Handler: http.HandlerFunc(s.serveHTTP)},
	}
	s.ts.Start()
	return s.ts
}

// serveHTTP is the loopback server's handler.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.netCtx, cancel)()
	s.serve(ctx, w, r.Method, r.URL.Path, r.Header, body, func() { hangUp(w) })
}

// hangUp closes the connection under w without finishing the response.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http aborts the response silently
	}
	conn.Close()
}

// chatRequest holds the request fields the server acts on.
type chatRequest struct {
	Model               string `json:"model"`
	Stream              bool   `json:"stream"`
	MaxTokens           int    `json:"max_tokens"`
	MaxCompletionTokens int    `json:"max_completion_tokens"`
	MaxOutputTokens     int    `json:"max_output_tokens"` // the Responses API's
	StreamOptions       struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// serve records a request and answers it, for both the loopback server and
// the in-memory transport. The response is written to w; ctx is done when
// the client goes away or the server closes; abort ends the response
// abruptly.
func (s *Server) serve(ctx context.Context, w http.ResponseWriter, method, path string, header http.Header, body []byte, abort func()) {
	responses := strings.HasSuffix(path, "/responses")
	chat := strings.HasSuffix(path, "/chat/completions") || responses
	var req chatRequest
	parseErr := json.Unmarshal(body, &req)
	valid := chat && method == http.MethodPost && parseErr == nil

	s.mu.Lock()
	s.requests = append(s.requests, RecordedRequest{
		Method: method,
		Path:   path,
		Header: header.Clone(),
		Body:   bytes.Clone(body),
	})
	var sc Scenario
	n := s.served
	if valid {
		s.served++
		s.chats++
		defer func() {
			s.mu.Lock()
			s.chats--
			s.mu.Unlock()
		}()
		if len(s.scenarios) > 0 {
			sc = s.scenarios[min(n, len(s.scenarios)-1)]
		}
	}
	inflight := s.chats
	s.mu.Unlock()
	if valid && s.respond != nil {
		sc = s.respond(Request{
			N:         n,
			Responses: responses,
			Model:     req.Model,
			Stream:    req.Stream,
			MaxTokens: cmp.Or(req.MaxCompletionTokens, req.MaxTokens, req.MaxOutputTokens),
			InFlight:  inflight,
			Header:    header,
			Body:      body,
		})
	}

	switch {
	case !chat:
		writeError(w, http.StatusNotFound, "infermetricstest: unknown path "+path)
		return
	case method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "infermetricstest: method "+method+" not allowed")
		return
	case parseErr != nil:
		writeError(w, http.StatusBadRequest, "infermetricstest: invalid request body: "+parseErr.Error())
		return
	}

	prefix := "chatcmpl-"
	if responses {
		prefix = "resp_"
	}
	resp := response{
		id:      prefix + "infermetricstest-" + strconv.Itoa(n+1),
		created: time.Now().Unix(),
		model:   cmp.Or(sc.Model, req.Model),
	}
	status := cmp.Or(sc.Status, http.StatusOK)
	success := status >= 200 && status < 300
	rc := http.NewResponseController(w)

	if !sleep(ctx, sc.HeaderDelay) {
		abort()
		return
	}

	h := w.Header()
	if success && sc.Body == "" && req.Stream {
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		copyHeader(h, sc.Header)
		w.WriteHeader(status)
		if rc.Flush() != nil {
			return
		}
		r := renderer{response: resp}
		rr := respRenderer{response: resp}
		// The Responses API always reports usage.
		usage := req.StreamOptions.IncludeUsage || sc.AlwaysUsage || responses
		for _, e := range sc.Events {
			if !sleep(ctx, e.Delay) {
				abort()
				return
			}
			var b []byte
			switch {
			case e.kind == kindDrop:
				abort()
				return
			case responses && e.Raw == doneRaw:
				b = rr.terminal()
			case e.Raw != "":
				b = []byte(e.Raw)
			case e.kind == kindUsage && !usage:
				continue
			case responses && e.isChunk():
				b = rr.event(e)
				if len(b) == 0 {
					continue // Finish and Usage wait for the end
				}
			case e.isChunk():
				b = r.chunk(e)
			default:
				continue
			}
			if _, err := w.Write(b); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		return
	}

	// A response in one piece, after the whole script's delays.
	for _, e := range sc.Events {
		if !sleep(ctx, e.Delay) || e.kind == kindDrop {
			abort()
			return
		}
	}
	var b []byte
	switch {
	case !success && sc.ErrorBody != "":
		b = []byte(sc.ErrorBody)
	case !success:
		b = errorBody(status)
	case sc.Body != "":
		b = []byte(sc.Body)
	case responses:
		b = foldResponse(resp, sc.Events)
	default:
		b = fold(resp, sc.Events)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	copyHeader(h, sc.Header)
	w.WriteHeader(status)
	w.Write(b)
}

// sleep waits for d or until ctx is done, and reports whether ctx is still
// live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	b := marshal(errorJSON{Error: errorObject{Message: msg, Type: "invalid_request_error"}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

var (
	errClosed     = errors.New("infermetricstest: server closed")
	errBodyClosed = errors.New("infermetricstest: read on closed response body")
)

// transport is the in-memory RoundTripper returned by Server.Transport.
type transport struct{ s *Server }

// RoundTrip implements http.RoundTripper.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	reqCtx := req.Context()
	if err := reqCtx.Err(); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(reqCtx)
	x := &exchange{
		reqCtx:    reqCtx,
		cancel:    cancel,
		header:    make(http.Header),
		committed: make(chan struct{}),
		done:      make(chan struct{}),
		ready:     make(chan struct{}, 1),
	}
	s := t.s
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return nil, errClosed
	}
	s.inflight[x] = struct{}{}
	s.mu.Unlock()

	go func() {
		defer close(x.done)
		defer func() {
			s.mu.Lock()
			delete(s.inflight, x)
			s.mu.Unlock()
		}()
		defer cancel()
		s.serve(ctx, x, req.Method, req.URL.Path, req.Header, body, x.abort)
		x.end(io.EOF)
	}()

	select {
	case <-x.committed:
	case <-reqCtx.Done():
		cancel()
		<-x.done
		return nil, reqCtx.Err()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.wroteHeader {
		return nil, fmt.Errorf("infermetricstest: connection dropped before the response: %w", io.ErrUnexpectedEOF)
	}
	res := &http.Response{
		Status:        strconv.Itoa(x.status) + " " + http.StatusText(x.status),
		StatusCode:    x.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        x.sent,
		Body:          memBody{x},
		ContentLength: -1,
		Request:       req,
	}
	if n, err := strconv.ParseInt(x.sent.Get("Content-Length"), 10, 64); err == nil {
		res.ContentLength = n
	}
	return res, nil
}

// An exchange is one in-memory request being served. Its handler side is
// an http.ResponseWriter that appends to buf and never blocks; the client
// side reads buf through memBody.
type exchange struct {
	reqCtx    context.Context    // the request's context
	cancel    context.CancelFunc // cancels the handler's context
	header    http.Header        // handler's header map
	committed chan struct{}      // closed once the headers are sent or the handler ends
	done      chan struct{}      // closed when the handler goroutine returns
	ready     chan struct{}      // signalled when buf or err changes

	mu          sync.Mutex
	wroteHeader bool
	status      int
	sent        http.Header // headers as sent
	buf         bytes.Buffer
	err         error // read error after buf drains: io.EOF or io.ErrUnexpectedEOF
	closed      bool  // body closed by the client
}

func (x *exchange) Header() http.Header { return x.header }

func (x *exchange) WriteHeader(code int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.writeHeader(code)
}

// writeHeader sends the headers if they are not sent yet. x.mu is held.
func (x *exchange) writeHeader(code int) {
	if x.wroteHeader || x.err != nil {
		return
	}
	x.wroteHeader = true
	x.status = code
	x.sent = x.header.Clone()
	close(x.committed)
}

func (x *exchange) Write(p []byte) (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.writeHeader(http.StatusOK)
	switch {
	case x.closed:
		return 0, errBodyClosed
	case x.err != nil:
		return 0, x.err
	}
	x.buf.Write(p)
	x.signal()
	return len(p), nil
}

// Flush implements http.Flusher. Written data is readable at once.
func (x *exchange) Flush() {}

// abort ends the response abruptly.
func (x *exchange) abort() { x.end(io.ErrUnexpectedEOF) }

// end ends the response with the given read error, unless it has ended.
func (x *exchange) end(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err != nil {
		return
	}
	if err == io.EOF {
		x.writeHeader(http.StatusOK)
	}
	if !x.wroteHeader {
		close(x.committed)
	}
	x.err = err
	x.signal()
}

// signal wakes a blocked reader. x.mu is held.
func (x *exchange) signal() {
	select {
	case x.ready <- struct{}{}:
	default:
	}
}

// memBody is the response body of an exchange.
type memBody struct{ x *exchange }

func (b memBody) Read(p []byte) (int, error) {
	x := b.x
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if err := x.reqCtx.Err(); err != nil {
			return 0, err
		}
		x.mu.Lock()
		switch {
		case x.closed:
			x.mu.Unlock()
			return 0, errBodyClosed
		case x.buf.Len() > 0:
			n, _ := x.buf.Read(p)
			x.mu.Unlock()
			return n, nil
		case x.err != nil:
			err := x.err
			x.mu.Unlock()
			return 0, err
		}
		x.mu.Unlock()
		select {
		case <-x.ready:
		case <-x.reqCtx.Done():
		}
	}
}

// Close stops the handler and waits for it to return.
func (b memBody) Close() error {
	x := b.x
	x.mu.Lock()
	x.closed = true
	x.buf.Reset()
	x.mu.Unlock()
	x.cancel()
	<-x.done
	return nil
}
