package infermetrics

import (
	"strings"
	"testing"

	"github.com/infermetrics/infermetrics/internal/request"
)

// english is ordinary prose: about 4.5 bytes an o200k_base token.
const english = "The quick brown fox jumps over the lazy dog while the farmer watches from the porch, sipping his coffee and thinking about the harvest. "

func textSummary(answer, reasoning string) summary {
	return summary{
		answer: []byte(answer), answerBytes: len(answer),
		reasoning: []byte(reasoning), reasonBytes: len(reasoning),
		tokenChunks: 10, nonBlank: answer != "",
	}
}

func TestOverReported(t *testing.T) {
	long := strings.Repeat(english, 8) // 8 × 26 = 208 tokens
	huge := strings.Repeat(english, 4000)
	longTokens := int64(208)
	hindi := strings.Repeat("यह एक परीक्षण वाक्य है जो हिंदी में लिखा गया है। ", 20)
	rep := func(out, reasoning int64) Call {
		return Call{UsageReported: true, OutputTokens: out, ReasoningTokens: reasoning}
	}
	with := func(s summary, edit func(*summary)) summary { edit(&s); return s }
	tests := []struct {
		name string
		s    summary
		c    Call
		want bool
	}{
		{"honest", textSummary(long, ""), rep(longTokens, 0), false},
		{"another tokenizer, 1.8x", textSummary(long, ""), rep(longTokens*18/10, 0), false},
		{"2.5x plus slack", textSummary(long, ""), rep(longTokens*5/2+auditSlack, 0), false},
		{"3x over-report", textSummary(long, ""), rep(3*longTokens, 0), true},
		{"3x over a short answer is within the slack", textSummary(english, ""), rep(3*26, 0), false},
		{"10x over a short answer", textSummary(english, ""), rep(10*26, 0), true},
		{"estimated usage is not audited", textSummary(long, ""), Call{OutputTokens: 10 * longTokens}, false},
		{"no text", textSummary("", ""), rep(500, 0), false},
		{"reasoning counted apart: the answer is judged", textSummary(long, ""), rep(longTokens+5000, 5000), false},
		{"reasoning counted apart, answer over-reported", textSummary(long, ""), rep(3*longTokens+5000, 5000), true},
		{"streamed reasoning without a count is text", textSummary(long, long), rep(2*longTokens, 0), false},
		{"streamed reasoning without a count, 3x", textSummary(long, long), rep(6*longTokens, 0), true},
		{"encrypted reasoning without a count", with(textSummary(long, ""), func(s *summary) { s.encrypted = true }), rep(3*longTokens, 0), false},
		{"tool calls get more slack", with(textSummary(`{"city":"Paris"}`, ""), func(s *summary) { s.toolCall = true }), rep(80, 0), false},
		{"not ASCII: 3x is believed", textSummary(hindi, ""), rep(3*tokensOf(hindi), 0), false},
		{"not ASCII: 5x", textSummary(hindi, ""), rep(5*tokensOf(hindi), 0), true},
		{"long text, sampled: honest", textSummary(huge, ""), rep(4000*26, 0), false},
		{"long text, sampled: 3x", textSummary(huge, ""), rep(3*4000*26, 0), true},
	}
	for _, tt := range tests {
		if got := overReported(&tt.s, &tt.c); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
		if tt.want {
			if f := fidelityFlags(&tt.s, &tt.c, nil0(), kindStream); !f.Has(FlagUsageMismatch) {
				t.Errorf("%s: flags %v, want usage_mismatch", tt.name, f)
			}
		}
	}
}

func tokensOf(s string) int64 { n, _ := sampleCount([]byte(s), int64(len(s))); return n }

// TestAuditGate checks when the tokenizer runs: never for honest English,
// always for a count that needs fewer bytes a token than real text has.
func TestAuditGate(t *testing.T) {
	tests := []struct {
		name               string
		reported, textSize int64
		want               bool
	}{
		{"honest English, 4.5 bytes a token", 1000, 4500, false},
		{"Claude's tokenizer on English, 3.5 bytes a token", 1000, 3500, false},
		{"3x over English, 1.5 bytes a token", 3000, 4500, true},
		{"a short answer within the slack", 30, 20, false},
		{"no text", 1000, 0, false},
	}
	for _, tt := range tests {
		if got := auditNeeded(tt.reported, tt.textSize, auditSlack); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestStreamedReasoningNotHeldToBytes: reasoning text far beyond the
// bytes bound is not an under-report (Groq compound streams search
// results in its reasoning); the answer still is.
func TestStreamedReasoningNotHeldToBytes(t *testing.T) {
	if usageImplausible(359, 0, 400, 40000, 200) {
		t.Error("reasoning bytes held to the bytes-a-token bound")
	}
	if !usageImplausible(10, 0, maxBytesPerToken*(10+mismatchSlack+1), 0, 10) {
		t.Error("answer bytes not held to the bytes-a-token bound")
	}
}

func nil0() *request.Info { return &request.Info{} }

func BenchmarkUsageAudit(b *testing.B) {
	long := strings.Repeat(english, 16) // 2 KiB
	huge := strings.Repeat(english, 8000)
	for _, bc := range []struct {
		name string
		s    summary
		c    Call
	}{
		{"honest_2KiB_gated", textSummary(long, ""), Call{UsageReported: true, OutputTokens: 16 * 26}},
		{"overreported_2KiB_tokenized", textSummary(long, ""), Call{UsageReported: true, OutputTokens: 3 * 16 * 26}},
		{"overreported_1MiB_sampled", textSummary(huge, ""), Call{UsageReported: true, OutputTokens: 3 * 8000 * 26}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			overReported(&bc.s, &bc.c) // the vocabulary is built once per process
			b.ReportAllocs()
			for b.Loop() {
				overReported(&bc.s, &bc.c)
			}
		})
	}
}
