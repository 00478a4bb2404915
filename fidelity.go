package infermetrics

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/infermetrics/infermetrics/internal/request"
)

// A Flag names one way in which a call that may have looked successful was
// not what the application asked for. Flags are set when a call ends; see the
// README's fidelity table for the exact rule behind each one.
type Flag uint16

// The flags. Their String values are the values of the infermetrics.flag
// metric attribute.
const (
	// FlagTruncated: the finish reason was "length" (max_tokens reached).
	FlagTruncated Flag = 1 << iota
	// FlagEmptyAnswer: the call finished with no visible answer: no
	// non-blank content and no tool call.
	FlagEmptyAnswer
	// FlagReasoningExhausted: an empty, truncated answer after reasoning:
	// the reasoning consumed the whole output budget.
	FlagReasoningExhausted
	// FlagContentFiltered: the finish reason was "content_filter", or a
	// content filter result reported "filtered": true.
	FlagContentFiltered
	// FlagIncomplete: the stream ended with neither a finish reason nor
	// [DONE]: dropped connection, body closed early, or an error mid-stream.
	FlagIncomplete
	// FlagUsageMissing: the server reported no usage; token counts are
	// estimates from the offline tokenizer.
	FlagUsageMissing
	// FlagUsageMismatch: reported usage is implausible against what was
	// streamed: by byte counts, or against a local token count of the text
	// (see the README's "Usage audit" for the tolerances).
	FlagUsageMismatch
	// FlagModelMismatch: the response names a model that is neither the one
	// requested nor a dated snapshot of it.
	FlagModelMismatch
	// FlagParamIgnored: the response did not honour a request parameter:
	// more output tokens than max_completion_tokens / max_tokens /
	// max_output_tokens, more choices than n, a stop sequence inside the
	// answer, or reasoning after a switch that turns it off.
	// [Call.IgnoredParams] names which.
	FlagParamIgnored
	// FlagInvalidJSON: a JSON response format was requested and the answer
	// does not parse as JSON.
	FlagInvalidJSON
	// FlagCostMismatch: the provider reported a cost that differs from ours
	// by more than 25% (and more than $0.0001).
	FlagCostMismatch

	flagEnd
)

var flagNames = [...]string{
	"truncated",
	"empty_answer",
	"reasoning_exhausted",
	"content_filtered",
	"incomplete",
	"usage_missing",
	"usage_mismatch",
	"model_mismatch",
	"param_ignored",
	"invalid_json",
	"cost_mismatch",
}

// allFlags lists every flag in order.
var allFlags = [...]Flag{
	FlagTruncated, FlagEmptyAnswer, FlagReasoningExhausted, FlagContentFiltered,
	FlagIncomplete, FlagUsageMissing, FlagUsageMismatch, FlagModelMismatch,
	FlagParamIgnored, FlagInvalidJSON, FlagCostMismatch,
}

// AllFlags returns every flag, in order, in a new slice.
func AllFlags() []Flag { return append([]Flag(nil), allFlags[:]...) }

// Names returns the names of the flags in f, in order, or nil for the
// empty set.
func (f Flags) Names() []string {
	if f == 0 {
		return nil
	}
	var names []string
	for _, fl := range allFlags {
		if f.Has(fl) {
			names = append(names, fl.String())
		}
	}
	return names
}

// String returns the flag's snake_case name.
func (f Flag) String() string {
	for i := range flagNames {
		if f == 1<<i {
			return flagNames[i]
		}
	}
	return "unknown"
}

// Flags is a set of [Flag] values. The zero value is the empty set.
type Flags uint16

// Has reports whether f contains flag.
func (f Flags) Has(flag Flag) bool { return f&Flags(flag) != 0 }

// Set returns f with flag added.
func (f Flags) Set(flag Flag) Flags { return f | Flags(flag) }

// String returns the flags' names separated by "|", or "" for the empty set.
func (f Flags) String() string {
	if f == 0 {
		return ""
	}
	var b strings.Builder
	for _, fl := range allFlags {
		if f.Has(fl) {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(fl.String())
		}
	}
	return b.String()
}

// Finish reasons with a fidelity meaning.
const (
	finishLength        = "length"
	finishContentFilter = "content_filter"
)

// Usage plausibility bounds. Every token is at least one byte of text, and
// no realistic text averages more than maxBytesPerToken bytes a token
// (English averages about four in o200k_base); the slack absorbs short
// answers. The check costs nothing per call: it compares byte counts the
// observer keeps anyway, and runs no tokenizer. The token audit
// (audit.go) catches the over-reports it lets through.
const (
	maxBytesPerToken = 16
	mismatchSlack    = 16
)

// reasoningGranularity is how coarsely OpenAI reports the reasoning tokens
// of hidden reasoning: in multiples of 64 (every real capture: 64, 448,
// 1024, 1792), the rest counted with the answer. Where reasoning tokens
// are reported, an answer's share of the output may be that much above
// what its text holds: "Olá!" came with 38 output tokens beyond the 64 of
// reasoning (Azure o4-mini, Responses API).
const reasoningGranularity = 64

// usageImplausible reports whether reported output tokens cannot account
// for what was streamed. visibleBytes and reasoningBytes are the bytes of
// answer (content, refusal, tool calls) and reasoning text received;
// tokenChunks is the number of chunks that carried text (0 for a
// non-streamed response).
func usageImplausible(output, reasoning int64, visibleBytes, reasoningBytes int64, tokenChunks int) bool {
	if output < 0 {
		return false
	}
	reasoning = max(reasoning, 0)
	if reasoning > output {
		return true
	}
	// Every chunk that carried text carried at least one token; allow for
	// servers that split a token's bytes across two chunks.
	if int64(tokenChunks) > 2*output+mismatchSlack {
		return true
	}
	// More answer tokens billed than bytes of answer received. Reasoning
	// that streamed but was not reported separately is part of the answer
	// tokens.
	allowed := visibleBytes + mismatchSlack
	if reasoning == 0 {
		allowed += reasoningBytes
	} else {
		allowed += reasoningGranularity
	}
	if output-reasoning > allowed {
		return true
	}
	// Text received and no token billed for it: wrong whatever the slack.
	if output == 0 && visibleBytes+reasoningBytes > 0 {
		return true
	}
	// Far more answer received than tokens billed. Streamed reasoning is
	// left out: it may hold text the model did not generate (Groq's
	// compound systems stream their search results in it).
	return visibleBytes > maxBytesPerToken*(output+mismatchSlack)
}

// modelMatches reports whether the response model is the requested one or
// a dated snapshot of it. Comparison ignores case and a provider prefix
// ("openai/gpt-4o" matches "gpt-4o"). A snapshot is the requested name
// followed by -YYYY-MM-DD, -YYYYMMDD or -MMDD.
func modelMatches(requested, response string) bool {
	if requested == "" || response == "" {
		return true
	}
	rq, rs := strings.ToLower(requested), strings.ToLower(response)
	if rq == rs {
		return true
	}
	rq, rs = baseName(rq), baseName(rs)
	if rq == rs {
		return true
	}
	if strings.HasPrefix(rs, rq+"-") {
		return isDateSuffix(rs[len(rq)+1:])
	}
	return false
}

// baseName strips provider prefixes ("accounts/fireworks/models/x" -> "x")
// and an OpenRouter variant suffix (":free").
func baseName(m string) string {
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	if i := strings.IndexByte(m, ':'); i >= 0 {
		m = m[:i]
	}
	return m
}

func isDateSuffix(s string) bool {
	digits := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return s != ""
	}
	switch len(s) {
	case 4, 8:
		return digits(s)
	case 10:
		return digits(s[:4]) && s[4] == '-' && digits(s[5:7]) && s[7] == '-' && digits(s[8:])
	}
	return false
}

// textBytes is the length of received text: the kept, unescaped text when
// all of it was kept, or the escaped length when it was cut.
func textBytes(kept []byte, escaped int) int64 {
	if escaped > len(kept) && len(kept) >= maxTextBytes {
		return int64(escaped)
	}
	return int64(len(kept))
}

// validJSON reports whether s parses as one JSON value. A fenced code block
// (```json … ```) is not JSON: applications that asked for JSON parse the
// raw answer.
func validJSON(s []byte) bool {
	return json.Valid(s)
}

// fidelityFlags computes the flags of a call that got a 2xx response,
// from the summary of its response, the call's usage and its request.
// cost_mismatch is raised apart, once the call is priced (costFlags).
func fidelityFlags(s *summary, c *Call, req *request.Info, kind respKind) Flags {
	var f Flags
	switch s.finish {
	case finishLength, "max_tokens":
		f = f.Set(FlagTruncated)
	case finishContentFilter:
		f = f.Set(FlagContentFiltered)
	}
	if s.filtered {
		f = f.Set(FlagContentFiltered)
	}
	// A stream completes with a finish reason or [DONE]; a whole response
	// with a finish reason (a server that gave up sends null). A Responses
	// API call completes with its terminal event or status.
	completed := s.sawFinish || (s.sawDone && c.API != APIResponses)
	if !completed || (kind == kindJSON && s.malformed) {
		f = f.Set(FlagIncomplete)
	}
	answered := s.nonBlank || s.toolCall || s.image
	if completed && c.Err == nil && !answered {
		f = f.Set(FlagEmptyAnswer)
		if f.Has(FlagTruncated) && (c.ReasoningTokens > 0 || s.reasoned()) {
			f = f.Set(FlagReasoningExhausted)
		}
	}
	if !c.UsageReported {
		f = f.Set(FlagUsageMissing)
	} else if s.tokenChunks > 0 || kind == kindJSON {
		if usageImplausible(c.OutputTokens, c.ReasoningTokens, textBytes(s.answer, s.answerBytes), textBytes(s.reasoning, s.reasonBytes), s.tokenChunks) ||
			overReported(s, c) {
			f = f.Set(FlagUsageMismatch)
		}
	}
	if !modelMatches(c.RequestModel, c.ResponseModel) {
		f = f.Set(FlagModelMismatch)
	}
	if ignoredParams(s, c, req) != 0 {
		f = f.Set(FlagParamIgnored)
	}
	if req.OutputType == "json" && completed && !s.toolCall && !s.refusal &&
		s.answerBytes <= maxTextBytes && !validJSON(s.answer) {
		f = f.Set(FlagInvalidJSON)
	}
	return f
}

// costFlags returns cost_mismatch when the provider reported a cost that
// disagrees with ours.
func costFlags(c *Call) Flags {
	if c.PriceKnown && c.ProviderCostReported && costDisagrees(c.Cost.Total, c.ProviderCost) {
		return Flags(FlagCostMismatch)
	}
	return 0
}

// costDisagrees reports whether a provider-reported cost and ours differ by
// more than 25% and more than a hundredth of a cent.
func costDisagrees(ours, theirs float64) bool {
	d := math.Abs(ours - theirs)
	return d > 1e-4 && d > 0.25*math.Max(math.Abs(ours), math.Abs(theirs))
}
