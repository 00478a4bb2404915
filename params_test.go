package infermetrics

import (
	"reflect"
	"testing"

	"github.com/infermetrics/infermetrics/internal/request"
)

func TestIgnoredParams(t *testing.T) {
	one := summary{choices: 1, nonBlank: true, answer: []byte("Hello there. END more"), answerBytes: 21}
	with := func(s summary, edit func(*summary)) summary { edit(&s); return s }
	rep := func(out, reasoning int64) Call {
		return Call{UsageReported: true, OutputTokens: out, ReasoningTokens: reasoning}
	}
	maxTok := func(key string, n int64) request.Info {
		return request.Info{HasMaxTokens: true, MaxTokens: n, MaxTokensKey: key}
	}
	tests := []struct {
		name  string
		s     summary
		c     Call
		req   request.Info
		want  params
		names []string
	}{
		{"nothing asked", one, rep(500, 0), request.Info{}, 0, nil},
		{"within max_completion_tokens", one, rep(400, 0), maxTok("max_completion_tokens", 400), 0, nil},
		{"over max_completion_tokens", one, rep(582, 0), maxTok("max_completion_tokens", 400), paramMaxTokens, []string{"max_completion_tokens"}},
		{"over max_tokens", one, rep(17, 0), maxTok("max_tokens", 16), paramMaxTokens, []string{"max_tokens"}},
		{"over max_output_tokens", one, rep(65, 0), maxTok("max_output_tokens", 64), paramMaxTokens, []string{"max_output_tokens"}},
		{"estimated usage is not held to the limit", one, Call{OutputTokens: 900}, maxTok("max_tokens", 400), 0, nil},
		{"reported reasoning is budgeted apart", one, rep(900, 600), maxTok("max_tokens", 400), 0, nil},
		{"answer alone over the limit", one, rep(900, 400), maxTok("max_tokens", 400), paramMaxTokens, []string{"max_tokens"}},
		{"zero limit means unset", one, rep(10, 0), maxTok("max_tokens", 0), 0, nil},
		{"n honoured", with(one, func(s *summary) { s.choices = 2 }), rep(5, 0), request.Info{HasN: true, N: 2}, 0, nil},
		{"more choices than n", with(one, func(s *summary) { s.choices = 3 }), rep(5, 0), request.Info{HasN: true, N: 2}, paramN, []string{"n"}},
		{"n absent: not judged", with(one, func(s *summary) { s.choices = 2 }), rep(5, 0), request.Info{}, 0, nil},
		{"stop inside the answer", one, rep(5, 0), request.Info{Stop: []string{"END"}}, paramStop, []string{"stop"}},
		{"stop echoed at the end", with(one, func(s *summary) { s.answer = []byte("Hello there. END \n") }), rep(5, 0), request.Info{Stop: []string{"END"}}, 0, nil},
		{"stop absent", one, rep(5, 0), request.Info{Stop: []string{"STOP", ""}}, 0, nil},
		{"stop in a tool call is not judged", with(one, func(s *summary) { s.toolCall = true }), rep(5, 0), request.Info{Stop: []string{"END"}}, 0, nil},
		{"stop with several choices is not judged", with(one, func(s *summary) { s.choices = 2 }), rep(5, 0), request.Info{Stop: []string{"END"}}, 0, nil},
		{"reasoning text after reasoning_effort=none", with(one, func(s *summary) { s.reasoningSeen = true }), rep(5, 0),
			request.Info{NoReasoning: true, NoReasoningBy: "reasoning_effort=none"}, paramReasoning, []string{"reasoning_effort"}},
		{"reasoning count after thinking.type=disabled", one, rep(50, 40),
			request.Info{NoReasoning: true, NoReasoningBy: "thinking.type=disabled"}, paramReasoning, []string{"thinking.type"}},
		{"encrypted reasoning after think=false", with(one, func(s *summary) { s.encrypted = true }), rep(5, 0),
			request.Info{NoReasoning: true, NoReasoningBy: "think=false"}, paramReasoning, []string{"think"}},
		{"several at once", with(one, func(s *summary) { s.choices, s.reasoningSeen = 1, true }), rep(30, 0),
			request.Info{HasMaxTokens: true, MaxTokens: 10, MaxTokensKey: "max_tokens", Stop: []string{"END"}, NoReasoning: true, NoReasoningBy: "reasoning.enabled=false"},
			paramMaxTokens | paramStop | paramReasoning, []string{"max_tokens", "stop", "reasoning.enabled"}},
	}
	for _, tt := range tests {
		got := ignoredParams(&tt.s, &tt.c, &tt.req)
		if got != tt.want {
			t.Errorf("%s: got %b, want %b", tt.name, got, tt.want)
		}
		if names := got.names(&tt.req); !reflect.DeepEqual(names, tt.names) {
			t.Errorf("%s: names %q, want %q", tt.name, names, tt.names)
		}
		if flagged := fidelityFlags(&tt.s, &tt.c, &tt.req, kindJSON).Has(FlagParamIgnored); flagged != (tt.want != 0) {
			t.Errorf("%s: param_ignored %v, want %v", tt.name, flagged, tt.want != 0)
		}
	}
}

func TestStopInside(t *testing.T) {
	tests := []struct {
		answer string
		stops  []string
		want   bool
	}{
		{"one\ntwo", []string{"\n"}, true},
		{"one\n", []string{"\n"}, false},
		{"one two", []string{"\n"}, false},
		{"a###b", []string{"x", "###"}, true},
		{"a###", []string{"###"}, false},
		{"a### \t", []string{"###"}, false},
		{"", []string{"x"}, false},
		{"abc", []string{""}, false},
		{"résumé END é", []string{"END"}, true},
	}
	for _, tt := range tests {
		if got := stopInside([]byte(tt.answer), tt.stops); got != tt.want {
			t.Errorf("stopInside(%q, %q) = %v, want %v", tt.answer, tt.stops, got, tt.want)
		}
	}
}
