package infermetrics_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/internal/benchload"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// findMetrics returns every metric named name in rm, with its scope.
func findMetrics(rm *metricdata.ResourceMetrics, name string) (ms []metricdata.Metrics, scopes []metricdata.ScopeMetrics) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				ms = append(ms, m)
				scopes = append(scopes, sm)
			}
		}
	}
	return ms, scopes
}

// readStreams reads n streams through a client instrumented with opts and
// returns the chunk times of each call and what the reader collects.
func readStreams(t *testing.T, n int, reader *sdkmetric.ManualReader, opts ...infermetrics.Option) ([][]time.Duration, metricdata.ResourceMetrics) {
	t.Helper()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	var times [][]time.Duration
	opts = append(opts,
		infermetrics.WithMeterProvider(mp),
		infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()),
		infermetrics.WithOnCall(func(c *infermetrics.Call) { times = append(times, slices.Clone(c.ChunkTimes)) }))
	c := newClient(benchload.Stream(50), infermetrics.Instrument(opts...))
	p := benchParams("gpt-4o")
	for range n {
		benchRead(t, &c, &p)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return times, rm
}

// TestChunkGapsWiring checks that with WithChunkGaps the metric comes from
// the producer only, and is what the SDK's instrument would have reported
// for the same chunk times.
func TestChunkGapsWiring(t *testing.T) {
	// Without: the SDK's instrument reports the metric.
	_, rmA := readStreams(t, 1, sdkmetric.NewManualReader())
	sdkTPOC, sdkScopes := findMetrics(&rmA, infermetrics.MetricTimePerOutputChunk)
	if len(sdkTPOC) != 1 {
		t.Fatalf("without ChunkGaps: %d time_per_output_chunk metrics, want 1", len(sdkTPOC))
	}
	bounds := sdkTPOC[0].Data.(metricdata.Histogram[float64]).DataPoints[0].Bounds

	// With: the producer reports it, the instrument nothing.
	gaps := infermetrics.NewChunkGaps(bounds)
	times, rmB := readStreams(t, 3, sdkmetric.NewManualReader(sdkmetric.WithProducer(gaps)), infermetrics.WithChunkGaps(gaps))
	got, gotScopes := findMetrics(&rmB, infermetrics.MetricTimePerOutputChunk)
	if len(got) != 1 {
		t.Fatalf("with ChunkGaps: %d time_per_output_chunk metrics, want 1 (the producer's)", len(got))
	}
	if gotScopes[0].Scope != sdkScopes[0].Scope {
		t.Errorf("scope: got %+v, want the instrument's %+v", gotScopes[0].Scope, sdkScopes[0].Scope)
	}
	dur, _ := findMetrics(&rmB, infermetrics.MetricTimeToFirstChunk) // the base set: no infermetrics.idle
	set := dur[0].Data.(metricdata.Histogram[float64]).DataPoints[0].Attributes

	// What the SDK's instrument makes of the same chunk times.
	ref := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(ref))
	h, err := mp.Meter(infermetrics.ScopeName).Float64Histogram(sdkTPOC[0].Name,
		metric.WithDescription(sdkTPOC[0].Description), metric.WithUnit(sdkTPOC[0].Unit), metric.WithExplicitBucketBoundaries(bounds...))
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 3 {
		t.Fatalf("got %d calls, want 3", len(times))
	}
	for _, ts := range times {
		for i := 1; i < len(ts); i++ {
			h.Record(context.Background(), (ts[i] - ts[i-1]).Seconds(), metric.WithAttributeSet(set))
		}
	}
	var want metricdata.ResourceMetrics
	if err := ref.Collect(context.Background(), &want); err != nil {
		t.Fatal(err)
	}
	metricdatatest.AssertEqual(t, want.ScopeMetrics[0].Metrics[0], got[0], metricdatatest.IgnoreTimestamp())

	// And it is the producer's.
	produced, err := gaps.Produce(context.Background())
	if err != nil || len(produced) != 1 {
		t.Fatalf("Produce: %d scopes, %v; want 1", len(produced), err)
	}
	metricdatatest.AssertEqual(t, produced[0].Metrics[0], got[0], metricdatatest.IgnoreTimestamp())
}
