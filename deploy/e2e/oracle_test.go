package e2e

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/infermetrics/infermetrics"
)

// The oracle predicts what Prometheus answers, from the Calls the library
// reported and the library's documented metrics (README, metric table),
// named as the Collector's prometheus exporter names them.
//
// Prometheus cannot see a counter's first sample as an increase, so the
// test sends its traffic in two rounds: round 1 creates the series, round 2
// is what increase() and rate() measure. Both are extrapolated the way
// Prometheus extrapolates them (see increase), evaluated at the time of the
// last scrape.

// labels is one series' label set, without the labels every series shares
// (job, instance, otel_scope_*).
type labels map[string]string

func (l labels) key() string {
	ks := make([]string, 0, len(l))
	for k, v := range l {
		ks = append(ks, k+"="+strconv.Quote(v))
	}
	sort.Strings(ks)
	return "{" + strings.Join(ks, ",") + "}"
}

func (l labels) with(kv ...string) labels {
	m := make(labels, len(l)+len(kv)/2)
	for k, v := range l {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// series is one Prometheus series: its value after round 1 and after
// round 2 (cumulative, as exported).
type series struct {
	name   string
	l      labels
	v1, v2 float64
}

func (s *series) key() string { return s.name + s.l.key() }

// oracle holds the predicted series by metric name.
type oracle struct {
	m map[string]map[string]*series
}

func (o *oracle) add(round int, name string, l labels, v float64) {
	if o.m == nil {
		o.m = map[string]map[string]*series{}
	}
	fam := o.m[name]
	if fam == nil {
		fam = map[string]*series{}
		o.m[name] = fam
	}
	k := l.key()
	s := fam[k]
	if s == nil {
		s = &series{name: name, l: l}
		fam[k] = s
	}
	if round == 1 {
		s.v1 += v
	}
	s.v2 += v
}

// observe records v in a histogram's _bucket (every bucket, as the
// exporter does), _sum and _count series.
func (o *oracle) observe(round int, name string, l labels, bounds []float64, v float64) {
	for _, b := range bounds {
		in := 0.0
		if v <= b {
			in = 1
		}
		o.add(round, name+"_bucket", l.with("le", strconv.FormatFloat(b, 'g', -1, 64)), in)
	}
	o.add(round, name+"_bucket", l.with("le", "+Inf"), 1)
	o.add(round, name+"_sum", l, v)
	o.add(round, name+"_count", l, 1)
}

// Bucket boundaries of the library's instruments.
var (
	durationBounds = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	tokenBounds    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	speedBounds    = []float64{1, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000}
)

// record adds what the library exports for c: the metric table of the
// README, with the attributes each metric carries.
func (o *oracle) record(round int, c *infermetrics.Call) {
	base := labels{
		"gen_ai_operation_name": "chat",
		"gen_ai_provider_name":  c.Provider,
		"server_address":        c.ServerAddress,
		"server_port":           strconv.Itoa(c.ServerPort),
		"gen_ai_request_model":  c.RequestModel,
	}
	if c.ResponseModel != "" {
		base["gen_ai_response_model"] = c.ResponseModel
	}
	if c.ErrorType != "" {
		base["error_type"] = c.ErrorType
	}
	if c.API == infermetrics.APIResponses {
		base["openai_api_type"] = c.API
	}
	switch c.ServiceTier { // the README's metric attributes: documented tiers, else _OTHER
	case "":
	case "auto", "default", "flex", "scale", "priority":
		base["openai_response_service_tier"] = c.ServiceTier
	default:
		base["openai_response_service_tier"] = "_OTHER"
	}
	secs := func(d time.Duration) float64 { return d.Seconds() }
	// Duration and time to first token also carry the idle class.
	idle := base.with("infermetrics_idle", c.Idle)
	o.observe(round, "gen_ai_client_operation_duration_seconds", idle, durationBounds, secs(c.Duration))
	if c.Stream && c.Chunks > 0 { // failed streams too: what they delivered
		o.observe(round, "gen_ai_client_operation_time_to_first_chunk_seconds", base, durationBounds, secs(c.TimeToFirstChunk))
		for i := 1; i < len(c.ChunkTimes); i++ {
			o.observe(round, "gen_ai_client_operation_time_per_output_chunk_seconds", base, durationBounds, secs(c.ChunkTimes[i]-c.ChunkTimes[i-1]))
		}
	}
	if c.TokenChunks > 0 {
		o.observe(round, "infermetrics_client_time_to_first_token_seconds", idle, durationBounds, secs(c.TimeToFirstToken))
		o.observe(round, "infermetrics_client_max_chunk_gap_seconds", base, durationBounds, secs(c.MaxChunkGap))
	}
	if c.AnswerChunks > 0 {
		o.observe(round, "infermetrics_client_time_to_first_answer_seconds", base, durationBounds, secs(c.TimeToFirstAnswer))
	}
	if c.OutputTokensPerSecond > 0 {
		o.observe(round, "infermetrics_client_output_token_rate_per_second", base, speedBounds, c.OutputTokensPerSecond)
	}
	// Estimated only when an estimate was made (never for a failed attempt);
	// estimates reach the usage metric only with WithEstimatedUsage, which
	// this traffic does not set.
	est := strconv.FormatBool(c.Flags.Has(infermetrics.FlagUsageMissing))
	if c.UsageReported {
		o.observe(round, "gen_ai_client_token_usage", base.with("gen_ai_token_type", "input", "infermetrics_usage_estimated", est), tokenBounds, float64(c.InputTokens))
		o.observe(round, "gen_ai_client_token_usage", base.with("gen_ai_token_type", "output", "infermetrics_usage_estimated", est), tokenBounds, float64(c.OutputTokens))
		if c.ReasoningTokens > 0 {
			o.add(round, "infermetrics_client_reasoning_tokens_total", base, float64(c.ReasoningTokens))
		}
		if c.CachedInputTokens > 0 {
			o.add(round, "infermetrics_client_cached_input_tokens_total", base, float64(c.CachedInputTokens))
		}
	}
	callLabels := base.with(
		"infermetrics_useful", strconv.FormatBool(c.Useful()),
		"infermetrics_price_known", strconv.FormatBool(c.PriceKnown),
		"infermetrics_usage_estimated", est)
	o.add(round, "infermetrics_client_calls_total", callLabels, 1)
	if c.PriceKnown && c.Cost.Total > 0 {
		o.add(round, "infermetrics_client_cost_total", callLabels, c.Cost.Total)
	}
	for _, f := range infermetrics.AllFlags() {
		if c.Flags.Has(f) {
			o.add(round, "infermetrics_client_flags_total", base.with("infermetrics_flag", f.String()), 1)
		}
	}
}

// A sample is one element of an instant vector.
type sample struct {
	l labels
	v float64
}

type vector []sample

// matcher selects series by one label; value "" matches an absent label,
// as in PromQL.
type matcher struct {
	label, value string
	not          bool
}

func eq(l, v string) matcher { return matcher{label: l, value: v} }
func ne(l, v string) matcher { return matcher{label: l, value: v, not: true} }

func (o *oracle) sel(name string, ms ...matcher) []*series {
	var out []*series
next:
	for _, s := range o.m[name] {
		for _, m := range ms {
			if (s.l[m.label] == m.value) == m.not {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// increase is Prometheus's increase() over a window that starts before
// the series' first sample and ends at its last one, where n gives each
// series' number of samples: the difference between the last and the first sample,
// extrapolated toward the window's start by half the average sample
// interval, or only as far as the counter would have been zero if that is
// nearer (promql/functions.go, extrapolatedRate). Series with the same
// samples get the same factor, so for ratios and quantiles it cancels,
// except for series that were zero after round 1.
func increase(ss []*series, n func(*series) int) vector {
	v := make(vector, 0, len(ss))
	for _, s := range ss {
		delta := s.v2 - s.v1
		if delta == 0 {
			v = append(v, sample{s.l, 0})
			continue
		}
		interval := float64(n(s) - 1) // in average sample intervals
		toStart := interval * s.v1 / delta
		if toStart >= 1.1 {
			toStart = 0.5
		}
		v = append(v, sample{s.l, delta * (interval + toStart) / interval})
	}
	return v
}

// rate is Prometheus's rate() over a window of w.
func rate(ss []*series, n func(*series) int, w time.Duration) vector {
	v := increase(ss, n)
	for i := range v {
		v[i].v /= w.Seconds()
	}
	return v
}

func sumBy(v vector, by ...string) vector {
	sums := map[string]*sample{}
	var order []string
	for _, s := range v {
		l := labels{}
		for _, b := range by {
			if val := s.l[b]; val != "" {
				l[b] = val
			}
		}
		k := l.key()
		if sums[k] == nil {
			sums[k] = &sample{l: l}
			order = append(order, k)
		}
		sums[k].v += s.v
	}
	out := make(vector, 0, len(sums))
	for _, k := range order {
		out = append(out, *sums[k])
	}
	return out
}

// div is a / b, matching identical label sets one to one.
func div(a, b vector) vector {
	bs := map[string]float64{}
	for _, s := range b {
		bs[s.l.key()] = s.v
	}
	var out vector
	for _, s := range a {
		if d, ok := bs[s.l.key()]; ok {
			out = append(out, sample{s.l, s.v / d})
		}
	}
	return out
}

// quantile is histogram_quantile(q, v) for v of cumulative bucket
// counts with an le label (promql/quantile.go, bucketQuantile).
func quantile(q float64, v vector) vector {
	type bucket struct{ upper, count float64 }
	groups := map[string][]bucket{}
	ls := map[string]labels{}
	var order []string
	for _, s := range v {
		l := labels{}
		for k, val := range s.l {
			if k != "le" {
				l[k] = val
			}
		}
		k := l.key()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
			ls[k] = l
		}
		upper, _ := strconv.ParseFloat(s.l["le"], 64)
		groups[k] = append(groups[k], bucket{upper, s.v})
	}
	var out vector
	for _, k := range order {
		bs := groups[k]
		sort.Slice(bs, func(i, j int) bool { return bs[i].upper < bs[j].upper })
		value := math.NaN()
		if total := bs[len(bs)-1].count; total > 0 && len(bs) >= 2 {
			rank := q * total
			b := sort.Search(len(bs)-1, func(i int) bool { return bs[i].count >= rank })
			switch {
			case b == len(bs)-1:
				value = bs[len(bs)-2].upper
			case b == 0 && bs[0].upper <= 0:
				value = bs[0].upper
			default:
				start, end, count := 0.0, bs[b].upper, bs[b].count
				if b > 0 {
					start = bs[b-1].upper
					count -= bs[b-1].count
					rank -= bs[b-1].count
				}
				value = start + (end-start)*(rank/count)
			}
		}
		out = append(out, sample{ls[k], value})
	}
	return out
}

func close(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}
