package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
)

// A runner carries out a plan: it schedules requests, and records each
// attempt's Call to trials.jsonl. It computes no figure: those are made
// afterwards from trials.jsonl alone.
type runner struct {
	cfg   *Config
	runID string
	rec   *recorder
	prog  progress

	// stop is done on Ctrl-C or when max_duration has passed: no request
	// starts after it, and requests in flight are cancelled (and marked
	// interrupted).
	stop context.Context
	// started counts requests admitted, against max_requests.
	started atomic.Int64
	capped  atomic.Bool

	// telemetry holds the options that send spans and metrics to the
	// user's collector, if any.
	telemetry []infermetrics.Option

	// For tests: transport, if set, replaces the network for a target;
	// before runs ahead of each request, before the library sees it (so
	// its time is harness lag).
	transport func(Target) http.RoundTripper
	before    func(*http.Request)
}

// A targetRun is one target's client side: an instrumented HTTP client
// over a transport whose pool is sized to the target's largest load, and
// the target's requests prepared per scenario. All of a target's requests
// go through one instrumentation, as an application's would (the
// library's idle tracking, Call.Idle, is per client); each request's
// context hands its Call to that request alone (ContextWithOnCall).
type targetRun struct {
	t        Target
	r        *runner
	hc       *http.Client
	prepared map[*Scenario][]preparedRequest
	calls    atomic.Int64 // sequence for prompts
}

// A skippedChunk stands in for openai.ChatCompletionChunk when the harness
// reads a stream: openai-go's stream reader does all it always does (SSE
// framing, the end at [DONE], the end at an "error" event, the end at a
// chunk that is not valid JSON, which encoding/json checks before it calls
// UnmarshalJSON) but builds no ChatCompletionChunk, which the harness would
// throw away: the library reads the chunks itself. That decoding was most
// of the client's CPU and allocations a chunk (about 40 allocations, 5 KB),
// and with hundreds of streams the collections it brought on were the
// harness's p99 lag (BENCHMARKS.md section 6).
type skippedChunk struct{}

func (*skippedChunk) UnmarshalJSON([]byte) error { return nil }

// keepOpen is a body whose Close does nothing: the stream reader closes
// its body at [DONE], and the harness reads on (readToEnd).
type keepOpen struct{ io.ReadCloser }

func (keepOpen) Close() error { return nil }

// readToEnd reads what follows a stream's [DONE] up to the body's end, so
// that net/http keeps the connection for the next request: a body closed
// before its end (the chunked body's terminator often comes in a segment
// of its own, just after [DONE]) closes the connection, and the next
// request then dials inside its lag. If the end has not come
// within 100ms the body is closed, and the connection with it, as before.
func readToEnd(b io.ReadCloser) {
	t := time.AfterFunc(100*time.Millisecond, func() { b.Close() })
	io.Copy(io.Discard, io.LimitReader(b, 64<<10))
	t.Stop()
}

// maxInFlight is the largest number of requests a target's loads keep in
// flight by design; rate loads, unbounded, count as 64.
func maxInFlight(loads []Load) int {
	n := 1
	for _, l := range loads {
		n = max(n, l.Concurrency)
		if l.Kind == "rate" {
			n = max(n, 64)
		}
	}
	return n
}

func (r *runner) newTargetRun(t Target, loads []Load) (*targetRun, error) {
	n := maxInFlight(loads)
	var rt http.RoundTripper
	if r.transport != nil {
		rt = r.transport(t)
	} else {
		k := (n + laneStreams - 1) / laneStreams
		ls := make(lanes, k)
		for i := range ls {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			// Room for twice a lane's streams: a request that waited for a
			// dial takes a connection freed meanwhile, and the dialed one
			// goes idle; a pool with no room for it would close it, and a
			// later request would dial inside its lag.
			per := (n + k - 1) / k
			tr.MaxIdleConns = 2 * per
			tr.MaxIdleConnsPerHost = 2 * per
			tr.MaxConnsPerHost = 0
			// HTTP/1.1, one connection a stream, so that chunk times can be
			// the kernel's receive times (on Linux).
			tr.ForceAttemptHTTP2 = false
			tr.Protocols = new(http.Protocols)
			tr.Protocols.SetHTTP1(true)
			if runtime.GOOS == "linux" {
				tr.DialContext = infermetrics.ReceiveTimestamps(tr.DialContext)
			}
			ls[i] = tr
		}
		rt = ls
		if k == 1 {
			rt = ls[0]
		}
	}
	opts := slices.Clip(r.telemetry)
	if t.Provider != "" {
		opts = append(opts, infermetrics.WithProvider(t.Provider))
	}
	if p := t.Price; p != nil {
		opts = append(opts, infermetrics.WithPrice(t.Model, infermetrics.Price{Input: p.Input, CachedInput: p.CachedInput, Output: p.Output}))
	}
	rt = infermetrics.NewTransport(rt, opts...)
	if fn := r.before; fn != nil {
		// The test hook runs before the library sees the request: its time
		// is harness lag.
		next := rt
		rt = roundTripFunc(func(req *http.Request) (*http.Response, error) {
			fn(req)
			return next.RoundTrip(req)
		})
	}
	tr := &targetRun{t: t, r: r, hc: &http.Client{Transport: rt}, prepared: map[*Scenario][]preparedRequest{}}
	keys := make([]string, 0, len(t.Extra))
	for k := range t.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var extra []option.RequestOption
	for _, k := range keys {
		extra = append(extra, option.WithJSONSet(k, t.Extra[k]))
	}
	for i := range r.cfg.Scenarios {
		sc := &r.cfg.Scenarios[i]
		p, err := prepare(t, extra, sc)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
		tr.prepared[sc] = p
	}
	return tr, nil
}

// laneStreams is how many of a target's streams share one transport's
// connection pool.
const laneStreams = 32

// lanes spread a target's requests over transports of their own, each
// with its connection pool: net/http's pool has one mutex, which every
// request takes to get a connection and every response's end to return
// it, and with hundreds of streams ending together that mutex queued
// them. A request goes to the lane its context names (laneKey): a
// closed-loop worker or a burst's goroutine always the same, so each
// keeps its connection.
type lanes []http.RoundTripper

type laneKey struct{}

func (l lanes) RoundTrip(req *http.Request) (*http.Response, error) {
	i, _ := req.Context().Value(laneKey{}).(int)
	return l[i%len(l)].RoundTrip(req)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// A cellRun is one cell of the plan in one window.
type cellRun struct {
	tr       *targetRun
	scenario *Scenario
	load     Load
	window   int
	seq      atomic.Int64
}

// admit reports whether another request may start, counting it.
func (r *runner) admit() bool {
	if r.stop.Err() != nil {
		return false
	}
	if r.started.Add(1) > int64(r.cfg.MaxRequests) {
		r.capped.Store(true)
		return false
	}
	return true
}

// attempt sends one request of cell c, planned for scheduled, waits for
// its end and records it. It reports false when the request was not
// started: the run is stopping or capped.
func (c *cellRun) attempt(lane, seq int, warmup bool, scheduled time.Time) bool {
	r := c.tr.r
	if !r.admit() {
		return false
	}
	var mu sync.Mutex
	var wrote time.Time
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
		now := time.Now()
		mu.Lock()
		if wrote.IsZero() {
			wrote = now
		}
		mu.Unlock()
	}}
	// The library hands this request's Call to calls alone.
	calls := make(chan *infermetrics.Call, 1)
	ctx := infermetrics.ContextWithOnCall(httptrace.WithClientTrace(r.stop, trace), func(c *infermetrics.Call) {
		select {
		case calls <- c.Clone():
		default: // a second attempt for one request: retries are off, so never
		}
	})
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, laneKey{}, lane), time.Duration(r.cfg.Timeout))
	sc := c.scenario
	prepared := c.tr.prepared[sc]
	n := int(c.tr.calls.Add(1) - 1)
	resp, err := c.tr.hc.Do(prepared[n%len(prepared)].newRequest(ctx))
	if err == nil {
		if *sc.Stream && resp.StatusCode/100 == 2 {
			// The stream is read as openai-go reads it, over skippedChunks,
			// and ends where it would end; then on to the body's end.
			rs := ssestream.NewStream[skippedChunk](ssestream.NewDecoder(&http.Response{
				Header: resp.Header, Body: keepOpen{resp.Body}}), nil)
			for rs.Next() {
			}
			if rs.Err() == nil {
				readToEnd(resp.Body)
			}
		} else {
			io.Copy(io.Discard, resp.Body) // as openai-go reads a body: whole
		}
		resp.Body.Close()
	}
	cancel()

	var call *infermetrics.Call
	select {
	case call = <-calls:
	case <-time.After(10 * time.Second):
		// The library delivers every attempt's Call; a missing one means
		// the request never reached it (rejected while being built).
		call = &infermetrics.Call{RequestModel: c.tr.t.Model, Err: errNoCall, ErrorType: "no_call"}
	}
	mu.Lock()
	sent := wrote
	mu.Unlock()
	if sent.IsZero() {
		sent = call.Start
	}
	if sent.IsZero() {
		sent = scheduled
	}
	t := Trial{
		Run:         r.runID,
		Target:      c.tr.t.Name,
		Model:       c.tr.t.Model,
		Scenario:    sc.Name,
		Load:        c.load.Spec,
		Window:      c.window,
		Seq:         seq,
		Warmup:      warmup,
		Interrupted: r.stop.Err() != nil && call.Err != nil,
		Simulated:   r.cfg.Simulated,
		Scheduled:   scheduled,
		Sent:        sent,
		HarnessLag:  max(0, sent.Sub(scheduled).Seconds()),
		End:         call.Start.Add(call.Duration),
		Useful:      call.Useful(),
		Call:        record(call),
	}
	if call.Start.IsZero() {
		t.End = time.Now()
	}
	r.rec.add(&t) // the progress is told once it is written
	return true
}

var errNoCall = errors.New("bench: the library reported no call for this request")

// run carries out the plan: windows, targets (one after another, or side
// by side with parallel_targets), scenarios, loads. It fails, before any
// request, only when a target's requests cannot be built.
func (r *runner) run(targets []Target, loads []Load) error {
	trs := make([]*targetRun, len(targets))
	for i, t := range targets {
		tr, err := r.newTargetRun(t, loads)
		if err != nil {
			return err
		}
		trs[i] = tr
	}
	for w := range r.cfg.Windows {
		if w > 0 && !sleepCtx(r.stop, time.Duration(r.cfg.WindowGap)) {
			return nil
		}
		if r.cfg.ParallelTargets {
			var wg sync.WaitGroup
			for _, tr := range trs {
				wg.Go(func() { r.runTarget(tr, loads, w) })
			}
			wg.Wait()
		} else {
			for _, tr := range trs {
				r.runTarget(tr, loads, w)
			}
		}
		if r.stopped() {
			return nil
		}
	}
	return nil
}

// stopped reports whether no further request will start.
func (r *runner) stopped() bool { return r.stop.Err() != nil || r.capped.Load() }

func (r *runner) runTarget(tr *targetRun, loads []Load, window int) {
	for i := range r.cfg.Scenarios {
		for _, l := range loads {
			if r.stopped() {
				return
			}
			c := &cellRun{tr: tr, scenario: &r.cfg.Scenarios[i], load: l, window: window}
			c.run()
		}
	}
}

// plannedAttempts is how many attempts a cell makes: warmups and trials,
// a burst cell's trials rounded up to whole bursts, a cold cell's
// cold_trials and no warmups.
func plannedAttempts(cfg *Config, l Load) (warmups, trials int) {
	switch l.Kind {
	case "cold":
		return 0, *cfg.ColdTrials
	case "burst":
		bursts := (*cfg.Trials + l.N - 1) / l.N
		return *cfg.Warmups, bursts * l.N
	}
	return *cfg.Warmups, *cfg.Trials
}

// run runs the cell's attempts as its load says.
func (c *cellRun) run() {
	cfg := c.tr.r.cfg
	warmups, trials := plannedAttempts(cfg, c.load)
	total := warmups + trials
	switch c.load.Kind {
	case "sequential", "concurrency":
		// Closed loop: N workers, each sending its next request as soon as
		// the last one ends, which is when it is scheduled. No measured
		// request starts before every warmup has ended: a connection a
		// warmup opened would otherwise go to a warmup still waiting for
		// its own dial, and the measured request would dial instead.
		warm := make(chan struct{})
		var warmed atomic.Int64
		if warmups == 0 {
			close(warm)
		}
		var wg sync.WaitGroup
		for w := range c.load.N {
			wg.Go(func() {
				for {
					seq := int(c.seq.Add(1) - 1)
					if seq >= total {
						return
					}
					if seq >= warmups {
						select {
						case <-warm:
						case <-c.tr.r.stop.Done():
						}
					}
					ok := c.attempt(w, seq, seq < warmups, time.Now())
					if seq < warmups && warmed.Add(1) == int64(warmups) {
						close(warm)
					}
					if !ok {
						return
					}
				}
			})
		}
		wg.Wait()
	case "rate":
		// Open loop: Poisson arrivals, each request sent at its arrival
		// time whatever is in flight.
		h := fnv.New64a()
		h.Write([]byte(c.tr.t.Name + "\x00" + c.scenario.Name + "\x00" + c.load.Spec))
		rng := rand.New(rand.NewPCG(cfg.Seed, h.Sum64()+uint64(c.window)))
		var wg sync.WaitGroup
		at := time.Now()
		for seq := range total {
			if seq > 0 {
				at = at.Add(time.Duration(rng.ExpFloat64() / c.load.Rate * float64(time.Second)))
			}
			if !sleepCtx(c.tr.r.stop, time.Until(at)) || c.tr.r.stopped() {
				break
			}
			at := at
			wg.Go(func() { c.attempt(seq, seq, seq < warmups, at) })
		}
		wg.Wait()
	case "burst":
		seq := 0
		for ; seq < warmups; seq++ {
			if !c.attempt(0, seq, true, time.Now()) {
				return
			}
		}
		for seq < total {
			// N goroutines wait at a barrier; closing it releases them.
			release := make(chan struct{})
			var ready, wg sync.WaitGroup
			var at time.Time
			for i := range c.load.N {
				ready.Add(1)
				wg.Go(func() {
					ready.Done()
					<-release
					c.attempt(i, seq+i, false, at)
				})
			}
			ready.Wait()
			at = time.Now()
			close(release)
			wg.Wait()
			seq += c.load.N
			if c.tr.r.stopped() {
				return
			}
		}
	case "cold":
		// Idle, then one request, repeated.
		for seq := range total {
			if !sleepCtx(c.tr.r.stop, c.load.Idle) || !c.attempt(0, seq, false, time.Now()) {
				return
			}
		}
	}
}

// sleepCtx waits d or until ctx is done, and reports whether ctx is live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newRunID returns a fresh id for a run: its start time and a random
// suffix.
func newRunID(now time.Time) string {
	return fmt.Sprintf("%s-%08x", now.UTC().Format("20060102T150405Z"), rand.Uint32())
}
