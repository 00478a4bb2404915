package infermetrics_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/infermetrics/infermetrics"
	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// respStream returns a streamed Responses API body: created, a reasoning
// summary delta, n output text deltas, and completed with usage.
func respStream(n int) []byte {
	var b bytes.Buffer
	ev := func(typ, body string) {
		fmt.Fprintf(&b, "event: %s\ndata: {\"type\":%q,%s}\n\n", typ, typ, body)
	}
	ev("response.created", `"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5-2025-08-07","service_tier":"auto","output":[],"usage":null}`)
	ev("response.reasoning_summary_text.delta", `"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Thinking."`)
	for i := range n {
		ev("response.output_text.delta", fmt.Sprintf(`"item_id":"msg_1","output_index":1,"content_index":0,"delta":"w%d ","sequence_number":%d`, i, i+2))
	}
	ev("response.output_text.done", `"item_id":"msg_1","output_index":1,"content_index":0,"text":"(all)"`)
	ev("response.completed", fmt.Sprintf(`"response":{"id":"resp_1","object":"response","status":"completed","model":"gpt-5-2025-08-07","service_tier":"default","output":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":0},"output_tokens":%d,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":%d}}`, 2*n+64, 2*n+76))
	return b.Bytes()
}

func respParams(model string) responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model: model,
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
	}
}

func readResponses(tb testing.TB, c *openai.Client, p responses.ResponseNewParams) int {
	s := c.Responses.NewStreaming(context.Background(), p)
	n := 0
	for s.Next() {
		_ = s.Current()
		n++
	}
	if err := s.Err(); err != nil {
		tb.Fatal(err)
	}
	_ = s.Close()
	return n
}

// A Responses API stream lands in the span and the metrics as a chat
// completion does, with openai.api.type=responses on both.
func TestResponsesTelemetry(t *testing.T) {
	tel := infermetricstest.NewTelemetry()
	rt := &cannedTransport{status: 200, ctype: "text/event-stream", body: respStream(3), split: wholeReads}
	c := newClient(rt, infermetrics.Instrument(tel.Options()...))
	p := respParams("gpt-5")
	p.Conversation = responses.ResponseNewParamsConversationUnion{OfString: openai.String("conv_1")}
	if n := readResponses(t, &c, p); n != 7 {
		t.Fatalf("read %d events, want 7", n)
	}
	call := tel.LastCall()
	if call == nil {
		t.Fatal("no call")
	}
	if call.API != infermetrics.APIResponses || !call.Stream || call.Chunks != 7 || call.TokenChunks != 4 || call.AnswerChunks != 3 {
		t.Errorf("call: api %q stream %v chunks %d tokens %d answers %d", call.API, call.Stream, call.Chunks, call.TokenChunks, call.AnswerChunks)
	}
	if call.InputTokens != 12 || call.OutputTokens != 70 || call.ReasoningTokens != 64 || !call.UsageReported {
		t.Errorf("usage: %d in, %d out, %d reasoning", call.InputTokens, call.OutputTokens, call.ReasoningTokens)
	}
	if call.FinishReason != "stop" || call.ServiceTier != "default" || call.ResponseID != "resp_1" || call.Flags != 0 || call.Err != nil {
		t.Errorf("finish %q tier %q id %q flags %v err %v", call.FinishReason, call.ServiceTier, call.ResponseID, call.Flags, call.Err)
	}
	spans := tel.Spans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	want := map[attribute.Key]attribute.Value{
		"openai.api.type":                      attribute.StringValue("responses"),
		"gen_ai.operation.name":                attribute.StringValue("chat"),
		"gen_ai.response.id":                   attribute.StringValue("resp_1"),
		"gen_ai.usage.output_tokens":           attribute.Int64Value(70),
		"gen_ai.usage.reasoning.output_tokens": attribute.Int64Value(64),
		"openai.response.service_tier":         attribute.StringValue("default"),
		"gen_ai.response.finish_reasons":       attribute.StringSliceValue([]string{"stop"}),
		"gen_ai.conversation.id":               attribute.StringValue("conv_1"),
	}
	for _, kv := range spans[0].Attributes() {
		if w, ok := want[kv.Key]; ok {
			if kv.Value != w && kv.Value.Emit() != w.Emit() {
				t.Errorf("span %s = %s, want %s", kv.Key, kv.Value.Emit(), w.Emit())
			}
			delete(want, kv.Key)
		}
	}
	for k := range want {
		t.Errorf("span lacks %s", k)
	}
	api := attribute.String("openai.api.type", "responses")
	if n := tel.HistogramCount("gen_ai.client.operation.duration", api); n != 1 {
		t.Errorf("operation.duration with %v: %d points, want 1", api, n)
	}
	if got := tel.HistogramSum("gen_ai.client.token.usage", api, attribute.String("gen_ai.token.type", "output")); got != 70 {
		t.Errorf("output token usage %v, want 70", got)
	}
}

// The Responses API always reports usage and has no include_usage: the
// request goes out exactly as the application wrote it.
func TestResponsesRequestUnchanged(t *testing.T) {
	plain := &cannedTransport{status: 200, ctype: "text/event-stream", body: respStream(1), split: wholeReads}
	pc := newClient(plain)
	readResponses(t, &pc, respParams("gpt-5"))
	inst := &cannedTransport{status: 200, ctype: "text/event-stream", body: respStream(1), split: wholeReads}
	ic := newClient(inst, infermetrics.Instrument(infermetrics.WithOnCall(func(*infermetrics.Call) {})))
	readResponses(t, &ic, respParams("gpt-5"))

	if len(plain.reqs) != 1 || len(inst.reqs) != 1 || !bytes.Equal(plain.reqs[0], inst.reqs[0]) {
		t.Fatalf("request changed:\n%s\nwant\n%s", inst.reqs, plain.reqs)
	}
	if bytes.Contains(inst.reqs[0], []byte("include_usage")) {
		t.Errorf("include_usage injected: %s", inst.reqs[0])
	}
}

// Through NewTransport, any client's POST …/responses is measured, and
// other requests under /responses (retrieve, cancel, count input tokens)
// pass untouched.
func TestResponsesTransportPaths(t *testing.T) {
	var calls []*infermetrics.Call
	rt := infermetrics.NewTransport(&cannedTransport{status: 200, ctype: "application/json",
		body:  []byte(`{"id":"resp_2","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"model":"gpt-5","output":[{"type":"message","content":[{"type":"output_text","text":"Par"}]}],"usage":{"input_tokens":5,"output_tokens":16}}`),
		split: wholeReads}, infermetrics.WithOnCall(func(c *infermetrics.Call) { calls = append(calls, c.Clone()) }))
	for _, r := range []struct{ method, path string }{
		{"POST", "/v1/responses"}, {"GET", "/v1/responses/resp_2"}, {"POST", "/v1/responses/resp_2/cancel"},
		{"POST", "/v1/responses/input_tokens"}, {"POST", "/openai/v1/responses/"},
	} {
		req, _ := http.NewRequest(r.method, "http://"+otelHost+r.path, strings.NewReader(`{"model":"gpt-5","input":"hi","max_output_tokens":16}`))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	if len(calls) != 2 {
		t.Fatalf("%d calls measured, want 2 (the two POST …/responses)", len(calls))
	}
	c := calls[0]
	if c.API != infermetrics.APIResponses || c.Stream || c.FinishReason != "length" || !c.Flags.Has(infermetrics.FlagTruncated) ||
		c.OutputTokens != 16 || c.ResponseID != "resp_2" {
		t.Errorf("call: %+v", c)
	}
}

// TestResponsesEventAllocs: reading a Responses API stream through an
// instrumented client allocates no more per event than the plain SDK does.
// The collector is off while counting (see TestChunkPathAllocsNoGC).
func TestResponsesEventAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 30,000 events")
	}
	if raceEnabled() {
		t.Skip("sync.Pool drops items at random under -race")
	}
	allocs := func(n int, instrumented bool) float64 {
		var ro []option.RequestOption
		if instrumented {
			ro = append(ro, infermetrics.Instrument(
				infermetrics.WithTracerProvider(tracenoop.NewTracerProvider()),
				infermetrics.WithMeterProvider(metricnoop.NewMeterProvider()),
				infermetrics.WithOnCall(func(*infermetrics.Call) {})))
		}
		c := newClient(&cannedTransport{status: 200, ctype: "text/event-stream", body: respStream(n), split: wholeReads}, ro...)
		p := respParams("gpt-5")
		for range 3 {
			readResponses(t, &c, p)
		}
		runtime.GC()
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		return testing.AllocsPerRun(5, func() { readResponses(t, &c, p) })
	}
	plain := allocs(2000, false) - allocs(1000, false)
	inst := allocs(2000, true) - allocs(1000, true)
	if inst-plain > 1 {
		t.Errorf("1,000 more events: %.0f more allocations instrumented, %.0f plain", inst, plain)
	}
}

// An image too large for the 4 MiB event limit is still an answer, and a
// terminal event that repeats it still ends the response: only its usage
// is lost.
func TestResponsesOversizeImage(t *testing.T) {
	img := strings.Repeat("iVBORw0KGgo", (5<<20)/11)
	item := `{"id":"ig_1","type":"image_generation_call","status":"completed","result":"` + img + `"}`
	body := []byte(`data: {"type":"response.created","response":{"id":"resp_i","status":"in_progress","model":"gpt-5","output":[]}}

data: {"type":"response.image_generation_call.partial_image","output_index":0,"item_id":"ig_1","partial_image_index":0,"partial_image_b64":"` + img + `"}

data: {"type":"response.output_item.done","output_index":0,"item":` + item + `}

data: {"type":"response.output_text.done","output_index":1,"content_index":0,"text":""}

data: {"type":"response.completed","response":{"id":"resp_i","status":"completed","model":"gpt-5","output":[` + item + `],"usage":{"input_tokens":10,"output_tokens":1300}}}

`)
	var plainEvents, instEvents []string
	read := func(c openai.Client, into *[]string) {
		s := c.Responses.NewStreaming(context.Background(), respParams("gpt-5"))
		for s.Next() {
			*into = append(*into, s.Current().RawJSON())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
	}
	read(newClient(&cannedTransport{status: 200, ctype: "text/event-stream", body: body, split: wholeReads}), &plainEvents)
	var got collect
	read(newClient(&cannedTransport{status: 200, ctype: "text/event-stream", body: body, split: wholeReads},
		infermetrics.Instrument(infermetrics.WithOnCall(got.hook))), &instEvents)
	if len(instEvents) != 5 || len(instEvents) != len(plainEvents) {
		t.Fatalf("%d events, %d plain", len(instEvents), len(plainEvents))
	}
	for i := range plainEvents {
		if instEvents[i] != plainEvents[i] {
			t.Fatalf("event %d differs", i)
		}
	}
	if len(got.calls) != 1 {
		t.Fatalf("%d calls", len(got.calls))
	}
	c := got.calls[0]
	if c.FinishReason != "stop" || c.Flags.Has(infermetrics.FlagEmptyAnswer) || c.Flags.Has(infermetrics.FlagIncomplete) ||
		!c.Flags.Has(infermetrics.FlagUsageMissing) || c.Chunks != 5 || c.Err != nil {
		t.Errorf("finish %q flags %v chunks %d err %v", c.FinishReason, c.Flags, c.Chunks, c.Err)
	}
}
