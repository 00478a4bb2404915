package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestTuneRuntime checks the bench command's runtime settings: at least
// benchMinProcs Ps and GOGC benchGCPercent, each unless the environment
// sets it, and restored afterwards.
func TestTuneRuntime(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	gc := debug.SetGCPercent(100)
	defer debug.SetGCPercent(gc)

	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOGC", "")
	restore := tuneRuntime()
	if got := runtime.GOMAXPROCS(0); got != max(procs, benchMinProcs) {
		t.Errorf("GOMAXPROCS %d, want %d", got, max(procs, benchMinProcs))
	}
	if got := gcPercent(); got != benchGCPercent {
		t.Errorf("GOGC %d, want %d", got, benchGCPercent)
	}
	restore()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("restored GOMAXPROCS %d, want %d", got, procs)
	}
	if got := gcPercent(); got != 100 {
		t.Errorf("restored GOGC %d, want 100", got)
	}

	// The environment's settings win.
	t.Setenv("GOMAXPROCS", "1")
	t.Setenv("GOGC", "150")
	restore = tuneRuntime()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("with GOMAXPROCS set, GOMAXPROCS became %d, want %d", got, procs)
	}
	if got := gcPercent(); got != 100 {
		t.Errorf("with GOGC set, GOGC became %d, want 100", got)
	}
	restore()

	debug.SetGCPercent(-1)
	if got := gcPercent(); got != -1 {
		t.Errorf("GOGC off reads %d, want -1", got)
	}
}
