package infermetrics

import "time"

// A Call is the record of one HTTP attempt of a chat completion or a
// Responses API call (see [Call.API]): what was asked, when each part of the
// answer arrived, what it cost, and whether it was what the application
// asked for.
//
// Durations are offsets from Start, measured on the monotonic clock; a zero
// duration means the moment did not happen (no chunk, no token, no answer).
// Token counts follow the OpenTelemetry GenAI conventions: InputTokens
// includes CachedInputTokens, OutputTokens includes ReasoningTokens.
//
// A *Call passed to the function given to [WithOnCall] is valid only until
// that function returns: the library reuses it. Copy what you keep (the
// Clone method copies it all).
type Call struct {
	// ResponseID is the response's id ("chatcmpl-…", "resp_…"), the first
	// one seen.
	ResponseID string
	// RequestModel is the model named in the request body.
	RequestModel string
	// ResponseModel is the model named in the response.
	ResponseModel string
	// Provider is the gen_ai.provider.name value: set with [WithProvider]
	// or inferred from the host (see the README's provider table).
	Provider string
	// ServerAddress and ServerPort identify the endpoint.
	ServerAddress string
	ServerPort    int
	// API is the API called, as the openai.api.type attribute names it:
	// [APIChatCompletions] or [APIResponses].
	API string
	// Stream reports whether the request asked for a streamed response.
	Stream bool
	// ServiceTier and SystemFingerprint are the response's service_tier
	// (the tier that served it: "default", "flex", "scale", …) and
	// system_fingerprint, as the first chunks or the body name them.
	ServiceTier, SystemFingerprint string
	// Start is when the attempt was sent.
	Start time.Time

	// Connection setup, as net/http reports it (through
	// [net/http/httptrace]); all zero when ConnTraced is false: the
	// request went through a RoundTripper other than net/http's, or failed
	// before a connection was had. ConnReused reports whether the attempt
	// was sent on a connection kept from an earlier request; DNSTime,
	// ConnectTime and TLSTime are the durations of the lookup, the TCP
	// connect and the TLS handshake of a new connection (zero when there
	// was none). TimeToRequestWritten and TimeToResponseHeaders are
	// offsets from Start: when the request was fully written, and when the
	// first byte of the response headers arrived.
	ConnTraced, ConnReused        bool
	DNSTime, ConnectTime, TLSTime time.Duration
	TimeToRequestWritten          time.Duration
	TimeToResponseHeaders         time.Duration
	// ServerTimeToFirstToken is the part of TimeToFirstToken after the
	// request was written: the server's queueing, model loading, prompt
	// processing and first token. TimeToRequestWritten is the rest: the
	// client's setup (connection, DNS, TLS) and writing the request. Zero
	// when either is unknown.
	ServerTimeToFirstToken time.Duration
	// IdleTime is how long the server and model (ServerAddress,
	// ServerPort, RequestModel) had gone without a call from this process
	// when the attempt started: since the last attempt that got a
	// response finished. Idle classes it as [IdleWarm], [IdleIdle] or
	// [IdleCold] by the thresholds of [WithIdleThresholds]; the first call
	// of a process to a server and model is cold, with IdleTime zero.
	IdleTime time.Duration
	Idle     string

	// TimeToFirstChunk is when the first data event of the stream arrived,
	// of any kind (role-only, usage-only and filter-result chunks count).
	TimeToFirstChunk time.Duration
	// TimeToFirstToken is when the first chunk carrying generated text of
	// any kind arrived: content, reasoning, refusal, or a tool call's name
	// or arguments. Role-only chunks, empty strings, usage-only and
	// filter-result chunks, encrypted reasoning (reasoning_details items of
	// type reasoning.encrypted), signature-only deltas and SSE comments are
	// not tokens. For the Responses API, the events that carry tokens are
	// the text deltas (output text, refusal, function call arguments,
	// custom tool input, reasoning summary and reasoning text), an output
	// item the application acts on being added (a function or custom tool
	// call, an MCP approval request: its name), and the ".done" event of a
	// text no delta carried (see the README).
	TimeToFirstToken time.Duration
	// TimeToFirstAnswer is when the first visible answer arrived: content,
	// refusal or a tool call. Zero when there is none.
	TimeToFirstAnswer time.Duration
	// TimeToLastToken is when the last chunk carrying generated text arrived.
	TimeToLastToken time.Duration
	// Duration runs from Start until the response was fully read, failed or
	// was closed.
	Duration time.Duration
	// MaxChunkGap is the longest gap between consecutive chunks from the
	// first token on: the longest stall a reader saw mid-answer.
	MaxChunkGap time.Duration
	// ConsumerTime is how long the application held the stream between
	// reads of the body (its own processing, and the SDK's decoding). Chunk
	// times are taken when the application reads; when ConsumerTime is a
	// large share of Duration, a slow consumer, not the provider, may
	// explain late chunks.
	ConsumerTime time.Duration
	// ChunkTimes holds the arrival of every data event except [DONE], as
	// offsets from Start, up to the cap set by [WithMaxChunkTimes]; Chunks
	// counts them all. An event arrives when the read that completed it
	// returned or, over a connection dialed through [ReceiveTimestamps],
	// when the kernel received that read's bytes.
	ChunkTimes []time.Duration
	Chunks     int
	// TokenChunks counts the chunks that carried generated text (see
	// TimeToFirstToken); AnswerChunks those that carried visible answer
	// text (see TimeToFirstAnswer). Both are zero for a response that was
	// not streamed.
	TokenChunks, AnswerChunks int

	// InputTokens, OutputTokens, ReasoningTokens and CachedInputTokens are
	// the usage as the server reported it (normalized across providers'
	// quirks), or estimates when UsageReported is false.
	InputTokens, OutputTokens, ReasoningTokens, CachedInputTokens int64
	// CacheWriteInputTokens counts input tokens written to a provider cache,
	// where the provider reports it.
	CacheWriteInputTokens int64
	// UsageReported is false when the counts are offline estimates.
	UsageReported bool
	// OutputTokensPerSecond is the generation speed: the output tokens
	// generated between the first and the last token, divided by that time.
	// When every token chunk arrived in one read, that time is zero and the
	// window starts at the arrival before it instead (the previous chunk's,
	// or the response headers'). Hidden reasoning (reported but not
	// streamed) happens before the first token and is left out. Zero for a
	// response that was not streamed, or when fewer than two chunks carried
	// tokens.
	OutputTokensPerSecond float64

	// FinishReason is the finish reason of choice 0 (or of the first
	// choice to finish), as the server sent it. A Responses API call has
	// no finish reason; its status is named as a chat completion's would
	// be: "stop" for completed ("tool_calls" when the output holds a call
	// the application acts on), "length" and "content_filter" for the
	// incomplete reasons max_output_tokens and content_filter (any other
	// reason as sent), "error" for failed.
	FinishReason string
	// FinishReasons lists the distinct finish reasons of all choices.
	FinishReasons []string
	// Flags are the fidelity flags; see [Flag].
	Flags Flags
	// IgnoredParams names the request parameters the response did not
	// honour, as the request spelled them ("max_completion_tokens",
	// "max_tokens", "max_output_tokens", "n", "stop", or the path of a
	// reasoning switch such as "reasoning_effort" or "thinking.type"); nil
	// unless Flags has [FlagParamIgnored].
	IgnoredParams []string

	// Cost is the price of the reported (or estimated) usage.
	Cost Cost
	// PriceKnown reports whether a price was found for the model. When it
	// is false, Cost is zero and means unknown, not free.
	PriceKnown bool
	// ProviderCost is the cost the provider reported itself (OpenRouter's
	// usage.cost, xAI's cost_in_usd_ticks), valid when ProviderCostReported.
	ProviderCost         float64
	ProviderCostReported bool

	// Err is why the attempt failed, or nil: the transport error, an
	// [*APIError] for an HTTP error status or an error sent inside a stream,
	// a read error, or the context's error. An application closing a stream
	// early is not an error (see FlagIncomplete).
	Err error
	// ErrorType is the error.type attribute value; empty when Err is nil.
	ErrorType string
	// StatusCode is the HTTP status, or 0 when no response arrived.
	StatusCode int
	// Attempt counts the SDK's attempts at this request, from 1.
	Attempt int

	// Answer and Reasoning hold the generated text, only when
	// [WithCaptureContent] is set, truncated to its limit.
	Answer, Reasoning string
}

// Useful reports whether the call completed with an answer: content or a
// tool call, not truncated, filtered or incomplete, and no error.
func (c *Call) Useful() bool {
	if c == nil || c.Err != nil {
		return false
	}
	if c.Flags.Has(FlagTruncated) || c.Flags.Has(FlagContentFiltered) ||
		c.Flags.Has(FlagIncomplete) || c.Flags.Has(FlagEmptyAnswer) {
		return false
	}
	return c.StatusCode >= 200 && c.StatusCode < 300
}

// Clone returns a deep copy of c that may be retained.
func (c *Call) Clone() *Call {
	d := *c
	d.ChunkTimes = append([]time.Duration(nil), c.ChunkTimes...)
	d.FinishReasons = append([]string(nil), c.FinishReasons...)
	if c.IgnoredParams != nil {
		d.IgnoredParams = append([]string(nil), c.IgnoredParams...)
	}
	return &d
}
