package main

import (
	"html/template"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// writeHTML writes report.html: one self-contained page, the charts as
// inline SVG, no script and nothing fetched, so it opens from disk.
func writeHTML(path string, s *Summary, runs []*RunInfo, charts []chartFile) error {
	var catalogue []SimulatedTarget
	for _, r := range runs {
		if len(r.Catalogue) > 0 {
			catalogue = r.Catalogue
		}
	}
	data := struct {
		S         *Summary
		Runs      []*RunInfo
		Charts    []chartFile
		Catalogue []SimulatedTarget
	}{s, runs, charts, catalogue}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := reportTemplate.Execute(f, data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(*v*1000, 'f', 0, 64)
	},
	"ci": func(c [2]*float64) string {
		b := func(v *float64) string {
			if v == nil {
				return "∞"
			}
			return strconv.FormatFloat(*v*1000, 'f', 0, 64)
		}
		if c[0] == nil && c[1] == nil {
			return ""
		}
		return "[" + b(c[0]) + ", " + b(c[1]) + "]"
	},
	"indicative": func(q Quantiles, p string) bool { return slices.Contains(q.Indicative, p) },
	"num": func(v *float64, prec int) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(*v, 'f', prec, 64)
	},
	"usd": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return "$" + strconv.FormatFloat(*v, 'g', 3, 64)
	},
	"pct": func(v float64) string { return strconv.FormatFloat(100*v, 'f', 0, 64) + "%" },
	"share": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(100**v, 'f', 0, 64) + "%"
	},
	"counts": func(m map[string]int) string { return strings.ReplaceAll(counts(m), ";", " ") },
	"svg":    func(s string) template.HTML { return template.HTML(s) }, // our own chart, drawn by gonum
	"time":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"timep": func(t *time.Time) string {
		if t == nil {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"lag": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(*v*1000, 'f', 2, 64)
	},
	"avail": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
}).Parse(reportHTML))

const reportHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>infermetrics bench report{{if .S.Simulated}} (simulated){{end}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0 auto; padding: 1.5em 2em 4em; max-width: 1400px; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
h2 { font-size: 1.2em; margin: 2em 0 .4em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.banner { background: #fff3cd; border: 1px solid #e0c36a; padding: .7em 1em; border-radius: 6px; margin: 1em 0; font-weight: 600; }
.meta { color: #555; font-size: .9em; }
table { border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 6px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th { background: #f5f5f7; position: sticky; top: 0; text-align: center; }
td.l, th.l { text-align: left; }
.scroll { overflow-x: auto; max-width: 100%; }
.ok { color: #007a55; } .erratic { color: #a86b00; } .unavailable { color: #b2400b; } .not_offered, .no_data { color: #888; }
.ind { color: #888; }
figure { margin: 1em 0 2em; }
figure svg { max-width: 100%; height: auto; background: #fff; }
figcaption { color: #444; max-width: 60em; }
dl dt { font-weight: 600; margin-top: .6em; }
dl dd { margin-left: 1.5em; max-width: 60em; }
code { background: #f5f5f7; padding: 0 .25em; border-radius: 3px; }
</style>
</head>
<body>
<h1>infermetrics bench report</h1>
{{if .S.Simulated}}<div class="banner">SIMULATED: these figures come from the built-in catalogue of simulated providers on loopback. They describe no real service; they show what the report looks like and how each behaviour reads.</div>{{end}}
<p class="meta">{{len .S.Cells}} cells from {{len .Runs}} run(s). Percentiles: {{.S.Method}}. Every figure is computed from <code>trials.jsonl</code>; warmups and interrupted attempts are in none of them.</p>
<div class="scroll"><table>
<tr><th class="l">run</th><th class="l">started</th><th class="l">ended</th><th class="l">library</th><th class="l">Go</th><th class="l">openai-go</th><th class="l">host</th><th class="l">note</th></tr>
{{range .Runs}}<tr><td class="l">{{.ID}}</td><td class="l">{{time .Started}}</td><td class="l">{{timep .Ended}}</td><td class="l">{{.Versions.Library}}</td><td class="l">{{.Versions.Go}}</td><td class="l">{{.Versions.OpenAI}}</td><td class="l">{{.Host.OS}}/{{.Host.Arch}}, {{.Host.CPUs}} CPUs</td><td class="l">{{if .Simulated}}simulated{{end}}{{if .Interrupted}} interrupted{{end}}{{if .Capped}} capped by {{.Capped}}{{end}}</td></tr>
{{end}}</table></div>
{{if .Catalogue}}<h2>The simulated providers</h2>
<ul>{{range .Catalogue}}<li><b>{{.Provider}}</b> ({{range $i, $m := .Models}}{{if $i}}, {{end}}{{$m}}{{end}}): {{.Behaviour}}</li>{{end}}</ul>
<p>The models: <b>gpt-4.1-nano</b>, a small instruct model (about 50 ms to the first token, 3 ms a token); <b>gpt-4.1</b>, a large dense model (120 ms, 6 ms a token); <b>o4-mini</b>, a reasoning model that thinks about 40 tokens, sometimes past the 80-token budget. Prices are the real models' list prices from the library's catalogue.</p>{{end}}

<h2>Summary</h2>
<p class="meta">Times in milliseconds. [lo, hi]: the 95% confidence interval, distribution-free; ∞ where too few trials bound it (grey values are indicative only).</p>
<div class="scroll"><table>
<tr><th class="l">target</th><th class="l">model</th><th class="l">provider</th><th class="l">scenario</th><th class="l">load</th><th>n</th><th>success</th><th>useful</th><th class="l">availability</th>
<th>TTFT p50</th><th>[95% CI]</th><th>TTFT p95</th><th>[95% CI]</th><th>TTFT p99</th><th>TTFA p50</th><th>E2E p50</th><th>E2E p95</th><th>E2E p99</th><th>tok/s p50</th><th>throughput tok/s</th>
<th>$/call</th><th>$/useful</th><th>wasted</th><th>reasoning</th><th>lag p50</th><th>lag p99</th><th class="l">flags</th><th class="l">errors</th></tr>
{{range .S.Cells}}<tr><td class="l">{{.Target}}</td><td class="l">{{.Model}}</td><td class="l">{{.Provider}}</td><td class="l">{{.Scenario}}</td><td class="l">{{.Load}}</td><td>{{.Trials}}</td><td>{{pct .SuccessRate}}</td><td>{{pct .UsefulRate}}</td><td class="l {{.Availability}}">{{avail .Availability}}</td>
<td>{{ms .TTFT.P50}}</td><td>{{ci .TTFT.P50CI}}</td><td{{if indicative .TTFT "p95"}} class="ind"{{end}}>{{ms .TTFT.P95}}</td><td>{{ci .TTFT.P95CI}}</td><td{{if indicative .TTFT "p99"}} class="ind"{{end}}>{{ms .TTFT.P99}}</td><td>{{ms .TTFA.P50}}</td>
<td>{{ms .E2E.P50}}</td><td{{if indicative .E2E "p95"}} class="ind"{{end}}>{{ms .E2E.P95}}</td><td{{if indicative .E2E "p99"}} class="ind"{{end}}>{{ms .E2E.P99}}</td><td>{{num .OutputTPS.P50 0}}</td><td>{{num .Throughput 0}}</td>
<td>{{usd .CostPerCall}}</td><td>{{usd .CostPerUseful}}</td><td>{{usd .Wasted}}</td><td>{{share .ReasoningShare}}</td><td>{{lag .HarnessLag.P50}}</td><td>{{lag .HarnessLag.P99}}</td><td class="l">{{counts .Flags}}</td><td class="l">{{counts .Errors}}</td></tr>
{{end}}</table></div>

{{range .Charts}}<h2>{{.Title}}</h2>
<figure>{{svg .SVG}}
<figcaption>{{.Caption}} (Also as <a href="charts/{{.Name}}.svg">SVG</a> and <a href="charts/{{.Name}}.png">PNG</a>.)</figcaption></figure>
{{end}}

<h2>Definitions</h2>
<dl>
<dt>cell</dt><dd>A target × scenario × load. Its figures pool every window and every merged run; warmups and attempts cut short by Ctrl-C or a cap are kept in trials.jsonl and left out.</dd>
<dt>n, success, useful</dt><dd>n counts measured attempts (retries are off: each attempt is one request). Success: ended without error with a 2xx status. Useful: a complete answer (content or a tool call, not truncated, filtered, empty or incomplete).</dd>
<dt>availability</dt><dd><i>not offered</i> when no attempt succeeded and one was refused with 404 model_not_found; otherwise <i>ok</i> at a success rate of 99% or more, <i>erratic</i> from 50%, <i>unavailable</i> below.</dd>
<dt>TTFT, TTFA, E2E</dt><dd>Time to first token (any generated text, reasoning included), to first answer (visible content or a tool call) and end to end (until the response was read), from the moment the request was sent, over successful attempts.</dd>
<dt>percentiles and intervals</dt><dd>Linear interpolation between order statistics (Hyndman–Fan type 7, numpy's default). 95% intervals are a pair of order statistics whose ranks bracket the percentile with 95% probability whatever the distribution (binomial, equal tails); a bound that would need more trials is ∞ (null in summary.json), and the figure is indicative: a p95 upper bound needs 72 trials, a p99 one 368.</dd>
<dt>tok/s p50</dt><dd>Generation speed of each attempt: output tokens between the first and the last token over that time.</dd>
<dt>throughput</dt><dd>Output tokens per second of wall time: all measured attempts' output tokens over the time from the first one's scheduled start to the last one's end, each window apart.</dd>
<dt>$/call, $/useful, wasted</dt><dd>All attempts' cost divided by the attempts, and by the useful answers; wasted is the cost of the attempts that were not useful. Reasoning: the share of output tokens spent reasoning.</dd>
<dt>lag</dt><dd>Harness lag: from when the plan meant a request to go (a closed loop's free slot, an open loop's arrival, a burst's release) to when it was written to the connection. Client-side queueing shows here, never inside TTFT.</dd>
<dt>flags, errors</dt><dd>The library's fidelity flags and error.type values, counted over measured attempts.</dd>
</dl>
</body>
</html>
`
