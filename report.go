package infermetrics

import (
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// A Report aggregates calls per model: what they cost, how many were
// useful, and what one useful answer cost. The zero value is an empty
// report ready to use. A Report is safe for concurrent use, so its Add can
// be given to [WithOnCall] directly:
//
//	var r infermetrics.Report
//	client := openai.NewClient(infermetrics.Instrument(infermetrics.WithOnCall(r.Add)))
type Report struct {
	mu     sync.Mutex
	models map[string]*modelState
}

// maxReportSamples bounds the time-to-first-token samples a report keeps
// per model.
const maxReportSamples = 4096

// modelState is one model's aggregate and the state of its sample.
type modelState struct {
	ModelReport
	seen int       // streamed calls offered to the sample
	rng  *rand.PCG // picks the sample; seeded per model, so reports repeat
}

// ModelReport is the aggregate of one model's calls.
type ModelReport struct {
	// Model is the response model, or the request model when the response
	// named none.
	Model string
	// Calls counts attempts; Useful those for which [Call.Useful] held.
	Calls, Useful int
	// Unpriced counts calls whose model had no known price; their cost is
	// left out of the sums below, not counted as zero.
	Unpriced int
	// Estimated counts calls whose usage was estimated.
	Estimated int
	// Cost is the total cost of the priced calls; Wasted the part spent on
	// calls that were not useful.
	Cost, Wasted float64
	// InputTokens, OutputTokens and ReasoningTokens sum the calls' usage.
	InputTokens, OutputTokens, ReasoningTokens int64
	// TimeToFirstToken holds the streamed calls' times to first token: all
	// of them up to 4096 calls, then a uniform random sample of 4096
	// (reservoir sampling), so that a long-lived report stays bounded.
	TimeToFirstToken []time.Duration
}

// Add adds a call. It copies what it needs, so c may be reused afterwards.
func (r *Report) Add(c *Call) {
	name := c.ResponseModel
	if name == "" {
		name = c.RequestModel
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models == nil {
		r.models = make(map[string]*modelState)
	}
	m := r.models[name]
	if m == nil {
		m = &modelState{ModelReport: ModelReport{Model: name}, rng: rand.NewPCG(uint64(len(name)), 0x9e3779b97f4a7c15)}
		r.models[name] = m
	}
	m.Calls++
	useful := c.Useful()
	if useful {
		m.Useful++
	}
	if !c.UsageReported {
		m.Estimated++
	}
	if c.PriceKnown {
		m.Cost += c.Cost.Total
		if !useful {
			m.Wasted += c.Cost.Total
		}
	} else {
		m.Unpriced++
	}
	m.InputTokens += c.InputTokens
	m.OutputTokens += c.OutputTokens
	m.ReasoningTokens += c.ReasoningTokens
	if c.Stream && c.TimeToFirstToken > 0 {
		m.sample(c.TimeToFirstToken)
	}
}

// sample offers d to the bounded sample (Vitter's algorithm R).
func (m *modelState) sample(d time.Duration) {
	m.seen++
	if len(m.TimeToFirstToken) < maxReportSamples {
		m.TimeToFirstToken = append(m.TimeToFirstToken, d)
		return
	}
	if i := m.rng.Uint64() % uint64(m.seen); i < maxReportSamples {
		m.TimeToFirstToken[i] = d
	}
}

// Models returns a copy of the per-model aggregates, sorted by model name.
func (r *Report) Models() []ModelReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ModelReport, 0, len(r.models))
	for _, m := range r.models {
		mr := m.ModelReport
		mr.TimeToFirstToken = append([]time.Duration(nil), m.TimeToFirstToken...)
		out = append(out, mr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// CostPerCall is the average cost of a priced call.
func (m ModelReport) CostPerCall() float64 {
	if n := m.Calls - m.Unpriced; n > 0 {
		return m.Cost / float64(n)
	}
	return 0
}

// CostPerUseful is the total cost of the priced calls divided by the number
// of useful ones: what one useful answer really cost, waste included. It
// is zero when no call was useful (see Wasted).
func (m ModelReport) CostPerUseful() float64 {
	if m.Useful == 0 {
		return 0
	}
	return m.Cost / float64(m.Useful)
}

// UsefulRate is the share of calls that were useful.
func (m ModelReport) UsefulRate() float64 {
	if m.Calls == 0 {
		return 0
	}
	return float64(m.Useful) / float64(m.Calls)
}

// ReasoningShare is the share of output tokens spent on reasoning.
func (m ModelReport) ReasoningShare() float64 {
	if m.OutputTokens == 0 {
		return 0
	}
	return float64(m.ReasoningTokens) / float64(m.OutputTokens)
}

// TTFTPercentile returns the p-th percentile (0 to 100, nearest rank) of
// the time to first token, or 0 with no streamed calls.
func (m ModelReport) TTFTPercentile(p float64) time.Duration {
	n := len(m.TimeToFirstToken)
	if n == 0 {
		return 0
	}
	s := append([]time.Duration(nil), m.TimeToFirstToken...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(p/100*float64(n)+0.999999) - 1
	return s[min(max(rank, 0), n-1)]
}
