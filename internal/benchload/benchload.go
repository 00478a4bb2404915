// Package benchload is the workload the benchmarks and the callgrind
// measuring driver share: a stream the shape OpenAI sends and a ~1 KB
// non-streamed answer, served from memory. It is not used by the library.
package benchload

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
)

// ChunkHead is the object start every chunk of the stream repeats.
const ChunkHead = `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[`

// SSE is a stream the shape OpenAI sends: a role chunk, n content
// chunks of about 240 bytes, a finish chunk, a usage chunk and [DONE].
func SSE(n int) []byte {
	var b bytes.Buffer
	ev := func(s string) { b.WriteString("data: "); b.WriteString(s); b.WriteString("\n\n") }
	ev(ChunkHead + `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x8Fq"}`)
	words := []string{" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog", ",", " and", ` \"quoted\"`, " caf\u00e9", "\\n"}
	for i := 0; i < n; i++ {
		ev(ChunkHead + `{"index":0,"delta":{"content":"` + words[i%len(words)] + `"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Qz3k` + strconv.Itoa(i%10) + `"}`)
	}
	ev(ChunkHead + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null,"obfuscation":"a1"}`)
	ev(ChunkHead + `],"usage":{"prompt_tokens":19,"completion_tokens":` + strconv.Itoa(n) + `,"total_tokens":` + strconv.Itoa(n+19) + `,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":"b2"}`)
	ev("[DONE]")
	return b.Bytes()
}

// JSON is a ~1 KB non-streamed chat.completion.
const JSON = `{
  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "gpt-4o-2024-08-06",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "Go's garbage collector is a concurrent, tri-color mark-and-sweep collector. It runs alongside your program, marking reachable objects while goroutines keep executing, and only briefly stops the world to enable the write barrier and to finish marking. Memory that is not reachable is swept lazily as new allocations need space. The pacer decides when to start a cycle from GOGC and the memory limit, trading CPU for heap size.",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 23,
    "completion_tokens": 88,
    "total_tokens": 111,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": "fp_f9f4fb6dbf"
}`

// A Transport serves Body on every request, with no sockets.
type Transport struct {
	Body        []byte
	ContentType string
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	h := make(http.Header, 1)
	h.Set("Content-Type", t.ContentType)
	return &http.Response{
		Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(t.Body)), ContentLength: -1, Request: req,
	}, nil
}

// Stream returns a Transport serving SSE(n).
func Stream(n int) *Transport {
	return &Transport{Body: SSE(n), ContentType: "text/event-stream; charset=utf-8"}
}
