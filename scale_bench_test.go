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
	"runtime"
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
// "chatcmpl-<request number>-<send time in Unix ns>", stamped just before
// the write. With
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
func scaleHandler(gap time.Duration, streams int, stagger bool, wl *writeLog) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		fl := w.(http.Flusher)
		fl.Flush()
		seq := n.Add(1)
		if stagger {
			time.Sleep(gap * time.Duration(seq%int64(streams)) / time.Duration(streams))
		}
		buf := make([]byte, 0, 512)
		writes := make([]time.Duration, 0, scaleChunks)
		defer func() { wl.add(writes) }()
		for i := 0; i < scaleChunks; i++ {
			if i > 0 {
				time.Sleep(gap)
			}
			buf = buf[:0]
			buf = append(buf, `data: {"id":"chatcmpl-`...)
			buf = strconv.AppendInt(buf, seq, 10)
			buf = append(buf, '-')
			stamp := time.Now()
			buf = strconv.AppendInt(buf, stamp.UnixNano(), 10)
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
			writes = append(writes, time.Since(stamp))
		}
	})
}

// writeLog collects how long the server took from stamping a chunk to
// having flushed it: the part of the timestamp error spent in the server.
type writeLog struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *writeLog) add(d []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

// quantiles returns the p99 and the maximum of the logged durations.
func (l *writeLog) quantiles() (p99, maxd time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0
	}
	slices.Sort(l.d)
	return l.d[len(l.d)*99/100], l.d[len(l.d)-1]
}

// scaleServer starts scaleHandler on a loopback httptest.Server in the
// calling process, where it shares the Go scheduler with the client.
func scaleServer(gap time.Duration, streams int, stagger bool, wl *writeLog) *httptest.Server {
	return httptest.NewServer(scaleHandler(gap, streams, stagger, wl))
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
	var wl writeLog
	srv := &http.Server{Handler: scaleHandler(gap, streams, stagger, &wl)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	cpu0 := cpuNow()
	fmt.Println("http://" + ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Error(err)
	}
	p99, maxd := wl.quantiles()
	fmt.Printf("cpu-ns %d\nwrite-p99-ns %d\nwrite-max-ns %d\n", (cpuNow() - cpu0).Nanoseconds(), p99, maxd)
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
func (p *scaleProcess) Close() (scaleServerStats, error) {
	var st scaleServerStats
	if p.closed {
		return st, nil
	}
	p.closed = true
	_ = p.stdin.Close()
	kill := time.AfterFunc(scaleStopTimeout, func() { _ = p.cmd.Process.Kill() })
	<-p.done // Wait closes stdout, so reading it must end first.
	err := p.cmd.Wait()
	kill.Stop()
	if err != nil {
		return st, fmt.Errorf("scale server process: %v\nstdout:\n%s%s\nstderr:\n%s", err, p.first, p.rest.Bytes(), p.stderr.Bytes())
	}
	fields := map[string]*time.Duration{"cpu-ns": &st.cpu, "write-p99-ns": &st.writeP99, "write-max-ns": &st.writeMax}
	seen := 0
	for line := range strings.Lines(p.rest.String()) {
		name, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		if d := fields[name]; d != nil {
			ns, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return st, fmt.Errorf("scale server process: %q: %v", line, err)
			}
			*d = time.Duration(ns)
			seen++
		}
	}
	if seen != len(fields) {
		return st, fmt.Errorf("scale server process printed %d of %d statistics; stdout:\n%s%s", seen, len(fields), p.first, p.rest.Bytes())
	}
	return st, nil
}

// scaleServerStats is what a scale server process reports when it exits.
type scaleServerStats struct {
	cpu                time.Duration // CPU time used while serving
	writeP99, writeMax time.Duration // from stamping a chunk to having flushed it
}

type scaleRecord struct {
	start  time.Time
	times  []time.Duration
	stamps []int64
	app    []int64 // when the application got each chunk from Next
}

// BenchmarkScale runs 100/500/1000 concurrent loopback streams through one
// client, each chunk stamped by the server with its send time. Run with
// -benchtime 1x. It reports:
//
//   - p50/p99/max/min-µs (Instrumented and Stamped): the error of
//     Call.Start + ChunkTimes[i] against the send stamp;
//   - app-p50/p99/max-µs: the delay from the send stamp to the client
//     getting the chunk (from Next for the SDK modes, from its line for
//     HTTP);
//   - chunks/s, cpu-ns/chunk (the client process), gc/s, gc-pause-µs/s;
//   - server-write-p99/max-µs: from stamping a chunk to having flushed it,
//     the server's share of the delay; with server=process also
//     server-cpu-ns/chunk.
//
// Modes: Instrumented (openai-go with infermetrics and SDK providers),
// Stamped (the same, with connections dialed through ReceiveTimestamps, so
// chunks carry the kernel's receive time), Plain (openai-go alone) and
// HTTP (net/http reading lines, no SDK and no JSON decoding: the floor
// under any client on this machine).
//
// Loads: chunks 10 ms apart (100 chunks/s a stream, a fast model) saturate
// this 2-core machine at 500 streams; 50 ms apart (20 chunks/s) it keeps
// up. Without "steady" every stream starts at once, so requests, first
// chunks (unless staggered) and ends come in bursts of N; "steady" spreads
// request starts evenly and runs streams back to back (see benchScale), as
// in a service, and is what timestamp accuracy should be judged on.
//
// With server=inproc the server runs in the benchmark's own process and its
// goroutines (one per stream) share the Go scheduler with the client's.
// With server=process it runs in a child process (see
// TestScaleServerProcess), which shares the machine's cores but not the
// scheduler.
func BenchmarkScale(b *testing.B) {
	for _, load := range []scaleLoad{
		{"gap=10ms", 10 * time.Millisecond, false, false},
		{"gap=50ms", 50 * time.Millisecond, false, false},
		{"gap=50ms-staggered", 50 * time.Millisecond, true, false},
		{"gap=50ms-steady", 50 * time.Millisecond, false, true},
		{"gap=100ms-steady", 100 * time.Millisecond, false, true},
	} {
		for _, server := range []string{"inproc", "process"} {
			for _, mode := range []string{"Instrumented", "Stamped", "Plain", "HTTP"} {
				for _, streams := range []int{100, 500, 1000} {
					b.Run(fmt.Sprintf("%s/server=%s/%s/streams=%d", load.name, server, mode, streams), func(b *testing.B) {
						benchScale(b, streams, load, mode, server == "process")
					})
				}
			}
		}
	}
}

// rawStream is the HTTP mode's client: it posts a streaming request with
// net/http alone and calls chunk with the id of each event as soon as its
// line is read, with no SDK and no JSON decoding. Its delays are the floor
// under any client: the kernel, the Go runtime and net/http.
func rawStream(hc *http.Client, baseURL string, chunk func(id string) error) error {
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"Explain Go's garbage collector in one paragraph."}],"stream":true,"stream_options":{"include_usage":true}}`
	resp, err := hc.Post(baseURL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if rest, ok := bytes.CutPrefix(line, []byte(`data: {"id":"`)); ok {
			id, _, _ := bytes.Cut(rest, []byte(`"`))
			if err := chunk(string(id)); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// parseScaleID splits a scaleHandler chunk id into the request number and
// the send stamp.
func parseScaleID(id string) (seq, stamp int64, err error) {
	a, b, ok := strings.Cut(strings.TrimPrefix(id, "chatcmpl-"), "-")
	if !ok {
		return 0, 0, fmt.Errorf("chunk id %q: no send stamp", id)
	}
	if seq, err = strconv.ParseInt(a, 10, 64); err == nil {
		stamp, err = strconv.ParseInt(b, 10, 64)
	}
	return seq, stamp, err
}

// scaleLoad is how BenchmarkScale's streams are paced.
type scaleLoad struct {
	name    string
	gap     time.Duration // between chunks of a stream
	stagger bool          // spread the first chunks of streams started at once over one gap
	steady  bool          // start streams spread over time, back to back; see benchScale
}

// steadyStreams is how many streams each worker runs back to back under a
// steady load.
const steadyStreams = 3

// benchScale runs one BenchmarkScale variant; with process the server runs
// in a child process, otherwise in this one.
func benchScale(b *testing.B, streams int, load scaleLoad, mode string, process bool) {
	instrumented := mode == "Instrumented" || mode == "Stamped"
	var baseURL string
	var proc *scaleProcess
	var wl writeLog // the in-process server's
	if process {
		var err error
		if proc, err = startScaleProcess(load.gap, streams, load.stagger); err != nil {
			b.Fatal(err)
		}
		defer proc.Close() // on failure; does nothing after the Close below
		baseURL = proc.URL
	} else {
		srv := scaleServer(load.gap, streams, load.stagger, &wl)
		defer srv.Close()
		baseURL = srv.URL
	}
	var mu sync.Mutex
	recs := make(map[int64]*scaleRecord, streams)
	tp, _, mp := sdkProviders()
	tr := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 30 * time.Second}
	if mode == "Stamped" {
		tr.DialContext = infermetrics.ReceiveTimestamps(nil)
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	ro := []option.RequestOption{
		option.WithBaseURL(baseURL + "/v1"),
		option.WithAPIKey("sk-bench"),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
	}
	if instrumented {
		ro = append(ro, infermetrics.Instrument(
			infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp),
			infermetrics.WithOnCall(func(call *infermetrics.Call) {
				seq, _, _ := parseScaleID(call.ResponseID)
				mu.Lock()
				r := recs[seq]
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
	// round runs every stream once, concurrently, and adds what it saw to
	// the totals above.
	//
	// With load.steady, worker i starts after i/streams of one stream's
	// length L and then runs steadyStreams streams back to back, so that
	// requests begin and end spread evenly over time, as in a service; only
	// chunks stamped in [L, steadyStreams*L), when every worker is
	// mid-stream, count. Otherwise every stream starts at once and all
	// chunks count.
	perWorker := 1
	if load.steady {
		perWorker = steadyStreams
	}
	length := scaleChunks * load.gap
	round := func() {
		mu.Lock()
		clear(recs)
		all := make([]*scaleRecord, 0, streams*perWorker)
		mu.Unlock()
		var wg sync.WaitGroup
		failures := make(chan error, streams*perWorker)
		t0 := time.Now()
		for i := 0; i < streams; i++ {
			wg.Go(func() {
				if load.steady {
					time.Sleep(length * time.Duration(i) / time.Duration(streams))
				}
				for j := 0; j < perWorker; j++ {
					r := &scaleRecord{}
					mu.Lock()
					all = append(all, r)
					mu.Unlock()
					chunk := func(id string) error {
						at := time.Now().UnixNano()
						seq, ns, err := parseScaleID(id)
						if err != nil {
							return err
						}
						if len(r.stamps) == 0 {
							mu.Lock()
							recs[seq] = r
							mu.Unlock()
						}
						r.app = append(r.app, at)
						r.stamps = append(r.stamps, ns)
						return nil
					}
					if mode == "HTTP" {
						if err := rawStream(hc, baseURL, chunk); err != nil {
							failures <- err
						}
						continue
					}
					s := c.Chat.Completions.NewStreaming(context.Background(), benchParams("gpt-4o"))
					for s.Next() {
						if err := chunk(s.Current().ID); err != nil {
							failures <- err
							break
						}
					}
					if err := s.Err(); err != nil {
						failures <- err
					}
					_ = s.Close()
				}
			})
		}
		wg.Wait()
		from, to := t0.UnixNano(), time.Now().UnixNano()
		if load.steady {
			from, to = t0.Add(length).UnixNano(), t0.Add(time.Duration(perWorker)*length).UnixNano()
		}
		wall += time.Duration(to - from)
		close(failures)
		for err := range failures {
			b.Fatal(err)
		}
		for k, r := range all {
			if (instrumented && len(r.times) != len(r.stamps)) || len(r.stamps) != scaleChunks {
				b.Fatalf("stream %d: %d chunk times, %d stamps", k, len(r.times), len(r.stamps))
			}
			for i, stamp := range r.stamps {
				if stamp < from || stamp >= to {
					continue
				}
				if instrumented {
					errs = append(errs, time.Duration(r.start.Add(r.times[i]).UnixNano()-stamp))
				}
				appErrs = append(appErrs, time.Duration(r.app[i]-stamp))
				chunks++
			}
		}
	}
	// A warm-up round, not counted: connections, pools, goroutine stacks
	// and the heap reach their steady size, as in a service that has been
	// running. Without it the first second of a fresh process dominates
	// the tail. A steady load warms up in its first stream length, which
	// is not counted either.
	if !load.steady {
		round()
		errs, appErrs, chunks, wall = errs[:0], appErrs[:0], 0, 0
	}
	var gc0, gc1 runtime.MemStats
	runtime.ReadMemStats(&gc0)
	cpu0 := cpuNow()
	b.ReportAllocs()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		round()
	}
	b.StopTimer()
	cpu := cpuNow() - cpu0
	runtime.ReadMemStats(&gc1)
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
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(chunks), "cpu-ns/chunk")
	b.ReportMetric(float64(gc1.NumGC-gc0.NumGC)/wall.Seconds(), "gc/s")
	b.ReportMetric(float64(gc1.PauseTotalNs-gc0.PauseTotalNs)/1e3/wall.Seconds(), "gc-pause-µs/s")
	var st scaleServerStats
	if proc != nil {
		var err error
		if st, err = proc.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.cpu.Nanoseconds())/float64(chunks), "server-cpu-ns/chunk")
	} else {
		st.writeP99, st.writeMax = wl.quantiles()
	}
	b.ReportMetric(float64(st.writeP99.Microseconds()), "server-write-p99-µs")
	b.ReportMetric(float64(st.writeMax.Microseconds()), "server-write-max-µs")
}
