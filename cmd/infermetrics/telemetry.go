package main

import (
	"context"
	"os"
	"time"

	"github.com/infermetrics/infermetrics"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// telemetry holds the OpenTelemetry pipeline that sends each trial's span
// and metrics to the user's collector.
type telemetry struct {
	options  []infermetrics.Option
	describe string
	shutdown func()
}

// setupTelemetry builds the pipeline from the standard OTEL_* environment
// variables (through autoexport) when OTEL_EXPORTER_OTLP_ENDPOINT, or a
// signal's own endpoint or exporter variable, is set. Otherwise nothing
// leaves the process, and the library's instruments stay off.
func setupTelemetry(ctx context.Context) (*telemetry, error) {
	set := false
	for _, k := range []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER",
	} {
		if os.Getenv(k) != "" {
			set = true
		}
	}
	if !set {
		return &telemetry{describe: "off (set OTEL_EXPORTER_OTLP_ENDPOINT to send spans and metrics)", shutdown: func() {}}, nil
	}
	spans, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, err
	}
	reader, err := autoexport.NewMetricReader(ctx)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	return &telemetry{
		options:  []infermetrics.Option{infermetrics.WithTracerProvider(tp), infermetrics.WithMeterProvider(mp)},
		describe: "OpenTelemetry through the OTEL_* environment (autoexport)",
		shutdown: func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tp.Shutdown(ctx)
			mp.Shutdown(ctx)
		},
	}, nil
}
