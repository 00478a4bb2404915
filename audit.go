package infermetrics

import (
	"unicode/utf8"

	"github.com/infermetrics/infermetrics/internal/tokens"
)

// The usage audit: reported output tokens held against a local o200k_base
// count of the text that streamed (README, "Usage audit"). The tolerances
// come from the reported/estimated ratios of the recorded captures
// (TestUsageRatios prints them): honest servers stay under 2 when the
// answer is long, and small answers exceed it by at most about 20 tokens
// of framing (tool calls, Claude's tokenizer).
const (
	// auditRatio is the most reported tokens per estimated token believed,
	// for text that is mostly ASCII.
	auditRatio = 2.5
	// auditRatioWide replaces it for text that is mostly not ASCII, where
	// tokenizers differ most from o200k_base.
	auditRatioWide = 4.0
	// auditSlack tokens are allowed on top (message and tool-call framing);
	// auditToolSlack more when the answer has tool calls.
	auditSlack     = 32
	auditToolSlack = 64
	// auditBytesPerToken is the most bytes a token of real text averages
	// in o200k_base (English is about 4.5). The tokenizer runs only when
	// the reported count needs fewer bytes a token than this allows.
	auditBytesPerToken = 8
	// auditSampleBytes bounds the text tokenized, per kind of text; the
	// count of a longer text is scaled from that of its first bytes.
	auditSampleBytes = 2 << 10
)

// overReported reports whether the server reported more output tokens
// than the text it sent can account for. It judges the tokens the text
// must account for: all output tokens, or those outside reasoning when
// reasoning was counted apart (reasoning may be hidden or summarized, so
// its count is not audited). It passes what it cannot judge: estimated
// usage, no text at all, or encrypted reasoning without a count (hidden
// reasoning inside the output count).
//
// It is cheap in the common case: when the text holds at least
// auditBytesPerToken/auditRatio bytes per reported token (honest English
// holds about 4.5), no tokenizer could find the count too high, and no
// tokenizer runs. Otherwise at most auditSampleBytes of each text are
// tokenized.
func overReported(s *summary, c *Call) bool {
	if !c.UsageReported || c.OutputTokens <= 0 {
		return false
	}
	reported := c.OutputTokens
	withReasoning := true
	if c.ReasoningTokens > 0 {
		reported -= c.ReasoningTokens
		withReasoning = false
	} else if s.encrypted {
		return false
	}
	answerBytes := textBytes(s.answer, s.answerBytes)
	reasonBytes := int64(0)
	if withReasoning {
		reasonBytes = textBytes(s.reasoning, s.reasonBytes)
	}
	slack := int64(auditSlack)
	if s.toolCall {
		slack += auditToolSlack
	}
	if c.ReasoningTokens > 0 {
		slack += reasoningGranularity
	}
	if !auditNeeded(reported, answerBytes+reasonBytes, slack) {
		return false
	}
	est, wide := sampleCount(s.answer, answerBytes)
	if withReasoning {
		n, w := sampleCount(s.reasoning, reasonBytes)
		est, wide = est+n, wide || w
	}
	ratio := auditRatio
	if wide {
		ratio = auditRatioWide
	}
	return float64(reported) > ratio*float64(est)+float64(slack)
}

// auditNeeded reports whether reported tokens could be too many for
// textBytes of text: whether they exceed what the most tolerant ratio
// allows for text that averages auditBytesPerToken bytes a token. No text
// means nothing to audit.
func auditNeeded(reported, textBytes, slack int64) bool {
	if textBytes <= 0 {
		return false
	}
	return float64(reported) > auditRatio*float64(textBytes)/auditBytesPerToken+float64(slack)
}

// sampleCount returns the o200k_base token count of kept text, of which
// total bytes were received, tokenizing at most auditSampleBytes and
// scaling; wide reports whether the sample is mostly not ASCII.
func sampleCount(kept []byte, total int64) (n int64, wide bool) {
	if len(kept) == 0 || total <= 0 {
		return 0, false
	}
	sample := kept
	if len(sample) > auditSampleBytes {
		cut := auditSampleBytes
		for cut > 0 && !utf8.RuneStart(sample[cut]) {
			cut--
		}
		sample = sample[:cut]
	}
	nonASCII := 0
	for _, b := range sample {
		if b >= utf8.RuneSelf {
			nonASCII++
		}
	}
	n = int64(tokens.Count(sample))
	if int64(len(sample)) < total {
		n = n * total / int64(len(sample))
	}
	return n, 2*nonASCII > len(sample)
}
