// Command infermetrics benchmarks OpenAI-compatible chat-completion
// endpoints with the infermetrics library's own measurements, and renders
// the results as a report.
//
// Usage:
//
//	infermetrics bench [-config bench.yaml] [-out DIR] [flags]
//	infermetrics report [-out DIR] DIR...
//
// bench runs the plan of the config (with no config, a built-in catalogue
// of simulated providers on loopback), records every attempt to
// DIR/trials.jsonl as it ends, and writes the figures, charts and
// report.html. report recomputes them from one or more bench folders,
// pooling cells with the same target, scenario and load. The README's
// "infermetrics bench" section defines every figure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

const usageText = `usage:
  infermetrics bench [-config bench.yaml] [-out DIR] [flags]
  infermetrics report [-out DIR] DIR...

Run "infermetrics bench -h" or "infermetrics report -h" for the flags.
`

// cli runs the command with args and returns the exit code.
func cli(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	var err error
	switch args[0] {
	case "bench":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err = benchCmd(ctx, args[1:], stdout, stderr)
	case "report":
		err = reportCmd(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return 0
	default:
		fmt.Fprintf(stderr, "infermetrics: unknown command %q\n%s", args[0], usageText)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "infermetrics:", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// benchOptions are bench's settings, from the flags, with hooks for tests.
type benchOptions struct {
	config      string
	out         string
	trials      int
	warmups     int
	targets     string
	loads       string
	maxRequests int
	maxDuration time.Duration
	quiet       bool
	dryRun      bool
	seed        uint64
	// tuneRuntime applies the command's runtime settings while requests
	// run (tune.go); the command sets it, tests that call bench need not.
	tuneRuntime bool

	// For tests.
	transport func(Target) http.RoundTripper
	before    func(*http.Request)
	progress  progress
	now       func() time.Time
}

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := benchOptions{tuneRuntime: true}
	fs.StringVar(&o.config, "config", "", "the plan, a YAML `file`; without it, the built-in simulated catalogue")
	fs.StringVar(&o.out, "out", "", "the `folder` for run.json, trials.jsonl and the report (default bench-<time>); it must not hold a run")
	fs.IntVar(&o.trials, "trials", 0, "measured trials per cell, overriding the config's trials")
	fs.IntVar(&o.warmups, "warmups", -1, "warmups per cell, overriding the config's warmups")
	fs.StringVar(&o.targets, "targets", "", "run only these targets, a comma-separated `list` of names")
	fs.StringVar(&o.loads, "loads", "", "run these loads instead of the config's, a comma-separated `list`")
	fs.IntVar(&o.maxRequests, "max-requests", 0, "stop starting requests after `n`, overriding max_requests")
	fs.DurationVar(&o.maxDuration, "max-duration", 0, "stop starting requests after this long, overriding max_duration")
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	fs.BoolVar(&o.dryRun, "dry-run", false, "check the config, print the plan and exit without sending a request")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the Poisson arrivals and of the simulated providers, overriding seed")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infermetrics bench [-config bench.yaml] [-out DIR] [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "infermetrics bench: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	_, err := bench(ctx, o, stdout, stderr)
	return err
}

func reportCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the `folder` to write the report to (default: the folder itself when there is one, else merged)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infermetrics report [-out DIR] DIR...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	dirs := fs.Args()
	if len(dirs) == 0 {
		fs.Usage()
		return errUsage
	}
	if *out == "" {
		*out = "merged"
		if len(dirs) == 1 {
			*out = dirs[0]
		}
	}
	_, err := report(dirs, *out, stdout)
	if err == nil {
		fmt.Fprintf(stderr, "infermetrics: report in %s\n", filepath.Join(*out, "report.html"))
	}
	return err
}

// bench runs a benchmark and writes its folder and report.
func bench(ctx context.Context, o benchOptions, stdout, stderr io.Writer) (*Summary, error) {
	now := time.Now
	if o.now != nil {
		now = o.now
	}
	var cfg *Config
	var catalogue []SimulatedTarget
	if o.config != "" {
		c, err := loadConfig(o.config)
		if err != nil {
			return nil, err
		}
		cfg = c
	} else {
		seed := o.seed
		if seed == 0 {
			seed = 1
		}
		c, desc, stopSim := startSimulated(seed)
		defer stopSim()
		if err := c.check(""); err != nil {
			return nil, err
		}
		cfg, catalogue = c, desc
		fmt.Fprintln(stderr, "infermetrics: no -config: measuring the built-in SIMULATED providers on loopback (about a minute)")
	}
	if err := applyOverrides(cfg, o); err != nil {
		return nil, err
	}
	loads := make([]Load, len(cfg.Loads))
	for i, s := range cfg.Loads {
		loads[i], _ = parseLoad(s) // checked by check
	}
	planned := map[string]int{}
	total := 0
	for _, t := range cfg.Targets {
		for range cfg.Scenarios {
			for _, l := range loads {
				w, n := plannedAttempts(cfg, l)
				planned[t.Name] += (w + n) * cfg.Windows
			}
		}
		total += planned[t.Name]
	}
	if o.dryRun {
		fmt.Fprintf(stdout, "plan: %d targets × %d scenarios × %d loads × %d windows: %d attempts (capped at %d)\n",
			len(cfg.Targets), len(cfg.Scenarios), len(loads), cfg.Windows, total, cfg.MaxRequests)
		return nil, nil
	}

	started := now()
	id := newRunID(started)
	out := o.out
	if out == "" {
		out = "bench-" + started.UTC().Format("20060102-150405")
	}
	if _, err := os.Stat(filepath.Join(out, "trials.jsonl")); err == nil {
		return nil, fmt.Errorf("%s already holds a run (trials.jsonl); choose another -out, or use report to re-render it", out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}

	tel, err := setupTelemetry(ctx)
	if err != nil {
		return nil, err
	}
	// The runtime's settings hold while requests run, not while the report
	// is computed and drawn (which needs more memory and no latency).
	restore := func() {}
	if o.tuneRuntime {
		restore = sync.OnceFunc(tuneRuntime())
	}
	defer restore()
	info := &RunInfo{
		Schema: runSchema, ID: id, Simulated: cfg.Simulated, Config: cfg, Catalogue: catalogue,
		Versions: versions(), Host: host(), Started: started, Method: percentileMethod,
		Prices: pricesUsed(cfg, nil), Telemetry: tel.describe,
	}
	if err := writeJSON(filepath.Join(out, "run.json"), info); err != nil {
		return nil, err
	}
	stop, cancel := context.WithTimeout(ctx, time.Duration(cfg.MaxDuration))
	defer cancel()
	prog := o.progress
	switch {
	case prog != nil:
	case o.quiet:
		prog = quiet{}
	default:
		names := make([]string, len(cfg.Targets))
		for i, t := range cfg.Targets {
			names[i] = t.Name
		}
		prog = newProgress(stderr, names, planned)
	}
	rec, err := newRecorder(filepath.Join(out, "trials.jsonl"), func(t *Trial) { prog.done(t.Target, t) })
	if err != nil {
		prog.finish()
		return nil, err
	}
	r := &runner{cfg: cfg, runID: id, rec: rec, prog: prog, stop: stop,
		telemetry: tel.options, transport: o.transport, before: o.before}
	quiet := context.AfterFunc(ctx, func() {
		fmt.Fprintln(stderr, "\ninfermetrics: interrupted: stopping, keeping every attempt measured so far")
	})
	runErr := r.run(cfg.Targets, loads)
	restore()
	quiet()
	prog.finish()
	recErr := rec.close()
	tel.shutdown()
	if runErr != nil {
		return nil, runErr
	}

	ended := now()
	info.Ended = &ended
	info.Interrupted = ctx.Err() != nil
	switch {
	case info.Interrupted:
	case stop.Err() != nil:
		info.Capped = "max_duration"
	case r.capped.Load():
		info.Capped = "max_requests"
	}
	trials, err := readTrials(filepath.Join(out, "trials.jsonl"))
	if err != nil {
		return nil, err
	}
	info.Prices = pricesUsed(cfg, trials)
	if err := writeJSON(filepath.Join(out, "run.json"), info); err != nil {
		return nil, err
	}
	if recErr != nil {
		return nil, fmt.Errorf("writing trials.jsonl: %w", recErr)
	}
	s, err := report([]string{out}, out, stdout)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "infermetrics: %d attempts in %s; report in %s\n", len(trials), out, filepath.Join(out, "report.html"))
	return s, nil
}

// applyOverrides applies the command line's settings to cfg.
func applyOverrides(cfg *Config, o benchOptions) error {
	if o.trials < 0 {
		return fmt.Errorf("-trials: %d is negative", o.trials)
	}
	if o.trials > 0 {
		cfg.Trials = new(o.trials)
	}
	if o.warmups >= 0 {
		cfg.Warmups = new(o.warmups)
	}
	if o.maxRequests > 0 {
		cfg.MaxRequests = o.maxRequests
	}
	if o.maxDuration > 0 {
		cfg.MaxDuration = Duration(o.maxDuration)
	}
	if o.seed != 0 {
		cfg.Seed = o.seed
	}
	if o.loads != "" {
		cfg.Loads = nil
		for _, l := range strings.Split(o.loads, ",") {
			l = strings.TrimSpace(l)
			if _, err := parseLoad(l); err != nil {
				return fmt.Errorf("-loads: %w", err)
			}
			cfg.Loads = append(cfg.Loads, l)
		}
	}
	if o.targets != "" {
		want := map[string]bool{}
		for _, n := range strings.Split(o.targets, ",") {
			want[strings.TrimSpace(n)] = true
		}
		var kept []Target
		for _, t := range cfg.Targets {
			if want[t.Name] {
				kept = append(kept, t)
				delete(want, t.Name)
			}
		}
		for n := range want {
			return fmt.Errorf("-targets: no target named %q", n)
		}
		cfg.Targets = kept
	}
	return nil
}
