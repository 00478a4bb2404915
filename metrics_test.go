package infermetrics_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

const (
	otelAPIKey = "sk-secret-3f9a1c77e2b04d5aa1"
	otelPrompt = "PROMPT-7Q2X confidential: summarise the merger memo"
	otelAnswer = "ANSWER-K9 the merger is off"
	otelHost   = "infermetricstest.invalid"
	otelMS     = time.Millisecond
)

// Bucket boundaries of the GenAI semantic conventions.
var (
	otelDurationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	otelChunkBuckets    = otelDurationBuckets
	otelTokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
)

// otelClient returns an openai-go client served in memory by srv, reporting
// to tel, with the extra options opts.
func otelParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(otelPrompt)},
	}
}

// otelStream makes a streamed call and reads it to the end.
func otelStream(t *testing.T, client openai.Client, model string) error {
	t.Helper()
	s := client.Chat.Completions.NewStreaming(context.Background(), otelParams(model))
	for s.Next() {
	}
	err := s.Err()
	s.Close()
	return err
}

// richScenario streams reasoning then an answer, with usage
// (12 in, 30 out, 8 reasoning, 4 cached): 7 chunks.
func richScenario() infermetricstest.Scenario {
	return infermetricstest.Scenario{
		HeaderDelay: 50 * otelMS,
		Events: []infermetricstest.Event{
			infermetricstest.Role().After(50 * otelMS),                                                                              // 100ms: first chunk
			infermetricstest.Reasoning("Let me").After(200 * otelMS),                                                                // 300ms: first token
			infermetricstest.Reasoning(" think").After(100 * otelMS),                                                                // 400ms
			infermetricstest.Content(otelAnswer[:9]).After(400 * otelMS),                                                            // 800ms: first answer
			infermetricstest.Content(otelAnswer[9:]).After(50 * otelMS),                                                             // 850ms
			infermetricstest.Finish("stop").After(10 * otelMS),                                                                      // 860ms
			infermetricstest.Usage(infermetricstest.Tokens{Input: 12, Output: 30, Reasoning: 8, CachedInput: 4}).After(10 * otelMS), // 870ms
			infermetricstest.Done().After(10 * otelMS),                                                                              // 880ms
		},
	}
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value)
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestSpanAttributes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(richScenario())
		defer srv.Close()
		tel := infermetricstest.NewTelemetry()
		if err := otelStream(t, otelClient(srv, tel), "gpt-4o"); err != nil {
			t.Fatal(err)
		}
		c := tel.LastCall()
		spans := tel.Spans()
		if c == nil || len(spans) != 1 {
			t.Fatalf("got call %v and %d spans, want one of each", c, len(spans))
		}
		s := spans[0]
		if s.Name() != "chat gpt-4o" {
			t.Errorf("span name: got %q, want %q", s.Name(), "chat gpt-4o")
		}
		if s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span kind: got %v, want client", s.SpanKind())
		}
		if s.Status().Code != codes.Unset {
			t.Errorf("span status: got %v, want unset", s.Status())
		}
		if c.ResponseID == "" || c.Provider != "openai_compatible" {
			t.Fatalf("call: got id %q provider %q", c.ResponseID, c.Provider)
		}
		a := spanAttrs(s)
		want := map[attribute.Key]attribute.Value{
			"gen_ai.operation.name":                 attribute.StringValue("chat"),
			"gen_ai.provider.name":                  attribute.StringValue("openai_compatible"),
			"gen_ai.request.model":                  attribute.StringValue("gpt-4o"),
			"gen_ai.request.stream":                 attribute.BoolValue(true),
			"gen_ai.response.model":                 attribute.StringValue("gpt-4o"),
			"gen_ai.response.id":                    attribute.StringValue(c.ResponseID),
			"gen_ai.response.finish_reasons":        attribute.StringSliceValue([]string{"stop"}),
			"gen_ai.usage.input_tokens":             attribute.Int64Value(12),
			"gen_ai.usage.output_tokens":            attribute.Int64Value(30),
			"gen_ai.usage.reasoning.output_tokens":  attribute.Int64Value(8),
			"gen_ai.usage.cache_read.input_tokens":  attribute.Int64Value(4),
			"server.address":                        attribute.StringValue(otelHost),
			"server.port":                           attribute.IntValue(80),
			"http.response.status_code":             attribute.IntValue(200),
			"gen_ai.response.time_to_first_chunk":   attribute.Float64Value(0.1),
			"infermetrics.time_to_first_token":      attribute.Float64Value(0.3),
			"infermetrics.time_to_first_answer":     attribute.Float64Value(0.8),
			"infermetrics.max_chunk_gap":            attribute.Float64Value(c.MaxChunkGap.Seconds()),
			"infermetrics.chunks":                   attribute.IntValue(7),
			"infermetrics.consumer_time":            attribute.Float64Value(c.ConsumerTime.Seconds()),
			"infermetrics.output_tokens_per_second": attribute.Float64Value(c.OutputTokensPerSecond),
			"infermetrics.useful":                   attribute.BoolValue(true),
			"infermetrics.price_known":              attribute.BoolValue(true),
			"infermetrics.cost":                     attribute.Float64Value(c.Cost.Total),
			"infermetrics.usage_estimated":          attribute.BoolValue(false),
			"infermetrics.attempt":                  attribute.IntValue(1),
		}
		for k, v := range want {
			got, ok := a[k]
			if !ok {
				t.Errorf("span attribute %s missing", k)
				continue
			}
			if got.Type() == attribute.FLOAT64 && v.Type() == attribute.FLOAT64 {
				if math.Abs(got.AsFloat64()-v.AsFloat64()) > 1e-9 {
					t.Errorf("span attribute %s: got %v, want %v", k, got.Emit(), v.Emit())
				}
				continue
			}
			if got != v {
				t.Errorf("span attribute %s: got %s %v, want %s %v", k, got.Type(), got.Emit(), v.Type(), v.Emit())
			}
		}
		if c.MaxChunkGap != 400*otelMS || c.Cost.Total <= 0 || c.OutputTokensPerSecond <= 0 {
			t.Errorf("call: got gap %v cost %v speed %v", c.MaxChunkGap, c.Cost.Total, c.OutputTokensPerSecond)
		}
		for _, k := range []attribute.Key{"error.type", "infermetrics.flags", "gen_ai.input.messages", "gen_ai.output.messages"} {
			if v, ok := a[k]; ok {
				t.Errorf("span attribute %s: got %v, want none", k, v.Emit())
			}
		}

		// Events at the moments, timed on the call's clock.
		events := map[string]time.Time{}
		for _, e := range s.Events() {
			if _, dup := events[e.Name]; dup {
				t.Errorf("event %s recorded twice", e.Name)
			}
			events[e.Name] = e.Time
		}
		for name, at := range map[string]time.Duration{
			"infermetrics.first_token":  c.TimeToFirstToken,
			"infermetrics.first_answer": c.TimeToFirstAnswer,
		} {
			got, ok := events[name]
			if !ok {
				t.Errorf("event %s missing", name)
			} else if want := c.Start.Add(at); !got.Equal(want) {
				t.Errorf("event %s: got %v, want Start+%v = %v", name, got, at, want)
			}
		}
		if !s.StartTime().Equal(c.Start) {
			t.Errorf("span start: got %v, want %v", s.StartTime(), c.Start)
		}
		if want := c.Start.Add(880 * otelMS); !s.EndTime().Equal(want) || c.Duration != 880*otelMS {
			t.Errorf("span end: got %v (duration %v), want %v", s.EndTime(), c.Duration, want)
		}
	})
}

func TestSpanError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := infermetricstest.NewServer(
			infermetricstest.Scenario{
				Status:    http.StatusTooManyRequests,
				ErrorBody: `{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`,
			},
			infermetricstest.Scenario{Events: []infermetricstest.Event{
				infermetricstest.Role(),
				infermetricstest.Content("Hel").After(10 * otelMS),
				infermetricstest.Drop().After(10 * otelMS),
			}},
		)
		defer srv.Close()
		tel := infermetricstest.NewTelemetry()
		client := otelClient(srv, tel)
		if _, err := client.Chat.Completions.New(context.Background(), otelParams("gpt-4o")); err == nil {
			t.Fatal("429: want an error")
		}
		if err := otelStream(t, client, "gpt-4o"); err == nil {
			t.Fatal("dropped stream: want an error")
		}
		spans := tel.Spans()
		if len(spans) != 2 {
			t.Fatalf("got %d spans, want 2", len(spans))
		}
		for i, want := range []string{"rate_limit_exceeded", "unexpected_eof"} {
			s := spans[i]
			if s.Status().Code != codes.Error {
				t.Errorf("span %d status: got %v, want Error", i, s.Status())
			}
			a := spanAttrs(s)
			if got := a["error.type"]; got != attribute.StringValue(want) {
				t.Errorf("span %d error.type: got %q, want %q", i, got.Emit(), want)
			}
			if got := a["infermetrics.useful"]; got != attribute.BoolValue(false) {
				t.Errorf("span %d infermetrics.useful: got %v, want false", i, got.Emit())
			}
		}
		if got := spanAttrs(spans[0])["http.response.status_code"]; got != attribute.IntValue(429) {
			t.Errorf("span 0 http.response.status_code: got %v, want 429", got.Emit())
		}
		// The failures are on the metrics too.
		for _, want := range []string{"rate_limit_exceeded", "unexpected_eof"} {
			et := attribute.String("error.type", want)
			if n := tel.HistogramCount(infermetrics.MetricOperationDuration, et); n != 1 {
				t.Errorf("duration{error.type=%s}: got %d, want 1", want, n)
			}
			if n := tel.Sum(infermetrics.MetricCalls, et, attribute.Bool("infermetrics.useful", false)); n != 1 {
				t.Errorf("calls{error.type=%s,useful=false}: got %v, want 1", want, n)
			}
		}
		// A stream that failed after chunks records what it delivered, as
		// its span does (role at 0, "Hel" at 10ms, then the drop); the 429
		// delivered nothing.
		eof, limited := attribute.String("error.type", "unexpected_eof"), attribute.String("error.type", "rate_limit_exceeded")
		for _, tc := range []struct {
			name string
			n    uint64
			sum  float64
		}{
			{infermetrics.MetricTimeToFirstChunk, 1, 0},
			{infermetrics.MetricTimeToFirstToken, 1, 0.010},
			{infermetrics.MetricTimePerOutputChunk, 1, 0.010},
		} {
			if n, sum := tel.HistogramCount(tc.name, eof), tel.HistogramSum(tc.name, eof); n != tc.n || !near(sum, tc.sum) {
				t.Errorf("%s{unexpected_eof}: %d points summing %v, want %d summing %v", tc.name, n, sum, tc.n, tc.sum)
			}
			if n := tel.HistogramCount(tc.name, limited); n != 0 {
				t.Errorf("%s{rate_limit_exceeded}: %d points, want 0", tc.name, n)
			}
		}
		// Nothing was estimated for the 429.
		if n := tel.Sum(infermetrics.MetricCalls, limited, attribute.Bool("infermetrics.usage_estimated", true)); n != 0 {
			t.Errorf("calls{rate_limit_exceeded, usage_estimated=true}: %v, want 0", n)
		}
	})
}

// point is one metric data point, whatever its kind.
type point struct {
	metric string
	attrs  attribute.Set
	count  uint64  // histograms
	sum    float64 // histogram sum or counter value
}

func points(rm metricdata.ResourceMetrics) []point {
	var out []point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out = append(out, point{m.Name, p.Attributes, p.Count, p.Sum})
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{m.Name, p.Attributes, p.Count, float64(p.Sum)})
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					out = append(out, point{m.Name, p.Attributes, 0, p.Value})
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{m.Name, p.Attributes, 0, float64(p.Value)})
				}
			default:
				out = append(out, point{metric: m.Name})
			}
		}
	}
	return out
}

// histSum returns the sum of the histogram name's points whose attributes
// include attrs.
func hasAttrs(set attribute.Set, attrs ...attribute.KeyValue) bool {
	for _, kv := range attrs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// metricsWorkload runs, against tel: a useful streamed gpt-4o call, a
// truncated gpt-4o call (known price, not useful), a streamed call to a
// model without a price, a call answered by another model, and a 429.
func metricsWorkload(t *testing.T, tel *infermetricstest.Telemetry, opts ...infermetrics.Option) {
	t.Helper()
	srv := infermetricstest.NewServer(
		richScenario(),
		infermetricstest.Scenario{Events: []infermetricstest.Event{
			infermetricstest.Content("Hel").After(20 * otelMS),
			infermetricstest.Content("lo").After(20 * otelMS),
			infermetricstest.Finish("length"),
			infermetricstest.Usage(infermetricstest.Tokens{Input: 10, Output: 2}),
			infermetricstest.Done(),
		}},
		infermetricstest.Scenario{Events: []infermetricstest.Event{
			infermetricstest.Content("Hi").After(20 * otelMS),
			infermetricstest.Content(" there").After(20 * otelMS),
			infermetricstest.Finish("stop"),
			infermetricstest.Usage(infermetricstest.Tokens{Input: 10, Output: 2}),
			infermetricstest.Done(),
		}},
		infermetricstest.Scenario{Model: "other-model", Events: []infermetricstest.Event{
			infermetricstest.Content("Hi").After(20 * otelMS),
			infermetricstest.Finish("stop"),
			infermetricstest.Usage(infermetricstest.Tokens{Input: 10, Output: 1}),
		}},
		infermetricstest.Scenario{Status: http.StatusTooManyRequests,
			ErrorBody: `{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`},
	)
	defer srv.Close()
	client := otelClient(srv, tel, opts...)
	for _, model := range []string{"gpt-4o", "gpt-4o", "mystery-model-9000"} {
		if err := otelStream(t, client, model); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Chat.Completions.New(context.Background(), otelParams("gpt-4o")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Chat.Completions.New(context.Background(), otelParams("gpt-4o")); err == nil {
		t.Fatal("429: want an error")
	}
	if n := len(tel.Calls()); n != 5 {
		t.Fatalf("got %d calls, want 5", n)
	}
}

func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tel := infermetricstest.NewTelemetry()
		metricsWorkload(t, tel)
		calls := tel.Calls()
		rich, truncated, unknown, other, failed := calls[0], calls[1], calls[2], calls[3], calls[4]
		if !rich.Useful() || !rich.PriceKnown || truncated.Useful() || !truncated.PriceKnown || !truncated.Flags.Has(infermetrics.FlagTruncated) ||
			unknown.PriceKnown || !other.Flags.Has(infermetrics.FlagModelMismatch) || failed.ErrorType != "rate_limit_exceeded" {
			t.Fatalf("workload is not what the test expects: %+v", calls)
		}
		rm := tel.Metrics()

		// Every metric of the README's table, with its unit and buckets.
		type spec struct {
			unit    string
			bounds  []float64 // nil: a counter
			float   bool
			present bool
		}
		specs := map[string]spec{
			infermetrics.MetricOperationDuration:  {"s", otelDurationBuckets, true, true},
			infermetrics.MetricTimeToFirstChunk:   {"s", otelDurationBuckets, true, true},
			infermetrics.MetricTimePerOutputChunk: {"s", otelChunkBuckets, true, true},
			infermetrics.MetricTokenUsage:         {"{token}", otelTokenBuckets, false, true},
			infermetrics.MetricTimeToFirstToken:   {"s", otelDurationBuckets, true, true},
			infermetrics.MetricTimeToFirstAnswer:  {"s", otelDurationBuckets, true, true},
			infermetrics.MetricMaxChunkGap:        {"s", otelDurationBuckets, true, true},
			infermetrics.MetricOutputTokenRate:    {"{token}/s", nil, true, true},
			infermetrics.MetricReasoningTokens:    {"{token}", nil, false, true},
			infermetrics.MetricCachedInputTokens:  {"{token}", nil, false, true},
			infermetrics.MetricCost:               {"{USD}", nil, true, true},
			infermetrics.MetricCalls:              {"{call}", nil, false, true},
			infermetrics.MetricFlags:              {"{call}", nil, false, true},
			infermetrics.MetricDraftInputTokens:   {present: false},
			infermetrics.MetricDraftOutputTokens:  {present: false},
		}
		for name, sp := range specs {
			m, ok := tel.Metric(name)
			if ok != sp.present {
				t.Errorf("%s: present %v, want %v", name, ok, sp.present)
				continue
			}
			if !ok {
				continue
			}
			if m.Unit != sp.unit {
				t.Errorf("%s: unit %q, want %q", name, m.Unit, sp.unit)
			}
			if m.Description == "" {
				t.Errorf("%s: no description", name)
			}
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				if !sp.float || name == infermetrics.MetricOutputTokenRate && sp.bounds != nil {
					t.Errorf("%s: float64 histogram, want %+v", name, sp)
				}
				for _, p := range d.DataPoints {
					if sp.bounds != nil && !slices.Equal(p.Bounds, sp.bounds) {
						t.Errorf("%s: bounds %v, want %v", name, p.Bounds, sp.bounds)
					}
				}
			case metricdata.Histogram[int64]:
				if sp.float || sp.bounds == nil {
					t.Errorf("%s: int64 histogram, want %+v", name, sp)
				}
				for _, p := range d.DataPoints {
					if !slices.Equal(p.Bounds, sp.bounds) {
						t.Errorf("%s: bounds %v, want %v", name, p.Bounds, sp.bounds)
					}
				}
			case metricdata.Sum[float64]:
				if !sp.float || sp.bounds != nil || !d.IsMonotonic {
					t.Errorf("%s: float64 sum (monotonic %v), want %+v", name, d.IsMonotonic, sp)
				}
			case metricdata.Sum[int64]:
				if sp.float || sp.bounds != nil || !d.IsMonotonic {
					t.Errorf("%s: int64 sum (monotonic %v), want %+v", name, d.IsMonotonic, sp)
				}
			default:
				t.Errorf("%s: unexpected data %T", name, m.Data)
			}
		}

		// Attributes: the required ones everywhere, nothing of high
		// cardinality anywhere.
		allowed := map[attribute.Key]bool{
			"gen_ai.operation.name": true, "gen_ai.provider.name": true, "gen_ai.request.model": true,
			"gen_ai.response.model": true, "server.address": true, "server.port": true, "error.type": true,
			"gen_ai.token.type": true, "infermetrics.useful": true, "infermetrics.price_known": true,
			"infermetrics.usage_estimated": true, "infermetrics.flag": true, "infermetrics.idle": true,
			"openai.api.type": true,
		}
		ids := map[string]bool{}
		for _, c := range calls {
			if c.ResponseID != "" {
				ids[c.ResponseID] = true
			}
		}
		for _, p := range points(rm) {
			for _, kv := range p.attrs.ToSlice() {
				if !allowed[kv.Key] {
					t.Errorf("%s: unexpected attribute %s=%v", p.metric, kv.Key, kv.Value.Emit())
				}
				if s := kv.Value.Emit(); ids[s] || strings.Contains(s, "chatcmpl") || strings.Contains(s, "Hel") || strings.Contains(s, "ANSWER") {
					t.Errorf("%s: high-cardinality value %s=%q", p.metric, kv.Key, s)
				}
			}
			for _, kv := range []attribute.KeyValue{
				attribute.String("gen_ai.operation.name", "chat"),
				attribute.String("gen_ai.provider.name", "openai_compatible"),
				attribute.String("server.address", otelHost),
				attribute.Int("server.port", 80),
				attribute.String("openai.api.type", "chat_completions"),
			} {
				if !hasAttrs(p.attrs, kv) {
					t.Errorf("%s %v: missing %s=%v", p.metric, p.attrs.Encoded(attribute.DefaultEncoder()), kv.Key, kv.Value.Emit())
				}
			}
			if _, ok := p.attrs.Value("gen_ai.request.model"); !ok {
				t.Errorf("%s %v: missing gen_ai.request.model", p.metric, p.attrs.Encoded(attribute.DefaultEncoder()))
			}
		}
		et := attribute.String("error.type", "rate_limit_exceeded")
		if n := tel.HistogramCount(infermetrics.MetricOperationDuration); n != 5 {
			t.Errorf("duration: %d measurements, want 5", n)
		}
		if n := tel.HistogramCount(infermetrics.MetricOperationDuration, et); n != 1 {
			t.Errorf("duration{error.type}: %d measurements, want 1", n)
		}
		for _, p := range points(rm) {
			_, hasErr := p.attrs.Value("error.type")
			if hasErr && !hasAttrs(p.attrs, et) {
				t.Errorf("%s: error.type on a point that is not the failed call's: %v", p.metric, p.attrs.Encoded(attribute.DefaultEncoder()))
			}
		}

		// Streams: time per output chunk, one per chunk after the first.
		wantChunks := 0
		for _, c := range calls {
			if c.Stream && c.Err == nil {
				wantChunks += c.Chunks - 1
			}
		}
		if n := tel.HistogramCount(infermetrics.MetricTimePerOutputChunk); n != uint64(wantChunks) {
			t.Errorf("time_per_output_chunk: %d measurements, want %d", n, wantChunks)
		}
		gpt := attribute.String("gen_ai.request.model", "gpt-4o")
		useful := attribute.Bool("infermetrics.useful", true)
		richModel := attribute.String("gen_ai.response.model", "gpt-4o")
		if n := tel.HistogramCount(infermetrics.MetricTimePerOutputChunk, gpt, richModel); n != uint64(rich.Chunks-1+truncated.Chunks-1) {
			t.Errorf("time_per_output_chunk{gpt-4o}: %d, want %d", n, rich.Chunks-1+truncated.Chunks-1)
		}
		if rich.Chunks != 7 {
			t.Errorf("rich call: %d chunks, want 7", rich.Chunks)
		}
		if n := tel.HistogramCount(infermetrics.MetricTimeToFirstChunk); n != 3 {
			t.Errorf("time_to_first_chunk: %d, want 3 (streams only)", n)
		}

		// Token usage by type.
		in, out := attribute.String("gen_ai.token.type", "input"), attribute.String("gen_ai.token.type", "output")
		if n := tel.HistogramCount(infermetrics.MetricTokenUsage, in); n != 4 {
			t.Errorf("token usage{input}: %d, want 4 (every answered call)", n)
		}
		wantIn, wantOut := 0.0, 0.0
		for _, c := range calls {
			if c.Err == nil {
				wantIn += float64(c.InputTokens)
				wantOut += float64(c.OutputTokens)
			}
		}
		if got := tel.HistogramSum(infermetrics.MetricTokenUsage, in); got != wantIn || wantIn != 42 {
			t.Errorf("token usage{input}: sum %v, want %v (42)", got, wantIn)
		}
		if got := tel.HistogramSum(infermetrics.MetricTokenUsage, out); got != wantOut || wantOut != 35 {
			t.Errorf("token usage{output}: sum %v, want %v (35)", got, wantOut)
		}
		if got := tel.HistogramSum(infermetrics.MetricTokenUsage, out, richModel, gpt, useful); got != 0 {
			t.Errorf("token usage carries infermetrics.useful: %v", got)
		}
		if got := tel.Sum(infermetrics.MetricReasoningTokens); got != 8 {
			t.Errorf("reasoning tokens: %v, want 8", got)
		}
		if got := tel.Sum(infermetrics.MetricCachedInputTokens); got != 4 {
			t.Errorf("cached input tokens: %v, want 4", got)
		}

		// Cost, split by usefulness; unknown prices are not zero dollars.
		if got := tel.Sum(infermetrics.MetricCost, useful, gpt); !near(got, rich.Cost.Total+other.Cost.Total) {
			t.Errorf("cost{useful=true}: %v, want %v", got, rich.Cost.Total+other.Cost.Total)
		}
		if got := tel.Sum(infermetrics.MetricCost, attribute.Bool("infermetrics.useful", false)); !near(got, truncated.Cost.Total) || got <= 0 {
			t.Errorf("cost{useful=false}: %v, want %v", got, truncated.Cost.Total)
		}
		mystery := attribute.String("gen_ai.request.model", "mystery-model-9000")
		for _, p := range points(rm) {
			if p.metric == infermetrics.MetricCost && (hasAttrs(p.attrs, mystery) || hasAttrs(p.attrs, attribute.Bool("infermetrics.price_known", false))) {
				t.Errorf("cost has a point for a call without a price: %v = %v", p.attrs.Encoded(attribute.DefaultEncoder()), p.sum)
			}
		}
		if got := tel.Sum(infermetrics.MetricCalls, mystery, attribute.Bool("infermetrics.price_known", false)); got != 1 {
			t.Errorf("calls{mystery, price_known=false}: %v, want 1", got)
		}
		// Only the model without a price is unpriced; the failed 429 on
		// gpt-4o cost nothing but its model's price is known.
		if got := tel.Sum(infermetrics.MetricCalls, attribute.Bool("infermetrics.price_known", false)); got != 1 {
			t.Errorf("calls{price_known=false}: %v, want 1", got)
		}
		if got := tel.Sum(infermetrics.MetricCalls, attribute.Bool("infermetrics.price_known", true)); got != 4 {
			t.Errorf("calls{price_known=true}: %v, want 4", got)
		}
		if got := tel.Sum(infermetrics.MetricCalls); got != 5 {
			t.Errorf("calls: %v, want 5", got)
		}
		if got := tel.Sum(infermetrics.MetricCalls, useful); got != 3 {
			t.Errorf("calls{useful}: %v, want 3", got)
		}

		// One count per flag raised.
		for _, f := range infermetrics.AllFlags() {
			want := 0.0
			for _, c := range calls {
				if c.Flags.Has(f) {
					want++
				}
			}
			if got := tel.Sum(infermetrics.MetricFlags, attribute.String("infermetrics.flag", f.String())); got != want {
				t.Errorf("flags{%s}: %v, want %v", f, got, want)
			}
		}
		if got := tel.Sum(infermetrics.MetricFlags, attribute.String("infermetrics.flag", "truncated"), gpt); got != 1 {
			t.Errorf("flags{truncated}: %v, want 1", got)
		}
		if got := tel.Sum(infermetrics.MetricFlags, attribute.String("infermetrics.flag", "model_mismatch"),
			attribute.String("gen_ai.response.model", "other-model")); got != 1 {
			t.Errorf("flags{model_mismatch, other-model}: %v, want 1", got)
		}
	})
}

// TestNoSecrets scans every string the telemetry carries for the API key
// and the prompt and answer text.
func TestNoSecrets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tel := infermetricstest.NewTelemetry()
		metricsWorkload(t, tel)
		for _, s := range otelStrings(tel) {
			for _, secret := range []string{otelAPIKey, "sk-secret", otelPrompt, "PROMPT-7Q2X", "merger", "ANSWER-K9", "Let me"} {
				if strings.Contains(s.value, secret) {
					t.Errorf("%s contains %q: %q", s.where, secret, s.value)
				}
			}
		}
	})
}

func TestCaptureContent(t *testing.T) {
	const limit = 40
	synctest.Test(t, func(t *testing.T) {
		tel := infermetricstest.NewTelemetry()
		metricsWorkload(t, tel, infermetrics.WithCaptureContent(limit))
		spans := tel.Spans()
		if len(spans) != 5 {
			t.Fatalf("got %d spans, want 5", len(spans))
		}
		a := spanAttrs(spans[0])
		for _, k := range []attribute.Key{"gen_ai.input.messages", "gen_ai.output.messages"} {
			v, ok := a[k]
			if !ok {
				t.Errorf("%s missing", k)
				continue
			}
			if v.Type() != attribute.STRING || v.AsString() == "" || len(v.AsString()) > limit {
				t.Errorf("%s: got %s %q (%d bytes), want a non-empty string of at most %d bytes", k, v.Type(), v.Emit(), len(v.AsString()), limit)
			}
		}
		if in := a["gen_ai.input.messages"].AsString(); !strings.Contains(in, "PROMPT-7Q2X") {
			t.Errorf("gen_ai.input.messages: %q does not start the prompt", in)
		}
		for _, s := range spans {
			for _, kv := range s.Attributes() {
				if (kv.Key == "gen_ai.input.messages" || kv.Key == "gen_ai.output.messages") && len(kv.Value.AsString()) > limit {
					t.Errorf("span %s %s: %d bytes, want at most %d", s.Name(), kv.Key, len(kv.Value.AsString()), limit)
				}
			}
		}
		// Captured text stays on spans: the key never appears anywhere,
		// and metrics carry no text.
		for _, s := range otelStrings(tel) {
			if strings.Contains(s.value, "sk-secret") {
				t.Errorf("%s contains the API key: %q", s.where, s.value)
			}
			if strings.HasPrefix(s.where, "metric") && (strings.Contains(s.value, "PROMPT") || strings.Contains(s.value, "ANSWER")) {
				t.Errorf("%s contains text: %q", s.where, s.value)
			}
		}
	})
}

type located struct{ where, value string }

// otelStrings returns every string in the spans (names, status, attributes,
// events, links' attributes, resource) and in the metric attributes.
func otelStrings(tel *infermetricstest.Telemetry) []located {
	var out []located
	addKV := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			w := where + " " + string(kv.Key)
			out = append(out, located{w + " (key)", string(kv.Key)})
			switch kv.Value.Type() {
			case attribute.STRING:
				out = append(out, located{w, kv.Value.AsString()})
			case attribute.STRINGSLICE:
				for _, s := range kv.Value.AsStringSlice() {
					out = append(out, located{w, s})
				}
			default:
				out = append(out, located{w, kv.Value.Emit()})
			}
		}
	}
	for _, s := range tel.Spans() {
		where := "span " + s.Name()
		out = append(out, located{where + " name", s.Name()}, located{where + " status", s.Status().Description})
		addKV(where, s.Attributes())
		for _, e := range s.Events() {
			out = append(out, located{where + " event", e.Name})
			addKV(where+" event "+e.Name, e.Attributes)
		}
		for _, l := range s.Links() {
			addKV(where+" link", l.Attributes)
		}
		if r := s.Resource(); r != nil {
			addKV(where+" resource", r.Attributes())
		}
	}
	for _, p := range points(tel.Metrics()) {
		addKV("metric "+p.metric, p.attrs.ToSlice())
	}
	return out
}

func TestDraftSemconv(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ref := infermetricstest.NewTelemetry()
		metricsWorkload(t, ref)
		tel := infermetricstest.NewTelemetry()
		metricsWorkload(t, tel, infermetrics.WithDraftSemconv())
		for _, gone := range []string{infermetrics.MetricTokenUsage, infermetrics.MetricOperationDuration, infermetrics.MetricTimeToFirstChunk, infermetrics.MetricTimePerOutputChunk} {
			if _, ok := tel.Metric(gone); ok {
				t.Errorf("%s present with WithDraftSemconv", gone)
			}
		}
		// Renamed, with the same points.
		for draft, v141 := range map[string]string{
			infermetrics.MetricDraftDuration:           infermetrics.MetricOperationDuration,
			infermetrics.MetricDraftTimeToFirstChunk:   infermetrics.MetricTimeToFirstChunk,
			infermetrics.MetricDraftTimePerOutputChunk: infermetrics.MetricTimePerOutputChunk,
		} {
			if got, want := tel.HistogramCount(draft), ref.HistogramCount(v141); got != want || want == 0 {
				t.Errorf("%s: %d points, want %d as %s has", draft, got, want, v141)
			}
		}
		// The usage counters, each with gen_ai.token.modality.
		text := attribute.String("gen_ai.token.modality", "text")
		for name, want := range map[string]float64{
			infermetrics.MetricDraftInputTokens:     42,
			infermetrics.MetricDraftOutputTokens:    35,
			infermetrics.MetricDraftReasoningTokens: ref.Sum(infermetrics.MetricReasoningTokens),
			infermetrics.MetricDraftCacheReadTokens: ref.Sum(infermetrics.MetricCachedInputTokens),
		} {
			m, ok := tel.Metric(name)
			if !ok {
				t.Errorf("%s missing", name)
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || !sum.IsMonotonic || m.Unit != "{token}" {
				t.Errorf("%s: %T unit %q, want a monotonic int64 counter in {token}", name, m.Data, m.Unit)
				continue
			}
			for _, p := range sum.DataPoints {
				if v, ok := p.Attributes.Value("gen_ai.token.modality"); !ok || v.AsString() != "text" {
					t.Errorf("%s: a point without gen_ai.token.modality=text", name)
				}
			}
			if got := tel.Sum(name, text); got != want || want == 0 {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}
		// The per-operation histograms.
		for name, want := range map[string]float64{
			infermetrics.MetricDraftOperationInputTokens:  42,
			infermetrics.MetricDraftOperationOutputTokens: 35,
		} {
			m, ok := tel.Metric(name)
			if !ok {
				t.Errorf("%s missing", name)
				continue
			}
			h, ok := m.Data.(metricdata.Histogram[int64])
			if !ok {
				t.Errorf("%s: %T, want an int64 histogram", name, m.Data)
				continue
			}
			for _, p := range h.DataPoints {
				if !slices.Equal(p.Bounds, otelTokenBuckets) {
					t.Errorf("%s: bounds %v", name, p.Bounds)
				}
				if _, ok := p.Attributes.Value("gen_ai.token.type"); ok {
					t.Errorf("%s: has gen_ai.token.type", name)
				}
			}
			if got, n := tel.HistogramSum(name), tel.HistogramCount(name); got != want || n != 4 {
				t.Errorf("%s: sum %v over %d, want %v over 4", name, got, n, want)
			}
		}
		// This library's own metrics are unchanged.
		if got, want := tel.HistogramCount(infermetrics.MetricTimeToFirstToken), ref.HistogramCount(infermetrics.MetricTimeToFirstToken); got != want {
			t.Errorf("time to first token: %d, want %d", got, want)
		}
	})
}

// TestDraftSemconvSpan: the draft's renamed cache attribute and the
// proposed cost attributes.
func TestDraftSemconvSpan(t *testing.T) {
	for _, draft := range []bool{false, true} {
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Body: `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":1,"prompt_tokens_details":{"cache_write_tokens":20},"cost":0.5}}`})
		tel := infermetricstest.NewTelemetry()
		opts := []infermetrics.Option{infermetrics.WithPrice("m", infermetrics.Price{Input: 1, Output: 1})}
		if draft {
			opts = append(opts, infermetrics.WithDraftSemconv())
		}
		client := otelClient(srv, tel, opts...)
		if _, err := client.Chat.Completions.New(context.Background(), chatParams("m")); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		a := spanAttrs(tel.Spans()[0])
		_, creation := a["gen_ai.usage.cache_creation.input_tokens"]
		write, renamed := a["gen_ai.usage.cache_write.input_tokens"]
		if creation == draft || renamed != draft || (draft && write.AsInt64() != 20) {
			t.Errorf("draft %v: cache_creation %v, cache_write %v (%v)", draft, creation, renamed, write.Emit())
		}
		amount, ok := a["gen_ai.usage.cost.amount"]
		if ok != draft {
			t.Errorf("draft %v: gen_ai.usage.cost.amount present %v", draft, ok)
		}
		if draft && (amount.AsFloat64() != 0.5 || a["gen_ai.usage.cost.currency"].AsString() != "USD" || a["gen_ai.usage.cost.source"].AsString() != "provider") {
			t.Errorf("cost attributes %v %v %v, want 0.5 USD provider", amount.Emit(), a["gen_ai.usage.cost.currency"].Emit(), a["gen_ai.usage.cost.source"].Emit())
		}
	}
}

func TestMaxModels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		models := []string{"echo-a", "echo-b", "echo-c", "echo-d", "echo-e"}
		var scenarios []infermetricstest.Scenario
		for _, m := range models {
			scenarios = append(scenarios, infermetricstest.Scenario{Model: m, Events: []infermetricstest.Event{
				infermetricstest.Content("Hi"), infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 5, Output: 1}),
			}})
		}
		srv := infermetricstest.NewServer(scenarios...)
		defer srv.Close()
		tel := infermetricstest.NewTelemetry()
		client := otelClient(srv, tel, infermetrics.WithMaxModels(2), infermetrics.WithPrice("gpt-4o", infermetrics.Price{Input: 1, Output: 2}))
		for range models {
			if _, err := client.Chat.Completions.New(context.Background(), otelParams("gpt-4o")); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for _, c := range tel.Calls() {
			got = append(got, c.ResponseModel)
		}
		if !slices.Equal(got, models) {
			t.Errorf("Call.ResponseModel: got %v, want %v", got, models)
		}
		got = got[:0]
		for _, s := range tel.Spans() {
			got = append(got, spanAttrs(s)["gen_ai.response.model"].AsString())
		}
		if !slices.Equal(got, models) {
			t.Errorf("span gen_ai.response.model: got %v, want %v", got, models)
		}
		seen := map[string]map[string]bool{}
		for _, p := range points(tel.Metrics()) {
			v, ok := p.attrs.Value("gen_ai.response.model")
			if !ok {
				t.Errorf("%s: no gen_ai.response.model", p.metric)
				continue
			}
			if seen[p.metric] == nil {
				seen[p.metric] = map[string]bool{}
			}
			seen[p.metric][v.AsString()] = true
		}
		for name, vals := range seen {
			real := 0
			for v := range vals {
				if v != "_OTHER" {
					real++
					if !slices.Contains(models, v) {
						t.Errorf("%s: unexpected gen_ai.response.model %q", name, v)
					}
				}
			}
			if real > 2 {
				t.Errorf("%s: %d distinct response models %v, want at most 2 plus _OTHER", name, real, vals)
			}
		}
		other := attribute.String("gen_ai.response.model", "_OTHER")
		if n := tel.HistogramCount(infermetrics.MetricOperationDuration, other); n != 3 {
			t.Errorf("duration{_OTHER}: %d, want 3", n)
		}
		for _, m := range models[:2] {
			if n := tel.HistogramCount(infermetrics.MetricOperationDuration, attribute.String("gen_ai.response.model", m)); n != 1 {
				t.Errorf("duration{%s}: %d, want 1", m, n)
			}
		}
		if got := tel.Sum(infermetrics.MetricCalls, other); got != 3 {
			t.Errorf("calls{_OTHER}: %v, want 3", got)
		}
	})
}

// TestAttributesValidUTF8 checks that values cut to a length limit stay
// valid UTF-8 (OTLP exporters reject invalid strings): a model name longer
// than the 256-byte attribute limit, and captured content longer than the
// capture limit, both cut in the middle of a two-byte character.
func TestAttributesValidUTF8(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		model := "a" + strings.Repeat("é", 200)
		srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: []infermetricstest.Event{
			infermetricstest.Content("a" + strings.Repeat("é", 100)), infermetricstest.Finish("stop"),
		}})
		defer srv.Close()
		tel := infermetricstest.NewTelemetry()
		client := otelClient(srv, tel, infermetrics.WithCaptureContent(41))
		if _, err := client.Chat.Completions.New(context.Background(), otelParams(model)); err != nil {
			t.Fatal(err)
		}
		var invalid []string
		for _, s := range otelStrings(tel) {
			if !utf8.ValidString(s.value) {
				w := s.where
				if i := strings.LastIndexByte(w, ' '); i >= 0 && strings.HasPrefix(w, "span") {
					w = "span" + w[i:]
				}
				invalid = append(invalid, w)
			}
		}
		if len(invalid) == 0 {
			return
		}
		t.Errorf("invalid UTF-8 in %v", invalid)
	})
}

// post sends a chat completion request with body to url through rt and
// reads the response to the end.
func post(t *testing.T, rt http.RoundTripper, url, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

// TestServerAddressAndPort checks server.address and server.port for the
// URL forms a client may use.
func TestServerAddressAndPort(t *testing.T) {
	for _, tc := range []struct {
		url  string
		host string
		port int
	}{
		{"https://api.openai.com/v1/chat/completions", "api.openai.com", 443},
		{"http://api.example.test/v1/chat/completions", "api.example.test", 80},
		{"http://localhost:8080/v1/chat/completions", "localhost", 8080},
		{"https://gw.example.test:8443/openai/v1/chat/completions", "gw.example.test", 8443},
		{"http://[::1]:9000/v1/chat/completions", "::1", 9000},
		{"http://[::1]/v1/chat/completions", "::1", 80},
		{"https://[2001:db8::7]/v1/chat/completions", "2001:db8::7", 443},
		{"https://gw.example.test:/v1/chat/completions", "gw.example.test", 443},
	} {
		var got *infermetrics.Call
		rt := infermetrics.NewTransport(&cannedTransport{status: 200, ctype: "application/json", body: []byte(`{"choices":[]}`), split: wholeReads},
			infermetrics.WithOnCall(func(c *infermetrics.Call) { got = c.Clone() }))
		post(t, rt, tc.url, `{"model":"m","messages":[]}`)
		if got == nil {
			t.Fatalf("%s: no call", tc.url)
		}
		if got.ServerAddress != tc.host || got.ServerPort != tc.port {
			t.Errorf("%s: got %q %d, want %q %d", tc.url, got.ServerAddress, got.ServerPort, tc.host, tc.port)
		}
	}
}

// attrSampler records the attributes a sampler sees when a span starts.
type attrSampler struct{ seen []attribute.KeyValue }

func (s *attrSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	s.seen = append(s.seen[:0], p.Attributes...)
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
}

func (s *attrSampler) Description() string { return "attrSampler" }

// TestSamplingAttributes checks that the attributes the conventions list
// as sampling-relevant are given at span creation.
func TestSamplingAttributes(t *testing.T) {
	sampler := &attrSampler{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler))
	rt := infermetrics.NewTransport(&cannedTransport{status: 200, ctype: "application/json", body: []byte(`{"choices":[]}`), split: wholeReads},
		infermetrics.WithTracerProvider(tp))
	post(t, rt, "https://api.groq.com/openai/v1/chat/completions", `{"model":"llama-3.3-70b-versatile","messages":[]}`)
	got := attribute.NewSet(sampler.seen...)
	for _, want := range []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", "groq"),
		attribute.String("gen_ai.request.model", "llama-3.3-70b-versatile"),
		attribute.String("server.address", "api.groq.com"),
		attribute.Int("server.port", 443),
	} {
		if v, ok := got.Value(want.Key); !ok || v != want.Value {
			t.Errorf("sampler saw %s=%v (present %v), want %v", want.Key, v.Emit(), ok, want.Value.Emit())
		}
	}
}

// TestManyAttributeSets checks metric attributes past the bound on cached
// attribute sets: every call is still recorded with its own request model.
func TestManyAttributeSets(t *testing.T) {
	const calls = 1100 // more than the library caches
	tel := infermetricstest.NewTelemetry()
	rt := infermetrics.NewTransport(&cannedTransport{status: 200, ctype: "application/json",
		body:  []byte(`{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`),
		split: wholeReads}, tel.Options()...)
	for i := range calls {
		post(t, rt, "https://api.openai.com/v1/chat/completions", `{"model":"model-`+strconv.Itoa(i)+`","messages":[]}`)
	}
	perModel := map[string]float64{}
	for _, p := range points(tel.Metrics()) {
		if p.metric != infermetrics.MetricCalls {
			continue
		}
		v, _ := p.attrs.Value("gen_ai.request.model")
		perModel[v.AsString()] += p.sum
	}
	if len(perModel) != calls {
		t.Fatalf("%d request models in %s, want %d", len(perModel), infermetrics.MetricCalls, calls)
	}
	for i := range calls {
		if n := perModel["model-"+strconv.Itoa(i)]; n != 1 {
			t.Errorf("model-%d: %v calls, want 1", i, n)
		}
	}
	// Token usage has two sets per model, past the SDK's default limit of
	// 2,000 per instrument; the duration histogram has one.
	if n := tel.HistogramCount(infermetrics.MetricOperationDuration, attribute.String("gen_ai.request.model", "model-1099")); n != 1 {
		t.Errorf("duration{model-1099}: %d points, want 1", n)
	}
}

// TestTimePerOutputChunkFollowsCap checks that time_per_output_chunk has
// one point per kept chunk time after the first, so WithMaxChunkTimes
// bounds it and 0 turns it off.
func TestTimePerOutputChunkFollowsCap(t *testing.T) {
	for _, tc := range []struct{ cap, want int }{{0, 0}, {1, 0}, {100, 99}, {1000, 152}} {
		synctest.Test(t, func(t *testing.T) {
			events := []infermetricstest.Event{infermetricstest.Role()}
			for range 150 {
				events = append(events, infermetricstest.Content("x").After(otelMS))
			}
			events = append(events, infermetricstest.Finish("stop"), infermetricstest.Usage(infermetricstest.Tokens{Input: 1, Output: 150}), infermetricstest.Done())
			srv := infermetricstest.NewServer(infermetricstest.Scenario{Events: events})
			defer srv.Close()
			tel := infermetricstest.NewTelemetry()
			if err := otelStream(t, otelClient(srv, tel, infermetrics.WithMaxChunkTimes(tc.cap)), "gpt-4o"); err != nil {
				t.Fatal(err)
			}
			if got := tel.HistogramCount(infermetrics.MetricTimePerOutputChunk); got != uint64(tc.want) {
				t.Errorf("cap %d: %d time_per_output_chunk points, want %d", tc.cap, got, tc.want)
			}
		})
	}
}

// TestAttributeSetsByUsageSource checks that calls differing only in
// whether usage was reported or estimated are recorded under their own
// attribute sets, however often each repeats.
//
// Estimates reach gen_ai.client.token.usage only with WithEstimatedUsage
// (TestEstimatesKeptFromConventions checks the default).
func TestAttributeSetsByUsageSource(t *testing.T) {
	tel := infermetricstest.NewTelemetry()
	opts := append(tel.Options(), infermetrics.WithEstimatedUsage())
	const answer = `{"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]`
	reported := infermetrics.NewTransport(&cannedTransport{status: 200, ctype: "application/json",
		body: []byte(answer + `,"usage":{"prompt_tokens":3,"completion_tokens":1}}`), split: wholeReads}, opts...)
	estimated := infermetrics.NewTransport(&cannedTransport{status: 200, ctype: "application/json",
		body: []byte(answer + `}`), split: wholeReads}, opts...)
	const url, body = "https://api.openai.com/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}`
	for range 3 {
		post(t, reported, url, body)
	}
	for range 2 {
		post(t, estimated, url, body)
	}
	for _, tc := range []struct {
		estimated bool
		want      float64
	}{{false, 3}, {true, 2}} {
		est := attribute.Bool("infermetrics.usage_estimated", tc.estimated)
		if got := tel.Sum(infermetrics.MetricCalls, est); got != tc.want {
			t.Errorf("calls{usage_estimated=%v}: %v, want %v", tc.estimated, got, tc.want)
		}
		if got := tel.HistogramCount(infermetrics.MetricTokenUsage, est, attribute.String("gen_ai.token.type", "output")); got != uint64(tc.want) {
			t.Errorf("token usage{output, usage_estimated=%v}: %d points, want %v", tc.estimated, got, tc.want)
		}
	}
}

// captureTransport answers every request with a copy of body and keeps the
// last request body and the response body it handed out.
type captureTransport struct {
	body []byte
	sent []byte
	resp io.ReadCloser
}

func (c *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	c.sent = b
	c.resp = io.NopCloser(strings.NewReader(string(c.body)))
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: c.resp, Request: req}, nil
}

// TestUnobservedCallsPassThrough checks that a call nobody would see (no
// recording span, no metric that records, no hook) is sent as the
// application wrote it and its response handed back untouched, and that
// any one observer brings back the whole measurement.
func TestUnobservedCallsPassThrough(t *testing.T) {
	const (
		answer = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\n"
		usage  = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n"
		done   = "data: [DONE]\n\n"
		stream = answer + usage + done
	)
	const reqBody = `{"model":"gpt-4o","messages":[],"stream":true}`
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	for _, tc := range []struct {
		name     string
		opts     func(tel *infermetricstest.Telemetry, hooked *int) []infermetrics.Option
		observed bool
	}{
		{"no-op providers", func(*infermetricstest.Telemetry, *int) []infermetrics.Option {
			return []infermetrics.Option{infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()), infermetrics.WithMeterProvider(metricnoop.NewMeterProvider())}
		}, false},
		{"global providers, never set", func(*infermetricstest.Telemetry, *int) []infermetrics.Option { return nil }, false},
		{"span not sampled, no-op meter", func(*infermetricstest.Telemetry, *int) []infermetrics.Option {
			return []infermetrics.Option{infermetrics.WithTracerProvider(never), infermetrics.WithMeterProvider(metricnoop.NewMeterProvider())}
		}, false},
		{"hook only", func(_ *infermetricstest.Telemetry, hooked *int) []infermetrics.Option {
			return []infermetrics.Option{infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()), infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()),
				infermetrics.WithOnCall(func(*infermetrics.Call) { *hooked++ })}
		}, true},
		{"sampled span only", func(tel *infermetricstest.Telemetry, _ *int) []infermetrics.Option {
			return []infermetrics.Option{infermetrics.WithTracerProvider(tel.TracerProvider()), infermetrics.WithMeterProvider(metricnoop.NewMeterProvider())}
		}, true},
		{"metrics only", func(tel *infermetricstest.Telemetry, _ *int) []infermetrics.Option {
			return []infermetrics.Option{infermetrics.WithTracerProvider(never), infermetrics.WithMeterProvider(tel.MeterProvider())}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tel := infermetricstest.NewTelemetry()
			var hooked int
			base := &captureTransport{body: []byte(stream)}
			rt := infermetrics.NewTransport(base, tc.opts(tel, &hooked)...)
			req, err := http.NewRequest(http.MethodPost, "https://api.openai.com/v1/chat/completions", strings.NewReader(reqBody))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			// Measured calls ask for usage, so the usage chunk the
			// application did not ask for is taken out again.
			want := stream
			if tc.observed {
				want = answer + done
			}
			if err != nil || string(got) != want {
				t.Fatalf("application read %q, %v; want %q", got, err, want)
			}
			injected := string(base.sent) != reqBody
			wrapped := resp.Body != base.resp
			measured := hooked+len(tel.Spans()) > 0 || tel.HistogramCount(infermetrics.MetricOperationDuration) > 0
			if injected != tc.observed || wrapped != tc.observed || measured != tc.observed {
				t.Errorf("usage injected %v, body wrapped %v, measured %v; want all %v (sent %s)", injected, wrapped, measured, tc.observed, base.sent)
			}
		})
	}
}
