package infermetrics

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metric names. The gen_ai.* names follow the OpenTelemetry GenAI semantic
// conventions v1.41; the infermetrics.* names are this library's own, for
// what the conventions do not cover.
const (
	MetricOperationDuration  = "gen_ai.client.operation.duration"
	MetricTimeToFirstChunk   = "gen_ai.client.operation.time_to_first_chunk"
	MetricTimePerOutputChunk = "gen_ai.client.operation.time_per_output_chunk"
	MetricTokenUsage         = "gen_ai.client.token.usage"
	MetricDraftInputTokens   = "gen_ai.client.inference.usage.input_tokens"
	MetricDraftOutputTokens  = "gen_ai.client.inference.usage.output_tokens"
	MetricTimeToFirstToken   = "infermetrics.client.time_to_first_token"
	MetricTimeToFirstAnswer  = "infermetrics.client.time_to_first_answer"
	MetricOutputTokenRate    = "infermetrics.client.output_token_rate"
	MetricMaxChunkGap        = "infermetrics.client.max_chunk_gap"
	MetricCost               = "infermetrics.client.cost"
	MetricCalls              = "infermetrics.client.calls"
	MetricFlags              = "infermetrics.client.flags"
	MetricReasoningTokens    = "infermetrics.client.reasoning_tokens"
	MetricCachedInputTokens  = "infermetrics.client.cached_input_tokens"
)

// Metric names of the draft revision [WithDraftSemconv] follows: the
// semantic-conventions-genai repository's migration guide at commit
// 32c328e8 and its token metrics at commit 9b2ce3b4. Inference durations
// are renamed; gen_ai.client.token.usage is replaced by usage counters
// (with gen_ai.token.modality) and per-operation token histograms.
const (
	MetricDraftDuration              = "gen_ai.client.inference.duration"
	MetricDraftTimeToFirstChunk      = "gen_ai.client.inference.time_to_first_chunk"
	MetricDraftTimePerOutputChunk    = "gen_ai.client.inference.time_per_output_chunk"
	MetricDraftCacheReadTokens       = "gen_ai.client.inference.usage.cache_read.input_tokens"
	MetricDraftCacheWriteTokens      = "gen_ai.client.inference.usage.cache_write.input_tokens"
	MetricDraftReasoningTokens       = "gen_ai.client.inference.usage.reasoning.output_tokens"
	MetricDraftOperationInputTokens  = "gen_ai.client.inference.operation.input_tokens"
	MetricDraftOperationOutputTokens = "gen_ai.client.inference.operation.output_tokens"
)

const (
	attrModality         = attribute.Key("gen_ai.token.modality")
	attrFlag             = attribute.Key("infermetrics.flag")
	attrUseful           = attribute.Key("infermetrics.useful")
	attrPriceKnown       = attribute.Key("infermetrics.price_known")
	attrUsageEstimated   = attribute.Key("infermetrics.usage_estimated")
	attrTokenType        = attribute.Key("gen_ai.token.type")
	attrOperation        = attribute.Key("gen_ai.operation.name")
	attrProvider         = attribute.Key("gen_ai.provider.name")
	attrRequestModel     = attribute.Key("gen_ai.request.model")
	attrResponseModel    = attribute.Key("gen_ai.response.model")
	attrServerAddress    = attribute.Key("server.address")
	attrServerPort       = attribute.Key("server.port")
	attrErrorType        = attribute.Key("error.type")
	attrIdle             = attribute.Key("infermetrics.idle")
	attrAPIType          = attribute.Key("openai.api.type")
	maxAttributeLength   = 256
	otherValue           = "_OTHER"
	operationChat        = "chat"
	unitSeconds          = "s"
	unitTokens           = "{token}"
	unitCalls            = "{call}"
	unitTokensPerSecond  = "{token}/s"
	unitUSD              = "{USD}"
	spanEventFirstToken  = "infermetrics.first_token"
	spanEventFirstAnswer = "infermetrics.first_answer"
	spanNamePrefix       = "chat"
	spanNameSeparator    = " "
)

// MetricOutputTokensPerSec is the former name of [MetricOutputTokenRate].
//
// Deprecated: the instrument is now named infermetrics.client.output_token_rate,
// whose Prometheus name (…_output_token_rate_per_second) no longer repeats its
// unit; use MetricOutputTokenRate.
const MetricOutputTokensPerSec = MetricOutputTokenRate

// Bucket boundaries. Durations and token counts use the boundaries the
// conventions specify.
var (
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	chunkBuckets    = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	speedBuckets    = []float64{1, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000}
)

type instruments struct {
	duration, ttfc, tpoc   metric.Float64Histogram
	ttft, ttfa, gap, speed metric.Float64Histogram
	tokens, opIn, opOut    metric.Int64Histogram
	usage                  [draftUsageKinds]metric.Int64Counter // the draft's usage counters
	reasoning, cached      metric.Int64Counter
	cost                   metric.Float64Counter
	calls, flags           metric.Int64Counter
	draft                  bool
	estimates              bool       // offline estimates go to the usage metric
	chunkGaps              *ChunkGaps // if set, time_per_output_chunk is aggregated there
	models                 modelGuard
	sets                   setCache
}

func newInstruments(m metric.Meter, draft bool, maxModels int) *instruments {
	in := &instruments{draft: draft, models: modelGuard{max: maxModels}}
	h := func(name, unit, desc string, b []float64) metric.Float64Histogram {
		i, err := m.Float64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(b...))
		handle(err)
		return i
	}
	ih := func(name, unit, desc string, b []float64) metric.Int64Histogram {
		i, err := m.Int64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(b...))
		handle(err)
		return i
	}
	ic := func(name, unit, desc string) metric.Int64Counter {
		i, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		handle(err)
		return i
	}
	duration, ttfc, tpoc := MetricOperationDuration, MetricTimeToFirstChunk, MetricTimePerOutputChunk
	if draft {
		duration, ttfc, tpoc = MetricDraftDuration, MetricDraftTimeToFirstChunk, MetricDraftTimePerOutputChunk
	}
	in.duration = h(duration, unitSeconds, "GenAI operation duration.", durationBuckets)
	in.ttfc = h(ttfc, unitSeconds, "Time to receive the first chunk, measured from when the client issues the generation request to when the first chunk is received in the response stream.", durationBuckets)
	in.tpoc = h(tpoc, unitSeconds, descTimePerOutputChunk, chunkBuckets)
	if draft {
		for k, d := range draftUsage {
			in.usage[k] = ic(d.name, unitTokens, d.desc)
		}
		in.opIn = ih(MetricDraftOperationInputTokens, unitTokens, "The number of input (prompt) tokens used per inference operation.", tokenBuckets)
		in.opOut = ih(MetricDraftOperationOutputTokens, unitTokens, "The number of output (completion) tokens used per inference operation.", tokenBuckets)
	} else {
		in.tokens = ih(MetricTokenUsage, unitTokens, "Number of input and output tokens used.", tokenBuckets)
	}
	in.ttft = h(MetricTimeToFirstToken, unitSeconds, "Time from sending the request to the first chunk carrying generated text (reasoning or answer).", durationBuckets)
	in.ttfa = h(MetricTimeToFirstAnswer, unitSeconds, "Time from sending the request to the first chunk carrying visible answer text (content, refusal or tool call).", durationBuckets)
	in.gap = h(MetricMaxChunkGap, unitSeconds, "Longest gap between consecutive chunks after the first token, per call.", durationBuckets)
	in.speed = h(MetricOutputTokenRate, unitTokensPerSecond, "Output tokens generated between the first and the last token, divided by that time, per call.", speedBuckets)
	in.reasoning = ic(MetricReasoningTokens, unitTokens, "Output tokens used for reasoning.")
	in.cached = ic(MetricCachedInputTokens, unitTokens, "Input tokens read from a provider cache.")
	var err error
	in.cost, err = m.Float64Counter(MetricCost, metric.WithUnit(unitUSD), metric.WithDescription("Cost of calls in US dollars, from reported (or estimated) usage and known prices."))
	handle(err)
	in.calls = ic(MetricCalls, unitCalls, "Chat completion attempts, by usefulness and whether their price is known.")
	in.flags = ic(MetricFlags, unitCalls, "Attempts that raised each fidelity flag.")
	return in
}

// enabled reports whether any instrument would record: false with a no-op
// provider, a global one not yet set, or views that drop them all.
func (m *instruments) enabled(ctx context.Context) bool {
	for _, i := range [...]interface{ Enabled(context.Context) bool }{
		m.duration, m.ttfc, m.tpoc, m.ttft, m.ttfa, m.gap, m.speed,
		m.reasoning, m.cached, m.cost, m.calls, m.flags,
	} {
		if i.Enabled(ctx) {
			return true
		}
	}
	if m.draft {
		for _, u := range m.usage {
			if u.Enabled(ctx) {
				return true
			}
		}
		return m.opIn.Enabled(ctx) || m.opOut.Enabled(ctx)
	}
	return m.tokens.Enabled(ctx)
}

// The draft's usage counters, by kind.
const (
	usageInput = iota
	usageOutput
	usageCacheRead
	usageCacheWrite
	usageReasoning
	draftUsageKinds
)

var draftUsage = [draftUsageKinds]struct{ name, desc string }{
	{MetricDraftInputTokens, "The number of input (prompt) tokens used, including cached tokens."},
	{MetricDraftOutputTokens, "The number of output (completion) tokens used, including reasoning tokens."},
	{MetricDraftCacheReadTokens, "The number of input tokens served from a provider-managed cache."},
	{MetricDraftCacheWriteTokens, "The number of input tokens written to a provider-managed cache."},
	{MetricDraftReasoningTokens, "The number of output tokens used for reasoning (e.g. chain-of-thought, extended thinking)."},
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

// modelGuard bounds the number of distinct response model names used as
// metric attribute values.
type modelGuard struct {
	// A client's calls all read seen: a name seen before takes no
	// exclusive lock.
	mu   sync.RWMutex
	max  int
	seen map[string]struct{}
}

func (g *modelGuard) admit(name string) string {
	if name == "" {
		return name
	}
	g.mu.RLock()
	_, ok := g.seen[name]
	g.mu.RUnlock()
	if ok {
		return name
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.seen[name]; ok {
		return name
	}
	if len(g.seen) >= g.max {
		return otherValue
	}
	if g.seen == nil {
		g.seen = make(map[string]struct{})
	}
	g.seen[name] = struct{}{}
	return name
}

// setKey is what distinguishes the attribute sets of one call's metrics.
type setKey struct {
	api, provider, address, requestModel, responseModel, errorType string
	serviceTier                                                    string
	port                                                           int
	estimated                                                      bool
}

// callSets are the attribute sets recorded with one setKey, built once:
// building a set sorts, hashes and allocates, and a call records up to a
// dozen measurements.
//
// They are kept as option slices: a variadic argument passed to an
// interface method escapes, so a one-element literal would allocate on
// every record.
type callSets struct {
	attrs         []attribute.KeyValue // of base, for the rarer flag sets
	set           attribute.Set        // base, for a ChunkGaps
	base          []metric.RecordOption
	baseAdd       []metric.AddOption
	input, output []metric.RecordOption    // token usage by gen_ai.token.type (the draft: per-operation histograms)
	usage         []metric.AddOption       // the draft's usage counters: gen_ai.token.modality text
	idle          [3][]metric.RecordOption // duration and time to first token, by idle class
	calls         [2][2][]metric.AddOption // by useful, price known
}

// maxCachedSets bounds setCache; past it, sets are built per call.
const maxCachedSets = 1024

// setCache holds the callSets of the keys seen so far.
type setCache struct {
	mu sync.RWMutex
	m  map[setKey]*callSets
}

func (sc *setCache) get(k setKey, draft bool) *callSets {
	sc.mu.RLock()
	s := sc.m[k]
	sc.mu.RUnlock()
	if s != nil {
		return s
	}
	s = newCallSets(k, draft)
	sc.mu.Lock()
	if prev := sc.m[k]; prev != nil {
		s = prev
	} else if len(sc.m) < maxCachedSets {
		if sc.m == nil {
			sc.m = make(map[setKey]*callSets)
		}
		sc.m[k] = s
	}
	sc.mu.Unlock()
	return s
}

func newCallSets(k setKey, draft bool) *callSets {
	base := []attribute.KeyValue{
		attrOperation.String(operationChat),
		attrProvider.String(k.provider),
		attrServerAddress.String(k.address),
		attrServerPort.Int(k.port),
	}
	if k.api == APIResponses {
		// Chat completions, the default, carry no openai.api.type: their
		// series stay those of earlier releases, and each attribute costs
		// every per-chunk record (time_per_output_chunk) about 300
		// instructions in the SDK.
		base = append(base, attrAPIType.String(k.api))
	}
	if k.requestModel != "" {
		base = append(base, attrRequestModel.String(k.requestModel))
	}
	if k.responseModel != "" {
		base = append(base, attrResponseModel.String(k.responseModel))
	}
	if k.errorType != "" {
		base = append(base, attrErrorType.String(k.errorType))
	}
	if k.serviceTier != "" {
		base = append(base, attribute.String("openai.response.service_tier", k.serviceTier))
	}
	with := func(kv ...attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(append(base[:len(base):len(base)], kv...)...))
	}
	est := attrUsageEstimated.Bool(k.estimated)
	b := with()
	s := &callSets{attrs: base, set: attribute.NewSet(base...), base: []metric.RecordOption{b}, baseAdd: []metric.AddOption{b}}
	if draft {
		s.input = []metric.RecordOption{with(est)}
		s.output = s.input
		s.usage = []metric.AddOption{with(attrModality.String("text"), est)}
	} else {
		s.input = []metric.RecordOption{with(attrTokenType.String("input"), est)}
		s.output = []metric.RecordOption{with(attrTokenType.String("output"), est)}
	}
	for i, class := range idleClasses {
		s.idle[i] = []metric.RecordOption{with(attrIdle.String(class))}
	}
	for u := range 2 {
		for p := range 2 {
			s.calls[u][p] = []metric.AddOption{with(attrUseful.Bool(u == 1), attrPriceKnown.Bool(p == 1), est)}
		}
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// serviceTier returns a response's service tier as a metric attribute
// value: the tiers OpenAI documents as they are, anything else "_OTHER",
// so that a server cannot raise the cardinality.
func serviceTier(t string) string {
	switch t {
	case "", "auto", "default", "flex", "scale", "priority":
		return t
	}
	return otherValue
}

// attrString cuts s to at most maxAttributeLength bytes for an attribute
// value.
func attrString(s string) string { return truncate(s, maxAttributeLength) }

// record records the metrics of a finished call. ctx is the attempt's
// (its span is the exemplars' trace); its cancellation is ignored.
func (m *instruments) record(ctx context.Context, c *Call) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx = context.WithoutCancel(ctx)
	if !m.enabled(ctx) {
		return // no-op providers: build no attributes
	}

	sets := m.sets.get(setKey{
		api:           c.API,
		provider:      c.Provider,
		address:       c.ServerAddress,
		port:          c.ServerPort,
		requestModel:  attrString(c.RequestModel),
		responseModel: attrString(m.models.admit(c.ResponseModel)),
		errorType:     c.ErrorType,
		serviceTier:   serviceTier(c.ServiceTier),
		estimated:     c.Flags.Has(FlagUsageMissing),
	}, m.draft)
	set, add := sets.base, sets.baseAdd
	secs := func(d time.Duration) float64 { return d.Seconds() }

	idleSet := sets.idle[idleIndex(c.Idle)]
	m.duration.Record(ctx, secs(c.Duration), idleSet...)
	// What a stream delivered is recorded even when it then failed, as
	// its span records it: the error.type attribute tells them apart.
	if c.Stream && c.Chunks > 0 {
		m.ttfc.Record(ctx, secs(c.TimeToFirstChunk), set...)
		if g := m.chunkGaps; g != nil {
			g.record(sets.set, c.ChunkTimes) // one locked pass, no SDK call per chunk
		} else {
			// One point per chunk. Leave the span out of the context so
			// that these points do not each go through the exemplar
			// reservoir.
			chunkCtx := context.Background()
			for i := 1; i < len(c.ChunkTimes); i++ {
				m.tpoc.Record(chunkCtx, secs(c.ChunkTimes[i]-c.ChunkTimes[i-1]), set...)
			}
		}
	}
	if c.TokenChunks > 0 {
		m.ttft.Record(ctx, secs(c.TimeToFirstToken), idleSet...)
		m.gap.Record(ctx, secs(c.MaxChunkGap), set...)
	}
	if c.AnswerChunks > 0 {
		m.ttfa.Record(ctx, secs(c.TimeToFirstAnswer), set...)
	}
	if c.OutputTokensPerSecond > 0 {
		m.speed.Record(ctx, c.OutputTokensPerSecond, set...)
	}
	estimated := c.Flags.Has(FlagUsageMissing)
	if c.UsageReported || (estimated && m.estimates) {
		if m.draft {
			m.opIn.Record(ctx, c.InputTokens, sets.input...)
			m.opOut.Record(ctx, c.OutputTokens, sets.output...)
			for k, n := range [draftUsageKinds]int64{c.InputTokens, c.OutputTokens, c.CachedInputTokens, c.CacheWriteInputTokens, c.ReasoningTokens} {
				if n > 0 || k <= usageOutput {
					m.usage[k].Add(ctx, n, sets.usage...)
				}
			}
		} else {
			m.tokens.Record(ctx, c.InputTokens, sets.input...)
			m.tokens.Record(ctx, c.OutputTokens, sets.output...)
		}
	}
	if c.UsageReported || estimated {
		if c.ReasoningTokens > 0 {
			m.reasoning.Add(ctx, c.ReasoningTokens, add...)
		}
		if c.CachedInputTokens > 0 {
			m.cached.Add(ctx, c.CachedInputTokens, add...)
		}
	}
	callSet := sets.calls[b2i(c.Useful())][b2i(c.PriceKnown)]
	m.calls.Add(ctx, 1, callSet...)
	if c.PriceKnown && c.Cost.Total > 0 {
		m.cost.Add(ctx, c.Cost.Total, callSet...)
	}
	for _, f := range allFlags {
		if c.Flags.Has(f) {
			m.flags.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(append(sets.attrs[:len(sets.attrs):len(sets.attrs)], attrFlag.String(f.String()))...)))
		}
	}
}

// idleClasses are the values of infermetrics.idle, in callSets.idle order.
var idleClasses = [...]string{IdleWarm, IdleIdle, IdleCold}

func idleIndex(class string) int {
	switch class {
	case IdleWarm:
		return 0
	case IdleIdle:
		return 1
	}
	return 2
}
