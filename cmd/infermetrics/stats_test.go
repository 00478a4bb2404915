package main

import (
	"math"
	"testing"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		values []float64
		p      float64
		want   float64
	}{
		{[]float64{7}, 0.5, 7},
		{[]float64{7}, 0.99, 7},
		{[]float64{1, 2, 3, 4}, 0, 1},
		{[]float64{1, 2, 3, 4}, 1, 4},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},         // h = 1.5
		{[]float64{1, 2, 3, 4}, 0.9, 3.7},         // h = 2.7
		{[]float64{10, 20, 30, 40, 50}, 0.95, 48}, // h = 3.8
		{[]float64{0, 100}, 0.99, 99},
	}
	for _, tt := range tests {
		if got := percentile(tt.values, tt.p); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.values, tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("percentile(nil) = %v, want NaN", got)
	}
}

func TestQuantileCI(t *testing.T) {
	tests := []struct {
		n      int
		p      float64
		lo, hi int
	}{
		// The median of 25: P(B <= 7) = 0.0216 for B binomial (25, 1/2).
		{25, 0.5, 8, 18},
		// The median of 5 has no 95% interval: P(B = 0) = 1/32 > 0.025.
		{5, 0.5, 0, 0},
		// Of 6: P(B = 0) = 1/64, so X(1) and X(6).
		{6, 0.5, 1, 6},
		// p95 of 25: P(B <= 20) = 0.0072, P(B <= 21) = 0.0341 for
		// binomial (25, 0.95); no upper bound, as 0.95^25 > 0.025.
		{25, 0.95, 21, 0},
		// The upper bound of a p95 needs 0.95^n <= 0.025: n >= 72.
		{71, 0.95, 63, 0},
		{72, 0.95, 64, 72},
		// The median of 50: P(B <= 17) = 0.0164, P(B <= 18) = 0.0325.
		{50, 0.5, 18, 33},
		{0, 0.5, 0, 0},
	}
	for _, tt := range tests {
		lo, hi := quantileCI(tt.n, tt.p, 0.95)
		if lo != tt.lo || hi != tt.hi {
			t.Errorf("quantileCI(%d, %v) = X(%d), X(%d); want X(%d), X(%d)", tt.n, tt.p, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestBinomPMF(t *testing.T) {
	tests := []struct {
		n, k int
		p    float64
		want float64
	}{
		{4, 2, 0.5, 6.0 / 16},
		{3, 0, 0.1, 0.729},
		{3, 3, 0.1, 0.001},
		{5, 0, 0, 1},
		{5, 5, 1, 1},
		{5, 4, 1, 0},
	}
	for _, tt := range tests {
		if got := binomPMF(tt.n, tt.k, tt.p); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("binomPMF(%d, %d, %v) = %v, want %v", tt.n, tt.k, tt.p, got, tt.want)
		}
	}
}

func TestQuantiles(t *testing.T) {
	// 1..25, unsorted.
	var v []float64
	for i := 25; i >= 1; i-- {
		v = append(v, float64(i))
	}
	q := quantiles(v)
	check := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, deref(got), want)
		}
	}
	check("p50", q.P50, 13)
	check("p90", q.P90, 22.6)
	check("p95", q.P95, 23.8)
	check("p99", q.P99, 24.76)
	check("p50_ci[0]", q.P50CI[0], 8)
	check("p50_ci[1]", q.P50CI[1], 18)
	check("p95_ci[0]", q.P95CI[0], 21)
	if q.P95CI[1] != nil {
		t.Errorf("p95_ci[1] = %v, want null", *q.P95CI[1])
	}
	// Upper bounds need 0.9^n <= 0.025 (n >= 36) for p90, and n >= 72
	// for p95.
	if want := []string{"p90", "p95", "p99"}; !equal(q.Indicative, want) {
		t.Errorf("indicative = %v, want %v", q.Indicative, want)
	}
	if v[0] != 25 {
		t.Errorf("quantiles sorted its argument")
	}
	empty := quantiles(nil)
	if empty.P50 != nil || empty.N != 0 || len(empty.Indicative) != 4 {
		t.Errorf("quantiles(nil) = %+v, want null figures, all indicative", empty)
	}
}

func TestAvailability(t *testing.T) {
	tests := []struct {
		trials, ok int
		errors     map[string]int
		want       string
	}{
		{0, 0, nil, "no_data"},
		{25, 25, nil, "ok"},
		{100, 99, map[string]int{"server_error": 1}, "ok"},
		{25, 24, map[string]int{"server_error": 1}, "erratic"},
		{10, 5, map[string]int{"timeout": 5}, "erratic"},
		{10, 4, map[string]int{"timeout": 6}, "unavailable"},
		{10, 0, map[string]int{"model_not_found": 10}, "not_offered"},
		{10, 0, map[string]int{"model_not_found": 1, "server_error": 9}, "not_offered"},
		{10, 1, map[string]int{"model_not_found": 9}, "unavailable"},
		{10, 0, map[string]int{"server_error": 10}, "unavailable"},
	}
	for _, tt := range tests {
		if got := availability(tt.trials, tt.ok, tt.errors); got != tt.want {
			t.Errorf("availability(%d, %d, %v) = %q, want %q", tt.trials, tt.ok, tt.errors, got, tt.want)
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
