package infermetrics

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/infermetrics/infermetrics/internal/chunk"
	"github.com/infermetrics/infermetrics/internal/tokens"
	"go.opentelemetry.io/otel"
)

// finish ends the attempt at at, with err (nil, io.EOF or the reason it
// failed). Only the first call does anything: it stops the context's
// watch, builds the Call and marks it to be published by unlock. The
// caller holds o.mu.
func (o *observer) finish(err error, at time.Time) {
	if !o.ended.CompareAndSwap(false, true) {
		return
	}
	if o.stopCtx != nil {
		o.stopCtx()
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if err == nil && o.closed && o.ctx != nil && o.ctx.Err() != nil {
		err = o.ctx.Err()
	}
	s := o.s
	c := &o.call
	c.Duration = at.Sub(o.start)
	switch o.kind {
	case kindJSON:
		if err == nil && len(s.raw) > 0 {
			if o.responses {
				chunk.ParseResponse(s.raw, &s.facts)
			} else {
				chunk.Parse(s.raw, &s.facts)
			}
			switch {
			case s.facts.Malformed:
				s.sum.malformed = true
			case o.responses:
				s.sum.responseBody(&s.facts, c.StatusCode)
			default:
				s.sum.response(&s.facts, s.raw)
			}
		}
	case kindError:
		if err == nil {
			e := parseAPIError(s.raw)
			e.StatusCode = c.StatusCode
			err = e
		}
	}
	o.in.complete(c, &s.sum, o, err)
	o.setup.apply(c)
	if c.StatusCode != 0 {
		// The server answered: it and the model are warm from now.
		o.in.idle.done(o.idleKey(), at)
	}
	o.toPublish = true
}

// complete fills in c from the summary of its response: identity, timing,
// usage, speed, flags and cost.
func (in *instrumentation) complete(c *Call, s *summary, o *observer, err error) {
	if err == nil && s.streamErr != nil {
		err = s.streamErr
	}
	if err == nil && s.malformed {
		err = ErrMalformedChunk
	}
	c.Err, c.ErrorType = err, errorType(err)
	c.ResponseID = string(s.id)
	c.ResponseModel = string(s.model)
	c.ServiceTier, c.SystemFingerprint = s.tier, s.fingerprint
	c.FinishReason = s.finish
	c.FinishReasons = append(c.FinishReasons, s.finishes[:s.nfinish]...)
	c.Chunks = s.chunks
	if c.Stream {
		c.TimeToFirstChunk = s.firstChunk
		c.TimeToFirstToken = s.firstToken
		c.TimeToFirstAnswer = s.firstAnswer
		c.TimeToLastToken = s.lastToken
		c.MaxChunkGap = s.maxGap
		c.TokenChunks, c.AnswerChunks = s.tokenChunks, s.answerChunks
	}
	if c.StatusCode >= 200 && c.StatusCode < 300 {
		if u, ok := reportedUsage(s.usage, s.usageSeen); ok {
			u.apply(c)
		} else {
			estimateUsage(s, o.reqBody).apply(c)
		}
		c.OutputTokensPerSecond = outputSpeed(c, s)
		c.Flags = fidelityFlags(s, c, &o.req, o.kind)
		if c.Flags.Has(FlagParamIgnored) {
			c.IgnoredParams = ignoredParams(s, c, &o.req).names(&o.req)
		}
	}
	// Failed attempts have no usage and cost nothing, but whether their
	// model has a price is still known.
	in.prices.price(c)
	c.Flags |= costFlags(c)
	if n := in.cfg.captureLimit; n > 0 {
		c.Answer = truncate(s.answer, n)
		c.Reasoning = truncate(s.reasoning, n)
	}
}

// usage is a call's token counts, as the Call holds them.
type usage struct {
	reported                                     bool
	input, output, reasoning, cached, cacheWrite int64
	providerCost                                 float64
	providerCostReported                         bool
}

func (u usage) apply(c *Call) {
	c.UsageReported = u.reported
	c.InputTokens, c.OutputTokens = u.input, u.output
	c.ReasoningTokens, c.CachedInputTokens = u.reasoning, u.cached
	c.CacheWriteInputTokens = u.cacheWrite
	c.ProviderCost, c.ProviderCostReported = u.providerCost, u.providerCostReported
}

// reportedUsage normalizes usage as a server reported it, whatever the
// provider's quirk; ok is false when it did not report both counts.
func reportedUsage(u chunk.Usage, seen bool) (usage, bool) {
	if !seen || u.Prompt < 0 || u.Completion < 0 {
		return usage{}, false
	}
	r := usage{reported: true, input: u.Prompt, output: u.Completion, reasoning: max(u.Reasoning, 0)}
	cached := u.Cached
	if cached < 0 {
		cached = u.DeepSeekCacheHit
	}
	r.cached = max(cached, 0)
	r.cacheWrite = max(u.CacheWrite, 0)
	// xAI reports reasoning outside completion_tokens: its total is
	// prompt + completion + reasoning. Count reasoning as output, as the
	// conventions (and the bill) do.
	if n := r.reasoning; n > 0 && ((u.Total >= 0 && u.Total == u.Prompt+u.Completion+n) || n > u.Completion) {
		r.output = u.Completion + n
	}
	if u.Cost >= 0 {
		r.providerCost, r.providerCostReported = u.Cost, true
	}
	return r, true
}

// estimateUsage counts offline what the server did not report, keeping
// the counts it did report.
func estimateUsage(s *summary, reqBody []byte) usage {
	content := estimateTokens(s.answer, s.answerBytes)
	reasoning := estimateTokens(s.reasoning, s.reasonBytes)
	u := usage{output: content + reasoning, reasoning: reasoning, input: int64(tokens.CountMessages(reqBody))}
	if s.usageSeen {
		if s.usage.Prompt >= 0 {
			u.input = s.usage.Prompt
		}
		if s.usage.Completion >= 0 {
			u.output = s.usage.Completion
		}
	}
	return u
}

// estimateTokens counts the tokens of kept text, scaling up when more text
// streamed than was kept.
func estimateTokens(kept []byte, escapedBytes int) int64 {
	if len(kept) == 0 {
		return 0
	}
	n := int64(tokens.Count(kept))
	if len(kept) >= maxTextBytes && escapedBytes > len(kept) {
		n = n * int64(escapedBytes) / int64(len(kept))
	}
	return n
}

// outputSpeed is the output tokens generated between the first and last
// token, divided by that time; when every token chunk arrived in one read
// the window starts at the arrival before it. Reasoning reported but never
// streamed was generated before the first token and is left out.
func outputSpeed(c *Call, s *summary) float64 {
	if !c.Stream || s.tokenChunks < 2 {
		return 0
	}
	window := s.lastToken - s.firstToken
	if window <= 0 {
		window = s.lastToken - s.beforeFirstToken
	}
	if window <= 0 {
		return 0
	}
	n := c.OutputTokens
	if c.ReasoningTokens > 0 && !s.reasoningSeen {
		n -= c.ReasoningTokens
	}
	if n <= 0 {
		return 0
	}
	return float64(n) / window.Seconds()
}

func callHook(fn func(*Call), c *Call) {
	defer func() {
		if r := recover(); r != nil {
			otel.Handle(fmt.Errorf("infermetrics: OnCall hook panicked: %v", r))
		}
	}()
	fn(c)
}
