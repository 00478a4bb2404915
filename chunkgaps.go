package infermetrics

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkinstrumentation "go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// descTimePerOutputChunk is the description of
// gen_ai.client.operation.time_per_output_chunk, from the conventions.
const descTimePerOutputChunk = "Time per output chunk, recorded for each chunk received after the first one, measured as the time elapsed from the end of the previous chunk to the end of the current chunk."

// maxGapSeries is how many attribute sets a [ChunkGaps] keeps, as the
// OpenTelemetry SDK's default cardinality limit: past it, points go to one
// series with the attribute otel.metric.overflow=true.
const maxGapSeries = 2000

// overflowGapSet is the attribute set of the overflow series, as the SDK's.
var overflowGapSet = attribute.NewSet(attribute.Bool("otel.metric.overflow", true))

// ChunkGaps aggregates the metric gen_ai.client.operation.time_per_output_chunk
// in the library and hands it to an OpenTelemetry SDK reader as an external
// producer: one explicit-bucket histogram, cumulative, with a series per
// attribute set, the same data the SDK would build from one Record per
// chunk.
//
// The conventions record one point per chunk. Through the SDK that is one
// Record call per chunk, each resolving its attribute set and offering the
// value to an exemplar reservoir: about 3,000 instructions a chunk, more
// than the rest of the library's per-chunk work. A ChunkGaps adds a call's
// gaps to its series under one lock when the call ends, at a few
// instructions a gap.
//
// Register it with every reader of the meter provider the library records
// with, and pass it to the library with WithChunkGaps:
//
//	gaps := infermetrics.NewChunkGaps(nil)
//	reader := sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithProducer(gaps))
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
//	client := openai.NewClient(infermetrics.Instrument(
//		infermetrics.WithMeterProvider(mp), infermetrics.WithChunkGaps(gaps)))
//
// The metric is then reported by the producer, under the library's
// instrumentation scope, and not by the SDK's instrument. Unlike the SDK's
// instrument it is not subject to views, its temporality is always
// cumulative, it carries no exemplars, and its bucket boundaries are the
// ones given to [NewChunkGaps].
//
// A ChunkGaps is safe for concurrent use. Its zero value is not usable.
type ChunkGaps struct {
	bounds []float64
	start  time.Time

	mu     sync.Mutex
	series map[attribute.Distinct]*gapSeries
}

// gapSeries is one attribute set's histogram, kept as the SDK keeps it so
// that the figures are the same to the last bit: the sum is held as the
// SDK's atomic counter holds it, whole values in an integer and the others
// in a float, added together when read.
type gapSeries struct {
	attrs    attribute.Set
	counts   []uint64 // len(bounds)+1
	count    uint64
	sumInt   int64
	sumFloat float64
	min, max float64
	set      bool // min and max hold a value
}

// NewChunkGaps returns a ChunkGaps whose histogram has the given bucket
// boundaries (upper bounds, inclusive, as the SDK's explicit buckets). A nil
// or empty bounds means the library's boundaries for the metric. bounds is
// copied and sorted.
func NewChunkGaps(bounds []float64) *ChunkGaps {
	if len(bounds) == 0 {
		bounds = chunkBuckets
	}
	b := slices.Clone(bounds)
	slices.Sort(b)
	return &ChunkGaps{bounds: b, start: time.Now(), series: make(map[attribute.Distinct]*gapSeries)}
}

// WithChunkGaps records gen_ai.client.operation.time_per_output_chunk into
// g, which the application registers with its SDK readers (see
// [ChunkGaps]), instead of one Record per chunk on the meter provider's
// histogram. Without it, or with nil, every point goes through the meter
// provider, whatever it is.
func WithChunkGaps(g *ChunkGaps) Option {
	return optionFunc(func(c *config) { c.chunkGaps = g })
}

// record adds the gaps between consecutive times, in seconds, to set's
// series: the points that one Record per chunk would give, in the same
// order.
func (g *ChunkGaps) record(set attribute.Set, times []time.Duration) {
	if len(times) < 2 {
		return
	}
	g.mu.Lock()
	s := g.series[set.Equivalent()]
	if s == nil {
		s = g.add(set)
	}
	for i := 1; i < len(times); i++ {
		s.measure(g.bounds, (times[i] - times[i-1]).Seconds())
	}
	g.mu.Unlock()
}

// add makes set's series, or returns the overflow series when the limit is
// reached. g.mu is held.
func (g *ChunkGaps) add(set attribute.Set) *gapSeries {
	if len(g.series) >= maxGapSeries-1 {
		set = overflowGapSet
		if s := g.series[set.Equivalent()]; s != nil {
			return s
		}
	}
	s := &gapSeries{attrs: set, counts: make([]uint64, len(g.bounds)+1)}
	g.series[set.Equivalent()] = s
	return s
}

// measure adds v as the SDK's cumulative histogram does.
func (s *gapSeries) measure(bounds []float64, v float64) {
	// The index of the first boundary >= v (len(bounds) for NaN), as
	// sort.SearchFloat64s finds it.
	i, j := 0, len(bounds)
	for i < j {
		h := int(uint(i+j) >> 1)
		if !(bounds[h] >= v) {
			i = h + 1
		} else {
			j = h
		}
	}
	s.counts[i]++
	s.count++
	if !s.set {
		s.min, s.max, s.set = v, v, true
	} else if v < s.min {
		s.min = v
	} else if s.max < v {
		s.max = v
	}
	s.addSum(v)
}

func (s *gapSeries) addSum(v float64) {
	if n := int64(v); float64(n) == v {
		s.sumInt += n
	} else {
		s.sumFloat += v
	}
}

// Produce returns the histogram of gen_ai.client.operation.time_per_output_chunk
// so far, one data point per attribute set, or nothing before the first
// call with chunk gaps ends. It implements the OpenTelemetry SDK's
// metric.Producer; the SDK's readers call it when they collect. The data
// returned is the caller's.
func (g *ChunkGaps) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.series) == 0 {
		return nil, nil
	}
	points := make([]metricdata.HistogramDataPoint[float64], 0, len(g.series))
	for _, s := range g.series {
		// As the SDK reads its cumulative point: the sum is read as one
		// value and added back, so that later points add to it as they do
		// to the SDK's.
		sum := s.sumFloat + float64(s.sumInt)
		s.sumInt, s.sumFloat = 0, 0
		s.addSum(sum)
		dp := metricdata.HistogramDataPoint[float64]{
			Attributes:   s.attrs,
			StartTime:    g.start,
			Time:         now,
			Count:        s.count,
			Bounds:       slices.Clone(g.bounds),
			BucketCounts: slices.Clone(s.counts),
			Sum:          sum,
		}
		if s.set {
			dp.Min, dp.Max = metricdata.NewExtrema(s.min), metricdata.NewExtrema(s.max)
		}
		points = append(points, dp)
	}
	return []metricdata.ScopeMetrics{{
		Scope: sdkinstrumentation.Scope{Name: ScopeName, Version: Version, SchemaURL: SchemaURL},
		Metrics: []metricdata.Metrics{{
			Name:        MetricTimePerOutputChunk,
			Description: descTimePerOutputChunk,
			Unit:        unitSeconds,
			Data: metricdata.Histogram[float64]{
				DataPoints:  points,
				Temporality: metricdata.CumulativeTemporality,
			},
		}},
	}}, nil
}
