package chunk

import (
	"strconv"
	"testing"
)

// streamChunks are the data of a 1,000-chunk stream the shape OpenAI sends
// (as internal/callgrindbench serves it).
func streamChunks() [][]byte {
	const head = `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[`
	words := []string{" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog", ",", " and", ` \"quoted\"`, " caf\u00e9", "\\n"}
	var out [][]byte
	out = append(out, []byte(head+`{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x8Fq"}`))
	for i := 0; i < 1000; i++ {
		out = append(out, []byte(head+`{"index":0,"delta":{"content":"`+words[i%len(words)]+`"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Qz3k`+strconv.Itoa(i%10)+`"}`))
	}
	out = append(out, []byte(head+`{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null,"obfuscation":"a1"}`))
	out = append(out, []byte(head+`],"usage":{"prompt_tokens":19,"completion_tokens":1000,"total_tokens":1019,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":"b2"}`))
	return out
}

// BenchmarkParseStream parses a stream's chunks into one Facts, as the
// observer does; one op is 1,003 chunks.
func BenchmarkParseStream(b *testing.B) {
	chunks := streamChunks()
	var f Facts
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range chunks {
			Parse(c, &f)
		}
	}
}

// BenchmarkReferenceParseStream is BenchmarkParseStream with the parser
// as it was (reference_test.go).
func BenchmarkReferenceParseStream(b *testing.B) {
	chunks := streamChunks()
	var f Facts
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range chunks {
			referenceParse(c, &f)
		}
	}
}

func TestStreamChunksMatchReference(t *testing.T) {
	checkSeq(t, streamChunks())
}
