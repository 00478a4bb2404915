package infermetricstest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"go.uber.org/goleak"
)

const ms = time.Millisecond

// memoryBaseURL is the base URL used with Server.Transport. The in-memory
// transport ignores the host, and .invalid guarantees nothing else could
// answer.
const memoryBaseURL = "http://infermetricstest.invalid/v1"

func newOpenAI(hc *http.Client, baseURL string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(baseURL),
		option.WithAPIKey("test"),
		option.WithHTTPClient(hc),
	}, opts...)...)
}

func chatParams(includeUsage bool) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{
		Model:    "gpt-test",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}
	if includeUsage {
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	}
	return p
}

// collect drains stream and returns the assembled content and the usage
// chunks.
func collect(stream *ssestream.Stream[openai.ChatCompletionChunk]) (content string, usage []openai.CompletionUsage, err error) {
	var b strings.Builder
	for stream.Next() {
		c := stream.Current()
		for _, ch := range c.Choices {
			b.WriteString(ch.Delta.Content)
		}
		if len(c.Choices) == 0 && c.JSON.Usage.Valid() {
			usage = append(usage, c.Usage)
		}
	}
	return b.String(), usage, stream.Err()
}

// newRequest returns a raw chat-completions request for the in-memory
// transport.
func newRequest(t *testing.T, ctx context.Context, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, memoryBaseURL+"/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

const streamBody = `{"model":"gpt-test","stream":true}`

func TestChunkEncoding(t *testing.T) {
	// The rows share one renderer and run in order: tool-call indexes
	// depend on the rows before.
	r := renderer{response: response{id: "chatcmpl-1", created: 7, model: "m"}}
	const head = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"m","choices":`
	choice := func(delta, finish string) string {
		return head + `[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + finish + `}]}` + "\n\n"
	}
	tests := []struct {
		name string
		e    Event
		want string
	}{
		{"role", Role(), choice(`{"role":"assistant","content":""}`, "null")},
		{"content", Content("a<b"), choice(`{"content":"a<b"}`, "null")},
		{"empty content", Content(""), choice(`{"content":""}`, "null")},
		{"reasoning", Reasoning("hmm"), choice(`{"reasoning_content":"hmm"}`, "null")},
		{"tool call", ToolCall("call_1", "get", `{"a"`),
			choice(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"a\""}}]}`, "null")},
		{"tool args", ToolArgs(`:1}`),
			choice(`{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}`, "null")},
		{"second tool call", ToolCall("call_2", "put", ""),
			choice(`{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"put","arguments":""}}]}`, "null")},
		{"second tool args", ToolArgs(`{}`),
			choice(`{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}`, "null")},
		{"finish", Finish("tool_calls"), choice(`{}`, `"tool_calls"`)},
		{"usage", Usage(Tokens{Input: 10, Output: 20, Reasoning: 5, CachedInput: 3}), head + `[],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,` +
			`"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":5}}}` + "\n\n"},
	}
	for _, tt := range tests {
		if got := string(r.chunk(tt.e)); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestRawEvents(t *testing.T) {
	tests := []struct {
		name string
		e    Event
		want Event
	}{
		{"done", Done(), Event{Raw: "data: [DONE]\n\n"}},
		{"comment", Comment("OPENROUTER PROCESSING"), Event{Raw: ": OPENROUTER PROCESSING\n\n"}},
		{"error", ErrorEvent("boom", "server_error"),
			Event{Raw: `data: {"error":{"message":"boom","type":"server_error","param":null,"code":null}}` + "\n\n"}},
		{"raw", Raw("event: ping\n"), Event{Raw: "event: ping\n"}},
		{"stall", Stall(time.Second), Event{Delay: time.Second}},
		{"after", Content("x").After(5 * ms), Event{Delay: 5 * ms, kind: kindContent, text: "x"}},
	}
	for _, tt := range tests {
		if tt.e != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, tt.e, tt.want)
		}
	}
}

// TestTransportTiming checks that, inside a synctest bubble, a client
// observes the scripted delays exactly.
func TestTransportTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(Scenario{
			HeaderDelay: 120 * ms,
			Events: []Event{
				Role().After(300 * ms),
				Reasoning("think").After(10 * ms),
				Content("Hel").After(40 * ms),
				Stall(2 * time.Second),
				Content("lo").After(5 * ms),
				Comment("keep-alive").After(time.Second),
				Finish("stop").After(15 * ms),
				Usage(Tokens{Input: 3, Output: 2, Reasoning: 1}),
				Done().After(7 * ms),
			},
		})
		defer srv.Close()
		client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL)

		start := time.Now()
		stream := client.Chat.Completions.NewStreaming(t.Context(), chatParams(true))
		if got, want := time.Since(start), 120*ms; got != want {
			t.Errorf("headers after %v, want %v", got, want)
		}
		var got []time.Duration
		for stream.Next() {
			got = append(got, time.Since(start))
		}
		end := time.Since(start)
		if err := stream.Err(); err != nil {
			t.Fatalf("stream error: %v", err)
		}
		want := []time.Duration{420 * ms, 430 * ms, 470 * ms, 2475 * ms, 3490 * ms, 3490 * ms}
		if !slices.Equal(got, want) {
			t.Errorf("chunks at %v, want %v", got, want)
		}
		if want := 3497 * ms; end != want {
			t.Errorf("stream ended at %v, want %v", end, want)
		}
	})
}

// TestTransportNonStreamedTiming checks that a response in one piece is
// sent after the delays of the whole script.
func TestTransportNonStreamedTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(Scenario{
			HeaderDelay: 50 * ms,
			Events:      []Event{Content("a").After(100 * ms), Stall(time.Second), Content("b").After(25 * ms)},
		})
		defer srv.Close()
		client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL)

		start := time.Now()
		c, err := client.Chat.Completions.New(t.Context(), chatParams(false))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := time.Since(start), 1175*ms; got != want {
			t.Errorf("response after %v, want %v", got, want)
		}
		if got, want := c.Choices[0].Message.Content, "ab"; got != want {
			t.Errorf("content: got %q, want %q", got, want)
		}
	})
}

func TestTransportContext(t *testing.T) {
	tests := []struct {
		name     string
		scenario Scenario
		// ctx returns the request context; it runs inside the bubble.
		ctx      func(context.Context) (context.Context, context.CancelFunc)
		wantBody string // "" if RoundTrip must fail
		wantErr  error
		wantAt   time.Duration
	}{
		{
			name:     "cancel before headers",
			scenario: Scenario{HeaderDelay: time.Second},
			ctx:      cancelAfter(100 * ms),
			wantErr:  context.Canceled,
			wantAt:   100 * ms,
		},
		{
			name:     "cancel mid-stream",
			scenario: Scenario{Events: []Event{Raw("data: 1\n\n").After(20 * ms), Stall(time.Hour), Raw("data: 2\n\n")}},
			ctx:      cancelAfter(100 * ms),
			wantBody: "data: 1\n\n",
			wantErr:  context.Canceled,
			wantAt:   100 * ms,
		},
		{
			name:     "deadline mid-stream",
			scenario: Scenario{Events: []Event{Raw("data: 1\n\n"), Raw("data: 2\n\n").After(time.Hour)}},
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(ctx, 500*ms)
			},
			wantBody: "data: 1\n\n",
			wantErr:  context.DeadlineExceeded,
			wantAt:   500 * ms,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := NewServer(tt.scenario)
				defer srv.Close()
				ctx, cancel := tt.ctx(t.Context())
				defer cancel()

				start := time.Now()
				res, err := (&http.Client{Transport: srv.Transport()}).Do(newRequest(t, ctx, streamBody))
				var body []byte
				if err == nil {
					body, err = io.ReadAll(res.Body)
					res.Body.Close()
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got error %v, want %v", err, tt.wantErr)
				}
				if got := string(body); got != tt.wantBody {
					t.Errorf("got body %q, want %q", got, tt.wantBody)
				}
				if got := time.Since(start); got != tt.wantAt {
					t.Errorf("failed after %v, want %v", got, tt.wantAt)
				}
				assertIdle(t, srv)
			})
		})
	}
}

// cancelAfter returns a context function whose context is canceled after d.
func cancelAfter(d time.Duration) func(context.Context) (context.Context, context.CancelFunc) {
	return func(parent context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(parent)
		stop := time.AfterFunc(d, cancel)
		return ctx, func() { stop.Stop(); cancel() }
	}
}

// assertIdle checks that no in-memory handler is running.
func assertIdle(t *testing.T, srv *Server) {
	t.Helper()
	srv.mu.Lock()
	n := len(srv.inflight)
	srv.mu.Unlock()
	if n != 0 {
		t.Errorf("got %d running handlers, want 0", n)
	}
}

// TestTransportBodyClose checks that closing the body early stops the
// handler at once, without waiting for the rest of the script.
func TestTransportBodyClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(Scenario{Events: []Event{Content("a"), Stall(time.Hour), Content("b"), Done()}})
		defer srv.Close()
		client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL)

		start := time.Now()
		stream := client.Chat.Completions.NewStreaming(t.Context(), chatParams(false))
		if !stream.Next() {
			t.Fatalf("no first chunk: %v", stream.Err())
		}
		if err := stream.Close(); err != nil {
			t.Fatal(err)
		}
		assertIdle(t, srv)
		synctest.Wait()
		if got := time.Since(start); got != 0 {
			t.Errorf("fake clock advanced by %v, want 0", got)
		}
	})
}

// TestServerCloseAbortsTransport checks that Close aborts in-memory
// responses being served.
func TestServerCloseAbortsTransport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(Scenario{Events: []Event{Raw("data: 1\n\n"), Stall(time.Hour)}})
		res, err := (&http.Client{Transport: srv.Transport()}).Do(newRequest(t, t.Context(), streamBody))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		time.AfterFunc(10*ms, srv.Close)
		body, err := io.ReadAll(res.Body)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got error %v, want %v", err, io.ErrUnexpectedEOF)
		}
		if got, want := string(body), "data: 1\n\n"; got != want {
			t.Errorf("got body %q, want %q", got, want)
		}
		if _, err := srv.Transport().RoundTrip(newRequest(t, t.Context(), streamBody)); !errors.Is(err, errClosed) {
			t.Errorf("after Close: got error %v, want %v", err, errClosed)
		}
	})
}

func TestTransportDrop(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		wantHeaders bool // whether RoundTrip succeeds
		wantBody    string
	}{
		{"streamed", streamBody, true, "data: 1\n\n"},
		{"not streamed", `{"model":"gpt-test"}`, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := NewServer(Scenario{Events: []Event{Raw("data: 1\n\n"), Drop().After(10 * ms), Raw("data: 2\n\n")}})
				defer srv.Close()
				res, err := (&http.Client{Transport: srv.Transport()}).Do(newRequest(t, t.Context(), tt.body))
				if got := err == nil; got != tt.wantHeaders {
					t.Fatalf("RoundTrip succeeded: got %v, want %v (error %v)", got, tt.wantHeaders, err)
				}
				if err == nil {
					var body []byte
					body, err = io.ReadAll(res.Body)
					res.Body.Close()
					if got := string(body); got != tt.wantBody {
						t.Errorf("got body %q, want %q", got, tt.wantBody)
					}
				}
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("got error %v, want %v", err, io.ErrUnexpectedEOF)
				}
			})
		})
	}
}

// TestTransportStreams runs scripted streams through openai-go in memory.
func TestTransportStreams(t *testing.T) {
	const head = `data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"`
	tests := []struct {
		name        string
		events      []Event
		wantContent string
		wantErr     string // substring of the stream error, "" for none
	}{
		{
			name: "comments and event lines",
			events: []Event{
				Comment("OPENROUTER PROCESSING"), Raw("event: message\n"), Content("a"),
				Raw(": partial comment\n"), Content("b"), Done(),
			},
			wantContent: "ab",
		},
		{
			name: "UTF-8 split across writes",
			events: []Event{
				Raw(head + "h\xc3"), Raw("\xa9llo\"}}]}\n\n").After(5 * ms), Content(" world"), Done(),
			},
			wantContent: "héllo world",
		},
		{
			name:        "error event",
			events:      []Event{Content("par"), ErrorEvent("overloaded", "server_error"), Content("never")},
			wantContent: "par",
			wantErr:     "overloaded",
		},
		{
			name:        "malformed chunk",
			events:      []Event{Content("ok"), Raw("data: {not json\n\n")},
			wantContent: "ok",
			wantErr:     "invalid",
		},
		{
			name:        "no done",
			events:      []Event{Role(), Content("fine"), Finish("stop")},
			wantContent: "fine",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := NewServer(Scenario{Events: tt.events})
				defer srv.Close()
				client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL)
				content, _, err := collect(client.Chat.Completions.NewStreaming(t.Context(), chatParams(false)))
				if content != tt.wantContent {
					t.Errorf("got content %q, want %q", content, tt.wantContent)
				}
				switch {
				case tt.wantErr == "" && err != nil:
					t.Errorf("got error %v, want none", err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
				}
			})
		})
	}
}

func TestNonStreamed(t *testing.T) {
	srv := NewServer(Scenario{
		Events: []Event{
			Role(), Reasoning("th"), Reasoning("ink"), Content("Hel"), Content("lo"),
			ToolCall("call_1", "get_weather", `{"city":`), ToolArgs(`"Paris"}`),
			ToolCall("call_2", "get_time", `{}`),
			Finish("tool_calls"), Usage(Tokens{Input: 11, Output: 7, Reasoning: 3, CachedInput: 2}), Comment("ignored"), Done(),
		},
	}, Scenario{
		Model: "served-model",
	})
	defer srv.Close()
	client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL)

	c, err := client.Chat.Completions.New(t.Context(), chatParams(false))
	if err != nil {
		t.Fatal(err)
	}
	msg := c.Choices[0].Message
	type toolCall struct{ ID, Name, Args string }
	var tools []toolCall
	for _, tc := range msg.ToolCalls {
		tools = append(tools, toolCall{tc.ID, tc.Function.Name, tc.Function.Arguments})
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", c.ID, "chatcmpl-infermetricstest-1"},
		{"object", string(c.Object), "chat.completion"},
		{"model", c.Model, "gpt-test"},
		{"content", msg.Content, "Hello"},
		{"reasoning_content", msg.JSON.ExtraFields["reasoning_content"].Raw(), `"think"`},
		{"tool calls", tools, []toolCall{
			{"call_1", "get_weather", `{"city":"Paris"}`},
			{"call_2", "get_time", `{}`},
		}},
		{"finish_reason", c.Choices[0].FinishReason, "tool_calls"},
		{"prompt tokens", c.Usage.PromptTokens, int64(11)},
		{"completion tokens", c.Usage.CompletionTokens, int64(7)},
		{"total tokens", c.Usage.TotalTokens, int64(18)},
		{"reasoning tokens", c.Usage.CompletionTokensDetails.ReasoningTokens, int64(3)},
		{"cached tokens", c.Usage.PromptTokensDetails.CachedTokens, int64(2)},
	}
	for _, ck := range checks {
		if !equalJSON(ck.got, ck.want) {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}

	// The second scenario is empty and names its model.
	c, err = client.Chat.Completions.New(t.Context(), chatParams(false))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Model, "served-model"; got != want {
		t.Errorf("model: got %v, want %v", got, want)
	}
	if got, want := c.Choices[0].Message.JSON.Content.Raw(), "null"; got != want {
		t.Errorf("empty content: got %v, want %v", got, want)
	}
	if got, want := c.Choices[0].FinishReason, "stop"; got != want {
		t.Errorf("default finish_reason: got %v, want %v", got, want)
	}
	if got := c.JSON.Usage.Valid(); got {
		t.Errorf("usage present: got %v, want %v", got, false)
	}
}

// equalJSON reports whether a and b have the same JSON encoding.
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// TestResponses checks status codes, bodies and headers of responses sent
// in one piece, and the order in which scenarios are used.
func TestResponses(t *testing.T) {
	srv := NewServer(
		Scenario{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3"}}},
		Scenario{Status: http.StatusBadGateway, ErrorBody: "<html>bad gateway</html>", Header: http.Header{"Content-Type": {"text/html"}}},
		Scenario{Body: `{"verbatim":true}`, Events: []Event{Content("unused")}},
		Scenario{Events: []Event{Content("streamed"), Done()}},
	)
	defer srv.Close()
	hc := &http.Client{Transport: srv.Transport()}
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantType   string
		wantBody   string
		wantHeader http.Header
	}{
		{"unknown path", "POST", "/v1/models", `{}`, 404, "application/json",
			`{"error":{"message":"infermetricstest: unknown path /v1/models","type":"invalid_request_error","param":null,"code":null}}`, nil},
		{"wrong method", "GET", "/v1/chat/completions", "", 405, "application/json",
			`{"error":{"message":"infermetricstest: method GET not allowed","type":"invalid_request_error","param":null,"code":null}}`,
			http.Header{"Allow": {"POST"}}},
		{"bad body", "POST", "/v1/chat/completions", `[`, 400, "application/json", "", nil},
		{"first scenario", "POST", "/v1/chat/completions", streamBody, 429, "application/json",
			`{"error":{"message":"infermetricstest: scripted 429 Too Many Requests","type":"invalid_request_error","param":null,"code":null}}`,
			http.Header{"Retry-After": {"3"}}},
		{"second scenario", "POST", "/v1/chat/completions", streamBody, 502, "text/html", "<html>bad gateway</html>", nil},
		{"third scenario", "POST", "/v1/chat/completions", streamBody, 200, "application/json", `{"verbatim":true}`, nil},
		{"fourth scenario", "POST", "/v1/chat/completions", streamBody, 200, "text/event-stream",
			`data: {"id":"chatcmpl-infermetricstest-4","object":"chat.completion.chunk","created":`, nil},
		{"last scenario repeats", "POST", "/v1/chat/completions", streamBody, 200, "text/event-stream",
			`data: {"id":"chatcmpl-infermetricstest-5","object":"chat.completion.chunk","created":`, nil},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, "http://x.invalid"+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if res.StatusCode != tt.wantStatus {
			t.Errorf("%s: got status %v, want %v", tt.name, res.StatusCode, tt.wantStatus)
		}
		if got := res.Header.Get("Content-Type"); got != tt.wantType {
			t.Errorf("%s: got Content-Type %v, want %v", tt.name, got, tt.wantType)
		}
		if !strings.HasPrefix(string(body), tt.wantBody) {
			t.Errorf("%s: got body %s, want prefix %s", tt.name, body, tt.wantBody)
		}
		for k, v := range tt.wantHeader {
			if got := res.Header.Values(k); !slices.Equal(got, v) {
				t.Errorf("%s: got header %s %v, want %v", tt.name, k, got, v)
			}
		}
	}

	reqs := srv.Requests()
	if got, want := len(reqs), len(tests); got != want {
		t.Fatalf("got %v recorded requests, want %v", got, want)
	}
	for i, tt := range tests {
		r := reqs[i]
		if r.Method != tt.method || r.Path != tt.path || string(r.Body) != tt.body {
			t.Errorf("request %d: got %s %s %q, want %s %s %q", i, r.Method, r.Path, r.Body, tt.method, tt.path, tt.body)
		}
	}
	// Requests returns copies.
	reqs[0].Body[0] = 'X'
	reqs[0].Header.Set("X-Mutated", "1")
	again := srv.Requests()[0]
	if string(again.Body) != tests[0].body || again.Header.Get("X-Mutated") != "" {
		t.Errorf("Requests shares memory with the server: got %q %v", again.Body, again.Header)
	}
}

// TestLoopback runs openai-go against the real loopback server.
func TestLoopback(t *testing.T) {
	defer goleak.VerifyNone(t)

	script := []Event{
		Role(), Content("Hel").After(2 * ms), Comment("ping"), Content("lo").After(ms),
		Finish("stop"), Usage(Tokens{Input: 5, Output: 2}), Done(),
	}

	t.Run("usage", func(t *testing.T) {
		tests := []struct {
			includeUsage bool
			alwaysUsage  bool
			wantUsage    bool
		}{
			{false, false, false},
			{true, false, true},
			{false, true, true},
			{true, true, true},
		}
		for _, tt := range tests {
			srv := NewServer(Scenario{Events: script, AlwaysUsage: tt.alwaysUsage})
			client := newOpenAI(srv.Client(), srv.URL())
			content, usage, err := collect(client.Chat.Completions.NewStreaming(t.Context(), chatParams(tt.includeUsage)))
			srv.Close()
			if err != nil {
				t.Errorf("include_usage=%v AlwaysUsage=%v: stream error: %v", tt.includeUsage, tt.alwaysUsage, err)
			}
			if content != "Hello" {
				t.Errorf("include_usage=%v AlwaysUsage=%v: got content %q, want %q", tt.includeUsage, tt.alwaysUsage, content, "Hello")
			}
			if got := len(usage) == 1 && usage[0].TotalTokens == 7; got != tt.wantUsage {
				t.Errorf("include_usage=%v AlwaysUsage=%v: got usage %v, want %v", tt.includeUsage, tt.alwaysUsage, usage, tt.wantUsage)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/v1/chat/completions" {
				t.Fatalf("got requests %v, want one POST /v1/chat/completions", reqs)
			}
			var body struct {
				Stream        bool `json:"stream"`
				StreamOptions *struct {
					IncludeUsage bool `json:"include_usage"`
				} `json:"stream_options"`
			}
			if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if got := body.Stream && (body.StreamOptions != nil && body.StreamOptions.IncludeUsage) == tt.includeUsage; !got {
				t.Errorf("recorded body %s does not match include_usage=%v", reqs[0].Body, tt.includeUsage)
			}
		}
	})

	t.Run("retry after 429", func(t *testing.T) {
		srv := NewServer(
			Scenario{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"0"}}},
			Scenario{Events: script},
		)
		defer srv.Close()
		client := newOpenAI(srv.Client(), srv.URL(), option.WithMaxRetries(1))
		content, _, err := collect(client.Chat.Completions.NewStreaming(t.Context(), chatParams(false)))
		if err != nil {
			t.Fatalf("stream error: %v", err)
		}
		if content != "Hello" {
			t.Errorf("got content %q, want %q", content, "Hello")
		}
		reqs := srv.Requests()
		var counts []string
		for _, r := range reqs {
			counts = append(counts, r.Header.Get("X-Stainless-Retry-Count"))
		}
		if want := []string{"0", "1"}; !slices.Equal(counts, want) {
			t.Errorf("got retry counts %v, want %v", counts, want)
		}
	})

	t.Run("429 without retries", func(t *testing.T) {
		srv := NewServer(Scenario{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"0"}}})
		defer srv.Close()
		client := newOpenAI(srv.Client(), srv.URL(), option.WithMaxRetries(0))
		_, _, err := collect(client.Chat.Completions.NewStreaming(t.Context(), chatParams(false)))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
			t.Errorf("got error %v, want a 429 *openai.Error", err)
		}
	})

	t.Run("drop", func(t *testing.T) {
		srv := NewServer(Scenario{Events: []Event{Role(), Content("partial"), Drop().After(ms), Content("never")}})
		defer srv.Close()
		client := newOpenAI(srv.Client(), srv.URL())
		content, _, err := collect(client.Chat.Completions.NewStreaming(t.Context(), chatParams(false)))
		if content != "partial" {
			t.Errorf("got content %q, want %q", content, "partial")
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got error %v, want %v", err, io.ErrUnexpectedEOF)
		}
	})

	t.Run("client disconnect ends handler", func(t *testing.T) {
		srv := NewServer(Scenario{Events: []Event{Content("a"), Stall(time.Hour), Content("b")}})
		defer srv.Close()
		client := newOpenAI(srv.Client(), srv.URL())
		_ = srv.URL() // start the listener before taking the snapshot
		idle := goleak.IgnoreCurrent()
		stream := client.Chat.Completions.NewStreaming(t.Context(), chatParams(false))
		if !stream.Next() {
			t.Fatalf("no first chunk: %v", stream.Err())
		}
		stream.Close()
		// The handler is stalled for an hour; only the disconnect can end it.
		goleak.VerifyNone(t, idle)
	})

	t.Run("close aborts stream", func(t *testing.T) {
		srv := NewServer(Scenario{Events: []Event{Content("a"), Stall(time.Hour), Content("b")}})
		client := newOpenAI(srv.Client(), srv.URL())
		stream := client.Chat.Completions.NewStreaming(t.Context(), chatParams(false))
		if !stream.Next() {
			t.Fatalf("no first chunk: %v", stream.Err())
		}
		srv.Close()
		if stream.Next() {
			t.Errorf("got chunk %v after Close, want none", stream.Current().RawJSON())
		}
		if !errors.Is(stream.Err(), io.ErrUnexpectedEOF) {
			t.Errorf("got error %v, want %v", stream.Err(), io.ErrUnexpectedEOF)
		}
	})
}

// TestConcurrent serves simultaneous requests over both paths.
func TestConcurrent(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := NewServer(Scenario{Events: []Event{Content("x"), Content("y").After(ms), Done()}})
	defer srv.Close()
	clients := []openai.Client{
		newOpenAI(srv.Client(), srv.URL()),
		newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL),
	}
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			content, _, err := collect(clients[i%2].Chat.Completions.NewStreaming(context.Background(), chatParams(false)))
			if err == nil && content != "xy" {
				err = errors.New("got content " + content)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := len(srv.Requests()); got != n {
		t.Errorf("got %v requests, want %v", got, n)
	}
}
