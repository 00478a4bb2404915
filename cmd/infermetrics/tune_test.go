package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/infermetrics/infermetrics/infermetricstest"
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

// TestBenchCommandTunesWhileRunning checks that the bench command runs
// its requests with the runtime settings, records them in run.json, and
// restores the previous ones before it returns.
func TestBenchCommandTunesWhileRunning(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOGC", "")
	procs := runtime.GOMAXPROCS(0)
	gc := debug.SetGCPercent(100)
	defer debug.SetGCPercent(gc)

	srv := infermetricstest.NewServer()
	defer srv.Close()
	path := writeConfig(t, fmt.Sprintf(`
targets: [{name: t, base_url: %q, model: m, api_key_env: INFERMETRICS_NO_KEY}]
scenarios: [{name: chat, prompts: [hi], max_tokens: 16}]
loads: [sequential]
trials: 1
warmups: 0
`, srv.URL()))
	out := filepath.Join(t.TempDir(), "run")
	var stderr bytes.Buffer
	if code := cli([]string{"bench", "-config", path, "-out", out, "-q"}, io.Discard, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.Bytes())
	}
	b, err := os.ReadFile(filepath.Join(out, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var run RunInfo
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatal(err)
	}
	if run.Host.GOMAXPROCS != max(procs, benchMinProcs) || run.Host.GOGC != benchGCPercent {
		t.Errorf("run.json host %+v, want GOMAXPROCS %d and GOGC %d", run.Host, max(procs, benchMinProcs), benchGCPercent)
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("after the command, GOMAXPROCS %d, want %d", got, procs)
	}
	if got := gcPercent(); got != 100 {
		t.Errorf("after the command, GOGC %d, want 100", got)
	}
}
