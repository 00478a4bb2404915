package infermetrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel/attribute"
)

func spanAttr(t *testing.T, tel *infermetricstest.Telemetry, i int, key string) (attribute.Value, bool) {
	t.Helper()
	spans := tel.Spans()
	if len(spans) <= i {
		t.Fatalf("got %d spans, want more than %d", len(spans), i)
	}
	for _, kv := range spans[i].Attributes() {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// TestConnectionSetup sends calls to a real server on loopback, by name.
// The first, streamed, dials (DNS, connect), and its time to first token
// splits into the client's part (until the request is written) and the
// server's (at least the scripted 50 ms). Later calls are not streamed:
// openai-go closes a stream at [DONE] without reading the body's end, so
// whether net/http keeps that connection is a race; a whole response is
// read to its end, and the call after it reuses its connection.
func TestConnectionSetup(t *testing.T) {
	srv := infermetricstest.NewServer(infermetricstest.Scenario{HeaderDelay: 30 * ms, Events: []infermetricstest.Event{
		infermetricstest.Role(), infermetricstest.Content("hi").After(20 * ms),
		infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 3, Output: 1}), infermetricstest.Done(),
	}})
	defer srv.Close()
	tel := infermetricstest.NewTelemetry()
	client := openai.NewClient(
		option.WithBaseURL(strings.Replace(srv.URL(), "127.0.0.1", "localhost", 1)),
		option.WithAPIKey("k"), option.WithHTTPClient(srv.Client()), option.WithMaxRetries(0),
		infermetrics.Instrument(tel.Options()...),
	)
	if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := client.Chat.Completions.New(context.Background(), chatParams("m")); err != nil {
			t.Fatal(err)
		}
	}
	calls := tel.Calls()
	if len(calls) != 3 {
		t.Fatalf("got %d calls, want 3", len(calls))
	}
	first, last := calls[0], calls[2]
	if !first.ConnTraced || first.ConnReused || first.DNSTime <= 0 || first.ConnectTime <= 0 {
		t.Errorf("first call: traced %v reused %v DNS %v connect %v, want a new connection, looked up and dialed", first.ConnTraced, first.ConnReused, first.DNSTime, first.ConnectTime)
	}
	if !last.ConnTraced || !last.ConnReused || last.DNSTime != 0 || last.ConnectTime != 0 || last.TLSTime != 0 {
		t.Errorf("last call: traced %v reused %v DNS %v connect %v TLS %v, want a reused connection", last.ConnTraced, last.ConnReused, last.DNSTime, last.ConnectTime, last.TLSTime)
	}
	for i, c := range []*infermetrics.Call{first, last} {
		if c.TimeToRequestWritten <= 0 || c.TimeToResponseHeaders < c.TimeToRequestWritten+30*ms {
			t.Errorf("call %d: request written %v, headers %v; want headers 30ms or more after", i, c.TimeToRequestWritten, c.TimeToResponseHeaders)
		}
	}
	if first.ServerTimeToFirstToken < 50*ms || first.TimeToRequestWritten+first.ServerTimeToFirstToken != first.TimeToFirstToken {
		t.Errorf("server part %v + client part %v, want >= 50ms summing to TTFT %v", first.ServerTimeToFirstToken, first.TimeToRequestWritten, first.TimeToFirstToken)
	}
	if last.ServerTimeToFirstToken != 0 {
		t.Errorf("not streamed: ServerTimeToFirstToken %v, want 0", last.ServerTimeToFirstToken)
	}
	for i, want := range map[int]bool{0: false, 2: true} {
		if v, ok := spanAttr(t, tel, i, "infermetrics.conn.reused"); !ok || v.AsBool() != want {
			t.Errorf("span %d: infermetrics.conn.reused = %v (%v), want %v", i, v.Emit(), ok, want)
		}
	}
	if v, ok := spanAttr(t, tel, 0, "infermetrics.server_time_to_first_token"); !ok || v.AsFloat64() != first.ServerTimeToFirstToken.Seconds() {
		t.Errorf("infermetrics.server_time_to_first_token = %v (%v), want %v", v.Emit(), ok, first.ServerTimeToFirstToken.Seconds())
	}
	if first.Idle != infermetrics.IdleCold || last.Idle != infermetrics.IdleWarm {
		t.Errorf("idle: first %q last %q, want cold, warm", first.Idle, last.Idle)
	}
}

// TestConnectionSetupTLS checks the TLS handshake of a new connection, and
// none on the reused one.
func TestConnectionSetupTLS(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`))
	}))
	defer ts.Close()
	var got collect
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("k"), option.WithHTTPClient(ts.Client()),
		option.WithMaxRetries(0), infermetrics.Instrument(infermetrics.WithOnCall(got.hook)))
	for range 2 {
		if _, err := client.Chat.Completions.New(context.Background(), chatParams("m")); err != nil {
			t.Fatal(err)
		}
	}
	calls := got.all()
	if len(calls) != 2 {
		t.Fatalf("got %d calls, want 2", len(calls))
	}
	if c := calls[0]; c.ConnReused || c.TLSTime <= 0 || c.DNSTime != 0 {
		t.Errorf("first call: reused %v TLS %v DNS %v, want a new connection with a handshake and no lookup (an IP address)", c.ConnReused, c.TLSTime, c.DNSTime)
	}
	if c := calls[1]; !c.ConnReused || c.TLSTime != 0 {
		t.Errorf("second call: reused %v TLS %v, want reused without a handshake", c.ConnReused, c.TLSTime)
	}
}

// TestIdleClasses runs calls on the fake clock, spaced so that each idle
// class comes up, and checks the Call, the span and the metric attribute
// of time to first token and duration.
func TestIdleClasses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
			infermetricstest.Content("hi").After(10 * ms), infermetricstest.Finish("stop"), infermetricstest.Done(),
		}})
		defer srv.Close()
		tel := infermetricstest.NewTelemetry()
		client := kitClient(srv, tel.Options()...)
		steps := []struct {
			wait  time.Duration
			model string
			class string
			idle  time.Duration
		}{
			{0, "a", infermetrics.IdleCold, 0}, // never called
			{30 * time.Second, "a", infermetrics.IdleWarm, 30 * time.Second},
			{2 * time.Minute, "a", infermetrics.IdleIdle, 2 * time.Minute},
			{5 * time.Minute, "a", infermetrics.IdleCold, 5 * time.Minute},
			{time.Second, "b", infermetrics.IdleCold, 0}, // another model
			{time.Second, "a", infermetrics.IdleWarm, 10*ms + 2*time.Second},
		}
		for i, st := range steps {
			time.Sleep(st.wait)
			if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams(st.model))); err != nil {
				t.Fatal(err)
			}
			c := tel.LastCall()
			if c.Idle != st.class || c.IdleTime != st.idle {
				t.Errorf("call %d: idle %q %v, want %q %v", i, c.Idle, c.IdleTime, st.class, st.idle)
			}
			if v, ok := spanAttr(t, tel, i, "infermetrics.idle"); !ok || v.AsString() != st.class {
				t.Errorf("span %d: infermetrics.idle = %v, want %q", i, v.Emit(), st.class)
			}
			if c.ConnTraced {
				t.Errorf("call %d: ConnTraced over an in-memory transport", i)
			}
		}
		for _, name := range []string{infermetrics.MetricTimeToFirstToken, infermetrics.MetricOperationDuration} {
			for class, want := range map[string]uint64{infermetrics.IdleCold: 3, infermetrics.IdleWarm: 2, infermetrics.IdleIdle: 1} {
				if got := tel.HistogramCount(name, attribute.String("infermetrics.idle", class)); got != want {
					t.Errorf("%s{infermetrics.idle=%s}: %d points, want %d", name, class, got, want)
				}
			}
		}
	})
}

func TestIdleThresholds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{infermetricstest.Content("hi"), infermetricstest.Finish("stop"), infermetricstest.Done()}})
		defer srv.Close()
		var got collect
		client := kitClient(srv, infermetrics.WithOnCall(got.hook), infermetrics.WithIdleThresholds(10*time.Second, 20*time.Second))
		for _, wait := range []time.Duration{0, 9 * time.Second, 15 * time.Second, 20 * time.Second} {
			time.Sleep(wait)
			if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))); err != nil {
				t.Fatal(err)
			}
		}
		var classes []string
		for _, c := range got.all() {
			classes = append(classes, c.Idle)
		}
		if want := []string{"cold", "warm", "idle", "cold"}; strings.Join(classes, ",") != strings.Join(want, ",") {
			t.Errorf("got %v, want %v", classes, want)
		}
	})
	for _, bad := range [][2]time.Duration{{-time.Second, time.Minute}, {2 * time.Minute, time.Minute}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WithIdleThresholds(%v, %v) did not panic", bad[0], bad[1])
				}
			}()
			infermetrics.Instrument(infermetrics.WithIdleThresholds(bad[0], bad[1]))
		}()
	}
}

// racedDial is a transport that reports, on the request's trace, what
// net/http reports when a request found no idle connection, started a
// dial, and was handed a connection another request returned before the
// dial finished: the dial's events, then GotConn with a reused connection.
// The dialed connection is not this request's; the answer comes from srv.
type racedDial struct{ srv http.RoundTripper }

func (r racedDial) RoundTrip(req *http.Request) (*http.Response, error) {
	tr := httptrace.ContextClientTrace(req.Context())
	tr.DNSStart(httptrace.DNSStartInfo{Host: "x"})
	tr.ConnectStart("tcp", "127.0.0.1:1")
	time.Sleep(5 * ms)
	tr.GotConn(httptrace.GotConnInfo{Reused: true, WasIdle: true})
	tr.DNSDone(httptrace.DNSDoneInfo{})
	time.Sleep(5 * ms)
	tr.ConnectDone("tcp", "127.0.0.1:1", nil)
	tr.WroteRequest(httptrace.WroteRequestInfo{})
	return r.srv.RoundTrip(req)
}

// TestConnectionSetupRacedDial checks that an attempt sent on a reused
// connection reports no setup time, even when net/http started a dial for
// it that another request's returned connection beat: the documented
// "zero when there was none".
func TestConnectionSetupRacedDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer()
		defer srv.Close()
		var got *infermetrics.Call
		client := newClient(racedDial{srv.Transport()}, infermetrics.Instrument(
			infermetrics.WithOnCall(func(c *infermetrics.Call) { got = c.Clone() })))
		if _, err := client.Chat.Completions.New(context.Background(), chatParams("m")); err != nil {
			t.Fatal(err)
		}
		if got == nil || !got.ConnTraced || !got.ConnReused || got.DNSTime != 0 || got.ConnectTime != 0 || got.TLSTime != 0 {
			t.Fatalf("call %+v: want traced, reused, and no DNS, connect or TLS time", got)
		}
	})
}
