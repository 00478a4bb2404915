package infermetrics_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel"
)

// These tests pin defects a review found; each failed before its fix.

// hugeEventBody streams one content chunk of about size bytes and [DONE]
// without holding the chunk in memory itself.
type hugeEventBody struct {
	head, tail []byte
	fill       int // bytes of content still to produce
}

func newHugeEventBody(size int) *hugeEventBody {
	return &hugeEventBody{
		head: []byte(`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"`),
		tail: []byte(`"},"finish_reason":null}]}` + "\n\n" + `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" + "data: [DONE]\n\n"),
		fill: size,
	}
}

func (b *hugeEventBody) Read(p []byte) (int, error) {
	switch {
	case len(b.head) > 0:
		n := copy(p, b.head)
		b.head = b.head[n:]
		return n, nil
	case b.fill > 0:
		n := min(len(p), b.fill)
		for i := range p[:n] {
			p[i] = 'a'
		}
		b.fill -= n
		return n, nil
	case len(b.tail) > 0:
		n := copy(p, b.tail)
		b.tail = b.tail[n:]
		return n, nil
	}
	return 0, io.EOF
}

type hugeEventTransport struct{ size int }

func (rt hugeEventTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, req.Body)
	req.Body.Close()
	return &http.Response{
		StatusCode: 200, Status: "200 OK", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/event-stream"}},
		Body:    io.NopCloser(newHugeEventBody(rt.size)),
		Request: req,
	}, nil
}

// TestStripMemoryBounded: in strip mode (include_usage injected) an event
// too large to parse can never be the usage chunk to drop, so it must pass
// through without being held whole. Before the fix a 64 MiB event made the
// filter hold (and copy, growing) all of it.
func TestStripMemoryBounded(t *testing.T) {
	read := func(size int) uint64 {
		var c collect
		hc := &http.Client{Transport: infermetrics.NewTransport(hugeEventTransport{size}, infermetrics.WithOnCall(c.hook))}
		body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
		var before, after runtimeMem
		before.read()
		resp, err := hc.Post("http://example.test/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 32<<10))
		resp.Body.Close()
		after.read()
		if err != nil || n < int64(size) {
			t.Fatalf("read %d bytes, %v; want more than %d", n, err, size)
		}
		if call := onlyCall(t, &c); call.FinishReason != "stop" {
			t.Errorf("finish reason %q, want stop", call.FinishReason)
		}
		return after.total - before.total
	}
	read(1 << 10) // one-time initialisation
	small, large := read(16<<20), read(64<<20)
	if large > 32<<20 || large > small+2<<20 {
		t.Errorf("reading a 16 MiB event allocated %d MiB, a 64 MiB one %d MiB; want a bound independent of the event's size", small>>20, large>>20)
	}
}

// TestResponseStringsDecoded: identifiers are kept as the application sees
// them decoded, and cut at a rune boundary.
func TestResponseStringsDecoded(t *testing.T) {
	long := strings.Repeat("a", 31) + "é"
	stream := `data: {"id":"chatcmpl-\u00e9x","object":"chat.completion.chunk","created":1,"model":"gpt-4o\/mini","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"chatcmpl-\u00e9x","object":"chat.completion.chunk","created":1,"model":"gpt-4o\/mini","choices":[{"index":0,"delta":{},"finish_reason":"` + long + `"}]}` + "\n\n" +
		"data: [DONE]\n\n"
	tel := infermetricstest.NewTelemetry()
	rt := &cannedTransport{status: 200, ctype: "text/event-stream", body: []byte(stream)}
	client := newClient(rt, infermetrics.Instrument(tel.Options()...))
	res := readStream(client, streamParams("gpt-4o/mini"))
	if res.err != "" {
		t.Fatal(res.err)
	}
	call := tel.LastCall()
	if call.ResponseID != "chatcmpl-éx" {
		t.Errorf("ResponseID = %q, want %q", call.ResponseID, "chatcmpl-éx")
	}
	if call.ResponseModel != "gpt-4o/mini" {
		t.Errorf("ResponseModel = %q, want %q", call.ResponseModel, "gpt-4o/mini")
	}
	if !utf8.ValidString(call.FinishReason) || !strings.HasPrefix(long, call.FinishReason) || call.FinishReason == "" {
		t.Errorf("FinishReason = %q, want a valid UTF-8 prefix of %q", call.FinishReason, long)
	}
	for _, s := range tel.Spans() {
		for _, kv := range s.Attributes() {
			for _, v := range kv.Value.AsStringSlice() {
				if !utf8.ValidString(v) {
					t.Errorf("span attribute %s holds invalid UTF-8 %q", kv.Key, v)
				}
			}
		}
	}
}

type nilTransport struct{}

func (nilTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, nil
}

// TestNilResponseFromBase: a base transport returning (nil, nil) is a
// broken transport, recorded as an error; the application gets what it
// would have got without the library.
func TestNilResponseFromBase(t *testing.T) {
	var c collect
	rt := infermetrics.NewTransport(nilTransport{}, infermetrics.WithOnCall(c.hook))
	req, _ := http.NewRequest("POST", "http://example.test/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[]}`))
	resp, err := rt.RoundTrip(req)
	if resp != nil || err != nil {
		t.Fatalf("RoundTrip = %v, %v; want the base's nil, nil", resp, err)
	}
	call := onlyCall(t, &c)
	if call.Err == nil || call.ErrorType != "transport_error" {
		t.Errorf("Err = %v, ErrorType = %q; want an error of type transport_error", call.Err, call.ErrorType)
	}
}

// TestReportConcurrent: WithOnCall hooks run concurrently, so the natural
// WithOnCall(r.Add) must be safe; and a long-lived report keeps bounded
// samples.
func TestReportConcurrent(t *testing.T) {
	var r infermetrics.Report
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				r.Add(&infermetrics.Call{RequestModel: "m", Stream: true, StatusCode: 200,
					TimeToFirstToken: time.Duration(g*2000+i+1) * time.Millisecond})
				_ = r.Models()
			}
		}()
	}
	wg.Wait()
	m := r.Models()[0]
	if m.Calls != 8000 {
		t.Fatalf("Calls = %d, want 8000", m.Calls)
	}
	for range 200000 {
		r.Add(&infermetrics.Call{RequestModel: "m", Stream: true, StatusCode: 200, TimeToFirstToken: time.Second})
	}
	// ModelReport.TimeToFirstToken documents its bound: 4096 samples.
	if n := len(r.Models()[0].TimeToFirstToken); n > 4096 {
		t.Errorf("report keeps %d TTFT samples, want at most 4096", n)
	}
}

// TestNonStreamedGaveUp: a non-streamed response with no finish reason is
// incomplete, and zero output tokens reported against answer text received
// is a usage mismatch (seen from a real ollama server that gave up).
func TestNonStreamedGaveUp(t *testing.T) {
	text := strings.Repeat("The answer is being written ", 3)[:82]
	body := `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"llama3","choices":[{"index":0,"message":{"role":"assistant","content":"` + text + `"},"finish_reason":null}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`
	var c collect
	client := newClient(&cannedTransport{status: 200, ctype: "application/json", body: []byte(body)}, infermetrics.Instrument(infermetrics.WithOnCall(c.hook)))
	if _, err := client.Chat.Completions.New(context.Background(), chatParams("llama3")); err != nil {
		t.Fatal(err)
	}
	call := onlyCall(t, &c)
	for _, f := range []infermetrics.Flag{infermetrics.FlagIncomplete, infermetrics.FlagUsageMismatch} {
		if !call.Flags.Has(f) {
			t.Errorf("flags %v, want %v", call.Flags, f)
		}
	}
	if call.Useful() {
		t.Error("Useful() = true for a response the server gave up on")
	}
}

// TestTransportErrorTaxonomy: the same failure gets the same error.type
// through Instrument and NewTransport.
func TestTransportErrorTaxonomy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused

	var viaInstrument, viaTransport collect
	client := openai.NewClient(option.WithBaseURL("http://"+addr+"/v1"), option.WithAPIKey("k"), option.WithMaxRetries(0),
		infermetrics.Instrument(infermetrics.WithOnCall(viaInstrument.hook)))
	if _, err := client.Chat.Completions.New(context.Background(), chatParams("m")); err == nil {
		t.Fatal("want an error from a refused connection")
	}
	hc := &http.Client{Transport: infermetrics.NewTransport(nil, infermetrics.WithOnCall(viaTransport.hook))}
	if _, err := hc.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[]}`)); err == nil {
		t.Fatal("want an error from a refused connection")
	}
	a, b := onlyCall(t, &viaInstrument), onlyCall(t, &viaTransport)
	if a.ErrorType != "connection_refused" || b.ErrorType != "connection_refused" {
		t.Errorf("error.type through Instrument %q, through NewTransport %q; want connection_refused for both", a.ErrorType, b.ErrorType)
	}
}

// oneReadBody hands out a script of reads, each after its delay (on the
// fake clock inside a synctest bubble).
type oneReadBody struct {
	reads  []string
	delays []time.Duration
}

func (b *oneReadBody) Read(p []byte) (int, error) {
	if len(b.reads) == 0 {
		return 0, io.EOF
	}
	time.Sleep(b.delays[0])
	n := copy(p, b.reads[0])
	b.reads[0] = b.reads[0][n:]
	if b.reads[0] == "" {
		b.reads, b.delays = b.reads[1:], b.delays[1:]
	}
	return n, nil
}

type scriptTransport struct{ body *oneReadBody }

func (rt scriptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, req.Body)
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(rt.body), Request: req}, nil
}

// TestSpeedWhenTokensShareARead: when every token chunk arrives in one
// read the speed window runs from the previous arrival.
func TestSpeedWhenTokensShareARead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chunk := func(delta string) string {
			return `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}` + "\n\n"
		}
		tokens := chunk(`{"content":"Hello"}`) + chunk(`{"content":" there"}`) + chunk(`{"content":" friend"}`)
		usage := `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}` + "\n\n"
		body := &oneReadBody{
			reads:  []string{chunk(`{"role":"assistant"}`), tokens, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" + usage + "data: [DONE]\n\n"},
			delays: []time.Duration{100 * ms, 300 * ms, 0},
		}
		var c collect
		client := newClient(scriptTransport{body}, infermetrics.Instrument(infermetrics.WithOnCall(c.hook)))
		s := client.Chat.Completions.NewStreaming(context.Background(), streamParams("m"))
		if _, err := drain(t, s); err != nil {
			t.Fatal(err)
		}
		call := onlyCall(t, &c)
		// Three tokens arrived together at 400ms; the previous arrival was
		// the role chunk at 100ms.
		if want := 3 / 0.3; !near(call.OutputTokensPerSecond, want) {
			t.Errorf("OutputTokensPerSecond = %v, want %v", call.OutputTokensPerSecond, want)
		}
	})
}

// TestGlobalProvidersByDefault: without WithTracerProvider and
// WithMeterProvider the global providers are used.
//
// Global providers cannot be unset, so the test runs in a process of its
// own.
func TestGlobalProvidersByDefault(t *testing.T) {
	if os.Getenv("INFERMETRICS_GLOBAL_PROVIDERS") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestGlobalProvidersByDefault$", "-test.count=1")
		cmd.Env = append(os.Environ(), "INFERMETRICS_GLOBAL_PROVIDERS=1")
		if out, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("PASS")) {
			t.Fatalf("in its own process: %v\n%s", err, out)
		}
		return
	}
	tel := infermetricstest.NewTelemetry()
	otel.SetTracerProvider(tel.TracerProvider())
	otel.SetMeterProvider(tel.MeterProvider())
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
		infermetricstest.Content("hi"), infermetricstest.Finish("stop"),
	}})
	defer srv.Close()
	client := kitClient(srv)
	if _, err := client.Chat.Completions.New(context.Background(), chatParams("m")); err != nil {
		t.Fatal(err)
	}
	if n := len(tel.Spans()); n != 1 {
		t.Errorf("global tracer provider got %d spans, want 1", n)
	}
	if n := tel.HistogramCount(infermetrics.MetricOperationDuration); n != 1 {
		t.Errorf("global meter provider got %d duration points, want 1", n)
	}
}

// TestStaleBodyCannotTouchAnotherCall: reading a body after its call ended
// must not affect any other call.
func TestStaleBodyCannotTouchAnotherCall(t *testing.T) {
	events := []infermetricstest.Event{infermetricstest.Role(), infermetricstest.Content("one"), infermetricstest.Content(" two"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 3, Output: 2}), infermetricstest.Done()}
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: events})
	defer srv.Close()
	var c collect
	hc := &http.Client{Transport: infermetrics.NewTransport(srv.Transport(), infermetrics.WithOnCall(c.hook))}
	body := `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	post := func() *http.Response {
		resp, err := hc.Post("http://infermetricstest.invalid/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	a := post()
	buf := make([]byte, 8)
	a.Body.Read(buf)
	a.Body.Close() // call A ends
	b := post()
	b.Body.Read(buf)
	for range 4 {
		a.Body.Read(buf) // a stale body: read after close
	}
	rest, err := io.ReadAll(b.Body)
	b.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rest, []byte("[DONE]")) {
		t.Fatalf("call B's body lost bytes: %q", rest)
	}
	calls := c.all()
	if len(calls) != 2 {
		t.Fatalf("got %d calls, want 2", len(calls))
	}
	if got := calls[1]; got.Err != nil || got.FinishReason != "stop" || got.OutputTokens != 2 {
		t.Errorf("call B = err %v, finish %q, output %d; want a complete call untouched by A's body", got.Err, got.FinishReason, got.OutputTokens)
	}
}

// TestCancelEndsCallWithoutReads: cancelling the context ends the call even
// if the application never touches the body again.
func TestCancelEndsCallWithoutReads(t *testing.T) {
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
		infermetricstest.Role(), infermetricstest.Content("one"), infermetricstest.Stall(time.Hour), infermetricstest.Finish("stop"),
	}})
	defer srv.Close()
	ended := make(chan *infermetrics.Call, 1)
	client := kitClient(srv, infermetrics.WithOnCall(func(c *infermetrics.Call) { ended <- c.Clone() }))
	ctx, cancel := context.WithCancel(context.Background())
	s := client.Chat.Completions.NewStreaming(ctx, chatParams("m"))
	if !s.Next() {
		t.Fatal(s.Err())
	}
	cancel()
	select {
	case c := <-ended:
		if c.ErrorType != "canceled" {
			t.Errorf("ErrorType = %q, want canceled", c.ErrorType)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not end when its context was cancelled")
	}
	s.Close()
}

// runtimeMem reads the bytes allocated so far.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.total = ms.TotalAlloc
}
