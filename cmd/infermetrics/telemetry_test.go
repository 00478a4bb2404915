package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics/infermetricstest"
)

// TestTelemetryToCollector checks that with OTEL_EXPORTER_OTLP_ENDPOINT
// set, the trials' spans and metrics reach the collector.
func TestTelemetryToCollector(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		got[r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_METRICS_EXPORTER", "")

	srv := servers{"t": infermetricstest.NewServerFunc(func(request) scenario { return answer(5*time.Millisecond, "stop") })}
	defer srv.close()
	o := benchOptions{
		config: writeConfig(t, `
targets: [{name: t, base_url: "http://t.invalid/v1", model: m}]
scenarios: [{name: chat, prompts: [hi]}]
trials: 3
warmups: 0
`),
		out: filepath.Join(t.TempDir(), "run"), warmups: -1, transport: srv.transport, progress: quiet{},
	}
	if _, err := bench(t.Context(), o, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got["/v1/traces"] == 0 || got["/v1/metrics"] == 0 {
		t.Errorf("collector received %v, want spans at /v1/traces and metrics at /v1/metrics", got)
	}
}
