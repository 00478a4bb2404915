// Package e2e runs infermetrics through the production pipeline of
// README "Production": the OpenTelemetry SDK configured from the standard
// OTEL_* variables with autoexport, an OpenTelemetry Collector built from
// deploy/otelcol, and Prometheus with deploy/prometheus. It checks that
// every PromQL query of the README and of the Grafana dashboard returns
// what the scripted traffic implies.
//
// The test needs the running pipeline, which .ci/pipeline starts; without
// INFERMETRICS_PIPELINE_PROMETHEUS it is skipped:
//
//	.ci/pipeline
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

const serviceName = "infermetrics-e2e"

func TestPipeline(t *testing.T) {
	promURL := os.Getenv("INFERMETRICS_PIPELINE_PROMETHEUS")
	if promURL == "" {
		t.Skip("INFERMETRICS_PIPELINE_PROMETHEUS not set: run .ci/pipeline")
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" || os.Getenv("OTEL_SERVICE_NAME") != serviceName {
		t.Fatalf("want OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME=%s set (by .ci/pipeline)", serviceName)
	}
	readme, err := readmeQueries("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	panels, err := dashboardQueries("../grafana/infermetrics.json")
	if err != nil {
		t.Fatal(err)
	}
	prom := &promClient{base: strings.TrimSuffix(promURL, "/")}
	ctx := context.Background()

	// The SDK exactly as an application sets it up from the environment
	// (README, Production): autoexport reads OTEL_TRACES_EXPORTER,
	// OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_* and the resource from
	// OTEL_SERVICE_NAME. The periodic reader's interval is left long; the
	// test flushes after each round.
	se, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mr, err := autoexport.NewMetricReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(se))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(mr))
	defer func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	}()
	flush := func() {
		t.Helper()
		if err := tp.ForceFlush(ctx); err != nil {
			t.Fatalf("flush spans: %v", err)
		}
		if err := mp.ForceFlush(ctx); err != nil {
			t.Fatalf("flush metrics: %v", err)
		}
	}

	d := newDriver(tp, mp)
	var o oracle
	attempts := 0
	calls := `sum(infermetrics_client_calls_total{job="` + serviceName + `"})`
	for round := 1; round <= 2; round++ {
		start := time.Now()
		got := d.round(t, ctx)
		for _, c := range got {
			o.record(round, c)
		}
		attempts += len(got)
		flush()
		// Wait until Prometheus has scraped this round, and then for a few
		// more scrapes: increase() needs round 1 in a sample of its own
		// and several samples after round 2.
		waitFor(t, prom, calls, float64(attempts))
		prom.waitScrapes(t, 3)
		t.Logf("round %d: %d attempts, %v", round, len(got), time.Since(start).Round(time.Millisecond))
	}

	// Evaluate at the last scrape, so that nothing is extrapolated past it.
	at := prom.scalar(t, `max(timestamp(infermetrics_client_calls_total{job="`+serviceName+`"}))`, 0)
	all := `{__name__=~"(infermetrics|gen_ai)_.+",job="` + serviceName + `"}`
	counts := prom.sampleCounts(t, all+`[1h]`, at)
	nMin, nMax := math.MaxInt, 0
	for _, fam := range o.m {
		for _, s := range fam {
			c := counts[s.key()]
			if c < 4 {
				t.Fatalf("%s: %d samples in Prometheus, want at least 4", s.key(), c)
			}
			nMin, nMax = min(nMin, c), max(nMax, c)
		}
	}
	t.Logf("evaluating at %.3f, %d to %d samples per series", at, nMin, nMax)

	want := expectations(&o, func(s *series) int { return counts[s.key()] })
	seen := map[string]bool{}
	for _, q := range append(readme, panels...) {
		w, ok := want[q.name]
		if !ok {
			t.Errorf("%s: no expectation for this query (add one to expectations):\n%s", q.name, q.expr)
			continue
		}
		seen[q.name] = true
		if len(w) == 0 {
			t.Errorf("%s: the oracle expects no series; the traffic must exercise every query", q.name)
		}
		got := prom.vector(t, q.expr, at)
		if diff := compare(got, w); diff != "" {
			t.Errorf("%s:\n%s\n%s", q.name, q.expr, diff)
		} else {
			t.Logf("%s: as expected: %s", q.name, got)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s: expectation without a query in README.md or the dashboard", name)
		}
	}

	t.Run("MetricTable", func(t *testing.T) { checkMetricTable(t, prom, os.Getenv("INFERMETRICS_PIPELINE_OTLP_FILE")) })
	t.Run("Exemplars", func(t *testing.T) { checkExemplars(t, prom, at) })
	t.Run("Rules", func(t *testing.T) { checkRules(t, prom) })
	t.Run("Spans", func(t *testing.T) { checkSpans(t, os.Getenv("INFERMETRICS_PIPELINE_OTLP_FILE"), attempts) })
}

func (v vector) String() string {
	parts := make([]string, len(v))
	for i, s := range v {
		parts[i] = fmt.Sprintf("%s %.6g", s.l.key(), s.v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// compare returns a description of the differences between got and
// want, or "".
func compare(got, want vector) string {
	g, w := map[string]float64{}, map[string]float64{}
	for _, s := range got {
		g[s.l.key()] = s.v
	}
	for _, s := range want {
		w[s.l.key()] = s.v
	}
	var diffs []string
	for k, wv := range w {
		gv, ok := g[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("  missing %s, want %v", k, wv))
		case !close(gv, wv):
			diffs = append(diffs, fmt.Sprintf("  %s = %v, want %v", k, gv, wv))
		}
	}
	for k, gv := range g {
		if _, ok := w[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("  unexpected %s = %v", k, gv))
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "\n")
}

func waitFor(t *testing.T, p *promClient, expr string, want float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, err := p.query(expr, 0)
		if err == nil && len(v) == 1 && v[0].v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v (%v), want %v after 60s", expr, v, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkMetricTable checks the README's metric table against what the
// pipeline carried: every OpenTelemetry name in it reached the Collector
// (its file exporter), every Prometheus name beside it is a metric in
// Prometheus (for a histogram, its _bucket, _sum and _count series), and
// nothing else was exported.
func checkMetricTable(t *testing.T, p *promClient, otlpFile string) {
	rows, err := readmeMetrics("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []struct {
		Name string `json:"__name__"`
	}
	q := url.Values{"match[]": {`{__name__=~"(infermetrics|gen_ai)_.+",job="` + serviceName + `"}`}}
	if err := p.get("/api/v1/series", q, &names); err != nil {
		t.Fatal(err)
	}
	inProm := map[string]bool{}
	for _, n := range names {
		inProm[n.Name] = true
	}
	var inOTLP map[string]bool
	if otlpFile != "" {
		if inOTLP, err = otlpMetricNames(otlpFile); err != nil {
			t.Fatal(err)
		}
	}
	covered := map[string]bool{}
	for _, r := range rows {
		series := []string{r.prometheus}
		if inProm[r.prometheus+"_bucket"] {
			series = []string{r.prometheus + "_bucket", r.prometheus + "_sum", r.prometheus + "_count"}
		}
		for _, s := range series {
			if !inProm[s] {
				t.Errorf("README: %s is %s in Prometheus; it has no such metric", r.otel, s)
			}
			covered[s] = true
		}
		if inOTLP != nil && !inOTLP[r.otel] {
			t.Errorf("README: %s did not reach the Collector under that name", r.otel)
		}
	}
	for n := range inProm {
		if !covered[n] {
			t.Errorf("Prometheus has %s, which the README's metric table does not name", n)
		}
	}
	t.Logf("%d metrics of the README's table, as %d Prometheus metrics", len(rows), len(inProm))
}

// otlpMetricNames returns the names of the metrics in the Collector's
// file exporter output.
func otlpMetricNames(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var line struct {
			ResourceMetrics []struct {
				ScopeMetrics []struct {
					Metrics []struct {
						Name string `json:"name"`
					} `json:"metrics"`
				} `json:"scopeMetrics"`
			} `json:"resourceMetrics"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		for _, rm := range line.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					names[m.Name] = true
				}
			}
		}
	}
	return names, sc.Err()
}

// checkExemplars checks that histogram buckets reach Prometheus with the
// trace ids of the calls they measured (enable_open_metrics in the
// Collector, exemplar storage in Prometheus).
func checkExemplars(t *testing.T, p *promClient, at float64) {
	var resp []struct {
		SeriesLabels map[string]string `json:"seriesLabels"`
		Exemplars    []struct {
			Labels map[string]string `json:"labels"`
		} `json:"exemplars"`
	}
	q := url.Values{
		"query": {`infermetrics_client_time_to_first_token_seconds_bucket{job="` + serviceName + `"}`},
		"start": {strconv.FormatFloat(at-600, 'f', 3, 64)},
		"end":   {strconv.FormatFloat(at+1, 'f', 3, 64)},
	}
	if err := p.get("/api/v1/query_exemplars", q, &resp); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range resp {
		for _, e := range s.Exemplars {
			if len(e.Labels["trace_id"]) == 32 {
				n++
			}
		}
	}
	if n == 0 {
		t.Errorf("no exemplars with a trace_id on the time-to-first-token buckets: %+v", resp)
	}
	t.Logf("%d exemplars with trace ids", n)
}

// checkRules checks that Prometheus loaded deploy/prometheus's rules and
// evaluates them without errors.
func checkRules(t *testing.T, p *promClient) {
	var resp struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
				Type      string `json:"type"`
			} `json:"rules"`
		} `json:"groups"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := p.get("/api/v1/rules", nil, &resp); err != nil {
			t.Fatal(err)
		}
		var bad []string
		rules := 0
		for _, g := range resp.Groups {
			for _, r := range g.Rules {
				rules++
				if r.Health != "ok" {
					bad = append(bad, fmt.Sprintf("%s/%s: %s %s", g.Name, r.Name, r.Health, r.LastError))
				}
			}
		}
		if len(bad) == 0 && rules >= 11 {
			t.Logf("%d rules in %d groups, all healthy", rules, len(resp.Groups))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rules; not healthy: %v", rules, bad)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The recorded series exist for the traffic's models.
	for _, r := range []string{"infermetrics:time_to_first_token_seconds:p95_5m", "infermetrics:errors:ratio_rate5m", "infermetrics:cost_per_useful_answer:1h"} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			v, err := p.query(r+`{job="`+serviceName+`"}`, 0)
			if err == nil && len(v) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: no series (%v)", r, err)
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// checkSpans checks that every attempt's span reached the Collector's
// file exporter, with the service name from OTEL_SERVICE_NAME.
func checkSpans(t *testing.T, path string, attempts int) {
	if path == "" {
		t.Skip("INFERMETRICS_PIPELINE_OTLP_FILE not set")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		spans, services, err := countSpans(path)
		if err != nil {
			t.Fatal(err)
		}
		if spans == attempts && services[serviceName] == attempts {
			t.Logf("%d spans in %s", spans, path)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spans (by service %v) in %s, want %d of %s", spans, services, path, attempts, serviceName)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func countSpans(path string) (int, map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	type kv struct {
		Key   string `json:"key"`
		Value struct {
			StringValue string `json:"stringValue"`
		} `json:"value"`
	}
	var total int
	services := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var line struct {
			ResourceSpans []struct {
				Resource struct {
					Attributes []kv `json:"attributes"`
				} `json:"resource"`
				ScopeSpans []struct {
					Spans []struct {
						Name string `json:"name"`
					} `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return 0, nil, fmt.Errorf("%s: %v", path, err)
		}
		for _, rs := range line.ResourceSpans {
			svc := ""
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					svc = a.Value.StringValue
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					if strings.HasPrefix(s.Name, "chat ") {
						total++
						services[svc]++
					}
				}
			}
		}
	}
	return total, services, sc.Err()
}

// promClient queries Prometheus's HTTP API.
type promClient struct {
	base string
}

func (p *promClient) get(path string, q url.Values, v any) error {
	u := p.base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %v", u, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, body.Status, body.Error)
	}
	return json.Unmarshal(body.Data, v)
}

// query evaluates expr at time at (Unix seconds; 0 for now) and returns
// the instant vector, without the labels every series of the test shares.
func (p *promClient) query(expr string, at float64) (vector, error) {
	q := url.Values{"query": {expr}}
	if at != 0 {
		q.Set("time", strconv.FormatFloat(at, 'f', 3, 64))
	}
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.get("/api/v1/query", q, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("%s: result type %s, want vector", expr, data.ResultType)
	}
	v := make(vector, 0, len(data.Result))
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value %v", expr, r.Value)
		}
		v = append(v, sample{seriesLabels(r.Metric), f})
	}
	return v, nil
}

func (p *promClient) vector(t *testing.T, expr string, at float64) vector {
	t.Helper()
	v, err := p.query(expr, at)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (p *promClient) scalar(t *testing.T, expr string, at float64) float64 {
	t.Helper()
	v := p.vector(t, expr, at)
	if len(v) != 1 || math.IsNaN(v[0].v) {
		t.Fatalf("%s: %v, want one value", expr, v)
	}
	return v[0].v
}

// sampleCounts returns the number of samples of each series of the range
// selector sel at time at, by metric name and labels (without the labels
// every series of the test shares), as series.key.
func (p *promClient) sampleCounts(t *testing.T, sel string, at float64) map[string]int {
	t.Helper()
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	q := url.Values{"query": {sel}, "time": {strconv.FormatFloat(at, 'f', 3, 64)}}
	if err := p.get("/api/v1/query", q, &data); err != nil {
		t.Fatal(err)
	}
	if data.ResultType != "matrix" || len(data.Result) == 0 {
		t.Fatalf("%s: %s of %d series, want a matrix", sel, data.ResultType, len(data.Result))
	}
	counts := make(map[string]int, len(data.Result))
	for _, r := range data.Result {
		counts[r.Metric["__name__"]+seriesLabels(r.Metric).key()] = len(r.Values)
	}
	return counts
}

// seriesLabels returns m without the labels every series of the test
// shares: job, instance, the metric name and the instrumentation scope.
// A bucket bound (le) is written as the oracle writes it: OpenMetrics
// spells 16384 as "16384.0".
func seriesLabels(m map[string]string) labels {
	l := labels{}
	for k, v := range m {
		if k != "job" && k != "instance" && k != "__name__" && !strings.HasPrefix(k, "otel_scope_") {
			l[k] = v
		}
	}
	if le, err := strconv.ParseFloat(l["le"], 64); err == nil && l["le"] != "+Inf" {
		l["le"] = strconv.FormatFloat(le, 'g', -1, 64)
	}
	return l
}

// waitScrapes waits until Prometheus has scraped the Collector k more
// times.
func (p *promClient) waitScrapes(t *testing.T, k int) {
	t.Helper()
	const expr = `max(timestamp(up{job="otelcol"}))`
	last := p.scalar(t, expr, 0)
	for i := 0; i < k; {
		time.Sleep(100 * time.Millisecond)
		if ts := p.scalar(t, expr, 0); ts != last {
			last = ts
			i++
		}
	}
}
