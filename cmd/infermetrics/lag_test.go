package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
// loopback. It prints the rows of BENCHMARKS.md's tables. It runs only
// with INFERMETRICS_LAG_BENCH set (to a comma-separated list of stream
// counts, or 1 for 1,64,256,1024):
//
//	INFERMETRICS_LAG_BENCH=1 go test -run TestHarnessLag -v ./cmd/infermetrics/
//
// Both sides measure the same interval: from when a request is due (the
// moment its goroutine is free to send it) to httptrace's WroteRequest.
// Every client sends one warmup request a stream (opening its connection)
// and then at least three measured ones, INFERMETRICS_LAG_MIN (2000) in
// all at least, but no more than 200 a stream (a stream's round takes
// about 0.2s). Both run in this process with the runtime settings the
// bench command applies (tuneRuntime).
//
// INFERMETRICS_LAG_WORKLOAD picks the workloads, one table each
// (default "locked,staggered"):
//   - locked: each stream is 10 content chunks 20ms apart, the headers at
//     once, so all streams run in phase: every 20ms all of them get a
//     chunk in one burst, and all of them end, and send again, together.
//   - staggered: the same 10 chunks, but the headers come after 0–20ms and
//     each gap is 10–30ms (uniform, seeded by the request's number), so
//     streams drift apart as real ones do.
//
// The test server runs in a child process (this test binary again) at
// nice 19: a provider does not share the client's cores, and on a small
// machine a server at the client's priority takes the core from the
// client in the middle of writing a request (its write wakes the server),
// which would count the server's work as the client's lag. The niced
// server's own timing may slip under load; the lag does not depend on it.
// INFERMETRICS_LAG_NICE sets another niceness (0: none), and
// INFERMETRICS_LAG_SERVER=inprocess runs the server in the test's own
// process instead, sharing its scheduler and collector.
func TestHarnessLag(t *testing.T) {
	if os.Getenv(lagServeEnv) != "" {
		serveLag(t)
		return
	}
	spec := os.Getenv("INFERMETRICS_LAG_BENCH")
	if spec == "" {
		t.Skip("set INFERMETRICS_LAG_BENCH=1 (or a list of stream counts) to run")
	}
	if spec == "1" {
		spec = "1,64,256,1024"
	}
	minN := 2000
	if v := os.Getenv("INFERMETRICS_LAG_MIN"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("INFERMETRICS_LAG_MIN=%q", v)
		}
		minN = n
	}
	workloads := cmp.Or(os.Getenv("INFERMETRICS_LAG_WORKLOAD"), "locked,staggered")
	for _, w := range strings.Split(workloads, ",") {
		w = strings.TrimSpace(w)
		url, server, stop := lagServer(t, w)
		restore := tuneRuntime()
		fmt.Printf("\nworkload %s, server %s, %d CPUs, GOMAXPROCS %d, GOGC %d\n\n", w,
			server, runtime.NumCPU(), runtime.GOMAXPROCS(0), gcPercent())
		restore()
		fmt.Println("| streams | harness lag p50 | p99 | plain openai-go loop p50 | p99 | requests measured | load average after |")
		fmt.Println("|---:|---:|---:|---:|---:|---:|---:|")
		for _, f := range strings.Split(spec, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				t.Fatalf("bad stream count %q", f)
			}
			// A round takes about 0.2s: one stream stops at 200.
			rounds := max(3, min(200, (minN+n-1)/n))
			restore := tuneRuntime() // as bench applies them
			plain := plainLoop(t, url, n, rounds)
			restore()
			out := filepath.Join(t.TempDir(), "run")
			cfg := fmt.Sprintf(`
targets: [{name: lag, base_url: %q, model: m, api_key_env: INFERMETRICS_NO_KEY}]
scenarios: [{name: chat, prompts: [hi], max_tokens: 16}]
loads: [concurrency=%d]
trials: %d
warmups: %d
`, url, n, rounds*n, n)
			s, err := bench(context.Background(), benchOptions{config: writeConfig(t, cfg), out: out, warmups: -1, progress: quiet{}, tuneRuntime: true}, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			c := s.Cells[0]
			if c.Succeeded != c.Trials {
				t.Errorf("%d streams: %d of %d succeeded", n, c.Succeeded, c.Trials)
			}
			fmt.Printf("| %d | %s | %s | %s | %s | %d + %d | %s |\n", n,
				msLag(c.HarnessLag.P50), msLag(c.HarnessLag.P99), msLag(plain.P50), msLag(plain.P99), c.Trials, plain.N, loadAvg())
		}
		stop()
	}
}

const lagServeEnv = "INFERMETRICS_LAG_SERVE"

// lagScenario returns the workload's answer to the n-th request.
func lagScenario(workload string, n int) infermetricstest.Scenario {
	var rng *rand.Rand
	switch workload {
	case "locked":
	case "staggered":
		rng = rand.New(rand.NewPCG(uint64(n), 12))
	default:
		panic("unknown workload " + workload)
	}
	// gap is mid, or with staggered a uniform draw from mid ± half.
	gap := func(mid, half time.Duration) time.Duration {
		if rng == nil {
			return mid
		}
		return mid - half + time.Duration(rng.Int64N(int64(2*half)))
	}
	var sc infermetricstest.Scenario
	if rng != nil {
		sc.HeaderDelay = gap(10*ms, 10*ms)
	}
	sc.Events = []infermetricstest.Event{infermetricstest.Role()}
	for range 10 {
		sc.Events = append(sc.Events, infermetricstest.Content("tok ").After(gap(20*ms, 10*ms)))
	}
	sc.Events = append(sc.Events, infermetricstest.Finish("stop"), usage(10, 10), infermetricstest.Done())
	return sc
}

// lagServer starts the workload's server, in a child process (or with
// INFERMETRICS_LAG_SERVER=inprocess in this one), and returns its URL and
// where it runs.
func lagServer(t *testing.T, workload string) (url, where string, stop func()) {
	lagScenario(workload, 0) // check the name here, not in the server
	switch mode := os.Getenv("INFERMETRICS_LAG_SERVER"); mode {
	case "inprocess":
		srv := infermetricstest.NewServerFunc(func(r infermetricstest.Request) infermetricstest.Scenario {
			return lagScenario(workload, r.N)
		})
		return srv.URL(), "in process", srv.Close
	case "", "process":
		nice := cmp.Or(os.Getenv("INFERMETRICS_LAG_NICE"), "19")
		if _, err := strconv.Atoi(nice); err != nil {
			t.Fatalf("INFERMETRICS_LAG_NICE=%q", nice)
		}
		cmd := exec.Command("nice", "-n", nice, os.Args[0], "-test.run=^TestHarnessLag$")
		// The server keeps the runtime's defaults, not the client's.
		cmd.Env = append(os.Environ(), lagServeEnv+"="+workload, "GOGC=", "GOMAXPROCS=")
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "lag server: "); ok {
				url = u
				break
			}
		}
		if url == "" {
			t.Fatal("the server process gave no URL")
		}
		go io.Copy(io.Discard, out)
		return url, "in a child process at nice " + nice, func() { in.Close(); cmd.Wait() }
	default:
		t.Fatalf("INFERMETRICS_LAG_SERVER=%q: want process or inprocess", mode)
		return "", "", nil
	}
}

// serveLag is the test server's child process: it
// serves the workload until its stdin closes.
func serveLag(t *testing.T) {
	workload := os.Getenv(lagServeEnv)
	srv := infermetricstest.NewServerFunc(func(r infermetricstest.Request) infermetricstest.Scenario {
		return lagScenario(workload, r.N)
	})
	defer srv.Close()
	fmt.Printf("lag server: %s\n", srv.URL())
	io.Copy(io.Discard, os.Stdin)
}

// loadAvg returns the 1-minute load average, or "–" where the system does
// not say: on a shared machine the rows are read beside it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "–"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "–"
	}
	return f[0]
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
