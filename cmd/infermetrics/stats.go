package main

import (
	"math"
	"slices"
)

// Percentiles are estimated by linear interpolation between order
// statistics: Hyndman and Fan's type 7, the default of numpy, R and
// Excel's PERCENTILE.INC. Confidence intervals are distribution-free: a
// pair of order statistics whose ranks bracket the percentile with 95%
// probability whatever the distribution, from the binomial distribution.
const percentileMethod = "Hyndman-Fan type 7 (linear interpolation between order statistics); 95% confidence intervals from order statistics via the binomial distribution, equal tails, null where a bound would need more trials"

// confidence is the coverage of the intervals.
const confidence = 0.95

// percentile returns the p-quantile (0 <= p <= 1) of sorted, by
// Hyndman-Fan type 7: with h = (n-1)p, x[floor(h)] plus (h - floor(h))
// of the way to the next order statistic. It returns NaN for no values.
func percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// quantileCI returns the 1-based ranks of the order statistics that bound
// a distribution-free confidence interval for the p-quantile of n values,
// each tail holding at most (1-conf)/2.
//
// The number B of values below the true quantile is binomial (n, p). The
// lower bound is X(l) for the largest l with P(B < l) <= (1-conf)/2, the
// upper bound X(u) for the smallest u with P(B >= u) <= (1-conf)/2. A rank
// of 0 means no order statistic is far enough out: with so few values the
// bound is infinite, reported as null. The p95 upper bound, for one, needs
// 0.95^n <= 0.025, so at least 72 values.
func quantileCI(n int, p, conf float64) (lo, hi int) {
	if n <= 0 {
		return 0, 0
	}
	tail := (1 - conf) / 2
	// cdf[k] = P(B <= k).
	cdf := make([]float64, n+1)
	sum := 0.0
	for k := 0; k <= n; k++ {
		sum += binomPMF(n, k, p)
		cdf[k] = sum
	}
	for l := n; l >= 1; l-- { // P(B < l) = cdf[l-1]
		if cdf[l-1] <= tail {
			lo = l
			break
		}
	}
	for u := 1; u <= n; u++ { // P(B >= u) = 1 - cdf[u-1]
		if 1-cdf[u-1] <= tail {
			hi = u
			break
		}
	}
	return lo, hi
}

// binomPMF is P(B = k) for B binomial (n, p), computed in log space.
func binomPMF(n, k int, p float64) float64 {
	switch {
	case p <= 0:
		if k == 0 {
			return 1
		}
		return 0
	case p >= 1:
		if k == n {
			return 1
		}
		return 0
	}
	ln, _ := math.Lgamma(float64(n + 1))
	lk, _ := math.Lgamma(float64(k + 1))
	lnk, _ := math.Lgamma(float64(n - k + 1))
	return math.Exp(ln - lk - lnk + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
}

// A Quantiles is the figure of one measure in summary.json: percentiles
// and confidence intervals, in seconds or tokens a second. Absent values
// (no data, or an infinite bound) are null.
type Quantiles struct {
	N     int         `json:"n"`
	P50   *float64    `json:"p50"`
	P90   *float64    `json:"p90"`
	P95   *float64    `json:"p95"`
	P99   *float64    `json:"p99"`
	P50CI [2]*float64 `json:"p50_ci"`
	P90CI [2]*float64 `json:"p90_ci"`
	P95CI [2]*float64 `json:"p95_ci"`
	P99CI [2]*float64 `json:"p99_ci"`
	// Indicative lists the percentiles whose interval has a null bound:
	// too few trials to bound them, so read them as indicative only.
	Indicative []string `json:"indicative"`
}

// quantiles computes the figure of values (in any order; not modified).
func quantiles(values []float64) Quantiles {
	v := slices.Clone(values)
	slices.Sort(v)
	q := Quantiles{N: len(v), Indicative: []string{}}
	if len(v) == 0 {
		q.Indicative = []string{"p50", "p90", "p95", "p99"}
		return q
	}
	for _, e := range []struct {
		name string
		p    float64
		val  **float64
		ci   *[2]*float64
	}{
		{"p50", 0.50, &q.P50, &q.P50CI},
		{"p90", 0.90, &q.P90, &q.P90CI},
		{"p95", 0.95, &q.P95, &q.P95CI},
		{"p99", 0.99, &q.P99, &q.P99CI},
	} {
		*e.val = new(percentile(v, e.p))
		lo, hi := quantileCI(len(v), e.p, confidence)
		if lo > 0 {
			e.ci[0] = new(v[lo-1])
		}
		if hi > 0 {
			e.ci[1] = new(v[hi-1])
		}
		if lo == 0 || hi == 0 {
			q.Indicative = append(q.Indicative, e.name)
		}
	}
	return q
}

// A Spread is a two-percentile figure, such as the harness lag.
type Spread struct {
	N   int      `json:"n"`
	P50 *float64 `json:"p50"`
	P99 *float64 `json:"p99"`
}

func spread(values []float64) Spread {
	v := slices.Clone(values)
	slices.Sort(v)
	s := Spread{N: len(v)}
	if len(v) > 0 {
		s.P50 = new(percentile(v, 0.5))
		s.P99 = new(percentile(v, 0.99))
	}
	return s
}
