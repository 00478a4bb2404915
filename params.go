package infermetrics

import (
	"bytes"
	"strings"

	"github.com/infermetrics/infermetrics/internal/request"
)

// params is a set of request parameters a response shows were not
// honoured.
type params uint8

const (
	paramMaxTokens params = 1 << iota // more output tokens than the limit
	paramN                            // more choices than n
	paramStop                         // a stop sequence inside the answer
	paramReasoning                    // reasoning after a switch that turns it off
)

// ignoredParams reports which of the request's parameters the response
// did not honour (README, "Parameters honoured"):
//
//   - the output limit (max_completion_tokens, max_tokens,
//     max_output_tokens), when the server reported more output tokens than
//     it. Estimated usage is never held to the limit: the offline
//     tokenizer is not the server's. When the server reported a reasoning
//     count, only the tokens outside reasoning are, because some servers
//     (DeepSeek's reasoner) budget the answer apart from the chain of
//     thought.
//   - n, when the request set it and more choices came back.
//   - stop, when a requested stop sequence occurs in the answer with text
//     after it (a server that echoes the sequence at the very end did
//     stop). Only a single-choice content answer is searched: tool calls,
//     refusals and reasoning are not.
//   - a reasoning switch (request.Info.NoReasoning), when reasoning came
//     back: a count, text, or encrypted reasoning.
func ignoredParams(s *summary, c *Call, req *request.Info) params {
	var p params
	if req.HasMaxTokens && req.MaxTokens > 0 && c.UsageReported {
		out := c.OutputTokens
		if c.ReasoningTokens > 0 {
			out -= c.ReasoningTokens
		}
		if out > req.MaxTokens {
			p |= paramMaxTokens
		}
	}
	if req.HasN && req.N >= 1 && int64(s.choices) > req.N {
		p |= paramN
	}
	if len(req.Stop) > 0 && s.choices <= 1 && !s.toolCall && !s.refusal && stopInside(s.answer, req.Stop) {
		p |= paramStop
	}
	if req.NoReasoning && (c.ReasoningTokens > 0 || s.reasoned()) {
		p |= paramReasoning
	}
	return p
}

// stopInside reports whether one of the stop sequences occurs in answer
// with anything but white space after it. answer may be a prefix of the
// answer (kept text is bounded): a sequence found in it is in the answer.
func stopInside(answer []byte, stops []string) bool {
	for _, stop := range stops {
		if stop == "" {
			continue
		}
		i := bytes.Index(answer, []byte(stop))
		if i >= 0 && len(bytes.TrimSpace(answer[i+len(stop):])) > 0 {
			return true
		}
	}
	return false
}

// names returns the names of the parameters in p, as the request spelled
// them: the output limit's field, "n", "stop", and the path of the
// reasoning switch ("reasoning_effort", "thinking.type", …). It returns
// nil for the empty set.
func (p params) names(req *request.Info) []string {
	if p == 0 {
		return nil
	}
	names := make([]string, 0, 4)
	if p&paramMaxTokens != 0 {
		names = append(names, req.MaxTokensKey)
	}
	if p&paramN != 0 {
		names = append(names, "n")
	}
	if p&paramStop != 0 {
		names = append(names, "stop")
	}
	if p&paramReasoning != 0 {
		key, _, _ := strings.Cut(req.NoReasoningBy, "=")
		names = append(names, key)
	}
	return names
}
