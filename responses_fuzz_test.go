package infermetrics_test

// Transparency fuzzing for the Responses API (POST …/responses), guarantee
// 1 of "Never break the caller": whatever bytes a server streams, an
// instrumented client.Responses.NewStreaming shows the application what a
// plain one shows, delivers exactly one Call, and never panics.
//
//	go test -run '^$' -fuzz '^FuzzResponsesTransparency$' -fuzztime 60s .

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infermetrics/infermetrics"
)

// respFuzzCaptures are the recorded streams used as seeds: small ones, so
// that each execution stays fast, and together every kind of event the
// recordings have (reasoning text, summaries, tool calls, hosted tools,
// images, an error event and response.failed).
var respFuzzCaptures = []string{
	"azure_o4-mini_simple_text.sse",
	"deepseek_deepseek-v4-flash_reasoning_text.sse",
	"deepseek_deepseek-v4-flash_reasoning_function_call_cached.sse",
	"openai_gpt-4o_parallel_function_calls.sse",
	"openai_gpt-5-mini_mcp_list_tools_approval_request.sse",
	"openai_gpt-5-nano_error_event_response_failed.sse",
	"openai_gpt-5_image_generation_partial_image.sse",
}

const (
	respSeedResp = `{"id":"resp_1","object":"response","created_at":1,"status":"%s","model":"gpt-5-mini","output":[],"service_tier":"auto","usage":%s}`
	respSeedUse  = `{"input_tokens":9,"input_tokens_details":{"cached_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":12}`
)

// respSeedEvent frames one event as OpenAI does (event: equal to the type).
func respSeedEvent(typ, data string) string {
	return "event: " + typ + "\ndata: " + data + "\n\n"
}

func respSeedResponse(status, usage string) string {
	return fmt.Sprintf(respSeedResp, status, usage)
}

// dataOnly drops the event: lines of a body, as OpenRouter frames it.
func dataOnly(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(line, "event:") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// respInlineSeeds are small scripted streams: the common shapes, and the
// edges a Responses reader parses (error events of both shapes, a failed
// or incomplete end, [DONE], comments, data-only frames, truncation).
func respInlineSeeds() []string {
	created := respSeedEvent("response.created", `{"type":"response.created","sequence_number":0,"response":`+respSeedResponse("in_progress", "null")+`}`)
	delta := func(typ, d string) string {
		return respSeedEvent(typ, `{"type":"`+typ+`","item_id":"msg_1","output_index":0,"content_index":0,"delta":"`+d+`"}`)
	}
	added := respSeedEvent("response.output_item.added", `{"type":"response.output_item.added","output_index":0,"item":{"id":"fc_1","type":"function_call","name":"get","arguments":"","call_id":"c1"}}`)
	done := respSeedEvent("response.output_text.done", `{"type":"response.output_text.done","item_id":"msg_1","output_index":0,"content_index":0,"text":"Hello"}`)
	completed := respSeedEvent("response.completed", `{"type":"response.completed","response":`+respSeedResponse("completed", respSeedUse)+`}`)
	incomplete := respSeedEvent("response.incomplete", `{"type":"response.incomplete","response":`+
		strings.Replace(respSeedResponse("incomplete", respSeedUse), `"output":[]`, `"incomplete_details":{"reason":"max_output_tokens"},"output":[]`, 1)+`}`)
	failed := respSeedEvent("response.failed", `{"type":"response.failed","response":`+
		strings.Replace(respSeedResponse("failed", "null"), `"output":[]`, `"error":{"code":"server_error","message":"boom"},"output":[]`, 1)+`}`)
	text := created + delta("response.output_text.delta", "Hel") + delta("response.output_text.delta", "lo") + done + completed
	return []string{
		text,
		created + delta("response.reasoning_summary_text.delta", "hmm") + delta("response.output_text.delta", "Hi") + completed,
		created + added + delta("response.function_call_arguments.delta", `{}`) + completed,
		created + done + completed,
		created + delta("response.output_text.delta", "Hi") + incomplete,
		created + failed,
		created + respSeedEvent("error", `{"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null}`) + failed,
		created + respSeedEvent("error", `{"type":"error","error":{"type":"insufficient_quota","code":"insufficient_quota","message":"quota"}}`) + failed,
		text + "data: [DONE]\n\n",
		strings.ReplaceAll(text, "\n", "\r\n"),
		": keep-alive\n\n" + strings.ReplaceAll(text, "event: ", ": c\nevent: "),
		dataOnly(text),
		text[:len(text)/2],
		created + delta("response.output_text.delta", "Hi"),
		created + "data: {not json\n\n" + completed,
		created + `data: {"type":"response.output_text.delta","delta":` + "\n\n" + completed,
		created + "data: null\n\n" + completed,
		created + `data: {"type":"response.completed","response":null}` + "\n\n",
		created + `data: {"type":"response.completed","response":{"usage":{"input_tokens":-1,"output_tokens":"x"}}}` + "\n\n",
		"",
		"data: [DONE]\n\n",
		"\n\n\n",
	}
}

func addResponsesSeeds(f *testing.F) {
	for _, name := range respFuzzCaptures {
		b, err := os.ReadFile(filepath.Join(streamsDir, responsesDir, name))
		if err != nil {
			continue // the shared folder is absent: inline seeds only
		}
		f.Add(b, uint16(4096))
		f.Add(b, uint16(0x8000|61))
	}
	for _, s := range respInlineSeeds() {
		f.Add([]byte(s), uint16(7))
		f.Add([]byte(s), uint16(0x8000|4096))
	}
}

func FuzzResponsesTransparency(f *testing.F) {
	addResponsesSeeds(f)
	f.Fuzz(checkResponsesStream)
}

// checkResponsesStream compares plain and instrumented reads of a streamed
// Responses body delivered in reads of the fuzzed split.
func checkResponsesStream(t *testing.T, body []byte, split uint16) {
	params := respParams("gpt-5-mini")
	plain := readRespEvents(newClient(&cannedTransport{status: 200, ctype: "text/event-stream", body: body, split: split}), params)

	var calls collect
	rt := &cannedTransport{status: 200, ctype: "text/event-stream", body: body, split: split}
	got := readRespEvents(newClient(rt, infermetrics.Instrument(infermetrics.WithOnCall(calls.hook))), params)

	if got.err != plain.err {
		t.Fatalf("error: instrumented %q, plain %q", got.err, plain.err)
	}
	diffChunks(t, got.events, plain.events)
	if n := len(calls.all()); n != 1 {
		t.Fatalf("got %d calls, want 1", n)
	}
	if len(rt.reqs) != 1 || len(rt.reqs[0]) == 0 {
		t.Fatalf("request not sent once: %d requests", len(rt.reqs))
	}
}
