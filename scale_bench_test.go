package infermetrics_test

// Section 3 of BENCHMARKS.md, timestamp accuracy under concurrency. Run with
//
//	go test -run '^$' -bench Scale -benchtime 1x -count 3 .

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// ---- 3. scale: timestamp accuracy under concurrency ------------------------

const scaleChunks = 50

// scaleHandler streams scaleChunks chunks gap apart; each chunk's id is
// "chatcmpl-<send time in Unix ns>", stamped just before the write. With
// stagger, the n-th of streams requests waits n/streams of a gap before its
// first chunk, so streams are not phase-locked (real traffic is not);
// without it every stream sends at the same instants, in bursts.
//
// The stamp is time.Now().UnixNano(), the wall clock, taken just before the
// write and flush. The client compares it with its own wall-clock times
// (Call.Start + ChunkTimes[i], and the time Next returned). Client and server
// run on the same machine and read the same system clock, so the comparison
// holds whether the handler runs in the client's process (scaleServer) or in
// a process of its own (startScaleProcess).
func scaleHandler(gap time.Duration, streams int, stagger bool) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		fl := w.(http.Flusher)
		fl.Flush()
		if stagger {
			time.Sleep(gap * time.Duration(n.Add(1)%int64(streams)) / time.Duration(streams))
		}
		buf := make([]byte, 0, 512)
		for i := 0; i < scaleChunks; i++ {
			if i > 0 {
				time.Sleep(gap)
			}
			buf = buf[:0]
			buf = append(buf, `data: {"id":"chatcmpl-`...)
			buf = strconv.AppendInt(buf, time.Now().UnixNano(), 10)
			buf = append(buf, `","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_f9f4fb6dbf","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":`...)
			if i == scaleChunks-1 {
				buf = append(buf, `"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":50,"total_tokens":69}}`...)
			} else {
				buf = append(buf, `null}],"usage":null}`...)
			}
			buf = append(buf, "\n\n"...)
			if i == scaleChunks-1 {
				buf = append(buf, "data: [DONE]\n\n"...)
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
			fl.Flush()
		}
	})
}

// scaleServer starts scaleHandler on a loopback httptest.Server in the
// calling process, where it shares the Go scheduler with the client.
func scaleServer(gap time.Duration, streams int, stagger bool) *httptest.Server {
	return httptest.NewServer(scaleHandler(gap, streams, stagger))
}

// Environment of the helper process that runs scaleHandler for
// BenchmarkScale; see TestScaleServerProcess.
const (
	scaleServerEnv  = "INFERMETRICS_SCALE_SERVER"  // "1" in the helper process
	scaleGapEnv     = "INFERMETRICS_SCALE_GAP"     // gap, as time.Duration.String
	scaleStreamsEnv = "INFERMETRICS_SCALE_STREAMS" // streams, decimal
	scaleStaggerEnv = "INFERMETRICS_SCALE_STAGGER" // stagger, as strconv.FormatBool
)

// TestScaleServerProcess is not a test: it is the server of BenchmarkScale's
// server=process variants, run by startScaleProcess in a child process so
// that the server's goroutines do not share the client's Go scheduler. It is
// skipped unless INFERMETRICS_SCALE_SERVER=1. It serves scaleHandler on
// 127.0.0.1 with the parameters from the environment, prints the base URL as
// one line on standard output and serves until standard input reaches end of
// file (the parent closed it, or exited). It then closes the server and
// prints "cpu-ns N", the CPU time in ns the process used while serving.
// It does not set GOMAXPROCS.
func TestScaleServerProcess(t *testing.T) {
	if os.Getenv(scaleServerEnv) != "1" {
		t.Skip("server process for BenchmarkScale; runs only with " + scaleServerEnv + "=1")
	}
	gap, err := time.ParseDuration(os.Getenv(scaleGapEnv))
	if err != nil {
		t.Fatal(err)
	}
	streams, err := strconv.Atoi(os.Getenv(scaleStreamsEnv))
	if err != nil {
		t.Fatal(err)
	}
	if streams <= 0 {
		t.Fatalf("%s=%d, want > 0", scaleStreamsEnv, streams)
	}
	stagger, err := strconv.ParseBool(os.Getenv(scaleStaggerEnv))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: scaleHandler(gap, streams, stagger)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	cpu0 := cpuNow()
	fmt.Println("http://" + ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Error(err)
	}
	fmt.Printf("cpu-ns %d\n", (cpuNow() - cpu0).Nanoseconds())
}

const (
	scaleStartTimeout = 10 * time.Second // for the helper process to print its URL
	scaleStopTimeout  = 5 * time.Second  // for it to exit once its stdin is closed
)

// scaleProcess is a TestScaleServerProcess child of the test binary.
type scaleProcess struct {
	URL string // base URL, http://127.0.0.1:port

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	done   chan struct{} // closed when the child's stdout reaches end of file
	first  string        // first line of stdout
	rest   bytes.Buffer  // rest of stdout; read after done is closed
	stderr bytes.Buffer  // read after cmd.Wait returns
	closed bool
}

// startScaleProcess starts the test binary again as TestScaleServerProcess
// with the given parameters and returns once the child has printed its URL.
// The child inherits the environment, so GOMAXPROCS and GOGC variables apply
// to it as to the parent, while -test.cpu applies to the parent alone. The
// caller must call Close.
func startScaleProcess(gap time.Duration, streams int, stagger bool) (*scaleProcess, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestScaleServerProcess$", "-test.v=false", "-test.count=1")
	cmd.Env = append(os.Environ(),
		scaleServerEnv+"=1",
		scaleGapEnv+"="+gap.String(),
		scaleStreamsEnv+"="+strconv.Itoa(streams),
		scaleStaggerEnv+"="+strconv.FormatBool(stagger))
	p := &scaleProcess{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	cmd.WaitDelay = scaleStopTimeout
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	first := make(chan struct{})
	go func() {
		defer close(p.done)
		br := bufio.NewReader(stdout)
		p.first, _ = br.ReadString('\n')
		close(first)
		_, _ = io.Copy(&p.rest, br)
	}()
	timer := time.NewTimer(scaleStartTimeout)
	defer timer.Stop()
	select {
	case <-first:
		if u, ok := strings.CutSuffix(p.first, "\n"); ok && strings.HasPrefix(u, "http://127.0.0.1:") {
			p.URL = u
			return p, nil
		}
		_, err = p.Close()
		return nil, fmt.Errorf("scale server process: first line %q, want its URL (%v)", p.first, err)
	case <-timer.C:
		_, err = p.Close()
		return nil, fmt.Errorf("scale server process: no URL within %v (%v)", scaleStartTimeout, err)
	}
}

// Close closes the child's standard input, which makes it stop, and waits
// for it to exit, killing it if it has not exited within scaleStopTimeout.
// It returns the CPU time the child reported for serving. Calls after the
// first do nothing and return zero and nil.
func (p *scaleProcess) Close() (time.Duration, error) {
	if p.closed {
		return 0, nil
	}
	p.closed = true
	_ = p.stdin.Close()
	kill := time.AfterFunc(scaleStopTimeout, func() { _ = p.cmd.Process.Kill() })
	<-p.done // Wait closes stdout, so reading it must end first.
	err := p.cmd.Wait()
	kill.Stop()
	if err != nil {
		return 0, fmt.Errorf("scale server process: %v\nstdout:\n%s%s\nstderr:\n%s", err, p.first, p.rest.Bytes(), p.stderr.Bytes())
	}
	for line := range strings.Lines(p.rest.String()) {
		if v, ok := strings.CutPrefix(line, "cpu-ns "); ok {
			ns, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("scale server process: %q: %v", line, err)
			}
			return time.Duration(ns), nil
		}
	}
	return 0, fmt.Errorf("scale server process printed no CPU time; stdout:\n%s%s", p.first, p.rest.Bytes())
}

type scaleRecord struct {
	start  time.Time
	times  []time.Duration
	stamps []int64
	app    []int64 // when the application got each chunk from Next
}

// BenchmarkScale runs 100/500/1000 concurrent loopback streams through one
// client. For the instrumented client it reports the error of Call.Start +
// ChunkTimes[i] against the server's send stamp (p50/p99/max/min, µs); for
// both it reports app-* percentiles, the delay from the send stamp to the
// application getting the chunk from Next, and chunks/s. Run with
// -benchtime 1x. Chunks 10 ms apart (100 chunks/s a stream, a fast model)
// saturate this 2-core machine at 500 streams; 50 ms apart (20 chunks/s a
// stream) it keeps up, which is what timestamp accuracy should be judged
// on.
//
// With server=inproc the server runs in the benchmark's own process, as it
// always has, and its goroutines (one per stream) share the Go scheduler
// with the client's. With server=process it runs in a child process (see
// TestScaleServerProcess), which still shares the machine's cores but not
// the scheduler; those variants also report server-cpu-ns/chunk, the child's
// CPU time while serving divided by the chunks received.
func BenchmarkScale(b *testing.B) {
	for _, load := range []struct {
		name    string
		gap     time.Duration
		stagger bool
	}{
		{"gap=10ms", 10 * time.Millisecond, false},
		{"gap=50ms", 50 * time.Millisecond, false},
		{"gap=50ms-staggered", 50 * time.Millisecond, true},
	} {
		for _, server := range []string{"inproc", "process"} {
			for _, mode := range []string{"Instrumented", "Plain"} {
				for _, streams := range []int{100, 500, 1000} {
					b.Run(fmt.Sprintf("%s/server=%s/%s/streams=%d", load.name, server, mode, streams), func(b *testing.B) {
						benchScale(b, streams, load.gap, load.stagger, mode == "Instrumented", server == "process")
					})
				}
			}
		}
	}
}

// benchScale runs one BenchmarkScale variant; with process the server runs
// in a child process, otherwise in this one.
func benchScale(b *testing.B, streams int, gap time.Duration, stagger, instrumented, process bool) {
	{
		{
			var baseURL string
			var proc *scaleProcess
			if process {
				var err error
				if proc, err = startScaleProcess(gap, streams, stagger); err != nil {
					b.Fatal(err)
				}
				defer proc.Close() // on failure; does nothing after the Close below
				baseURL = proc.URL
			} else {
				srv := scaleServer(gap, streams, stagger)
				defer srv.Close()
				baseURL = srv.URL
			}
			var mu sync.Mutex
			recs := make(map[string]*scaleRecord, streams)
			tp, _, mp := sdkProviders()
			tr := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 30 * time.Second}
			defer tr.CloseIdleConnections()
			ro := []option.RequestOption{
				option.WithBaseURL(baseURL + "/v1"),
				option.WithAPIKey("sk-bench"),
				option.WithHTTPClient(&http.Client{Transport: tr}),
				option.WithMaxRetries(0),
			}
			if instrumented {
				ro = append(ro, infermetrics.Instrument(
					infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp),
					infermetrics.WithOnCall(func(call *infermetrics.Call) {
						mu.Lock()
						r := recs[call.RequestModel]
						mu.Unlock()
						if r != nil {
							r.start = call.Start
							r.times = append(r.times[:0], call.ChunkTimes...)
						}
					})))
			}
			c := openai.NewClient(ro...)
			var errs, appErrs []time.Duration
			var chunks int
			var wall time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for it := 0; it < b.N; it++ {
				mu.Lock()
				clear(recs)
				for i := 0; i < streams; i++ {
					recs["scale-"+strconv.Itoa(i)] = &scaleRecord{}
				}
				mu.Unlock()
				var wg sync.WaitGroup
				failures := make(chan error, streams)
				t0 := time.Now()
				for i := 0; i < streams; i++ {
					model := "scale-" + strconv.Itoa(i)
					mu.Lock()
					r := recs[model]
					mu.Unlock()
					wg.Go(func() {
						p := benchParams(model)
						s := c.Chat.Completions.NewStreaming(context.Background(), p)
						for s.Next() {
							id := s.Current().ID
							ns, err := strconv.ParseInt(strings.TrimPrefix(id, "chatcmpl-"), 10, 64)
							if err != nil {
								failures <- err
								break
							}
							r.app = append(r.app, time.Now().UnixNano())
							r.stamps = append(r.stamps, ns)
						}
						if err := s.Err(); err != nil {
							failures <- err
						}
						_ = s.Close()
					})
				}
				wg.Wait()
				wall += time.Since(t0)
				close(failures)
				for err := range failures {
					b.Fatal(err)
				}
				for model, r := range recs {
					if (instrumented && len(r.times) != len(r.stamps)) || len(r.stamps) != scaleChunks {
						b.Fatalf("%s: %d chunk times, %d stamps", model, len(r.times), len(r.stamps))
					}
					for i, d := range r.times {
						errs = append(errs, time.Duration(r.start.Add(d).UnixNano()-r.stamps[i]))
					}
					for i, a := range r.app {
						appErrs = append(appErrs, time.Duration(a-r.stamps[i]))
					}
					chunks += len(r.stamps)
				}
			}
			b.StopTimer()
			q := func(e []time.Duration, p float64) float64 { return float64(e[int(p*float64(len(e)-1))].Microseconds()) }
			if instrumented {
				slices.Sort(errs)
				b.ReportMetric(q(errs, 0.50), "p50-µs")
				b.ReportMetric(q(errs, 0.99), "p99-µs")
				b.ReportMetric(q(errs, 1), "max-µs")
				b.ReportMetric(q(errs, 0), "min-µs")
			}
			slices.Sort(appErrs)
			b.ReportMetric(q(appErrs, 0.50), "app-p50-µs")
			b.ReportMetric(q(appErrs, 0.99), "app-p99-µs")
			b.ReportMetric(q(appErrs, 1), "app-max-µs")
			b.ReportMetric(float64(chunks)/wall.Seconds(), "chunks/s")
			if proc != nil {
				cpu, err := proc.Close()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(chunks), "server-cpu-ns/chunk")
			}
		}
	}
}
