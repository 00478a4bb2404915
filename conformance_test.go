package infermetrics_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// conformanceMetrics records one call of every kind that feeds a metric
// (a streamed reasoning call with cached input and a known price, a
// stall of 5 s between chunks, and a truncated one) and returns what the
// SDK collected.
func conformanceMetrics(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(
			infermetricstest.Scenario{Events: []infermetricstest.Event{
				infermetricstest.Role(),
				infermetricstest.Reasoning("thinking").After(100 * time.Millisecond),
				infermetricstest.Content("Hello").After(100 * time.Millisecond),
				infermetricstest.Content(" world").After(5 * time.Second),
				infermetricstest.Finish("stop"),
				infermetricstest.Usage(infermetricstest.Tokens{Input: 100, Output: 40, Reasoning: 10, CachedInput: 20}),
				infermetricstest.Done(),
			}},
			infermetricstest.Scenario{Events: []infermetricstest.Event{
				infermetricstest.Role(),
				infermetricstest.Content("Cut").After(50 * time.Millisecond),
				infermetricstest.Finish("length"),
				infermetricstest.Usage(infermetricstest.Tokens{Input: 100, Output: 1}),
				infermetricstest.Done(),
			}},
		)
		defer srv.Close()
		tel := infermetricstest.NewTelemetry()
		client := openai.NewClient(
			option.WithBaseURL("http://conformance.invalid/v1"),
			option.WithAPIKey("k"),
			option.WithHTTPClient(&http.Client{Transport: srv.Transport()}),
			option.WithMaxRetries(0),
			infermetrics.Instrument(append(tel.Options(),
				infermetrics.WithPrice("m", infermetrics.Price{Input: 1, Output: 2}))...),
		)
		for range 2 {
			s := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
				Model:    "m",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			for s.Next() {
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
		rm = tel.Metrics()
	})
	return rm
}

// TestMetricNamesAndUnits checks, on real SDK output, every instrument's
// unit, and that translating its name and unit to Prometheus (the
// Collector's prometheus exporter and Prometheus's own OTLP receiver use
// this translator, with suffixes, by default) gives the name the README's
// metric table and the PromQL in README and deploy/ use. .ci/pipeline
// checks the same names against a real Collector.
func TestMetricNamesAndUnits(t *testing.T) {
	want := map[string]struct{ unit, prometheus string }{
		infermetrics.MetricOperationDuration:  {"s", "gen_ai_client_operation_duration_seconds"},
		infermetrics.MetricTimeToFirstChunk:   {"s", "gen_ai_client_operation_time_to_first_chunk_seconds"},
		infermetrics.MetricTimePerOutputChunk: {"s", "gen_ai_client_operation_time_per_output_chunk_seconds"},
		infermetrics.MetricTokenUsage:         {"{token}", "gen_ai_client_token_usage"},
		infermetrics.MetricTimeToFirstToken:   {"s", "infermetrics_client_time_to_first_token_seconds"},
		infermetrics.MetricTimeToFirstAnswer:  {"s", "infermetrics_client_time_to_first_answer_seconds"},
		infermetrics.MetricMaxChunkGap:        {"s", "infermetrics_client_max_chunk_gap_seconds"},
		infermetrics.MetricOutputTokenRate:    {"{token}/s", "infermetrics_client_output_token_rate_per_second"},
		infermetrics.MetricReasoningTokens:    {"{token}", "infermetrics_client_reasoning_tokens_total"},
		infermetrics.MetricCachedInputTokens:  {"{token}", "infermetrics_client_cached_input_tokens_total"},
		infermetrics.MetricCost:               {"{USD}", "infermetrics_client_cost_total"},
		infermetrics.MetricCalls:              {"{call}", "infermetrics_client_calls_total"},
		infermetrics.MetricFlags:              {"{call}", "infermetrics_client_flags_total"},
	}
	namer := otlptranslator.NewMetricNamer("", otlptranslator.UnderscoreEscapingWithSuffixes)
	seen := map[string]bool{}
	for _, sm := range conformanceMetrics(t).ScopeMetrics {
		for _, m := range sm.Metrics {
			w, ok := want[m.Name]
			if !ok {
				t.Errorf("unexpected metric %s", m.Name)
				continue
			}
			seen[m.Name] = true
			if m.Unit != w.unit {
				t.Errorf("%s: unit %q, want %q", m.Name, m.Unit, w.unit)
			}
			var typ otlptranslator.MetricType = otlptranslator.MetricTypeHistogram
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				typ = otlptranslator.MetricTypeMonotonicCounter
			case metricdata.Sum[float64]:
				typ = otlptranslator.MetricTypeMonotonicCounter
				if !d.IsMonotonic {
					t.Errorf("%s: not monotonic", m.Name)
				}
			}
			got, err := namer.Build(otlptranslator.Metric{Name: m.Name, Unit: m.Unit, Type: typ})
			if err != nil || got != w.prometheus {
				t.Errorf("%s (%s): Prometheus name %q (%v), want %q", m.Name, m.Unit, got, err, w.prometheus)
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s: not recorded", name)
		}
	}
}

// TestTimePerOutputChunkBuckets checks that the chunk-time histogram uses
// the conventions' boundaries for gen_ai.client.operation.time_per_output_chunk,
// so that a 5 s stall lands in the (2.56, 5.12] bucket and not in +Inf.
func TestTimePerOutputChunkBuckets(t *testing.T) {
	spec := []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	rm := conformanceMetrics(t)
	var found bool
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != infermetrics.MetricTimePerOutputChunk {
				continue
			}
			found = true
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok {
				t.Fatalf("%s: data %T, want a float64 histogram", m.Name, m.Data)
			}
			var stalls uint64
			for _, p := range h.DataPoints {
				if !slices.Equal(p.Bounds, spec) {
					t.Errorf("bounds %v, want %v", p.Bounds, spec)
				}
				if i := slices.Index(p.Bounds, 5.12); i >= 0 {
					stalls += p.BucketCounts[i]
				}
				if inf := p.BucketCounts[len(p.BucketCounts)-1]; inf != 0 {
					t.Errorf("%d chunk times in +Inf, want 0", inf)
				}
			}
			if stalls != 1 {
				t.Errorf("chunk times in (2.56, 5.12]: %d, want 1 (the 5 s stall)", stalls)
			}
		}
	}
	if !found {
		t.Fatalf("%s not recorded", infermetrics.MetricTimePerOutputChunk)
	}
}
