package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestHarnessLag measures the harness's added lag at several numbers of
// concurrent streams, beside a plain Go loop over openai-go, over
// loopback with the server in the same process. It prints the rows of
// BENCHMARKS.md's table. It runs only with INFERMETRICS_LAG_BENCH set
// (to a comma-separated list of stream counts, or 1 for 1,64,256,1024):
//
//	INFERMETRICS_LAG_BENCH=1 go test -run TestHarnessLag -v ./cmd/infermetrics/
//
// Both sides measure the same interval: from when a request is due (the
// moment its goroutine is free to send it) to httptrace's WroteRequest.
// Each stream is 10 content chunks 20ms apart; every client sends one
// warmup request a stream (opening its connection) and then at least
// three measured ones, 200 in all at least.
func TestHarnessLag(t *testing.T) {
	spec := os.Getenv("INFERMETRICS_LAG_BENCH")
	if spec == "" {
		t.Skip("set INFERMETRICS_LAG_BENCH=1 (or a list of stream counts) to run")
	}
	if spec == "1" {
		spec = "1,64,256,1024"
	}
	events := []infermetricstest.Event{infermetricstest.Role()}
	for range 10 {
		events = append(events, infermetricstest.Content("tok ").After(20*ms))
	}
	events = append(events, infermetricstest.Finish("stop"), usage(10, 10), infermetricstest.Done())
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: events})
	defer srv.Close()

	fmt.Println("| streams | harness lag p50 | p99 | plain openai-go loop p50 | p99 | requests measured |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|")
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			t.Fatalf("bad stream count %q", f)
		}
		rounds := max(3, (200+n-1)/n) // at least 200 measured requests
		plain := plainLoop(t, srv.URL(), n, rounds)
		out := filepath.Join(t.TempDir(), "run")
		cfg := fmt.Sprintf(`
targets: [{name: lag, base_url: %q, model: m, api_key_env: INFERMETRICS_NO_KEY}]
scenarios: [{name: chat, prompts: [hi], max_tokens: 16}]
loads: [concurrency=%d]
trials: %d
warmups: %d
`, srv.URL(), n, rounds*n, n)
		s, err := bench(context.Background(), benchOptions{config: writeConfig(t, cfg), out: out, warmups: -1, progress: quiet{}}, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		c := s.Cells[0]
		if c.Succeeded != c.Trials {
			t.Errorf("%d streams: %d of %d succeeded", n, c.Succeeded, c.Trials)
		}
		fmt.Printf("| %d | %s | %s | %s | %s | %d + %d |\n", n,
			msLag(c.HarnessLag.P50), msLag(c.HarnessLag.P99), msLag(plain.P50), msLag(plain.P99), c.Trials, plain.N)
	}
}

func msLag(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v*1000, 'f', 3, 64) + " ms"
}

// plainLoop runs n goroutines, each sending 1+rounds streamed requests
// one after another with a bare openai-go client, and returns the lag from
// when each measured request was due to when it was written.
func plainLoop(t *testing.T, baseURL string, n, rounds int) Spread {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 2*n, n
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP1(true)
	defer tr.CloseIdleConnections()
	client := openai.NewClient(option.WithBaseURL(baseURL), option.WithAPIKey("k"),
		option.WithHTTPClient(&http.Client{Transport: tr}), option.WithMaxRetries(0))
	var mu sync.Mutex
	var lags []float64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for i := range 1 + rounds {
				var wrote time.Time
				var wmu sync.Mutex
				ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
					WroteRequest: func(httptrace.WroteRequestInfo) { wmu.Lock(); wrote = time.Now(); wmu.Unlock() },
				})
				due := time.Now()
				st := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
					Model:       "m",
					Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
					Temperature: openai.Float(0),
				})
				for st.Next() {
				}
				if err := st.Err(); err != nil {
					t.Error(err)
				}
				st.Close()
				wmu.Lock()
				lag := wrote.Sub(due).Seconds()
				wmu.Unlock()
				if i > 0 {
					mu.Lock()
					lags = append(lags, lag)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(lags)
	return spread(lags)
}
