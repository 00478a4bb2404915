package infermetrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.uber.org/goleak"
)

// TestLoadOneRecordPerStream drives 1,000 concurrent streams over loopback
// through one instrumented client: every stream yields exactly one record
// with the right content, and no goroutine is left behind.
func TestLoadOneRecordPerStream(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const streams = 1000
	events := []infermetricstest.Event{infermetricstest.Role()}
	for i := 0; i < 20; i++ {
		events = append(events, infermetricstest.Content("tok ").After(time.Millisecond))
	}
	events = append(events, infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 10, Output: 20}), infermetricstest.Done())
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: events})
	defer srv.Close()

	var mu sync.Mutex
	byID := map[string]int{}
	var records atomic.Int64
	hc := srv.Client()
	client := openai.NewClient(option.WithBaseURL(srv.URL()), option.WithAPIKey("k"), option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
		infermetrics.Instrument(infermetrics.WithOnCall(func(c *infermetrics.Call) {
			records.Add(1)
			mu.Lock()
			byID[c.RequestModel]++
			mu.Unlock()
			if c.Err != nil || c.Chunks != 23 || c.OutputTokens != 20 || !c.Useful() {
				t.Errorf("%s: err=%v chunks=%d out=%d useful=%v", c.RequestModel, c.Err, c.Chunks, c.OutputTokens, c.Useful())
			}
		})))
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := client.Chat.Completions.NewStreaming(context.Background(), chatParams(fmt.Sprintf("model-%d", i)))
			n := 0
			for s.Next() {
				n++
			}
			if err := s.Err(); err != nil {
				errs <- err
			} else if n != 22 {
				errs <- fmt.Errorf("stream %d: %d chunks, want 22 (role, 20 contents, finish)", i, n)
			}
			s.Close()
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := records.Load(); got != streams {
		t.Errorf("got %d records, want %d", got, streams)
	}
	for id, n := range byID {
		if n != 1 {
			t.Errorf("%s: %d records, want 1", id, n)
		}
	}
	if len(byID) != streams {
		t.Errorf("got records for %d streams, want %d", len(byID), streams)
	}
	if tr, ok := hc.Transport.(interface{ CloseIdleConnections() }); ok {
		tr.CloseIdleConnections()
	}
}

// TestAbandonedStream checks that a stream the application drops without
// Close still yields its record, once the garbage collector finds it, and
// that its connection is released.
func TestAbandonedStream(t *testing.T) {
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
		infermetricstest.Role(), infermetricstest.Content("a"), infermetricstest.Stall(time.Hour), infermetricstest.Done(),
	}})
	defer srv.Close()
	records := make(chan *infermetrics.Call, 2)
	client := openai.NewClient(option.WithBaseURL(srv.URL()), option.WithAPIKey("k"), option.WithHTTPClient(srv.Client()),
		infermetrics.Instrument(infermetrics.WithOnCall(func(c *infermetrics.Call) { records <- c.Clone() })))
	func() {
		s := client.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))
		s.Next()
		s.Next()
		// Dropped here: no Close, no more reads.
	}()
	deadline := time.After(10 * time.Second)
	for {
		runtime.GC()
		select {
		case c := <-records:
			if !errors.Is(c.Err, infermetrics.ErrAbandoned) || c.ErrorType != "abandoned" || !c.Flags.Has(infermetrics.FlagIncomplete) {
				t.Errorf("got err=%v type=%q flags=%v", c.Err, c.ErrorType, c.Flags)
			}
			select {
			case <-records:
				t.Error("a second record for the same attempt")
			case <-time.After(100 * time.Millisecond):
			}
			return
		case <-deadline:
			t.Fatal("no record for the abandoned stream")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestChunkTimesCap checks that a long stream keeps at most the configured
// number of chunk times while counting every chunk.
func TestChunkTimesCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := []infermetricstest.Event{infermetricstest.Role()}
		for i := 0; i < 5000; i++ {
			events = append(events, infermetricstest.Content("x").After(time.Millisecond))
		}
		events = append(events, infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 1, Output: 5000}), infermetricstest.Done())
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: events})
		var got collect
		client := kitClient(srv, infermetrics.WithOnCall(got.hook), infermetrics.WithMaxChunkTimes(100))
		drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m")))
		c := onlyCall(t, &got)
		if len(c.ChunkTimes) != 100 || c.Chunks != 5003 || c.TimeToLastToken != 5000*time.Millisecond {
			t.Errorf("got %d chunk times, %d chunks, last token %v; want 100, 5003, 5s", len(c.ChunkTimes), c.Chunks, c.TimeToLastToken)
		}
	})
}

// TestDroppedConnection checks a server that drops the connection
// mid-stream over real TCP: the application sees the same error it would
// without instrumentation, and one record says why.
func TestDroppedConnection(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	sc := infermetricstest.Scenario{Events: []infermetricstest.Event{
		infermetricstest.Role(), infermetricstest.Content("partial"), infermetricstest.Drop(),
	}}
	srv := infermetricstest.NewServer(sc, sc)
	defer srv.Close()
	plain := openai.NewClient(option.WithBaseURL(srv.URL()), option.WithAPIKey("k"), option.WithHTTPClient(srv.Client()), option.WithMaxRetries(0))
	_, plainErr := drain(t, plain.Chat.Completions.NewStreaming(context.Background(), chatParams("m")))
	var got collect
	client := openai.NewClient(option.WithBaseURL(srv.URL()), option.WithAPIKey("k"), option.WithHTTPClient(srv.Client()), option.WithMaxRetries(0),
		infermetrics.Instrument(infermetrics.WithOnCall(got.hook)))
	_, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m")))
	if fmt.Sprint(err) != fmt.Sprint(plainErr) {
		t.Errorf("application error: got %v, want %v (plain)", err, plainErr)
	}
	c := onlyCall(t, &got)
	if !errors.Is(c.Err, io.ErrUnexpectedEOF) || !c.Flags.Has(infermetrics.FlagIncomplete) {
		t.Errorf("got err=%v flags=%v, want unexpected EOF and incomplete", c.Err, c.Flags)
	}
	srv.Client().CloseIdleConnections()
}

// TestNilProviders checks that nil providers fall back to the globals.
func TestNilProviders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
			infermetricstest.Role(), infermetricstest.Content("hi"), infermetricstest.Finish("stop"), infermetricstest.Done(),
		}})
		var got collect
		client := kitClient(srv, infermetrics.WithMeterProvider(nil), infermetrics.WithTracerProvider(nil), nil, infermetrics.WithOnCall(got.hook))
		if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))); err != nil {
			t.Fatal(err)
		}
		if c := onlyCall(t, &got); !c.Useful() {
			t.Errorf("got %+v", c)
		}
	})
}
