package infermetrics_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/internal/rxstamp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestReceiveTimestamps checks that with ReceiveTimestamps a chunk that
// waited in the kernel while the application was busy is stamped with its
// arrival, over HTTP/1.1 with and without TLS; and that without it, or over
// HTTP/2, the stamp is when the read returned.
//
// The server sends the first chunk with the response headers and the rest
// 400 ms later; the application waits 250 ms after the headers before it
// reads.
func TestReceiveTimestamps(t *testing.T) {
	if rxstamp.Supported {
		warmStamping(t)
	}
	const wait = 250 * time.Millisecond
	tests := []struct {
		name    string
		tls     bool
		http2   bool
		stamped bool // wrap the dialer
		arrival bool // want the first chunk stamped with its arrival
	}{
		{name: "http1", stamped: true, arrival: rxstamp.Supported},
		{name: "https-http1", tls: true, stamped: true, arrival: rxstamp.Supported},
		{name: "https-http2", tls: true, http2: true, stamped: true},
		{name: "unwrapped", stamped: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var sent time.Time
			var proto int
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}`+"\n\n")
				w.(http.Flusher).Flush()
				mu.Lock()
				sent, proto = time.Now(), r.ProtoMajor
				mu.Unlock()
				time.Sleep(400 * time.Millisecond)
				fmt.Fprint(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
				fmt.Fprint(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`+"\n\n")
				fmt.Fprint(w, "data: [DONE]\n\n")
			}))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			tr := &http.Transport{}
			if tt.tls {
				srv.EnableHTTP2 = tt.http2
				srv.StartTLS()
				tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
				tr.ForceAttemptHTTP2 = tt.http2
				if tt.http2 {
					tr.TLSClientConfig.NextProtos = []string{"h2", "http/1.1"}
				}
			} else {
				srv.Start()
			}
			defer srv.Close()
			if tt.stamped {
				tr.DialContext = infermetrics.ReceiveTimestamps(nil)
			}
			defer tr.CloseIdleConnections()
			var call *infermetrics.Call
			client := openai.NewClient(
				option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("sk-test"),
				option.WithHTTPClient(&http.Client{Transport: tr}), option.WithMaxRetries(0),
				infermetrics.Instrument(infermetrics.WithOnCall(func(c *infermetrics.Call) { call = c.Clone() })))

			s := client.Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o"))
			time.Sleep(wait)
			for s.Next() {
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			s.Close()
			mu.Lock()
			defer mu.Unlock()
			if want := map[bool]int{false: 1, true: 2}[tt.http2]; proto != want {
				t.Fatalf("served over HTTP/%d, want HTTP/%d", proto, want)
			}
			if call == nil || len(call.ChunkTimes) != 3 {
				t.Fatalf("call = %+v, want one with 3 chunk times", call)
			}
			// How long after the server wrote the first chunk it was
			// stamped: near 0 for its arrival, at least wait for the read.
			late := call.Start.Add(call.ChunkTimes[0]).Sub(sent)
			if tt.arrival && late.Abs() > wait/3 {
				t.Errorf("first chunk stamped %v after it was sent, want its arrival", late)
			}
			if !tt.arrival && late < wait-wait/10 {
				t.Errorf("first chunk stamped %v after it was sent, want when it was read (≥ %v)", late, wait)
			}
			// The later chunks were read as they came: both ways agree.
			if gap := call.ChunkTimes[1] - call.ChunkTimes[0]; tt.arrival && gap < 300*time.Millisecond {
				t.Errorf("gap to the second chunk %v, want about 400ms", gap)
			}
			if call.ChunkTimes[2] < call.ChunkTimes[1] || call.Duration < call.ChunkTimes[2] {
				t.Errorf("chunk times %v and duration %v out of order", call.ChunkTimes, call.Duration)
			}
		})
	}
}

// warmStamping waits until the kernel stamps received bytes: it turns
// stamping on for the whole system a little after the first socket asks
// for it, and off when the last one closes. The socket it opens stays open
// until the test ends.
func warmStamping(t *testing.T) {
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
	c, err := infermetrics.ReceiveTimestamps(nil)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv := <-accepted
	t.Cleanup(func() { c.Close(); srv.Close() })
	rx := rxstamp.Find(c)
	if rx == nil {
		t.Fatal("ReceiveTimestamps made a connection that does not stamp")
	}
	buf := make([]byte, 1)
	for range 200 {
		if _, err := srv.Write(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		if rx.Received() != 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the kernel did not stamp received bytes within 1s")
}
