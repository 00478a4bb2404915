package main

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// A chartFile is a chart written to the charts folder, as name.svg and
// name.png.
type chartFile struct {
	Name, Title, Caption string
	SVG                  string // the SVG document without its XML prolog, for inlining
}

// Colours: a palette that stays apart for colour-blind readers (Okabe and
// Ito), and the availability colours.
var (
	palette = []color.Color{
		color.RGBA{0, 114, 178, 255},   // blue
		color.RGBA{213, 94, 0, 255},    // vermillion
		color.RGBA{0, 158, 115, 255},   // green
		color.RGBA{204, 121, 167, 255}, // purple
		color.RGBA{230, 159, 0, 255},   // orange
		color.RGBA{86, 180, 233, 255},  // sky
		color.RGBA{120, 120, 120, 255}, // grey
		color.RGBA{0, 0, 0, 255},       // black
	}
	availColour = map[string]color.Color{
		"ok":          color.RGBA{0, 158, 115, 255},
		"erratic":     color.RGBA{230, 159, 0, 255},
		"unavailable": color.RGBA{213, 94, 0, 255},
		"not_offered": color.RGBA{170, 170, 170, 255},
		"no_data":     color.RGBA{220, 220, 220, 255},
	}
	glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}}
)

// targetRow is one target's place in the per-target charts: targets
// grouped by model, in plan order within a model.
type targetRow struct {
	target, model, provider string
	label                   string
}

// targetRows lists the targets of s grouped by model.
func targetRows(s *Summary) []targetRow {
	var rows []targetRow
	seen := map[string]bool{}
	models := map[string]int{}
	for _, c := range s.Cells {
		if seen[c.Target] {
			continue
		}
		seen[c.Target] = true
		if _, ok := models[c.Model]; !ok {
			models[c.Model] = len(models)
		}
		label := c.Target
		if !strings.Contains(c.Target, c.Model) {
			label += " (" + c.Model + ")"
		}
		rows = append(rows, targetRow{c.Target, c.Model, c.Provider, label})
	}
	slices.SortStableFunc(rows, func(a, b targetRow) int { return cmp.Compare(models[a.model], models[b.model]) })
	return rows
}

// reference returns a target's reference cell for per-target charts: its
// sequential cell (the article's method) for the first scenario, else its
// cell of least concurrency, else its first.
func reference(s *Summary, target string) *Cell {
	var best *Cell
	for i := range s.Cells {
		c := &s.Cells[i]
		if c.Target != target {
			continue
		}
		switch {
		case best == nil:
			best = c
		case c.Scenario != best.Scenario:
		case best.Concurrency == nil && c.Concurrency != nil,
			best.Concurrency != nil && c.Concurrency != nil && *c.Concurrency < *best.Concurrency && c.LoadKind != "burst":
			best = c
		}
	}
	return best
}

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// A series is one set of points of a dot chart: a value per row.
type series struct {
	name   string
	values []float64 // NaN: no point
}

// dotChart draws rows (top to bottom) against a value axis, one glyph a
// series, optionally joined per row from the least to the greatest value.
func dotChart(title, xLabel string, rows []string, ss []series, logX, join bool) *plot.Plot {
	p := newPlot(title)
	p.X.Label.Text = xLabel
	n := len(rows)
	names := make([]string, n)
	for i, r := range rows {
		names[n-1-i] = r
	}
	p.NominalY(names...)
	p.Y.Tick.Label.Font.Size = vg.Points(8)
	any := false
	if join {
		for i := range rows {
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, s := range ss {
				if v := s.values[i]; usable(v, logX) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
			if hi > lo {
				l, _ := plotter.NewLine(plotter.XYs{{X: lo, Y: float64(n - 1 - i)}, {X: hi, Y: float64(n - 1 - i)}})
				l.Color = color.Gray{180}
				l.Width = vg.Points(2)
				p.Add(l)
			}
		}
	}
	for k, s := range ss {
		// Unjoined series sit a little apart, so equal values stay visible.
		off := 0.0
		if !join && len(ss) > 1 {
			off = 0.3 * (float64(k)/float64(len(ss)-1) - 0.5)
		}
		var pts plotter.XYs
		for i, v := range s.values {
			if usable(v, logX) {
				pts = append(pts, plotter.XY{X: v, Y: float64(n-1-i) + off})
			}
		}
		if len(pts) == 0 {
			continue
		}
		any = true
		sc, _ := plotter.NewScatter(pts)
		sc.GlyphStyle = draw.GlyphStyle{Color: palette[k%len(palette)], Radius: vg.Points(3.5), Shape: glyphs[k%len(glyphs)]}
		p.Add(sc)
		p.Legend.Add(s.name, sc)
	}
	p.Legend.Top = true
	p.Legend.Left = false
	if !any {
		noData(p)
		return p
	}
	if logX {
		logAxis(&p.X)
		p.X.Max *= 1.0 + 0.6*float64(len(ss)) // room for the legend, top right
	} else {
		p.X.Max *= 1.25
	}
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
	p.Add(plotter.NewGrid())
	return p
}

func usable(v float64, log bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!log || v > 0)
}

func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	return p
}

// noData marks an empty plot.
func noData(p *plot.Plot) {
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	l, _ := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: 0.5, Y: 0.5}}, Labels: []string{"no data"}})
	p.Add(l)
}

// logAxis makes a a log axis with labelled ticks at 1, 2 and 5 times the
// powers of ten in its range. It is called once the data are added, and
// widens a range of one value (which would otherwise reach down to 0).
func logAxis(a *plot.Axis) {
	if a.Max > 0 && (a.Min <= 0 || a.Max/a.Min < 1.2) {
		mid := a.Max
		if a.Min > 0 {
			mid = math.Sqrt(a.Min * a.Max)
		}
		a.Min, a.Max = mid/1.5, mid*1.5
	}
	a.Scale = plot.LogScale{}
	a.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		if !(min > 0) || math.IsInf(min, 0) || math.IsInf(max, 0) || !(max >= min) {
			return nil
		}
		var ticks []plot.Tick
		for e := math.Floor(math.Log10(min)) - 1; e <= math.Ceil(math.Log10(max)); e++ {
			for _, m := range []float64{1, 2, 5} {
				v := m * math.Pow(10, e)
				if v < min*0.999 || v > max*1.001 {
					continue
				}
				ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 3, 64)})
			}
			for m := 1.0; m < 10; m++ {
				if v := m * math.Pow(10, e); v >= min && v <= max && m != 1 && m != 2 && m != 5 {
					ticks = append(ticks, plot.Tick{Value: v})
				}
			}
		}
		if len(ticks) < 2 {
			ticks = append(ticks, plot.Tick{Value: min, Label: strconv.FormatFloat(min, 'g', 3, 64)},
				plot.Tick{Value: max, Label: strconv.FormatFloat(max, 'g', 3, 64)})
		}
		return ticks
	})
	// Leave room around the points.
	a.Padding = vg.Points(6)
}

// chartHeight is the height of a per-target chart.
func chartHeight(rows int) vg.Length {
	return vg.Length(math.Max(3, 1.4+0.28*float64(rows))) * vg.Inch
}

// writeCharts draws the report's charts into dir, as SVG and PNG.
func writeCharts(dir string, s *Summary) ([]chartFile, error) {
	rows := targetRows(s)
	labels := make([]string, len(rows))
	refs := make([]*Cell, len(rows))
	for i, r := range rows {
		labels[i] = r.label
		refs[i] = reference(s, r.target)
	}
	per := func(f func(c *Cell) float64) []float64 {
		v := make([]float64, len(rows))
		for i, c := range refs {
			v[i] = math.NaN()
			if c != nil {
				v[i] = f(c)
			}
		}
		return v
	}
	sim := ""
	if s.Simulated {
		sim = " (SIMULATED)"
	}
	h := chartHeight(len(rows))
	var out []chartFile
	add := func(name, title, caption string, draw func() (drawer, vg.Length, vg.Length)) (err error) {
		defer func() {
			// gonum panics on data it cannot draw; a chart lost must not
			// lose the rest of the report.
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		d, w, hh := draw()
		svg, err := save(dir, name, d, w, hh)
		if err != nil {
			return err
		}
		out = append(out, chartFile{Name: name, Title: title, Caption: caption, SVG: svg})
		return nil
	}
	type chart struct {
		name, title, caption string
		draw                 func() (drawer, vg.Length, vg.Length)
	}
	charts := []chart{
		{"ttft-p50-p95", "TTFT: p50 against p95", "Time to first token of each target's reference cell (sequential where run), grouped by model; log scale. The gap from dot to square is how unsteady the first token is: a wide gap means a p50 that promises what the tail does not keep.",
			func() (drawer, vg.Length, vg.Length) {
				return single(dotChart("TTFT p50 and p95 per target"+sim, "seconds (log scale)", labels, []series{
					{"p50", per(func(c *Cell) float64 { return val(c.TTFT.P50) })},
					{"p95", per(func(c *Cell) float64 { return val(c.TTFT.P95) })},
				}, true, true)), 8 * vg.Inch, h
			}},
		{"availability", "Availability and reliability", "Each model (row) at each provider (column), all loads pooled: the success rate, and the commonest error type. Grey: the provider does not offer the model (404 model_not_found).",
			func() (drawer, vg.Length, vg.Length) { return availabilityChart(s, sim) }},
		{"cost-per-useful", "Cost per useful answer", "All attempts' cost divided by the useful answers, in US dollars, per model and provider, from the reference cell; log scale. Failed, truncated and empty answers raise it.",
			func() (drawer, vg.Length, vg.Length) {
				return single(dotChart("Cost per useful answer"+sim, "US dollars (log scale)", labels, []series{
					{"cost per useful answer", per(func(c *Cell) float64 { return val(c.CostPerUseful) })},
					{"cost per call", per(func(c *Cell) float64 { return val(c.CostPerCall) })},
				}, true, true)), 8 * vg.Inch, h
			}},
		{"e2e-tail", "End-to-end tail", "End-to-end duration at p50, p95 and p99 per target, from the reference cell; log scale.",
			func() (drawer, vg.Length, vg.Length) {
				return single(dotChart("End-to-end duration: p50, p95, p99"+sim, "seconds (log scale)", labels, []series{
					{"p50", per(func(c *Cell) float64 { return val(c.E2E.P50) })},
					{"p95", per(func(c *Cell) float64 { return val(c.E2E.P95) })},
					{"p99", per(func(c *Cell) float64 { return val(c.E2E.P99) })},
				}, true, true)), 8 * vg.Inch, h
			}},
		{"concurrency", "Throughput and TTFT p95 against concurrency", "Left: output tokens per second of wall time; right: TTFT p95; each against the requests in flight (sequential is 1). A target that degrades gracefully gains throughput while its p95 stays flat.",
			func() (drawer, vg.Length, vg.Length) { return concurrencyChart(s, rows, sim) }},
		{"cold-burst", "Cold start and burst against warm", "TTFT p50 when warm (the reference cell), after idling (cold=D) and when N requests arrive at once (burst=N); log scale.",
			func() (drawer, vg.Length, vg.Length) { return coldBurstChart(s, rows, labels, sim, h) }},
		{"windows", "TTFT across windows", "TTFT p50 of the reference cell in each window of time (of each run, when folders are merged): a spread between windows is drift over time that one window would hide.",
			func() (drawer, vg.Length, vg.Length) { return windowsChart(refs, labels, sim, h) }},
		{"fidelity", "Fidelity and operational fit", "Fidelity flags per 100 measured attempts, all loads pooled: truncated and empty answers, reasoning that exhausted the budget, parameters ignored, usage that does not add up, a model other than the one asked for.",
			func() (drawer, vg.Length, vg.Length) { return fidelityChart(s, rows, labels, sim, h) }},
	}
	for _, c := range charts {
		if err := add(c.name, c.title, c.caption, c.draw); err != nil {
			return nil, fmt.Errorf("chart %s: %w", c.name, err)
		}
	}
	return out, nil
}

// A drawer draws a chart onto a canvas.
type drawer func(draw.Canvas)

func single(p *plot.Plot) drawer { return p.Draw }

// writePNG turns the PNG charts on; tests that do not look at them turn
// it off, as rasterizing is slow under the race detector.
var writePNG = true

// save writes name.svg and name.png and returns the SVG without its XML
// prolog.
func save(dir, name string, d drawer, w, h vg.Length) (string, error) {
	sc := vgsvg.New(w, h)
	d(draw.New(sc))
	var buf bytes.Buffer
	if _, err := sc.WriteTo(&buf); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".svg"), buf.Bytes(), 0o644); err != nil {
		return "", err
	}
	svg := buf.String()
	if i := strings.Index(svg, "<svg"); i >= 0 {
		svg = svg[i:]
	}
	if !writePNG {
		return svg, nil
	}
	ic := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))}
	d(draw.New(ic))
	f, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		return "", err
	}
	if _, err := ic.WriteTo(f); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return svg, nil
}

// pooled sums a target's cells: measured attempts, successes, errors,
// flags.
type pooled struct {
	trials, succeeded int
	errors, flags     map[string]int
}

func pool(s *Summary, target string) pooled {
	p := pooled{errors: map[string]int{}, flags: map[string]int{}}
	for _, c := range s.Cells {
		if c.Target != target {
			continue
		}
		p.trials += c.Trials
		p.succeeded += c.Succeeded
		for k, v := range c.Errors {
			p.errors[k] += v
		}
		for k, v := range c.Flags {
			p.flags[k] += v
		}
	}
	return p
}

// commonest returns the key with the largest count, ties by name.
func commonest(m map[string]int) (string, int) {
	best, n := "", 0
	for k, v := range m {
		if v > n || v == n && k < best {
			best, n = k, v
		}
	}
	return best, n
}

func availabilityChart(s *Summary, sim string) (drawer, vg.Length, vg.Length) {
	rows := targetRows(s)
	// A row a model; a second target for the same model and provider
	// (other extra fields, say) gets a row of its own, named after it.
	var models, providers []string
	rowOf := map[string]string{}
	pairs := map[string]bool{}
	for _, r := range rows {
		key := r.model
		if pair := r.model + "\x00" + r.provider; pairs[pair] {
			key = r.target
		} else {
			pairs[pair] = true
		}
		rowOf[r.target] = key
		if !slices.Contains(models, key) {
			models = append(models, key)
		}
		if !slices.Contains(providers, r.provider) {
			providers = append(providers, r.provider)
		}
	}
	p := newPlot("Availability: success rate and errors, model × provider" + sim)
	p.NominalX(providers...)
	names := make([]string, len(models))
	for i, m := range models {
		names[len(models)-1-i] = m
	}
	p.NominalY(names...)
	p.X.Tick.Label.Font.Size = vg.Points(8)
	p.X.Tick.Label.Rotation = 0
	var lx plotter.XYLabels
	for _, r := range rows {
		x := float64(slices.Index(providers, r.provider))
		y := float64(len(models) - 1 - slices.Index(models, rowOf[r.target]))
		pl := pool(s, r.target)
		state := availability(pl.trials, pl.succeeded, pl.errors)
		sc, _ := plotter.NewScatter(plotter.XYs{{X: x, Y: y}})
		sc.GlyphStyle = draw.GlyphStyle{Color: availColour[state], Radius: vg.Points(20), Shape: draw.BoxGlyph{}}
		p.Add(sc)
		text := "not offered"
		if state != "not_offered" {
			text = strconv.FormatFloat(100*float64(pl.succeeded)/math.Max(1, float64(pl.trials)), 'f', 0, 64) + "%"
			if e, n := commonest(pl.errors); n > 0 {
				text += "\n" + e + " ×" + strconv.Itoa(n)
			}
		}
		lx.XYs = append(lx.XYs, plotter.XY{X: x, Y: y})
		lx.Labels = append(lx.Labels, text)
	}
	if len(lx.XYs) > 0 {
		l, _ := plotter.NewLabels(lx)
		for i := range l.TextStyle {
			l.TextStyle[i].Font.Size = vg.Points(7)
			l.TextStyle[i].XAlign = draw.XCenter
			l.TextStyle[i].YAlign = draw.YCenter
		}
		p.Add(l)
	}
	for _, st := range []string{"ok", "erratic", "unavailable", "not_offered"} {
		sc, _ := plotter.NewScatter(plotter.XYs{})
		sc.GlyphStyle = draw.GlyphStyle{Color: availColour[st], Radius: vg.Points(4), Shape: draw.BoxGlyph{}}
		p.Legend.Add(strings.ReplaceAll(st, "_", " "), sc)
	}
	p.Legend.Top = true
	p.X.Min, p.X.Max = -0.5, float64(len(providers))+0.3 // the last column holds the legend
	p.Y.Min, p.Y.Max = -0.5, float64(len(models))-0.5
	w := vg.Length(math.Max(6, 2.5+1.2*float64(len(providers)))) * vg.Inch
	h := vg.Length(math.Max(3, 1.2+0.75*float64(len(models)))) * vg.Inch
	return single(p), w, h
}

func concurrencyChart(s *Summary, rows []targetRow, sim string) (drawer, vg.Length, vg.Length) {
	thr := newPlot("Throughput against concurrency" + sim)
	thr.X.Label.Text = "requests in flight (log scale)"
	thr.Y.Label.Text = "output tokens/s of wall time"
	p95 := newPlot("TTFT p95 against concurrency" + sim)
	p95.X.Label.Text = "requests in flight (log scale)"
	p95.Y.Label.Text = "seconds (log scale)"
	anyT, anyP := false, false
	k := 0
	for _, r := range rows {
		var pt, pp plotter.XYs
		for _, c := range s.Cells {
			if c.Target != r.target || c.Concurrency == nil || (c.LoadKind != "sequential" && c.LoadKind != "concurrency") {
				continue
			}
			x := float64(*c.Concurrency)
			if v := val(c.Throughput); usable(v, false) && c.Succeeded > 0 {
				pt = append(pt, plotter.XY{X: x, Y: v})
			}
			if v := val(c.TTFT.P95); usable(v, true) {
				pp = append(pp, plotter.XY{X: x, Y: v})
			}
		}
		if len(pt) < 1 && len(pp) < 1 {
			continue
		}
		style := func(l *plotter.Line, sc *plotter.Scatter) {
			l.Color = palette[k%len(palette)]
			l.Width = vg.Points(1.2)
			if k >= len(palette) {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: palette[k%len(palette)], Radius: vg.Points(2.5), Shape: glyphs[(k/len(palette))%len(glyphs)]}
		}
		sort := func(xy plotter.XYs) { slices.SortFunc(xy, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) }) }
		if len(pt) > 0 {
			sort(pt)
			l, sc, _ := plotter.NewLinePoints(pt)
			style(l, sc)
			thr.Add(l, sc)
			thr.Legend.Add(r.label, l, sc)
			anyT = true
		}
		if len(pp) > 0 {
			sort(pp)
			l, sc, _ := plotter.NewLinePoints(pp)
			style(l, sc)
			p95.Add(l, sc)
			anyP = true
		}
		k++
	}
	for _, pl := range []struct {
		p   *plot.Plot
		any bool
		log bool
	}{{thr, anyT, false}, {p95, anyP, true}} {
		if !pl.any {
			noData(pl.p)
			continue
		}
		logAxis(&pl.p.X)
		if pl.log {
			logAxis(&pl.p.Y)
		}
		pl.p.Add(plotter.NewGrid())
	}
	thr.Legend.Top, thr.Legend.Left = true, true
	thr.Legend.TextStyle.Font.Size = vg.Points(6.5)
	w, h := 12*vg.Inch, 5*vg.Inch
	return func(c draw.Canvas) {
		tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(10), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
		cs := plot.Align([][]*plot.Plot{{thr, p95}}, tiles, c)
		thr.Draw(cs[0][0])
		p95.Draw(cs[0][1])
	}, w, h
}

func coldBurstChart(s *Summary, rows []targetRow, labels []string, sim string, h vg.Length) (drawer, vg.Length, vg.Length) {
	warm := make([]float64, len(rows))
	var extra []series
	idx := map[string]int{}
	for i, r := range rows {
		warm[i] = math.NaN()
		for _, c := range s.Cells {
			if c.Target != r.target || (c.LoadKind != "cold" && c.LoadKind != "burst") {
				continue
			}
			if c.WarmTTFTP50 != nil {
				warm[i] = *c.WarmTTFTP50
			}
			k, ok := idx[c.Load]
			if !ok {
				k = len(extra)
				idx[c.Load] = k
				extra = append(extra, series{name: c.Load + " p50", values: nans(len(rows))})
			}
			extra[k].values[i] = val(c.TTFT.P50)
		}
	}
	ss := append([]series{{"warm p50", warm}}, extra...)
	return single(dotChart("TTFT: cold start and burst against warm"+sim, "seconds (log scale)", labels, ss, true, true)), 8 * vg.Inch, h
}

func nans(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

func windowsChart(refs []*Cell, labels []string, sim string, h vg.Length) (drawer, vg.Length, vg.Length) {
	var ss []series
	for i, c := range refs {
		if c == nil {
			continue
		}
		for k, w := range c.Windows {
			for len(ss) <= k {
				ss = append(ss, series{name: "window " + strconv.Itoa(len(ss)+1), values: nans(len(refs))})
			}
			ss[k].values[i] = val(w.TTFTP50)
		}
	}
	return single(dotChart("TTFT p50 in each window"+sim, "seconds (log scale)", labels, ss, true, true)), 8 * vg.Inch, h
}

func fidelityChart(s *Summary, rows []targetRow, labels []string, sim string, h vg.Length) (drawer, vg.Length, vg.Length) {
	var names []string
	pools := make([]pooled, len(rows))
	for i, r := range rows {
		pools[i] = pool(s, r.target)
		for f := range pools[i].flags {
			if !slices.Contains(names, f) {
				names = append(names, f)
			}
		}
	}
	slices.Sort(names)
	var ss []series
	for _, f := range names {
		v := nans(len(rows))
		for i, p := range pools {
			if p.trials > 0 {
				v[i] = 100 * float64(p.flags[f]) / float64(p.trials)
			}
			if p.flags[f] == 0 {
				v[i] = math.NaN()
			}
		}
		ss = append(ss, series{name: strings.ReplaceAll(f, "_", " "), values: v})
	}
	p := dotChart("Fidelity flags per 100 attempts"+sim, "flags per 100 measured attempts", labels, ss, false, false)
	if len(ss) > 0 {
		p.X.Min = 0
	}
	return single(p), 8 * vg.Inch, h
}
