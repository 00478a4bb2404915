package main

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/infermetrics/infermetrics"
)

// summarySchema names the format of summary.json.
const summarySchema = "infermetrics.bench/v1"

// A Summary is summary.json: the figures of every cell.
type Summary struct {
	Schema    string   `json:"schema"`
	Simulated bool     `json:"simulated"`
	Runs      []string `json:"runs"`
	Method    string   `json:"percentile_method"`
	Cells     []Cell   `json:"cells"`
}

// A Cell holds the figures of one target × scenario × load, pooled over
// windows and over runs. Warmups and interrupted attempts are never in
// them.
type Cell struct {
	Target   string `json:"target"`
	Model    string `json:"model"`
	Provider string `json:"provider"`
	Scenario string `json:"scenario"`
	// API is the API the scenario called (Call.API): chat_completions or
	// responses.
	API         string `json:"api"`
	Load        string `json:"load"`
	LoadKind    string `json:"load_kind"`
	Concurrency *int   `json:"concurrency"`
	Simulated   bool   `json:"simulated"`

	// Trials counts the measured attempts; Succeeded those that ended
	// without error with a 2xx status; Useful those with a complete
	// answer ([infermetrics.Call.Useful]).
	Trials      int     `json:"trials"`
	Succeeded   int     `json:"succeeded"`
	Useful      int     `json:"useful"`
	SuccessRate float64 `json:"success_rate"`
	UsefulRate  float64 `json:"useful_rate"`
	Warmups     int     `json:"warmups"`
	Interrupted int     `json:"interrupted"`
	// Availability is ok, erratic, unavailable, not_offered or no_data;
	// see availability.
	Availability string `json:"availability"`

	TTFT      Quantiles `json:"ttft_s"`
	TTFA      Quantiles `json:"ttfa_s"`
	E2E       Quantiles `json:"e2e_s"`
	OutputTPS Quantiles `json:"output_tokens_per_s"`
	// Throughput is output tokens per second of wall time: all measured
	// attempts' output tokens over the time from the first one's
	// scheduled start to the last one's end, summed over windows and runs.
	Throughput *float64 `json:"throughput_tokens_per_s"`

	PriceKnown     bool     `json:"price_known"`
	CostTotal      *float64 `json:"cost_total_usd"`
	CostPerCall    *float64 `json:"cost_per_call_usd"`
	CostPerUseful  *float64 `json:"cost_per_useful_usd"`
	Wasted         *float64 `json:"wasted_usd"`
	ReasoningShare *float64 `json:"reasoning_share"`

	Flags      map[string]int `json:"flags"`
	Errors     map[string]int `json:"errors"`
	HarnessLag Spread         `json:"harness_lag_s"`

	// WarmTTFTP50 is, for cold and burst cells, the TTFT p50 of the same
	// target and scenario when warm: its sequential cell, else its cell
	// of least concurrency.
	WarmTTFTP50 *float64 `json:"warm_ttft_p50_s"`

	// Windows holds the TTFT figures of each window (of each run), in
	// order of time.
	Windows []WindowFigure `json:"windows"`
}

// A WindowFigure is one window's TTFT in a cell.
type WindowFigure struct {
	Run     string   `json:"run"`
	Window  int      `json:"window"`
	Start   string   `json:"start"`
	N       int      `json:"n"`
	TTFTP50 *float64 `json:"ttft_p50_s"`
	TTFTP95 *float64 `json:"ttft_p95_s"`
}

// Availability thresholds on the success rate.
const (
	availOK      = 0.99
	availErratic = 0.50
)

// availability classifies a cell: not_offered when no attempt succeeded
// and at least one was refused with model_not_found; otherwise ok when at
// least 99% of attempts succeeded, erratic from 50%, unavailable below;
// no_data when there was no measured attempt.
func availability(trials, succeeded int, errors map[string]int) string {
	switch {
	case trials == 0:
		return "no_data"
	case succeeded == 0 && errors["model_not_found"] > 0:
		return "not_offered"
	}
	rate := float64(succeeded) / float64(trials)
	switch {
	case rate >= availOK:
		return "ok"
	case rate >= availErratic:
		return "erratic"
	}
	return "unavailable"
}

type cellKey struct{ target, scenario, load string }

// order gives the position of targets, scenarios and loads in the plans
// of the runs, so that cells come out in the order they were planned.
type order struct{ targets, scenarios, loads map[string]int }

func newOrder(runs []*RunInfo) order {
	o := order{map[string]int{}, map[string]int{}, map[string]int{}}
	add := func(m map[string]int, k string) {
		if _, ok := m[k]; !ok {
			m[k] = len(m)
		}
	}
	for _, r := range runs {
		if r.Config == nil {
			continue
		}
		for _, t := range r.Config.Targets {
			add(o.targets, t.Name)
		}
		for _, s := range r.Config.Scenarios {
			add(o.scenarios, s.Name)
		}
		for _, l := range r.Config.Loads {
			add(o.loads, l)
		}
	}
	return o
}

func (o order) pos(m map[string]int, k string) int {
	if i, ok := m[k]; ok {
		return i
	}
	return len(m)
}

// summarize computes the figures of every cell from the trials of one or
// more runs. It is the only place figures are made, so a report over
// merged folders and a fresh bench agree by construction.
func summarize(runs []*RunInfo, trials []Trial) *Summary {
	s := &Summary{Schema: summarySchema, Method: percentileMethod, Runs: []string{}, Cells: []Cell{}}
	for _, r := range runs {
		s.Runs = append(s.Runs, r.ID)
		s.Simulated = s.Simulated || r.Simulated
	}
	groups := map[cellKey][]*Trial{}
	var keys []cellKey
	for i := range trials {
		t := &trials[i]
		k := cellKey{t.Target, t.Scenario, t.Load}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], t)
		s.Simulated = s.Simulated || t.Simulated
	}
	o := newOrder(runs)
	slices.SortStableFunc(keys, func(a, b cellKey) int {
		return cmp.Or(
			cmp.Compare(o.pos(o.targets, a.target), o.pos(o.targets, b.target)),
			strings.Compare(a.target, b.target),
			cmp.Compare(o.pos(o.scenarios, a.scenario), o.pos(o.scenarios, b.scenario)),
			strings.Compare(a.scenario, b.scenario),
			cmp.Compare(o.pos(o.loads, a.load), o.pos(o.loads, b.load)),
			strings.Compare(a.load, b.load))
	})
	for _, k := range keys {
		s.Cells = append(s.Cells, cellFigures(k, groups[k]))
	}
	warmReference(s.Cells)
	return s
}

// cellFigures computes one cell's figures.
func cellFigures(k cellKey, trials []*Trial) Cell {
	c := Cell{
		Target: k.target, Scenario: k.scenario, Load: k.load,
		Flags: map[string]int{}, Errors: map[string]int{}, Windows: []WindowFigure{},
	}
	if l, err := parseLoad(k.load); err == nil {
		c.LoadKind = l.Kind
		if l.Concurrency > 0 && l.Kind != "cold" {
			c.Concurrency = new(l.Concurrency)
		}
	}
	var ttft, ttfa, e2e, tps, lag []float64
	var cost, wasted float64
	var outTokens, reasoning int64
	type seg struct {
		run    string
		window int
	}
	segs := map[seg][]*Trial{}
	var segKeys []seg
	for _, t := range trials {
		c.Model = cmp.Or(c.Model, t.Model)
		c.Provider = cmp.Or(c.Provider, t.Call.Provider)
		c.API = cmp.Or(c.API, t.Call.API)
		c.Simulated = c.Simulated || t.Simulated
		switch {
		case t.Warmup:
			c.Warmups++
			continue
		case t.Interrupted:
			c.Interrupted++
			continue
		}
		c.Trials++
		sk := seg{t.Run, t.Window}
		if _, ok := segs[sk]; !ok {
			segKeys = append(segKeys, sk)
		}
		segs[sk] = append(segs[sk], t)
		lag = append(lag, t.HarnessLag)
		for _, f := range t.Call.Flags {
			c.Flags[f]++
		}
		if t.Call.ErrorType != "" {
			c.Errors[t.Call.ErrorType]++
		}
		if t.Call.PriceKnown {
			c.PriceKnown = true
			cost += t.Call.Cost.Total
			if !t.Useful {
				wasted += t.Call.Cost.Total
			}
		}
		outTokens += t.Call.OutputTokens
		reasoning += t.Call.ReasoningTokens
		if t.Useful {
			c.Useful++
		}
		if !t.Succeeded() {
			continue
		}
		c.Succeeded++
		e2e = append(e2e, t.Call.Duration)
		if t.Call.TimeToFirstToken > 0 {
			ttft = append(ttft, t.Call.TimeToFirstToken)
		}
		if t.Call.TimeToFirstAnswer > 0 {
			ttfa = append(ttfa, t.Call.TimeToFirstAnswer)
		}
		if t.Call.OutputTokensPerSecond > 0 {
			tps = append(tps, t.Call.OutputTokensPerSecond)
		}
	}
	c.TTFT, c.TTFA, c.E2E, c.OutputTPS = quantiles(ttft), quantiles(ttfa), quantiles(e2e), quantiles(tps)
	c.HarnessLag = spread(lag)
	c.Availability = availability(c.Trials, c.Succeeded, c.Errors)
	if c.Trials > 0 {
		c.SuccessRate = float64(c.Succeeded) / float64(c.Trials)
		c.UsefulRate = float64(c.Useful) / float64(c.Trials)
	}
	if c.PriceKnown && c.Trials > 0 {
		c.CostTotal = new(cost)
		c.CostPerCall = new(cost / float64(c.Trials))
		c.Wasted = new(wasted)
		if c.Useful > 0 {
			c.CostPerUseful = new(cost / float64(c.Useful))
		}
	}
	if outTokens > 0 {
		c.ReasoningShare = new(float64(reasoning) / float64(outTokens))
	}

	// Throughput and windows, segment by segment in order of time.
	slices.SortFunc(segKeys, func(a, b seg) int {
		return segs[a][0].Scheduled.Compare(segs[b][0].Scheduled)
	})
	var wall float64
	for _, sk := range segKeys {
		ts := segs[sk]
		first, last := ts[0].Scheduled, ts[0].End
		var w []float64
		for _, t := range ts {
			if t.Scheduled.Before(first) {
				first = t.Scheduled
			}
			if t.End.After(last) {
				last = t.End
			}
			if t.Succeeded() && t.Call.TimeToFirstToken > 0 {
				w = append(w, t.Call.TimeToFirstToken)
			}
		}
		wall += last.Sub(first).Seconds()
		q := quantiles(w)
		c.Windows = append(c.Windows, WindowFigure{
			Run: sk.run, Window: sk.window, Start: first.UTC().Format(time.RFC3339),
			N: q.N, TTFTP50: q.P50, TTFTP95: q.P95,
		})
	}
	if wall > 0 {
		c.Throughput = new(float64(outTokens) / wall)
	}
	// Trials recorded before the command spoke the Responses API say no
	// API: they were chat completions.
	c.API = cmp.Or(c.API, infermetrics.APIChatCompletions)
	return c
}

// warmReference sets WarmTTFTP50 on cold and burst cells.
func warmReference(cells []Cell) {
	for i := range cells {
		c := &cells[i]
		if c.LoadKind != "cold" && c.LoadKind != "burst" {
			continue
		}
		var best *Cell
		for j := range cells {
			w := &cells[j]
			if w.Target != c.Target || w.Scenario != c.Scenario || w.TTFT.P50 == nil {
				continue
			}
			if w.LoadKind != "sequential" && w.LoadKind != "concurrency" {
				continue
			}
			if best == nil || *w.Concurrency < *best.Concurrency {
				best = w
			}
		}
		if best != nil {
			c.WarmTTFTP50 = best.TTFT.P50
		}
	}
}
