package infermetrics

import (
	"context"
	"encoding/json"
	"time"

	"github.com/infermetrics/infermetrics/internal/request"
	"github.com/tidwall/gjson"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// startSpan starts the CLIENT span of one attempt, from the request's facts
// and the call's identity (provider, server, attempt).
func (in *instrumentation) startSpan(ctx context.Context, r *request.Info, c *Call, reqBody []byte) (context.Context, trace.Span) {
	name := spanNamePrefix
	if r.Model != "" {
		name = spanNamePrefix + spanNameSeparator + attrString(r.Model)
	}
	// The conventions ask for these at creation, where samplers see them.
	first := make([]attribute.KeyValue, 0, 5)
	first = append(first,
		attrOperation.String(operationChat),
		attrProvider.String(c.Provider),
		attrServerAddress.String(c.ServerAddress),
		attrServerPort.Int(c.ServerPort),
	)
	if r.Model != "" {
		first = append(first, attrRequestModel.String(attrString(r.Model)))
	}
	ctx, span := in.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(first...))
	if !span.IsRecording() {
		return ctx, span
	}
	attrs := make([]attribute.KeyValue, 0, 16)
	attrs = append(attrs, attrAPIType.String(c.API))
	if r.Stream {
		attrs = append(attrs, attribute.Bool("gen_ai.request.stream", true))
	}
	if r.ServiceTier != "" {
		attrs = append(attrs, attribute.String("openai.request.service_tier", r.ServiceTier))
	}
	if r.ConversationID != "" {
		attrs = append(attrs, attribute.String("gen_ai.conversation.id", r.ConversationID))
	}
	if r.HasMaxTokens {
		attrs = append(attrs, attribute.Int64("gen_ai.request.max_tokens", r.MaxTokens))
	}
	if r.HasTemperature {
		attrs = append(attrs, attribute.Float64("gen_ai.request.temperature", r.Temperature))
	}
	if r.HasTopP {
		attrs = append(attrs, attribute.Float64("gen_ai.request.top_p", r.TopP))
	}
	if r.HasFrequency {
		attrs = append(attrs, attribute.Float64("gen_ai.request.frequency_penalty", r.FrequencyPenalty))
	}
	if r.HasPresence {
		attrs = append(attrs, attribute.Float64("gen_ai.request.presence_penalty", r.PresencePenalty))
	}
	if r.HasSeed {
		attrs = append(attrs, attribute.Int64("gen_ai.request.seed", r.Seed))
	}
	if r.N > 1 {
		attrs = append(attrs, attribute.Int64("gen_ai.request.choice.count", r.N))
	}
	if len(r.Stop) > 0 && in.cfg.captureLimit > 0 {
		attrs = append(attrs, attribute.StringSlice("gen_ai.request.stop_sequences", r.Stop))
	}
	if r.OutputType != "" {
		attrs = append(attrs, attribute.String("gen_ai.output.type", r.OutputType))
	}
	if r.NoReasoning {
		attrs = append(attrs, attribute.String("infermetrics.request.no_reasoning", r.NoReasoningBy))
	}
	attrs = append(attrs, attribute.Int("infermetrics.attempt", c.Attempt))
	if in.cfg.captureLimit > 0 {
		attrs = append(attrs, attribute.String("gen_ai.input.messages", truncate(inputMessages(reqBody), in.cfg.captureLimit)))
	}
	span.SetAttributes(attrs...)
	return ctx, span
}

// endSpan sets the span's attributes, status and events from the finished
// call and ends it at the call's end, as cfg asks (content capture, offline
// estimates, the draft conventions).
func endSpan(span trace.Span, c *Call, cfg *config) {
	captureLimit, estimates := cfg.captureLimit, cfg.estimates
	if span == nil {
		return
	}
	end := trace.WithTimestamp(c.Start.Add(c.Duration))
	if !span.IsRecording() {
		span.End(end)
		return
	}
	attrs := make([]attribute.KeyValue, 0, 24)
	attrs = append(attrs, attribute.Int("http.response.status_code", c.StatusCode))
	if c.ResponseID != "" {
		attrs = append(attrs, attribute.String("gen_ai.response.id", attrString(c.ResponseID)))
	}
	if c.ResponseModel != "" {
		attrs = append(attrs, attrResponseModel.String(attrString(c.ResponseModel)))
	}
	if c.ServiceTier != "" {
		attrs = append(attrs, attribute.String("openai.response.service_tier", c.ServiceTier))
	}
	if c.SystemFingerprint != "" {
		attrs = append(attrs, attribute.String("openai.response.system_fingerprint", c.SystemFingerprint))
	}
	if len(c.FinishReasons) > 0 {
		attrs = append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", c.FinishReasons))
	}
	estimated := c.Flags.Has(FlagUsageMissing)
	switch {
	case c.UsageReported || (estimated && estimates):
		// The conventions' attributes, with zeros only where they apply.
		attrs = append(attrs,
			attribute.Int64("gen_ai.usage.input_tokens", c.InputTokens),
			attribute.Int64("gen_ai.usage.output_tokens", c.OutputTokens),
			attrUsageEstimated.Bool(estimated),
		)
		if c.ReasoningTokens > 0 {
			attrs = append(attrs, attribute.Int64("gen_ai.usage.reasoning.output_tokens", c.ReasoningTokens))
		}
		if c.CachedInputTokens > 0 {
			attrs = append(attrs, attribute.Int64("gen_ai.usage.cache_read.input_tokens", c.CachedInputTokens))
		}
		if c.CacheWriteInputTokens > 0 {
			key := "gen_ai.usage.cache_creation.input_tokens"
			if cfg.draft {
				key = "gen_ai.usage.cache_write.input_tokens" // renamed by the draft
			}
			attrs = append(attrs, attribute.Int64(key, c.CacheWriteInputTokens))
		}
	case estimated:
		// Offline estimates, kept out of the conventions' attributes.
		attrs = append(attrs,
			attribute.Int64("infermetrics.usage.input_tokens", c.InputTokens),
			attribute.Int64("infermetrics.usage.output_tokens", c.OutputTokens),
			attrUsageEstimated.Bool(true),
		)
	}
	if c.Stream && c.Chunks > 0 {
		attrs = append(attrs,
			attribute.Float64("gen_ai.response.time_to_first_chunk", c.TimeToFirstChunk.Seconds()),
			attribute.Int("infermetrics.chunks", c.Chunks),
			attribute.Float64("infermetrics.max_chunk_gap", c.MaxChunkGap.Seconds()),
		)
	}
	if c.TokenChunks > 0 {
		attrs = append(attrs, attribute.Float64("infermetrics.time_to_first_token", c.TimeToFirstToken.Seconds()))
	}
	if c.AnswerChunks > 0 {
		attrs = append(attrs, attribute.Float64("infermetrics.time_to_first_answer", c.TimeToFirstAnswer.Seconds()))
	}
	if c.OutputTokensPerSecond > 0 {
		attrs = append(attrs, attribute.Float64("infermetrics.output_tokens_per_second", c.OutputTokensPerSecond))
	}
	attrs = append(attrs,
		attribute.Float64("infermetrics.consumer_time", c.ConsumerTime.Seconds()),
		attrUseful.Bool(c.Useful()),
		attrPriceKnown.Bool(c.PriceKnown),
	)
	if c.PriceKnown {
		attrs = append(attrs, attribute.Float64("infermetrics.cost", c.Cost.Total))
	}
	if cfg.draft && (c.PriceKnown || c.ProviderCostReported) {
		// The proposed GenAI cost attributes: the provider's own figure
		// when it reported one, else ours from the price table.
		amount, source := c.Cost.Total, "calculated"
		if c.ProviderCostReported {
			amount, source = c.ProviderCost, "provider"
		}
		attrs = append(attrs,
			attribute.Float64("gen_ai.usage.cost.amount", amount),
			attribute.String("gen_ai.usage.cost.currency", "USD"),
			attribute.String("gen_ai.usage.cost.source", source),
		)
	}
	if c.ProviderCostReported {
		attrs = append(attrs, attribute.Float64("infermetrics.provider_cost", c.ProviderCost))
	}
	if c.Flags != 0 {
		attrs = append(attrs, attribute.StringSlice("infermetrics.flags", c.Flags.Names()))
	}
	attrs = append(attrs, attrIdle.String(c.Idle), attribute.Float64("infermetrics.idle_time", c.IdleTime.Seconds()))
	if c.ConnTraced {
		attrs = append(attrs, attribute.Bool("infermetrics.conn.reused", c.ConnReused))
		for _, d := range [...]struct {
			key string
			d   time.Duration
		}{
			{"infermetrics.conn.dns", c.DNSTime},
			{"infermetrics.conn.connect", c.ConnectTime},
			{"infermetrics.conn.tls", c.TLSTime},
			{"infermetrics.time_to_request_written", c.TimeToRequestWritten},
			{"infermetrics.time_to_response_headers", c.TimeToResponseHeaders},
			{"infermetrics.server_time_to_first_token", c.ServerTimeToFirstToken},
		} {
			if d.d > 0 {
				attrs = append(attrs, attribute.Float64(d.key, d.d.Seconds()))
			}
		}
	}
	if len(c.IgnoredParams) > 0 {
		attrs = append(attrs, attribute.StringSlice("infermetrics.param_ignored", c.IgnoredParams))
	}
	if captureLimit > 0 {
		attrs = append(attrs, attribute.String("gen_ai.output.messages", outputMessages(c, captureLimit)))
	}
	if c.Err != nil {
		attrs = append(attrs, attrErrorType.String(c.ErrorType))
		span.SetStatus(codes.Error, c.ErrorType)
	}
	span.SetAttributes(attrs...)
	if c.TokenChunks > 0 {
		span.AddEvent(spanEventFirstToken, trace.WithTimestamp(c.Start.Add(c.TimeToFirstToken)))
	}
	if c.AnswerChunks > 0 {
		span.AddEvent(spanEventFirstAnswer, trace.WithTimestamp(c.Start.Add(c.TimeToFirstAnswer)))
	}
	span.End(end)
}

// inputMessages returns the request's messages array as JSON, for capture.
func inputMessages(body []byte) []byte {
	if m := gjson.GetBytes(body, "messages"); m.Exists() {
		return []byte(m.Raw)
	}
	// The Responses API's input: a string is one user message.
	in := gjson.GetBytes(body, "input")
	if in.Type == gjson.String {
		b, _ := json.Marshal([]map[string]string{{"role": "user", "content": in.Str}})
		return b
	}
	return []byte(in.Raw)
}

// outputMessages returns the answer in the conventions' output message
// shape, for capture.
func outputMessages(c *Call, limit int) string {
	type part struct {
		Type    string `json:"type"`
		Content string `json:"content"`
	}
	type message struct {
		Role         string `json:"role"`
		Parts        []part `json:"parts"`
		FinishReason string `json:"finish_reason,omitempty"`
	}
	m := message{Role: "assistant", FinishReason: c.FinishReason}
	if c.Reasoning != "" {
		m.Parts = append(m.Parts, part{"reasoning", c.Reasoning})
	}
	if c.Answer != "" {
		m.Parts = append(m.Parts, part{"text", c.Answer})
	}
	b, err := json.Marshal([]message{m})
	if err != nil {
		return ""
	}
	return truncate(b, limit)
}
