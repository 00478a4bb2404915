package infermetrics_test

import (
	"math"
	"net/http"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// Helpers shared by the package's tests.

// newClient returns an openai-go client that sends its requests through
// rt to http://infermetricstest.invalid/v1, with retries off, configured
// further by opts: the one client constructor of these tests.
func newClient(rt http.RoundTripper, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL("http://" + otelHost + "/v1"),
		option.WithAPIKey(otelAPIKey),
		option.WithHTTPClient(&http.Client{Transport: rt}),
		option.WithMaxRetries(0),
	}, opts...)...)
}

// kitClient returns a client served in memory by srv (exact fake timing
// inside a synctest bubble) and instrumented with opts.
func kitClient(srv *infermetricstest.Server, opts ...infermetrics.Option) openai.Client {
	return newClient(srv.Transport(), infermetrics.Instrument(opts...))
}

// otelClient is kitClient recording into tel.
func otelClient(srv *infermetricstest.Server, tel *infermetricstest.Telemetry, opts ...infermetrics.Option) openai.Client {
	return kitClient(srv, append(tel.Options(), opts...)...)
}

// near reports whether got is want up to floating-point rounding: the
// one closeness test of these tests.
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-12+1e-9*math.Abs(want)
}
