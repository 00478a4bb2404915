package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// The Go runtime's settings for a bench run, where the environment sets
// none. BENCHMARKS.md section 6 has the harness lag each gives, alone and
// together, at 256 streams on 2 cores.
const (
	// benchMinProcs is the fewest Ps (GOMAXPROCS) a bench run uses. With
	// one P a core on a small machine, a request whose goroutine blocks
	// or is preempted while it is being sent waits behind every goroutine
	// queued on its P, and a burst of streams queues hundreds: each P's
	// run queue is first in, first out. With more Ps than cores the
	// kernel shares the cores among them, and a request's few tens of
	// microseconds of sending do not wait for the whole burst.
	benchMinProcs = 8
	// benchGCPercent is GOGC for a bench run: a collection stops the
	// world (a goroutine it preempts goes to the back of the global run
	// queue), and its mark phase takes CPU from the requests being sent.
	// The harness's heap is small (trials go to trials.jsonl as they
	// end), so collecting a quarter as often costs little memory: the
	// simulated run's peak resident size is 146 MB, against 103 MB with
	// GOGC 100 (its in-process servers keep every request they serve).
	// The settings hold while requests run, not while the report is made.
	benchGCPercent = 400
)

// tuneRuntime applies the bench command's runtime settings, each unless
// its environment variable (GOMAXPROCS, GOGC) is set, and returns a
// function that restores the previous ones.
func tuneRuntime() (restore func()) {
	procs, gc := runtime.GOMAXPROCS(0), -2
	if os.Getenv("GOMAXPROCS") == "" && procs < benchMinProcs {
		runtime.GOMAXPROCS(benchMinProcs)
	}
	if os.Getenv("GOGC") == "" {
		gc = debug.SetGCPercent(benchGCPercent)
	}
	return func() {
		runtime.GOMAXPROCS(procs)
		if gc != -2 {
			debug.SetGCPercent(gc)
		}
	}
}

// gcPercent returns the current GOGC, -1 when collection is off.
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	return int(int64(s[0].Value.Uint64())) // off reads as -1
}
