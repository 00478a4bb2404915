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
	"go.opentelemetry.io/otel/attribute"
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

// estimatedCall makes one non-streamed call whose server reports no usage,
// so its token counts are offline estimates, and returns what telemetry
// holds.
func estimatedCall(t *testing.T, opts ...infermetrics.Option) *infermetricstest.Telemetry {
	t.Helper()
	tel := infermetricstest.NewTelemetry()
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Body: `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}]}`})
	defer srv.Close()
	client := otelClient(srv, tel, opts...)
	if _, err := client.Chat.Completions.New(context.Background(), chatParams("m")); err != nil {
		t.Fatal(err)
	}
	return tel
}

// TestEstimatesKeptFromConventions: the conventions forbid reporting the
// usage metric from offline counts unless the user opts in.
func TestEstimatesKeptFromConventions(t *testing.T) {
	for _, optIn := range []bool{false, true} {
		var opts []infermetrics.Option
		if optIn {
			opts = append(opts, infermetrics.WithEstimatedUsage())
		}
		tel := estimatedCall(t, opts...)
		c := tel.LastCall()
		if c.UsageReported || c.OutputTokens == 0 || !c.Flags.Has(infermetrics.FlagUsageMissing) {
			t.Fatalf("want an estimated call, got reported=%v output=%d flags=%v", c.UsageReported, c.OutputTokens, c.Flags)
		}
		want := uint64(0)
		if optIn {
			want = 2 // input and output
		}
		if n := tel.HistogramCount(infermetrics.MetricTokenUsage); n != want {
			t.Errorf("WithEstimatedUsage %v: %d token usage points, want %d", optIn, n, want)
		}
		if n := tel.Sum(infermetrics.MetricCalls, attribute.Bool("infermetrics.usage_estimated", true)); n != 1 {
			t.Errorf("WithEstimatedUsage %v: calls{usage_estimated=true} %v, want 1", optIn, n)
		}
		a := spanAttrs(tel.Spans()[0])
		_, conv := a["gen_ai.usage.output_tokens"]
		_, ours := a["infermetrics.usage.output_tokens"]
		if conv != optIn || ours == optIn {
			t.Errorf("WithEstimatedUsage %v: span has gen_ai.usage.output_tokens %v, infermetrics.usage.output_tokens %v", optIn, conv, ours)
		}
		if v := a["infermetrics.usage.output_tokens"]; !optIn && v.AsInt64() != c.OutputTokens {
			t.Errorf("infermetrics.usage.output_tokens = %v, want %d", v.Emit(), c.OutputTokens)
		}
	}
}

// TestSpanConformance: attributes only where they apply, the OpenAI
// attributes, and the schema URL on both scopes.
func TestSpanConformance(t *testing.T) {
	tel := infermetricstest.NewTelemetry()
	srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
		infermetricstest.Content("hi"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 3, Output: 1}),
	}})
	defer srv.Close()
	client := otelClient(srv, tel)
	p := chatParams("m")
	p.ServiceTier = openai.ChatCompletionNewParamsServiceTierFlex
	if _, err := client.Chat.Completions.New(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if _, err := drain(t, client.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))); err != nil {
		t.Fatal(err)
	}
	spans := tel.Spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	plain, streamed := spanAttrs(spans[0]), spanAttrs(spans[1])
	if _, ok := plain["gen_ai.request.stream"]; ok {
		t.Error("gen_ai.request.stream on a request that did not stream")
	}
	if v := streamed["gen_ai.request.stream"]; v != attribute.BoolValue(true) {
		t.Errorf("gen_ai.request.stream = %v on a streamed request, want true", v.Emit())
	}
	for _, a := range []map[attribute.Key]attribute.Value{plain, streamed} {
		if v := a["openai.api.type"]; v != attribute.StringValue("chat_completions") {
			t.Errorf("openai.api.type = %q, want chat_completions", v.Emit())
		}
		for _, k := range []attribute.Key{"gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_creation.input_tokens"} {
			if v, ok := a[k]; ok {
				t.Errorf("%s = %v where nothing was reported", k, v.Emit())
			}
		}
	}
	if v := plain["openai.request.service_tier"]; v != attribute.StringValue("flex") {
		t.Errorf("openai.request.service_tier = %q, want flex", v.Emit())
	}
	if _, ok := streamed["openai.request.service_tier"]; ok {
		t.Error("openai.request.service_tier on a request that named none")
	}
	if got := spans[0].InstrumentationScope().SchemaURL; got != infermetrics.SchemaURL {
		t.Errorf("span scope schema URL %q, want %q", got, infermetrics.SchemaURL)
	}
	for _, sm := range tel.Metrics().ScopeMetrics {
		if sm.Scope.SchemaURL != infermetrics.SchemaURL {
			t.Errorf("metric scope %s schema URL %q, want %q", sm.Scope.Name, sm.Scope.SchemaURL, infermetrics.SchemaURL)
		}
	}
}

// TestResponseServiceFields: openai.response.service_tier and
// .system_fingerprint from a real OpenAI stream and from a body; the tier
// is a metric attribute too, the fingerprint is not.
func TestResponseServiceFields(t *testing.T) {
	tel := infermetricstest.NewTelemetry()
	c := replayCall(t, "openai_gpt4o_issue15789_step2.sse", tel.Options()...)
	if c.ServiceTier != "default" || c.SystemFingerprint != "fp_627de6ad19" {
		t.Errorf("stream: ServiceTier %q, SystemFingerprint %q; want default, fp_627de6ad19", c.ServiceTier, c.SystemFingerprint)
	}
	a := spanAttrs(tel.Spans()[0])
	if a["openai.response.service_tier"] != attribute.StringValue("default") || a["openai.response.system_fingerprint"] != attribute.StringValue("fp_627de6ad19") {
		t.Errorf("span: service_tier %q, system_fingerprint %q", a["openai.response.service_tier"].Emit(), a["openai.response.system_fingerprint"].Emit())
	}
	if n := tel.HistogramCount(infermetrics.MetricOperationDuration, attribute.String("openai.response.service_tier", "default")); n != 1 {
		t.Errorf("duration{openai.response.service_tier=default}: %d points, want 1", n)
	}

	srv := infermetricstest.NewServer(infermetricstest.Scenario{Body: `{"id":"c","object":"chat.completion","model":"m","service_tier":"an-unheard-of-tier","system_fingerprint":"fp_1","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`})
	defer srv.Close()
	tel2 := infermetricstest.NewTelemetry()
	client := otelClient(srv, tel2)
	if _, err := client.Chat.Completions.New(context.Background(), chatParams("m")); err != nil {
		t.Fatal(err)
	}
	if c := tel2.LastCall(); c.ServiceTier != "an-unheard-of-tier" || c.SystemFingerprint != "fp_1" {
		t.Errorf("body: ServiceTier %q, SystemFingerprint %q", c.ServiceTier, c.SystemFingerprint)
	}
	if n := tel2.HistogramCount(infermetrics.MetricOperationDuration, attribute.String("openai.response.service_tier", "_OTHER")); n != 1 {
		t.Errorf("an unknown tier must be _OTHER on metrics: %d points", n)
	}
}
