package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// A query is one PromQL expression as written in the README or the
// dashboard, with the name its expectation is found by.
type query struct {
	name, expr string
}

// readmeQueries returns the queries of the README's promql blocks. A
// comment line names the queries below it; a query starts after a comment
// or a blank line, or on a line that starts with neither a space nor a
// binary operator, and continues on the lines that do.
func readmeQueries(path string) ([]query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var qs []query
	var in bool
	var title string
	var n int
	fresh := true
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "```promql":
			in, fresh = true, true
		case !in:
		case line == "```":
			in = false
		case strings.TrimSpace(line) == "":
			fresh = true
		case strings.HasPrefix(line, "#"):
			title, n, fresh = strings.TrimSpace(strings.TrimPrefix(line, "#")), 0, true
		case !fresh && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "/") || strings.HasPrefix(line, "or ") || strings.HasPrefix(line, "*")):
			qs[len(qs)-1].expr += "\n" + line
		default:
			fresh = false
			n++
			qs = append(qs, query{name: fmt.Sprintf("README: %s #%d", title, n), expr: line})
		}
	}
	return qs, sc.Err()
}

// The dashboard's variables and Grafana's own, as the test substitutes
// them: every service, provider and model, a rate window and a range that
// cover the whole test.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m",
	"$__range", "1h",
	"$job", ".*",
	"$provider", ".*",
	"$model", ".*",
)

const (
	rateWindow = 5 * time.Minute
)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos *struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// dashboardQueries returns every panel query of the dashboard at path,
// after checking the dashboard's structure: what Grafana needs to import
// it (title, uid, a Prometheus datasource variable the panels use, unique
// panel ids, grid positions) and nothing that the test would not run.
func dashboardQueries(path string) ([]query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if d.Title == "" || d.UID == "" {
		return nil, fmt.Errorf("%s: no title or uid", path)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Name == "datasource" && (v.Type != "datasource" || v.Query != "prometheus") {
			return nil, fmt.Errorf("%s: variable datasource is %s %v, want a prometheus datasource variable", path, v.Type, v.Query)
		}
	}
	for _, v := range []string{"datasource", "job", "provider", "model"} {
		if !vars[v] {
			return nil, fmt.Errorf("%s: no variable %s", path, v)
		}
	}
	var qs []query
	ids := map[int]bool{}
	var walk func([]panel) error
	walk = func(ps []panel) error {
		for _, p := range ps {
			if ids[p.ID] || p.ID == 0 {
				return fmt.Errorf("panel %q: id %d missing or not unique", p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Title == "" || p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
				return fmt.Errorf("panel %d: no title or grid position", p.ID)
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
				return fmt.Errorf("panel %q: want targets on datasource ${datasource}", p.Title)
			}
			refs := map[string]bool{}
			for _, t := range p.Targets {
				if t.RefID == "" || refs[t.RefID] || strings.TrimSpace(t.Expr) == "" {
					return fmt.Errorf("panel %q: target %q without a unique refId or an expression", p.Title, t.RefID)
				}
				refs[t.RefID] = true
				qs = append(qs, query{name: p.Title + " / " + t.RefID, expr: grafanaVars.Replace(t.Expr)})
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return qs, nil
}

// expectations returns, by query name, what each query of the README and
// the dashboard must return, computed by the oracle; n gives the number of
// samples Prometheus holds of each series.
func expectations(o *oracle, n func(*series) int) map[string]vector {
	byModel := []string{"gen_ai_request_model"}
	byPM := []string{"gen_ai_provider_name", "gen_ai_request_model"}
	inc := func(name string, by []string, ms ...matcher) vector {
		return sumBy(increase(o.sel(name, ms...), n), by...)
	}
	rt := func(name string, by []string, ms ...matcher) vector {
		return sumBy(rate(o.sel(name, ms...), n, rateWindow), by...)
	}
	q := func(p float64, hist string, by []string) vector {
		return quantile(p, sumBy(rate(o.sel(hist+"_bucket"), n, rateWindow), append([]string{"le"}, by...)...))
	}
	const (
		calls = "infermetrics_client_calls_total"
		cost  = "infermetrics_client_cost_total"
		flags = "infermetrics_client_flags_total"
		ttft  = "infermetrics_client_time_to_first_token_seconds"
		ttfa  = "infermetrics_client_time_to_first_answer_seconds"
		dur   = "gen_ai_client_operation_duration_seconds"
		gap   = "infermetrics_client_max_chunk_gap_seconds"
		chunk = "gen_ai_client_operation_time_per_output_chunk_seconds"
		speed = "infermetrics_client_output_token_rate_per_second"
		usage = "gen_ai_client_token_usage_sum"
	)
	useful, notUseful := eq("infermetrics_useful", "true"), eq("infermetrics_useful", "false")
	output := eq("gen_ai_token_type", "output")
	return map[string]vector{
		"README: Cost per useful answer, per model, over the last hour #1": div(inc(cost, byModel), inc(calls, byModel, useful)),
		"README: Share of spend wasted on calls that were not useful #1":   div(inc(cost, byModel, notUseful), inc(cost, byModel)),
		"README: Calls whose cost is unknown (no price for the model) #1":  inc(calls, byModel, eq("infermetrics_price_known", "false")),
		"README: Share of attempts that failed #1":                         div(rt(calls, byModel, ne("error_type", "")), rt(calls, byModel)),
		"README: Time to first token, p50 and p95 #1":                      q(0.5, ttft, byModel),
		"README: Time to first token, p50 and p95 #2":                      q(0.95, ttft, byModel),

		"Time to first token p50 vs p95, by model and provider / A": q(0.5, ttft, byPM),
		"Time to first token p50 vs p95, by model and provider / B": q(0.95, ttft, byPM),
		"Time to first answer token p50 vs p95 / A":                 q(0.5, ttfa, byPM),
		"Time to first answer token p50 vs p95 / B":                 q(0.95, ttfa, byPM),
		"End-to-end duration p50, p95, p99 / A":                     q(0.5, dur, byPM),
		"End-to-end duration p50, p95, p99 / B":                     q(0.95, dur, byPM),
		"End-to-end duration p50, p95, p99 / C":                     q(0.99, dur, byPM),
		"Success rate / A":                                          div(rt(calls, byPM, eq("error_type", "")), rt(calls, byPM)),
		"Errors by type / A":                                        rt(calls, []string{"gen_ai_request_model", "error_type"}, ne("error_type", "")),
		"Cost per useful answer / A":                                div(inc(cost, byPM), inc(calls, byPM, useful)),
		"Share of spend wasted / A":                                 div(inc(cost, byPM, notUseful), inc(cost, byPM)),
		"Wasted spend / A":                                          inc(cost, byPM, notUseful),
		"Calls with unknown price / A":                              inc(calls, byPM, eq("infermetrics_price_known", "false")),
		"Reasoning share of output tokens / A":                      div(rt("infermetrics_client_reasoning_tokens_total", byPM), rt(usage, byPM, output)),
		"Cached share of input tokens / A":                          div(rt("infermetrics_client_cached_input_tokens_total", byPM), rt(usage, byPM, eq("gen_ai_token_type", "input"))),
		"Fidelity flags / A":                                        inc(flags, []string{"gen_ai_request_model", "infermetrics_flag"}),
		"Models answering for another / A": inc(flags, []string{"gen_ai_provider_name", "gen_ai_request_model", "gen_ai_response_model"},
			eq("infermetrics_flag", "model_mismatch")),
		"Longest stall per call, p95 and p99 / A":           q(0.95, gap, byPM),
		"Longest stall per call, p95 and p99 / B":           q(0.99, gap, byPM),
		"Time between chunks p99 / A":                       q(0.99, chunk, byPM),
		"Output speed p50 (tokens per second per call) / A": q(0.5, speed, byPM),
		"Throughput / A":                                    rt(calls, byPM),
		"Throughput / B":                                    rt(usage, byPM, output),
	}
}

// A metricRow is a row of the README's metric table that names a metric:
// its OpenTelemetry name and the Prometheus name beside it.
type metricRow struct {
	otel, prometheus string
}

// readmeMetrics returns the metric rows of the README's metric table (the
// table whose header starts with "| Name (Call field / metric) |").
func readmeMetrics(path string) ([]metricRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []metricRow
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| Name (Call field / metric) |") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, " | ")
		if len(cells) < 2 || strings.HasPrefix(line, "|---") {
			continue
		}
		_, otel, ok := strings.Cut(cells[0], " / `")
		if !ok {
			continue // a Call field without a metric
		}
		otel, _, _ = strings.Cut(otel, "`")
		otel, _, _ = strings.Cut(otel, "{")
		prom := strings.Trim(cells[1], "`")
		prom, _, _ = strings.Cut(prom, "{")
		if prom == "" || prom == "—" {
			return nil, fmt.Errorf("%s: metric %s without a Prometheus name", path, otel)
		}
		rows = append(rows, metricRow{otel, prom})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no metric table", path)
	}
	return rows, nil
}
