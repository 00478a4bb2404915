package infermetrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/infermetrics/infermetrics/internal/chunk"
	"github.com/infermetrics/infermetrics/internal/request"
	"github.com/infermetrics/infermetrics/internal/sse"
)

// The pure rules, table-tested without HTTP.

func TestReportedUsage(t *testing.T) {
	u := func(prompt, completion, total, reasoning, cached, deepseek, write int64, cost float64) chunk.Usage {
		return chunk.Usage{Prompt: prompt, Completion: completion, Total: total, Reasoning: reasoning, Cached: cached, DeepSeekCacheHit: deepseek, CacheWrite: write, Cost: cost}
	}
	tests := []struct {
		name string
		in   chunk.Usage
		seen bool
		want usage
		ok   bool
	}{
		{"not seen", u(10, 5, 15, -1, -1, -1, -1, -1), false, usage{}, false},
		{"no completion", u(10, -1, -1, -1, -1, -1, -1, -1), true, usage{}, false},
		{"openai", u(10, 5, 15, 2, 4, -1, -1, -1), true, usage{reported: true, input: 10, output: 5, reasoning: 2, cached: 4}, true},
		{"deepseek cache hit", u(10, 5, 15, -1, -1, 6, -1, -1), true, usage{reported: true, input: 10, output: 5, cached: 6}, true},
		{"xai reasoning outside completion", u(10, 5, 23, 8, -1, -1, -1, -1), true, usage{reported: true, input: 10, output: 13, reasoning: 8}, true},
		{"reasoning above completion", u(10, 5, -1, 8, -1, -1, -1, -1), true, usage{reported: true, input: 10, output: 13, reasoning: 8}, true},
		{"cache write and cost", u(10, 5, 15, -1, -1, -1, 3, 0.25), true, usage{reported: true, input: 10, output: 5, cacheWrite: 3, providerCost: 0.25, providerCostReported: true}, true},
		{"zeros", u(0, 0, 0, -1, -1, -1, -1, -1), true, usage{reported: true}, true},
	}
	for _, tt := range tests {
		got, ok := reportedUsage(tt.in, tt.seen)
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestUsageImplausible(t *testing.T) {
	tests := []struct {
		name                    string
		output, reasoning       int64
		visible, reasoningBytes int64
		tokenChunks             int
		want                    bool
	}{
		{"typical", 10, 0, 40, 0, 10, false},
		{"unknown output", -1, 0, 40, 0, 10, false},
		{"reasoning above output", 5, 8, 20, 40, 10, true},
		{"more chunks than tokens", 10, 0, 40, 0, 2*10 + mismatchSlack + 1, true},
		{"more tokens than bytes", 100, 0, 40, 0, 10, true},
		{"within slack", 40 + mismatchSlack, 0, 40, 0, 10, false},
		{"far more bytes than tokens", 10, 0, maxBytesPerToken * (10 + mismatchSlack + 1), 0, 10, true},
		{"zero output for text", 0, 0, 82, 0, 0, true},
		{"zero output for reasoning", 0, 0, 0, 30, 0, true},
		{"zero output, no text", 0, 0, 0, 0, 0, false},
		{"unreported reasoning counted as answer", 30, 0, 40, 80, 20, false},
		// Azure o4-mini (Responses API): "Olá!" (4 bytes) with 102 output
		// tokens, 64 of them reasoning: hidden reasoning is reported in
		// multiples of 64, the rest counted with the answer.
		{"hidden reasoning's remainder", 102, 64, 4, 0, 2, false},
		{"beyond the remainder", 64 + 4 + mismatchSlack + reasoningGranularity + 1, 64, 4, 0, 2, true},
	}
	for _, tt := range tests {
		if got := usageImplausible(tt.output, tt.reasoning, tt.visible, tt.reasoningBytes, tt.tokenChunks); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestModelMatches(t *testing.T) {
	tests := []struct {
		requested, response string
		want                bool
	}{
		{"gpt-4o", "gpt-4o", true},
		{"gpt-4o", "GPT-4o", true},
		{"gpt-4o", "gpt-4o-2024-08-06", true},
		{"gpt-4o", "gpt-4o-20240806", true},
		{"gpt-4o", "gpt-4o-0806", true},
		{"openai/gpt-4o", "gpt-4o", true},
		{"meta-llama/llama-3:free", "llama-3", true},
		{"gpt-4o", "gpt-4o-mini", false},
		{"gpt-4o", "gpt-4o-2024-8-06", false},
		{"gpt-4o", "", true},
		{"", "anything", true},
	}
	for _, tt := range tests {
		if got := modelMatches(tt.requested, tt.response); got != tt.want {
			t.Errorf("modelMatches(%q, %q) = %v, want %v", tt.requested, tt.response, got, tt.want)
		}
	}
}

func TestErrorType(t *testing.T) {
	op := func(err error) error {
		return &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"refused, wrapped by net/http", op(syscall.ECONNREFUSED), "connection_refused"},
		{"refused, bare", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection_refused"},
		{"reset", op(syscall.ECONNRESET), "connection_reset"},
		{"broken pipe", op(syscall.EPIPE), "connection_reset"},
		{"unreachable", op(syscall.ENETUNREACH), "network_unreachable"},
		{"dns", &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}}, "dns_error"},
		{"dns timeout is dns", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, "dns_error"},
		{"unknown authority", &url.Error{Op: "Post", URL: "https://x", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, "tls_error"},
		{"not tls", &url.Error{Op: "Post", URL: "https://x", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, "tls_error"},
		{"tls alert", fmt.Errorf("remote error: %w", tls.AlertError(42)), "tls_error"},
		{"deadline", &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}, "timeout"},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutError{}}, "timeout"},
		{"canceled", context.Canceled, "canceled"},
		{"unexpected eof", io.ErrUnexpectedEOF, "unexpected_eof"},
		{"eof before response", &url.Error{Op: "Post", URL: "http://x", Err: io.EOF}, "unexpected_eof"},
		{"abandoned", ErrAbandoned, "abandoned"},
		{"malformed", ErrMalformedChunk, "malformed_chunk"},
		{"no response", errNoResponse, "transport_error"},
		{"anything else", errors.New("boom"), "transport_error"},
		{"api code", &APIError{StatusCode: 429, Code: "rate_limit_exceeded"}, "rate_limit_exceeded"},
		{"api type", &APIError{StatusCode: 400, Type: "invalid_request_error"}, "invalid_request_error"},
		{"api free text", &APIError{StatusCode: 503, Type: "Service Unavailable!"}, "503"},
		{"in stream", &APIError{StatusCode: 200, InStream: true}, "stream_error"},
	}
	for _, tt := range tests {
		if got := errorType(tt.err); got != tt.want {
			t.Errorf("%s: errorType(%v) = %q, want %q", tt.name, tt.err, got, tt.want)
		}
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestHostPort(t *testing.T) {
	tests := []struct {
		url      string
		wantHost string
		wantPort int
	}{
		{"https://api.openai.com/v1/chat/completions", "api.openai.com", 443},
		{"http://localhost/v1", "localhost", 80},
		{"http://127.0.0.1:8000/v1", "127.0.0.1", 8000},
		{"http://[::1]:11434/v1", "::1", 11434},
		{"https://[::1]/v1", "::1", 443},
		{"http://host:/v1", "host", 80},
	}
	for _, tt := range tests {
		req, err := http.NewRequest("POST", tt.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if h, p := hostPort(req); h != tt.wantHost || p != tt.wantPort {
			t.Errorf("hostPort(%s) = %q, %d; want %q, %d", tt.url, h, p, tt.wantHost, tt.wantPort)
		}
	}
}

func TestOutputSpeed(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		c    Call
		s    summary
		want float64
	}{
		{"not streamed", Call{OutputTokens: 10}, summary{tokenChunks: 5, firstToken: 0, lastToken: ms}, 0},
		{"one token chunk", Call{Stream: true, OutputTokens: 10}, summary{tokenChunks: 1, firstToken: 100 * ms, lastToken: 100 * ms}, 0},
		{"window", Call{Stream: true, OutputTokens: 10}, summary{tokenChunks: 4, firstToken: 100 * ms, lastToken: 600 * ms}, 20},
		{"one read: from the arrival before", Call{Stream: true, OutputTokens: 3}, summary{tokenChunks: 3, beforeFirstToken: 100 * ms, firstToken: 400 * ms, lastToken: 400 * ms}, 10},
		{"hidden reasoning left out", Call{Stream: true, OutputTokens: 30, ReasoningTokens: 20}, summary{tokenChunks: 4, firstToken: 0, lastToken: time.Second}, 10},
		{"streamed reasoning kept", Call{Stream: true, OutputTokens: 30, ReasoningTokens: 20}, summary{tokenChunks: 4, reasoningSeen: true, firstToken: 0, lastToken: time.Second}, 30},
		{"no window at all", Call{Stream: true, OutputTokens: 3}, summary{tokenChunks: 3, firstToken: 0, lastToken: 0}, 0},
	}
	for _, tt := range tests {
		if got := outputSpeed(&tt.c, &tt.s); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFidelityFlags(t *testing.T) {
	done := summary{sawDone: true, sawFinish: true, finish: "stop", nonBlank: true, tokenChunks: 3, answer: []byte("hello there"), answerBytes: 11}
	reported := Call{UsageReported: true, OutputTokens: 3, RequestModel: "m", ResponseModel: "m"}
	with := func(s summary, edit func(*summary)) summary { edit(&s); return s }
	call := func(edit func(*Call)) Call { c := reported; edit(&c); return c }
	tests := []struct {
		name string
		s    summary
		c    Call
		req  request.Info
		kind respKind
		want Flags
	}{
		{"clean", done, reported, request.Info{}, kindStream, 0},
		{"truncated", with(done, func(s *summary) { s.finish = "length" }), reported, request.Info{}, kindStream, Flags(FlagTruncated)},
		{"anthropic max_tokens", with(done, func(s *summary) { s.finish = "max_tokens" }), reported, request.Info{}, kindStream, Flags(FlagTruncated)},
		{"filtered by reason", with(done, func(s *summary) { s.finish = "content_filter" }), reported, request.Info{}, kindStream, Flags(FlagContentFiltered)},
		{"filtered by result", with(done, func(s *summary) { s.filtered = true }), reported, request.Info{}, kindStream, Flags(FlagContentFiltered)},
		{"incomplete stream", with(done, func(s *summary) { s.sawDone, s.sawFinish = false, false }), reported, request.Info{}, kindStream, Flags(FlagIncomplete)},
		{"whole response without finish", with(done, func(s *summary) { s.sawDone, s.sawFinish, s.tokenChunks = false, false, 0 }), reported, request.Info{}, kindJSON, Flags(FlagIncomplete)},
		{"empty answer", with(done, func(s *summary) { s.nonBlank = false; s.answer = nil; s.answerBytes = 0 }), call(func(c *Call) { c.OutputTokens = 1 }), request.Info{}, kindStream, Flags(FlagEmptyAnswer)},
		{"reasoning exhausted", with(done, func(s *summary) {
			s.finish, s.nonBlank, s.answer, s.answerBytes, s.reasoningSeen = "length", false, nil, 0, true
		}),
			call(func(c *Call) { c.OutputTokens, c.ReasoningTokens = 3, 3 }), request.Info{}, kindStream, Flags(FlagTruncated | FlagEmptyAnswer | FlagReasoningExhausted)},
		{"tool call is an answer", with(done, func(s *summary) { s.nonBlank, s.toolCall = false, true }), reported, request.Info{}, kindStream, 0},
		{"usage missing", done, call(func(c *Call) { c.UsageReported = false }), request.Info{}, kindStream, Flags(FlagUsageMissing)},
		{"usage mismatch", done, call(func(c *Call) { c.OutputTokens = 0 }), request.Info{}, kindStream, Flags(FlagUsageMismatch)},
		{"model substituted", done, call(func(c *Call) { c.ResponseModel = "other" }), request.Info{}, kindStream, Flags(FlagModelMismatch)},
		{"reasoning not switched off", with(done, func(s *summary) { s.reasoningSeen = true }), reported, request.Info{NoReasoning: true}, kindStream, Flags(FlagParamIgnored)},
		{"invalid json", done, reported, request.Info{OutputType: "json"}, kindStream, Flags(FlagInvalidJSON)},
		{"valid json", with(done, func(s *summary) { s.answer = []byte(`{"a":1}`); s.answerBytes = 7 }), reported, request.Info{OutputType: "json"}, kindStream, 0},
	}
	for _, tt := range tests {
		if got := fidelityFlags(&tt.s, &tt.c, &tt.req, tt.kind); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCostFlags(t *testing.T) {
	tests := []struct {
		c    Call
		want Flags
	}{
		{Call{PriceKnown: true, Cost: Cost{Total: 1}, ProviderCostReported: true, ProviderCost: 1.1}, 0},
		{Call{PriceKnown: true, Cost: Cost{Total: 1}, ProviderCostReported: true, ProviderCost: 2}, Flags(FlagCostMismatch)},
		{Call{PriceKnown: true, Cost: Cost{Total: 0.00001}, ProviderCostReported: true, ProviderCost: 0.00005}, 0}, // under a hundredth of a cent
		{Call{PriceKnown: false, ProviderCostReported: true, ProviderCost: 2}, 0},
		{Call{PriceKnown: true, Cost: Cost{Total: 1}}, 0},
	}
	for i, tt := range tests {
		if got := costFlags(&tt.c); got != tt.want {
			t.Errorf("%d: got %v, want %v", i, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exact", 5, "exact"},
		{strings.Repeat("a", 31) + "é", 32, strings.Repeat("a", 31)},
		{"日本語", 4, "日"},
		{"日本語", 2, ""},
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if got := truncate([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("truncate([]byte(%q), %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestAppendDecoded(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`plain`, "plain"},
		{`chatcmpl-\u00e9x`, "chatcmpl-éx"},
		{`gpt-4o\/mini`, "gpt-4o/mini"},
		{`a\"b`, `a"b`},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{`\ud83d\ude00`, "😀"},
	}
	for _, tt := range tests {
		got := string(appendDecoded([]byte("x:"), []byte(tt.raw)))
		if got != "x:"+tt.want || !utf8.ValidString(got) {
			t.Errorf("appendDecoded(%q) = %q, want %q", tt.raw, got, "x:"+tt.want)
		}
	}
}

func TestAddFinish(t *testing.T) {
	var s summary
	s.addFinish([]byte(strings.Repeat("a", 31)+"é"), 0)
	s.addFinish([]byte(`st\u006fp`), 1)
	s.addFinish([]byte(`stop`), 2)
	if s.finish != strings.Repeat("a", 31) {
		t.Errorf("finish = %q, want the rune-safe cut", s.finish)
	}
	if s.nfinish != 2 || s.finishes[1] != "stop" {
		t.Errorf("finishes = %q, want the cut and a decoded, deduplicated stop", s.finishes[:s.nfinish])
	}
}

// TestStripperBound feeds one event far larger than the bound through a
// stripper and checks what it holds back never exceeds the bound, and
// that the event is not dropped.
func TestStripperBound(t *testing.T) {
	var st stripper
	fr := sse.New(maxEventBytes)
	h := handlerFunc(func(end int) { st.dispatched(end) })
	read := make([]byte, 32<<10)
	feed := func(p []byte) {
		fed := st.add(p)
		fr.Feed(fed, h)
		st.settle(fr)
		if held := len(st.hold) - st.outEnd; held > maxHeldBytes {
			t.Fatalf("holding %d undecided bytes, bound %d", held, maxHeldBytes)
		}
		for st.pending() {
			st.take(read)
		}
	}
	feed([]byte("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}, \"pad\":\""))
	pad := make([]byte, 32<<10)
	for i := range pad {
		pad[i] = 'a'
	}
	for range 3 * maxHeldBytes / len(pad) {
		feed(pad)
	}
	if !st.passing {
		t.Fatal("an event released in part must be marked passing")
	}
	feed([]byte("\"}\n\n"))
	if st.passing {
		t.Error("passing must end with the event")
	}
}

type handlerFunc func(end int)

func (f handlerFunc) Event(_, _ []byte, _ bool, end int) { f(end) }
