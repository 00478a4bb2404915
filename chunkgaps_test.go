package infermetrics

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
)

// gapsBounds are the boundaries the lead's redesign gives the histogram.
var gapsBounds = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}

// sdkGaps records chunk gaps the way the library does without a ChunkGaps:
// one Record per gap on an SDK histogram with the same name, unit,
// description, boundaries and scope.
type sdkGaps struct {
	reader *sdkmetric.ManualReader
	h      metric.Float64Histogram
}

func newSDKGaps(t *testing.T, bounds []float64) *sdkGaps {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	h, err := mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version), metric.WithSchemaURL(SchemaURL)).Float64Histogram(MetricTimePerOutputChunk,
		metric.WithUnit(unitSeconds), metric.WithDescription(descTimePerOutputChunk), metric.WithExplicitBucketBoundaries(bounds...))
	if err != nil {
		t.Fatal(err)
	}
	return &sdkGaps{reader: r, h: h}
}

func (s *sdkGaps) record(set attribute.Set, times []time.Duration) {
	opts := []metric.RecordOption{metric.WithAttributeSet(set)}
	for i := 1; i < len(times); i++ {
		s.h.Record(context.Background(), (times[i] - times[i-1]).Seconds(), opts...)
	}
}

func (s *sdkGaps) collect(t *testing.T) []metricdata.ScopeMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm.ScopeMetrics
}

// assertSame checks that g produces what the SDK collected, to the bit.
func assertSame(t *testing.T, g *ChunkGaps, s *sdkGaps) {
	t.Helper()
	got, err := g.Produce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := s.collect(t)
	if len(got) != len(want) {
		t.Fatalf("got %d scopes, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		metricdatatest.AssertEqual(t, want[i], got[i], metricdatatest.IgnoreTimestamp())
	}
}

// chunkTimes returns n chunk times starting at start, with gaps from gap.
func chunkTimes(n int, gap func(i int) time.Duration) []time.Duration {
	ts := make([]time.Duration, n)
	var t time.Duration
	for i := range ts {
		if i > 0 {
			t += gap(i)
		}
		ts[i] = t
	}
	return ts
}

func gapSet(model string) attribute.Set {
	return attribute.NewSet(attrOperation.String(operationChat), attrProvider.String("openai"), attrResponseModel.String(model))
}

func TestChunkGapsMatchesSDK(t *testing.T) {
	// Gaps on and around every boundary, whole seconds (which the SDK sums
	// apart from fractions), zero, and odd nanoseconds.
	var edge []time.Duration
	for _, b := range gapsBounds {
		d := time.Duration(b * float64(time.Second))
		edge = append(edge, d-1, d, d+1)
	}
	edge = append(edge, 0, time.Second, 2*time.Second, 100*time.Second, 1234567*time.Nanosecond, 3*time.Nanosecond)
	for _, tc := range []struct {
		name   string
		bounds []float64
		calls  [][]time.Duration
	}{
		{"edges", gapsBounds, [][]time.Duration{chunkTimes(len(edge)+1, func(i int) time.Duration { return edge[i-1] })}},
		{"streams", gapsBounds, [][]time.Duration{
			chunkTimes(1000, func(i int) time.Duration { return time.Duration(i*7919%50_000_000) + 113 }),
			chunkTimes(300, func(i int) time.Duration { return time.Duration(i) * 3 * time.Millisecond }),
			chunkTimes(2, func(int) time.Duration { return 90 * time.Second }),
		}},
		// The SDK sums whole values apart from fractions: the sum
		// differs in its last bits from a sum in order.
		{"whole and fractional", gapsBounds, [][]time.Duration{chunkTimes(1000, func(i int) time.Duration {
			if i%2 == 0 {
				return time.Second
			}
			return time.Duration(i)*time.Nanosecond + 1234567
		})}},
		{"library bounds", nil, [][]time.Duration{chunkTimes(500, func(i int) time.Duration { return time.Duration(i*104729%900_000_000) + 1 })}},
		{"single chunk", gapsBounds, [][]time.Duration{{5 * time.Millisecond}}},
		{"no calls", gapsBounds, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewChunkGaps(tc.bounds)
			bounds := tc.bounds
			if bounds == nil {
				bounds = chunkBuckets
			}
			s := newSDKGaps(t, bounds)
			models := []string{"gpt-4o", "gpt-4o-mini"}
			for round := range 3 { // cumulative over several collections
				for i, ts := range tc.calls {
					set := gapSet(models[(i+round)%2])
					g.record(set, ts)
					s.record(set, ts)
				}
				assertSame(t, g, s)
			}
		})
	}
}

func TestChunkGapsConcurrent(t *testing.T) {
	g := NewChunkGaps(gapsBounds)
	s := newSDKGaps(t, gapsBounds)
	// Gaps that are multiples of 1/64 s add up exactly in any order, so
	// the sums do not depend on how the goroutines interleave.
	ts := chunkTimes(200, func(i int) time.Duration { return time.Duration(i%300) * time.Second / 64 })
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			set := gapSet(fmt.Sprint("m", w%3))
			for range 20 {
				g.record(set, ts)
				s.record(set, ts)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := g.Produce(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	assertSame(t, g, s)
}

func TestChunkGapsCardinality(t *testing.T) {
	g := NewChunkGaps(gapsBounds)
	s := newSDKGaps(t, gapsBounds)
	ts := chunkTimes(3, func(i int) time.Duration { return time.Duration(i) * time.Millisecond })
	for i := range maxGapSeries + 10 {
		set := gapSet(fmt.Sprint("model-", i))
		g.record(set, ts)
		s.record(set, ts)
	}
	assertSame(t, g, s)
	if n := len(g.series); n != maxGapSeries {
		t.Errorf("got %d series, want %d", n, maxGapSeries)
	}
}

func TestChunkGapsNaN(t *testing.T) {
	// Not a gap the library can measure, but the SDK's rules still hold.
	g := NewChunkGaps(gapsBounds)
	s := g.add(gapSet("m"))
	s.measure(g.bounds, math.NaN())
	if s.counts[len(gapsBounds)] != 1 || !math.IsNaN(s.min) {
		t.Errorf("NaN: counts %v min %v, want the last bucket and NaN", s.counts, s.min)
	}
}

func TestChunkGapsRecordAllocs(t *testing.T) {
	g := NewChunkGaps(gapsBounds)
	set := gapSet("m")
	ts := chunkTimes(1000, func(i int) time.Duration { return time.Duration(i) * time.Microsecond })
	g.record(set, ts)
	if a := testing.AllocsPerRun(100, func() { g.record(set, ts) }); a != 0 {
		t.Errorf("record allocates %v times per call, want 0", a)
	}
}

func BenchmarkChunkGapsRecord(b *testing.B) {
	g := NewChunkGaps(gapsBounds)
	set := gapSet("m")
	ts := chunkTimes(1001, func(i int) time.Duration { return time.Duration(i*7919%50_000_000) + 113 })
	b.ReportAllocs()
	for b.Loop() {
		g.record(set, ts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/gap")
}
