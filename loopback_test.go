package infermetrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.uber.org/goleak"
)

// TestLoopbackOneRecordPerAttempt runs each way an attempt can end against
// a real HTTP server on loopback that misbehaves on purpose, and checks
// that every attempt yields exactly one record and exactly one ended span,
// and that no goroutine is left behind.
func TestLoopbackOneRecordPerAttempt(t *testing.T) {
	type E = infermetricstest.Event
	ok := []E{infermetricstest.Role(), infermetricstest.Content("fine"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 3, Output: 1}), infermetricstest.Done()}
	tests := []struct {
		name      string
		scenarios []infermetricstest.Scenario
		retries   int
		timeout   time.Duration
		read      func(s streamer) // how the application reads; nil reads to the end
		attempts  int
		check     func(t *testing.T, calls []*infermetrics.Call)
	}{
		{name: "read to the end", scenarios: []infermetricstest.Scenario{{Events: ok}}, attempts: 1,
			check: func(t *testing.T, calls []*infermetrics.Call) {
				if c := calls[0]; c.Err != nil || !c.Useful() {
					t.Errorf("got err=%v useful=%v", c.Err, c.Useful())
				}
			}},
		{name: "closed early", scenarios: []infermetricstest.Scenario{{Events: []E{infermetricstest.Role(), infermetricstest.Content("a"), infermetricstest.Stall(time.Hour), infermetricstest.Done()}}},
			read: func(s streamer) { s.Next(); s.Next(); s.Close() }, attempts: 1,
			check: func(t *testing.T, calls []*infermetrics.Call) {
				if c := calls[0]; c.Err != nil || !c.Flags.Has(infermetrics.FlagIncomplete) {
					t.Errorf("got err=%v flags=%v", c.Err, c.Flags)
				}
			}},
		{name: "cancelled before headers", scenarios: []infermetricstest.Scenario{{HeaderDelay: time.Hour, Events: ok}}, timeout: 50 * time.Millisecond, attempts: 1,
			check: func(t *testing.T, calls []*infermetrics.Call) {
				if c := calls[0]; !errors.Is(c.Err, context.DeadlineExceeded) || c.StatusCode != 0 || c.ErrorType != "timeout" {
					t.Errorf("got err=%v status=%d type=%q", c.Err, c.StatusCode, c.ErrorType)
				}
			}},
		{name: "slow-loris stall mid-stream", scenarios: []infermetricstest.Scenario{{Events: []E{infermetricstest.Role(), infermetricstest.Content("a"), infermetricstest.Stall(time.Hour), infermetricstest.Done()}}},
			timeout: 80 * time.Millisecond, attempts: 1,
			check: func(t *testing.T, calls []*infermetrics.Call) {
				if c := calls[0]; !errors.Is(c.Err, context.DeadlineExceeded) || c.StatusCode != 200 || !c.Flags.Has(infermetrics.FlagIncomplete) {
					t.Errorf("got err=%v status=%d flags=%v", c.Err, c.StatusCode, c.Flags)
				}
			}},
		{name: "connection dropped", scenarios: []infermetricstest.Scenario{{Events: []E{infermetricstest.Role(), infermetricstest.Content("a"), infermetricstest.Drop()}}}, attempts: 1,
			check: func(t *testing.T, calls []*infermetrics.Call) {
				if c := calls[0]; !errors.Is(c.Err, io.ErrUnexpectedEOF) {
					t.Errorf("got err=%v", c.Err)
				}
			}},
		{name: "429 then 200 with Retry-After", retries: 2, attempts: 2,
			scenarios: []infermetricstest.Scenario{{Status: 429, Header: http.Header{"Retry-After": {"0"}}}, {Events: ok}},
			check: func(t *testing.T, calls []*infermetrics.Call) {
				if calls[0].StatusCode != 429 || calls[0].Attempt != 1 || calls[1].Err != nil || calls[1].Attempt != 2 {
					t.Errorf("got %d/%d then %v/%d", calls[0].StatusCode, calls[0].Attempt, calls[1].Err, calls[1].Attempt)
				}
			}},
		{name: "503 until retries run out", retries: 2, attempts: 3,
			scenarios: []infermetricstest.Scenario{{Status: 503, Header: http.Header{"Retry-After": {"0"}}}},
			check: func(t *testing.T, calls []*infermetrics.Call) {
				for i, c := range calls {
					if c.StatusCode != 503 || c.Attempt != i+1 || c.ErrorType == "" {
						t.Errorf("attempt %d: status=%d attempt=%d type=%q", i+1, c.StatusCode, c.Attempt, c.ErrorType)
					}
				}
			}},
		{name: "error event in a 200 stream", attempts: 1,
			scenarios: []infermetricstest.Scenario{{Events: []E{infermetricstest.Role(), infermetricstest.ErrorEvent("overloaded", "server_error"), infermetricstest.Stall(time.Hour)}}},
			check: func(t *testing.T, calls []*infermetrics.Call) {
				var ae *infermetrics.APIError
				if c := calls[0]; !errors.As(c.Err, &ae) || !ae.InStream {
					t.Errorf("got err=%v", c.Err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			srv := infermetricstest.NewServer(tt.scenarios...)
			tel := infermetricstest.NewTelemetry()
			client := openai.NewClient(option.WithBaseURL(srv.URL()), option.WithAPIKey("k"), option.WithHTTPClient(srv.Client()),
				option.WithMaxRetries(tt.retries), infermetrics.Instrument(tel.Options()...))
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			s := client.Chat.Completions.NewStreaming(ctx, chatParams("gpt-4o"))
			if tt.read != nil {
				tt.read(s)
			} else {
				for s.Next() {
				}
				s.Close()
			}
			calls := tel.Calls()
			if len(calls) != tt.attempts {
				t.Fatalf("got %d records, want %d", len(calls), tt.attempts)
			}
			spans := tel.Spans()
			if len(spans) != tt.attempts {
				t.Errorf("got %d ended spans, want %d", len(spans), tt.attempts)
			}
			seen := map[string]bool{}
			for _, sp := range spans {
				id := sp.SpanContext().SpanID().String()
				if seen[id] {
					t.Errorf("span %s ended twice", id)
				}
				seen[id] = true
			}
			tt.check(t, calls)
			srv.Close()
			srv.Client().CloseIdleConnections()
		})
	}
}

// streamer is the part of openai-go's stream the tests drive.
type streamer interface {
	Next() bool
	Close() error
}
