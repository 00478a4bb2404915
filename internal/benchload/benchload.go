// Package benchload is the workload the benchmarks and the callgrind
// measuring driver share: a stream the shape OpenAI sends and a ~1 KB
// non-streamed answer, served from memory. It is not used by the library.
package benchload

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ChunkHead is the object start every chunk of the stream repeats.
const ChunkHead = `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[`

// words are the streams' text deltas, escaped as JSON: plain, quoted,
// non-ASCII and a newline.
var words = []string{" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog", ",", " and", ` \"quoted\"`, " caf\u00e9", "\\n"}

// SSE is a stream the shape OpenAI sends: a role chunk, n content
// chunks of about 240 bytes, a finish chunk, a usage chunk and [DONE].
func SSE(n int) []byte {
	var b bytes.Buffer
	ev := func(s string) { b.WriteString("data: "); b.WriteString(s); b.WriteString("\n\n") }
	ev(ChunkHead + `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x8Fq"}`)
	for i := 0; i < n; i++ {
		ev(ChunkHead + `{"index":0,"delta":{"content":"` + words[i%len(words)] + `"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Qz3k` + strconv.Itoa(i%10) + `"}`)
	}
	ev(ChunkHead + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null,"obfuscation":"a1"}`)
	ev(ChunkHead + `],"usage":{"prompt_tokens":19,"completion_tokens":` + strconv.Itoa(n) + `,"total_tokens":` + strconv.Itoa(n+19) + `,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":"b2"}`)
	ev("[DONE]")
	return b.Bytes()
}

// RespID and RespMsgID are the ids the Responses stream's events carry.
const (
	RespID    = "resp_0d00b8a9619b08b1006913a7c4e0e881a1a1b8d1f0dd0b6e4f"
	RespMsgID = "msg_0d00b8a9619b08b1006913a7c5a40c81a18b0b5f7e2c1e9a3d"
)

// ResponsesSSE is a Responses API stream the shape OpenAI sends: created,
// in_progress, the message item and its content part added, n output text
// deltas of about 200 bytes, the text, part and item done, and completed
// with the whole response and usage.
func ResponsesSSE(n int) []byte {
	var b bytes.Buffer
	seq := 0
	ev := func(typ, rest string) {
		b.WriteString("event: " + typ + "\ndata: {\"type\":\"" + typ + "\",\"sequence_number\":" + strconv.Itoa(seq) + "," + rest + "}\n\n")
		seq++
	}
	resp := func(status, output, usage string) string {
		return `"response":{"id":"` + RespID + `","object":"response","created_at":1762895812,"status":"` + status + `","background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4o-2024-08-06","output":[` + output + `],"parallel_tool_calls":true,"previous_response_id":null,"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":` + usage + `,"user":null,"metadata":{}}`
	}
	ev("response.created", resp("in_progress", "", "null"))
	ev("response.in_progress", resp("in_progress", "", "null"))
	ev("response.output_item.added", `"output_index":0,"item":{"id":"`+RespMsgID+`","type":"message","status":"in_progress","content":[],"role":"assistant"}`)
	ev("response.content_part.added", `"item_id":"`+RespMsgID+`","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`)
	var text bytes.Buffer
	for i := 0; i < n; i++ {
		w := words[i%len(words)]
		text.WriteString(w)
		ev("response.output_text.delta", `"item_id":"`+RespMsgID+`","output_index":0,"content_index":0,"delta":"`+w+`","logprobs":[],"obfuscation":"Qz3k`+strconv.Itoa(i%10)+`"`)
	}
	ev("response.output_text.done", `"item_id":"`+RespMsgID+`","output_index":0,"content_index":0,"text":"`+text.String()+`","logprobs":[]`)
	part := `{"type":"output_text","annotations":[],"logprobs":[],"text":"` + text.String() + `"}`
	ev("response.content_part.done", `"item_id":"`+RespMsgID+`","output_index":0,"content_index":0,"part":`+part)
	item := `{"id":"` + RespMsgID + `","type":"message","status":"completed","content":[` + part + `],"role":"assistant"}`
	ev("response.output_item.done", `"output_index":0,"item":`+item)
	ev("response.completed", resp("completed", item, `{"input_tokens":19,"input_tokens_details":{"cached_tokens":0},"output_tokens":`+strconv.Itoa(n)+`,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":`+strconv.Itoa(n+19)+`}`))
	return b.Bytes()
}

// ResponsesEvents is the number of events ResponsesSSE(n) holds.
func ResponsesEvents(n int) int { return n + 8 }

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

// ResponsesStream returns a Transport serving ResponsesSSE(n).
func ResponsesStream(n int) *Transport {
	return &Transport{Body: ResponsesSSE(n), ContentType: "text/event-stream; charset=utf-8"}
}

// Stream returns a Transport serving SSE(n).
func Stream(n int) *Transport {
	return &Transport{Body: SSE(n), ContentType: "text/event-stream; charset=utf-8"}
}

// A Floor emits, through an OpenTelemetry SDK and no library code, what
// one non-streamed call's telemetry is: a CLIENT span with the library's
// attributes and events, and the same metric records. It is the SDK's own
// cost of that telemetry, the floor no instrumentation can go below.
type Floor struct {
	tracer                 trace.Tracer
	duration               metric.Float64Histogram
	tokens                 metric.Int64Histogram
	calls                  metric.Int64Counter
	cost                   metric.Float64Counter
	base                   []attribute.KeyValue
	baseSet, input, output []metric.RecordOption
	callSet                []metric.AddOption
}

// NewFloor builds the instruments once, as the library does.
func NewFloor(tp trace.TracerProvider, mp metric.MeterProvider) (*Floor, error) {
	meter := mp.Meter("floor")
	f := &Floor{tracer: tp.Tracer("floor")}
	var errs [4]error
	f.duration, errs[0] = meter.Float64Histogram("duration")
	f.tokens, errs[1] = meter.Int64Histogram("tokens")
	f.calls, errs[2] = meter.Int64Counter("calls")
	f.cost, errs[3] = meter.Float64Counter("cost")
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	f.base = []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("server.address", "api.openai.com"), attribute.Int("server.port", 443),
		attribute.String("gen_ai.request.model", "gpt-4o"), attribute.String("gen_ai.response.model", "gpt-4o-2024-08-06"),
	}
	set := func(kv ...attribute.KeyValue) attribute.Set {
		return attribute.NewSet(append(f.base[:len(f.base):len(f.base)], kv...)...)
	}
	rec := func(kv ...attribute.KeyValue) []metric.RecordOption {
		return []metric.RecordOption{metric.WithAttributeSet(set(kv...))}
	}
	f.baseSet, f.input, f.output = rec(), rec(attribute.String("gen_ai.token.type", "input")), rec(attribute.String("gen_ai.token.type", "output"))
	f.callSet = []metric.AddOption{metric.WithAttributeSet(set(attribute.Bool("infermetrics.useful", true)))}
	return f, nil
}

// Emit emits one call's span and metrics.
func (f *Floor) Emit(ctx context.Context) {
	start := time.Now()
	sctx, span := f.tracer.Start(ctx, "chat gpt-4o", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(f.base[:5]...))
	span.SetAttributes(
		attribute.Bool("gen_ai.request.stream", false), attribute.Int64("gen_ai.request.max_tokens", 256),
		attribute.Float64("gen_ai.request.temperature", 0.2), attribute.Int("infermetrics.attempt", 1),
	)
	span.SetAttributes(
		attribute.Int("http.response.status_code", 200), attribute.String("gen_ai.response.id", "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"),
		f.base[5], attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
		attribute.Int64("gen_ai.usage.input_tokens", 23), attribute.Int64("gen_ai.usage.output_tokens", 88),
		attribute.Int64("gen_ai.usage.reasoning.output_tokens", 0), attribute.Int64("gen_ai.usage.cache_read.input_tokens", 0),
		attribute.Bool("infermetrics.usage_estimated", false), attribute.Float64("infermetrics.output_tokens_per_second", 0),
		attribute.Float64("infermetrics.consumer_time", 0.00001), attribute.Bool("infermetrics.useful", true),
		attribute.Bool("infermetrics.price_known", true), attribute.Float64("infermetrics.cost", 0.0009375),
	)
	span.AddEvent("infermetrics.first_token", trace.WithTimestamp(start))
	span.AddEvent("infermetrics.first_answer", trace.WithTimestamp(start))
	span.End(trace.WithTimestamp(time.Now()))
	mctx := context.WithoutCancel(sctx)
	f.duration.Record(mctx, 0.1, f.baseSet...)
	f.tokens.Record(mctx, 23, f.input...)
	f.tokens.Record(mctx, 88, f.output...)
	f.duration.Record(mctx, 0.1, f.baseSet...) // stands for time_to_first_token, _answer, speed
	f.duration.Record(mctx, 0.1, f.baseSet...)
	f.calls.Add(mctx, 1, f.callSet...)
	f.cost.Add(mctx, 0.0009375, f.callSet...)
}
