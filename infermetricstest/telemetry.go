package infermetricstest

import (
	"context"
	"sync"

	"github.com/infermetrics/infermetrics"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Telemetry collects what an instrumented client reports: the spans, the
// metrics and the [infermetrics.Call] records. It uses the OpenTelemetry
// SDK with an in-memory span recorder and a manual metric reader, so
// nothing leaves the process and no goroutine is started; it may be
// created inside a synctest bubble.
//
//	tel := infermetricstest.NewTelemetry()
//	client := openai.NewClient(..., infermetrics.Instrument(tel.Options()...))
//	// ... make calls ...
//	n := tel.HistogramCount(infermetrics.MetricOperationDuration)
//
// A Telemetry can be used concurrently by multiple goroutines.
type Telemetry struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider

	mu    sync.Mutex
	calls []*infermetrics.Call
}

// NewTelemetry returns a Telemetry with empty records.
func NewTelemetry() *Telemetry {
	t := &Telemetry{
		spans:  tracetest.NewSpanRecorder(),
		reader: sdkmetric.NewManualReader(),
	}
	t.tp = sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(t.spans),
	)
	t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(t.reader))
	return t
}

// Options returns the options that make an instrumented client report to
// t: [infermetrics.WithTracerProvider], [infermetrics.WithMeterProvider]
// and [infermetrics.WithOnCall]. Options given after them override them;
// an overriding WithOnCall stops t from recording calls.
func (t *Telemetry) Options() []infermetrics.Option {
	return []infermetrics.Option{
		infermetrics.WithTracerProvider(t.tp),
		infermetrics.WithMeterProvider(t.mp),
		infermetrics.WithOnCall(t.record),
	}
}

// TracerProvider returns the tracer provider the spans are recorded with.
func (t *Telemetry) TracerProvider() *sdktrace.TracerProvider { return t.tp }

// MeterProvider returns the meter provider the metrics are recorded with.
func (t *Telemetry) MeterProvider() *sdkmetric.MeterProvider { return t.mp }

func (t *Telemetry) record(c *infermetrics.Call) {
	c = c.Clone()
	t.mu.Lock()
	t.calls = append(t.calls, c)
	t.mu.Unlock()
}

// Calls returns copies of the calls reported so far, in the order the
// attempts ended.
func (t *Telemetry) Calls() []*infermetrics.Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*infermetrics.Call, len(t.calls))
	for i, c := range t.calls {
		out[i] = c.Clone()
	}
	return out
}

// LastCall returns a copy of the call reported last, or nil if there is
// none.
func (t *Telemetry) LastCall() *infermetrics.Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.calls) == 0 {
		return nil
	}
	return t.calls[len(t.calls)-1].Clone()
}

// Spans returns the spans ended so far, in the order they ended.
func (t *Telemetry) Spans() []sdktrace.ReadOnlySpan {
	return t.spans.Ended()
}

// Metrics collects and returns the metrics recorded so far. Sums and
// histograms are cumulative: each collection includes all earlier
// measurements. A collection error, which cannot happen unless the meter
// provider was shut down, is reported to [otel.Handle].
func (t *Telemetry) Metrics() metricdata.ResourceMetrics {
	var rm metricdata.ResourceMetrics
	if err := t.reader.Collect(context.Background(), &rm); err != nil {
		otel.Handle(err)
	}
	return rm
}

// Metric collects the metrics and returns the one named name, and whether
// it was found. A metric is found only once a measurement was recorded.
func (t *Telemetry) Metric(name string) (metricdata.Metrics, bool) {
	return findMetric(t.Metrics(), name)
}

func findMetric(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// HistogramCount returns the number of measurements the histogram name
// recorded in the data points whose attributes include all of attrs. It
// returns 0 if there is no such histogram.
func (t *Telemetry) HistogramCount(name string, attrs ...attribute.KeyValue) uint64 {
	return t.aggregate(name, attrs).count
}

// HistogramSum returns the sum of the measurements the histogram name
// recorded in the data points whose attributes include all of attrs. It
// returns 0 if there is no such histogram.
func (t *Telemetry) HistogramSum(name string, attrs ...attribute.KeyValue) float64 {
	return t.aggregate(name, attrs).histSum
}

// Sum returns the total of the counter name over the data points whose
// attributes include all of attrs. It returns 0 if there is no such
// counter.
func (t *Telemetry) Sum(name string, attrs ...attribute.KeyValue) float64 {
	return t.aggregate(name, attrs).total
}

// aggregated is what the data points of one metric add up to.
type aggregated struct {
	count   uint64  // histogram measurements
	histSum float64 // their sum
	total   float64 // a counter's value
}

// aggregate collects the metrics and adds up the data points of name
// whose attributes include all of attrs.
func (t *Telemetry) aggregate(name string, attrs []attribute.KeyValue) aggregated {
	var a aggregated
	m, ok := t.Metric(name)
	if !ok {
		return a
	}
	switch d := m.Data.(type) {
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			if hasAll(p.Attributes, attrs) {
				a.count += p.Count
				a.histSum += p.Sum
			}
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			if hasAll(p.Attributes, attrs) {
				a.count += p.Count
				a.histSum += float64(p.Sum)
			}
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			if hasAll(p.Attributes, attrs) {
				a.total += p.Value
			}
		}
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if hasAll(p.Attributes, attrs) {
				a.total += float64(p.Value)
			}
		}
	}
	return a
}

// hasAll reports whether set contains every one of attrs.
func hasAll(set attribute.Set, attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}
