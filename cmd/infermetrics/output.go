package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infermetrics/infermetrics"
)

// runSchema names the format of run.json.
const runSchema = "infermetrics.bench.run/v1"

// A RunInfo is run.json: what was run, with what, when.
type RunInfo struct {
	Schema    string  `json:"schema"`
	ID        string  `json:"id"`
	Simulated bool    `json:"simulated"`
	Config    *Config `json:"config"`
	// Catalogue describes the simulated providers, for a simulated run.
	Catalogue []SimulatedTarget `json:"simulated_catalogue,omitempty"`
	Versions  Versions          `json:"versions"`
	Host      Host              `json:"host"`
	Started   time.Time         `json:"started"`
	Ended     *time.Time        `json:"ended"`
	// Interrupted is set when Ctrl-C stopped the run; Capped when
	// max_requests or max_duration did.
	Interrupted bool                 `json:"interrupted"`
	Capped      string               `json:"capped,omitempty"`
	Prices      map[string]PriceUsed `json:"prices"`
	Method      string               `json:"percentile_method"`
	Telemetry   string               `json:"telemetry"`
}

// Versions are those of the software that measured.
type Versions struct {
	Library string `json:"library"`
	Go      string `json:"go"`
	OpenAI  string `json:"openai_go"`
	Command string `json:"command"`
}

// Host describes the machine that ran the benchmark.
type Host struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
	// GOMAXPROCS and GOGC are the Go runtime's settings for the run
	// (GOGC -1: collection off).
	GOMAXPROCS int `json:"gomaxprocs"`
	GOGC       int `json:"gogc"`
}

// A PriceUsed is the price a target was billed at, in US dollars per
// million tokens: from the config, or the library's catalogue as the
// calls' costs show it; unknown when neither had one.
type PriceUsed struct {
	Source      string   `json:"source"`
	Input       *float64 `json:"input"`
	CachedInput *float64 `json:"cached_input"`
	Output      *float64 `json:"output"`
}

func host() Host {
	return Host{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GOGC: gcPercent()}
}

func versions() Versions {
	v := Versions{Library: infermetrics.Version, Go: runtime.Version(), OpenAI: "unknown", Command: "devel"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v.Command = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/openai/openai-go/v3" {
				v.OpenAI = d.Version
			}
		}
	}
	return v
}

// pricesUsed works out each target's price from the config or, for the
// catalogue's, from the cost and tokens of its calls.
func pricesUsed(cfg *Config, trials []Trial) map[string]PriceUsed {
	out := map[string]PriceUsed{}
	for _, t := range cfg.Targets {
		if p := t.Price; p != nil {
			out[t.Name] = PriceUsed{Source: "config", Input: new(p.Input), CachedInput: new(p.CachedInput), Output: new(p.Output)}
			continue
		}
		out[t.Name] = PriceUsed{Source: "unknown"}
	}
	for _, t := range trials {
		p, ok := out[t.Target]
		if !ok || p.Source == "config" {
			continue
		}
		c := t.Call
		if !c.PriceKnown {
			continue
		}
		p.Source = "catalogue"
		if n := c.InputTokens - c.CachedInputTokens - c.CacheWriteInputTokens; n > 0 && p.Input == nil {
			p.Input = new(roundRate(c.Cost.Input / float64(n) * 1e6))
		}
		if c.CachedInputTokens > 0 && p.CachedInput == nil {
			p.CachedInput = new(roundRate(c.Cost.CachedInput / float64(c.CachedInputTokens) * 1e6))
		}
		if c.OutputTokens > 0 && p.Output == nil {
			p.Output = new(roundRate(c.Cost.Output / float64(c.OutputTokens) * 1e6))
		}
		out[t.Target] = p
	}
	return out
}

// roundRate rounds a price worked out from a cost to 6 significant digits,
// dropping floating-point noise.
func roundRate(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	return f
}

// writeJSON writes v, indented, to path.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// loadFolder reads a bench folder: run.json (optional: a folder may hold
// only trials.jsonl) and trials.jsonl.
func loadFolder(dir string) (*RunInfo, []Trial, error) {
	trials, err := readTrials(filepath.Join(dir, "trials.jsonl"))
	if err != nil {
		return nil, nil, err
	}
	var run RunInfo
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		run.ID = filepath.Base(dir)
		if len(trials) > 0 {
			run.ID = trials[0].Run
		}
	case err != nil:
		return nil, nil, err
	default:
		if err := json.Unmarshal(b, &run); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, "run.json"), err)
		}
	}
	return &run, trials, nil
}

// report computes the figures of the folders' trials and writes
// summary.json, summary.csv, charts and report.html to out, and the
// summary table to stdout.
func report(dirs []string, out string, stdout io.Writer) (*Summary, error) {
	var runs []*RunInfo
	var trials []Trial
	seen := map[string]bool{}
	for _, d := range dirs {
		run, ts, err := loadFolder(d)
		if err != nil {
			return nil, err
		}
		if seen[run.ID] {
			return nil, fmt.Errorf("%s: run %s is already in the report (the same folder twice?)", d, run.ID)
		}
		seen[run.ID] = true
		runs = append(runs, run)
		trials = append(trials, ts...)
	}
	s := summarize(runs, trials)
	if err := os.MkdirAll(filepath.Join(out, "charts"), 0o755); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(out, "summary.json"), s); err != nil {
		return nil, err
	}
	if err := writeCSV(filepath.Join(out, "summary.csv"), s); err != nil {
		return nil, err
	}
	charts, err := writeCharts(filepath.Join(out, "charts"), s)
	if err != nil {
		return nil, err
	}
	if err := writeHTML(filepath.Join(out, "report.html"), s, runs, charts); err != nil {
		return nil, err
	}
	writeTable(stdout, s)
	return s, nil
}

// num formats an optional figure for the CSV: empty when null.
func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// counts formats a name → count map as "a=1;b=2", sorted by name.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Itoa(m[k])
	}
	return strings.Join(parts, ";")
}

func writeCSV(path string, s *Summary) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	head := []string{"target", "model", "provider", "scenario", "load", "simulated", "trials", "succeeded", "useful",
		"success_rate", "useful_rate", "availability"}
	for _, m := range []string{"ttft_s", "ttfa_s", "e2e_s", "output_tokens_per_s"} {
		head = append(head, m+"_p50", m+"_p90", m+"_p95", m+"_p99", m+"_p50_lo", m+"_p50_hi", m+"_p95_lo", m+"_p95_hi")
	}
	head = append(head, "throughput_tokens_per_s", "cost_per_call_usd", "cost_per_useful_usd", "wasted_usd",
		"reasoning_share", "harness_lag_p50_s", "harness_lag_p99_s", "warm_ttft_p50_s", "flags", "errors", "api")
	w.Write(head)
	for _, c := range s.Cells {
		row := []string{c.Target, c.Model, c.Provider, c.Scenario, c.Load, strconv.FormatBool(c.Simulated),
			strconv.Itoa(c.Trials), strconv.Itoa(c.Succeeded), strconv.Itoa(c.Useful),
			strconv.FormatFloat(c.SuccessRate, 'g', -1, 64), strconv.FormatFloat(c.UsefulRate, 'g', -1, 64), c.Availability}
		for _, q := range []Quantiles{c.TTFT, c.TTFA, c.E2E, c.OutputTPS} {
			row = append(row, num(q.P50), num(q.P90), num(q.P95), num(q.P99), num(q.P50CI[0]), num(q.P50CI[1]), num(q.P95CI[0]), num(q.P95CI[1]))
		}
		row = append(row, num(c.Throughput), num(c.CostPerCall), num(c.CostPerUseful), num(c.Wasted),
			num(c.ReasoningShare), num(c.HarnessLag.P50), num(c.HarnessLag.P99), num(c.WarmTTFTP50), counts(c.Flags), counts(c.Errors), c.API)
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// msText formats seconds as milliseconds, "-" when null.
func msText(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v*1000, 'f', 0, 64)
}

// usdText formats US dollars, "-" when null.
func usdText(v *float64) string {
	if v == nil {
		return "-"
	}
	return "$" + strconv.FormatFloat(*v, 'g', 3, 64)
}

// writeTable prints the summary table.
func writeTable(w io.Writer, s *Summary) {
	if s.Simulated {
		fmt.Fprintln(w, "SIMULATED providers (the built-in catalogue): these figures describe no real service.")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tscenario\tload\tn\tok\tavailability\tTTFT p50 ms\tTTFT p95 ms\tE2E p95 ms\ttok/s p50\tthroughput tok/s\t$/useful\tlag p99 ms\tflags\terrors")
	for _, c := range s.Cells {
		p95 := msText(c.TTFT.P95)
		if slices.Contains(c.TTFT.Indicative, "p95") && c.TTFT.P95 != nil {
			p95 += "*"
		}
		tps := "-"
		if c.OutputTPS.P50 != nil {
			tps = strconv.FormatFloat(*c.OutputTPS.P50, 'f', 0, 64)
		}
		thr := "-"
		if c.Throughput != nil {
			thr = strconv.FormatFloat(*c.Throughput, 'f', 0, 64)
		}
		lag := "-"
		if c.HarnessLag.P99 != nil {
			lag = strconv.FormatFloat(*c.HarnessLag.P99*1000, 'f', 2, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f%%\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			c.Target, c.Scenario, c.Load, c.Trials, 100*c.SuccessRate, c.Availability,
			msText(c.TTFT.P50), p95, msText(c.E2E.P95), tps, thr, usdText(c.CostPerUseful), lag,
			orDash(counts(c.Flags)), orDash(counts(c.Errors)))
	}
	tw.Flush()
	fmt.Fprintln(w, "* indicative: too few trials for a finite 95% upper bound (a p95 needs 72).")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
