package infermetrics_test

// Replay tests for the OpenAI Responses API (POST …/responses): every
// recorded body in ../shared/streams/responses, and synthetic provider
// variants built from them, is served to a plain and to an instrumented
// openai-go client. The application must see the same thing through both,
// and the Call must agree with two independent expectations: an oracle
// that decodes the events with encoding/json, and a table of facts written
// by hand from reading each capture (cross-checked against the README
// beside the captures).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// responsesDir holds the recorded Responses API bodies, under streamsDir.
const responsesDir = "responses"

// respStreamResult is what an application saw of a Responses stream: the
// raw JSON of every event, in order, and the error the stream ended with.
type respStreamResult struct {
	events []string
	err    string
}

// readRespEvents is readStream for client.Responses.NewStreaming (a new
// helper: readStream is typed to chat completion chunks).
func readRespEvents(client openai.Client, params responses.ResponseNewParams) respStreamResult {
	s := client.Responses.NewStreaming(context.Background(), params)
	var r respStreamResult
	for s.Next() {
		r.events = append(r.events, s.Current().RawJSON())
	}
	if err := s.Err(); err != nil {
		r.err = err.Error()
	}
	s.Close()
	return r
}

// sameView fails the test unless the instrumented application saw exactly
// what the plain one saw.
func sameView(t *testing.T, what string, got, plain respStreamResult) {
	t.Helper()
	if got.err != plain.err {
		t.Errorf("%s: error: got %q, want %q (plain)", what, got.err, plain.err)
	}
	if len(got.events) != len(plain.events) {
		t.Fatalf("%s: events: got %d, want %d (plain)", what, len(got.events), len(plain.events))
	}
	for i := range plain.events {
		if got.events[i] != plain.events[i] {
			t.Fatalf("%s: event %d differs:\n got %.300s\nwant %.300s", what, i, got.events[i], plain.events[i])
		}
	}
}

// framesOf cuts an SSE body after every blank line, so that each piece
// holds one event (with its event:, comment and data lines). Bytes after
// the last blank line form a last piece.
func framesOf(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		line := b[i : i+j]
		i += j + 1
		if len(bytes.TrimSuffix(line, []byte("\r"))) == 0 {
			if i > start {
				out = append(out, b[start:i])
			}
			start = i
		}
	}
	if start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

// pacedTransport serves a body as separate pieces: each piece is handed out
// only after its release offset (at, from when RoundTrip was called) or, when
// at is nil, gap after the previous piece, and a read never spans two
// pieces. Each event of a body cut by framesOf thus arrives in reads of its
// own, at a distinct time, and ChunkTimes[i] is the arrival of event i.
type pacedTransport struct {
	status int
	ctype  string
	pieces [][]byte
	gap    time.Duration
	at     []time.Duration // release offsets, one per piece, or nil
	eofAt  time.Duration   // when the body ends, if later than the last piece
}

func (rt *pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t0 := time.Now()
	_, _ = io.Copy(io.Discard, req.Body)
	return &http.Response{
		StatusCode: rt.status,
		Status:     strconv.Itoa(rt.status) + " " + http.StatusText(rt.status),
		Header:     http.Header{"Content-Type": {rt.ctype}},
		Body:       &pacedBody{rt: rt, t0: t0, next: -1},
		Request:    req,
	}, nil
}

type pacedBody struct {
	rt   *pacedTransport
	t0   time.Time
	next int    // index of the current piece; -1 before the first
	rest []byte // unread bytes of the current piece
	mu   sync.Mutex
}

func (b *pacedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.rest) == 0 {
		b.next++
		if b.next >= len(b.rt.pieces) {
			if d := time.Until(b.t0.Add(b.rt.eofAt)); d > 0 {
				time.Sleep(d)
			}
			return 0, io.EOF
		}
		if b.rt.at != nil {
			if d := time.Until(b.t0.Add(b.rt.at[b.next])); d > 0 {
				time.Sleep(d)
			}
		} else {
			time.Sleep(b.rt.gap)
		}
		b.rest = b.rt.pieces[b.next]
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

func (b *pacedBody) Close() error { return nil }

// paceGap separates the arrivals of paced events.
const paceGap = time.Millisecond

// textKinds maps the event types that carry generated text to their kind
// ("text", "refusal", "tool", "reason"), whether the event is a delta, and
// the field holding a .done event's full text.
var textKinds = map[string]struct {
	kind  string
	delta bool
	field string
}{
	"response.output_text.delta":             {"text", true, "delta"},
	"response.refusal.delta":                 {"refusal", true, "delta"},
	"response.function_call_arguments.delta": {"tool", true, "delta"},
	"response.custom_tool_call_input.delta":  {"tool", true, "delta"},
	"response.reasoning_summary_text.delta":  {"reason", true, "delta"},
	"response.reasoning_text.delta":          {"reason", true, "delta"},
	"response.output_text.done":              {"text", false, "text"},
	"response.refusal.done":                  {"refusal", false, "refusal"},
	"response.function_call_arguments.done":  {"tool", false, "arguments"},
	"response.custom_tool_call_input.done":   {"tool", false, "input"},
	"response.reasoning_summary_text.done":   {"reason", false, "text"},
	"response.reasoning_text.done":           {"reason", false, "text"},
}

// toolItems are the output item types that are (the start of) an answer:
// the model calling a tool or asking to.
var toolItems = map[string]bool{"function_call": true, "custom_tool_call": true, "mcp_approval_request": true}

// respOracle derives what a Responses body shows with a plain JSON
// decoder, independently of the library's single-pass reader.
type respOracle struct {
	chunks      int
	done        bool // a [DONE] arrived
	terminal    int  // index of response.completed/incomplete/failed, or -1
	ended       bool // a terminal event arrived, or the body was whole
	finish      string
	usage       bool
	in, out     int64
	reasoning   int64
	cached      int64
	cacheWrite  int64
	tier        string
	id, model   string
	firstToken  int // event index, or -1
	firstAnswer int
	lastToken   int
	tokens      int
	answers     int
	streamErr   bool
	errCode     string
	answered    bool // non-blank output text, a tool call, or a generated image
	reasoned    bool
	stopped     bool // the application stopped at an error event
	deltaSince  map[string]bool
}

func newRespOracle() *respOracle {
	return &respOracle{terminal: -1, firstToken: -1, firstAnswer: -1, lastToken: -1, deltaSince: map[string]bool{}}
}

// streamOracle runs the oracle over the data events of an SSE body. When
// appStops is set it stops after an event with a top-level "error" key,
// where openai-go stops reading: the events after it are not read when
// each event arrives in reads of its own.
func streamOracle(raw []byte, appStops bool) *respOracle {
	o := newRespOracle()
	for _, ev := range sseEvents(raw) {
		if o.terminal >= 0 || o.stopped {
			break
		}
		o.event(ev, appStops)
	}
	return o
}

func (o *respOracle) event(data string, appStops bool) {
	if strings.HasPrefix(data, "[DONE]") {
		o.done = true
		return
	}
	i := o.chunks
	o.chunks++
	var v map[string]any
	if json.Unmarshal([]byte(data), &v) != nil {
		return
	}
	if _, ok := v["error"]; ok && appStops {
		o.stopped = true
	}
	typ, _ := v["type"].(string)
	if r, ok := v["response"].(map[string]any); ok {
		if id, _ := r["id"].(string); id != "" && o.id == "" {
			o.id = id
		}
		if m, _ := r["model"].(string); m != "" && o.model == "" {
			o.model = m
		}
	}
	token, answer := false, false
	if k, ok := textKinds[typ]; ok {
		text, _ := v[k.field].(string)
		if k.delta {
			// An empty delta carried no text: a .done after nothing but
			// empty deltas still delivers its text for the first time.
			token = text != ""
			o.deltaSince[k.kind] = o.deltaSince[k.kind] || token
		} else {
			token = text != "" && !o.deltaSince[k.kind]
			o.deltaSince[k.kind] = false
		}
		answer = token && k.kind != "reason"
		if token && k.kind == "reason" {
			o.reasoned = true
		}
		if k.kind == "text" && strings.TrimSpace(text) != "" {
			o.answered = true
		}
	}
	if it, ok := v["item"].(map[string]any); ok {
		if typ == "response.output_item.added" && toolItems[str(it["type"])] {
			token, answer = true, true
		}
		o.item(it)
	}
	if r, ok := v["response"].(map[string]any); ok && terminalTypes[typ] {
		// The terminal event's output repeats the stream; it is the text's
		// first arrival only where no event carried it.
		a, rs := outputTexts(r)
		if o.tokens == 0 && (a || rs) {
			token, answer = true, a
		} else if o.answers == 0 && a {
			token, answer = true, true
		}
	}
	if token {
		if o.firstToken < 0 {
			o.firstToken = i
		}
		o.lastToken = i
		o.tokens++
	}
	if answer {
		if o.firstAnswer < 0 {
			o.firstAnswer = i
		}
		o.answers++
	}
	switch typ {
	case "error":
		e, _ := v["error"].(map[string]any)
		if e == nil {
			e = v
		}
		o.fail(str(e["code"]), str(e["type"]))
	case "response.completed", "response.incomplete", "response.failed":
		o.terminal = i
		r, _ := v["response"].(map[string]any)
		o.body(r, typ)
	}
}

func str(v any) string { s, _ := v.(string); return s }

var terminalTypes = map[string]bool{"response.completed": true, "response.incomplete": true, "response.failed": true}

// outputTexts reports whether a response's output holds answer text
// (output text, a refusal, a call the application acts on) and reasoning
// text.
func outputTexts(r map[string]any) (answer, reasoning bool) {
	output, _ := r["output"].([]any)
	for _, x := range output {
		it, _ := x.(map[string]any)
		parts := func(key string) []map[string]any {
			var out []map[string]any
			ps, _ := it[key].([]any)
			for _, p := range ps {
				if m, ok := p.(map[string]any); ok {
					out = append(out, m)
				}
			}
			return out
		}
		switch str(it["type"]) {
		case "message":
			for _, p := range parts("content") {
				if str(p["text"]) != "" || str(p["refusal"]) != "" {
					answer = true
				}
			}
		case "reasoning":
			for _, p := range append(parts("summary"), parts("content")...) {
				if str(p["text"]) != "" {
					reasoning = true
				}
			}
		case "function_call", "custom_tool_call", "mcp_approval_request":
			answer = true
		}
	}
	return answer, reasoning
}

// fail notes a server error, keeping the first one's code.
func (o *respOracle) fail(code, typ string) {
	if o.streamErr {
		return
	}
	o.streamErr = true
	o.errCode = code
	if o.errCode == "" {
		o.errCode = typ
	}
}

// item notes what an output item shows: a tool call, a generated image,
// answer text in a message, encrypted reasoning.
func (o *respOracle) item(it map[string]any) {
	switch str(it["type"]) {
	case "function_call", "custom_tool_call", "mcp_approval_request":
		o.answered = true
	case "image_generation_call":
		if str(it["result"]) != "" {
			o.answered = true
		}
	case "message":
		content, _ := it["content"].([]any)
		for _, p := range content {
			pm, _ := p.(map[string]any)
			if str(pm["type"]) == "output_text" && strings.TrimSpace(str(pm["text"])) != "" {
				o.answered = true
			}
		}
	case "reasoning":
		if str(it["encrypted_content"]) != "" {
			o.reasoned = true
		}
		for _, k := range []string{"content", "summary"} {
			parts, _ := it[k].([]any)
			for _, p := range parts {
				if pm, _ := p.(map[string]any); str(pm["text"]) != "" {
					o.reasoned = true
				}
			}
		}
	}
}

// body takes a response object: the terminal event's, or a whole body.
// typ is the terminal event's type, or "" for a body.
func (o *respOracle) body(r map[string]any, typ string) {
	o.ended = true
	if r == nil {
		return
	}
	if id := str(r["id"]); id != "" && o.id == "" {
		o.id = id
	}
	if m := str(r["model"]); m != "" && o.model == "" {
		o.model = m
	}
	o.tier = str(r["service_tier"])
	tool := false
	output, _ := r["output"].([]any)
	for _, it := range output {
		im, _ := it.(map[string]any)
		if toolItems[str(im["type"])] {
			tool = true
		}
		o.item(im)
	}
	status := str(r["status"])
	switch typ {
	case "response.completed":
		status = "completed"
	case "response.incomplete":
		status = "incomplete"
	case "response.failed":
		status = "failed"
	}
	switch status {
	case "completed":
		o.finish = "stop"
		if tool {
			o.finish = "tool_calls"
		}
	case "incomplete":
		d, _ := r["incomplete_details"].(map[string]any)
		switch reason := str(d["reason"]); reason {
		case "max_output_tokens":
			o.finish = "length"
		default:
			o.finish = reason // content_filter and any other as given
		}
	case "failed":
		o.finish = "error"
		e, _ := r["error"].(map[string]any)
		o.fail(str(e["code"]), str(e["type"]))
	}
	if u, ok := r["usage"].(map[string]any); ok {
		if _, in := u["input_tokens"].(float64); in {
			if _, out := u["output_tokens"].(float64); out {
				o.usage = true
			}
		}
		o.in, o.out = num(u["input_tokens"]), num(u["output_tokens"])
		od, _ := u["output_tokens_details"].(map[string]any)
		id, _ := u["input_tokens_details"].(map[string]any)
		o.reasoning = num(od["reasoning_tokens"])
		o.cached = num(id["cached_tokens"])
		o.cacheWrite = num(id["cache_write_tokens"])
	}
	if o.reasoning > 0 {
		o.reasoned = true
	}
}

// flags returns the flags the oracle can judge (see oracleFlags).
func (o *respOracle) flags(status int) infermetrics.Flags {
	var f infermetrics.Flags
	if status < 200 || status >= 300 {
		return 0
	}
	switch o.finish {
	case "length":
		f = f.Set(infermetrics.FlagTruncated)
	case "content_filter":
		f = f.Set(infermetrics.FlagContentFiltered)
	}
	if !o.ended {
		f = f.Set(infermetrics.FlagIncomplete)
	}
	if !o.usage {
		f = f.Set(infermetrics.FlagUsageMissing)
	}
	if o.ended && !o.streamErr && !o.answered {
		f = f.Set(infermetrics.FlagEmptyAnswer)
		if f.Has(infermetrics.FlagTruncated) && o.reasoned {
			f = f.Set(infermetrics.FlagReasoningExhausted)
		}
	}
	return f
}

// oracleFlags are the flags the oracle judges; the hand-written table
// judges all but cost_mismatch (which depends on the price book).
var oracleFlags = flagSet(infermetrics.FlagTruncated, infermetrics.FlagContentFiltered, infermetrics.FlagIncomplete,
	infermetrics.FlagUsageMissing, infermetrics.FlagEmptyAnswer, infermetrics.FlagReasoningExhausted)

func flagSet(fs ...infermetrics.Flag) infermetrics.Flags {
	var f infermetrics.Flags
	for _, fl := range fs {
		f = f.Set(fl)
	}
	return f
}

// respWant is what a capture shows, written by hand from reading it.
// Indexes count data events from 0; -1 means none. For streams they
// describe each event arriving on its own (paced reads).
type respWant struct {
	status                  int // HTTP status (0 means 200)
	chunks                  int
	usage                   bool
	in, out, reason, cached int64
	cacheWrite              int64
	firstToken, firstAnswer int
	tokens, answers         int
	finish                  string
	flags                   infermetrics.Flags
	errType                 string // ErrorType, "" for none
	tier                    string
}

var (
	fTrunc     = flagSet(infermetrics.FlagTruncated)
	fIncNoUse  = flagSet(infermetrics.FlagIncomplete, infermetrics.FlagUsageMissing)
	fNoUse     = flagSet(infermetrics.FlagUsageMissing)
	fEmpty     = flagSet(infermetrics.FlagEmptyAnswer)
	fExhausted = flagSet(infermetrics.FlagTruncated, infermetrics.FlagEmptyAnswer, infermetrics.FlagReasoningExhausted)
	fFiltered  = flagSet(infermetrics.FlagContentFiltered)
)

// respStreamTable: the streamed captures, by file name. Derived with jq
// from the data events (type sequence, deltas, the terminal event's
// response.usage, status, output and service_tier) and cross-checked
// against each README line.
var respStreamTable = map[string]respWant{
	// 87 summary deltas (4..90), function_call added at 94, 8 argument deltas.
	"azure_gpt-5-mini_reasoning_summary_function_call.sse": {chunks: 106, usage: true, in: 63, out: 139, reason: 64,
		firstToken: 4, firstAnswer: 94, tokens: 96, answers: 9, finish: "tool_calls", tier: "default"},
	// 290 summary deltas over 3 parts, first output_text.delta at 305, 79 of them.
	"azure_gpt-5-mini_reasoning_summary_multipart_text.sse": {chunks: 388, usage: true, in: 92, out: 576, reason: 448,
		firstToken: 4, firstAnswer: 305, tokens: 369, answers: 79, finish: "stop", tier: "default"},
	// reasoning item without summary events; two text deltas "Olá", "!" at 6, 7.
	"azure_o4-mini_simple_text.sse": {chunks: 12, usage: true, in: 19, out: 102, reason: 64,
		firstToken: 6, firstAnswer: 6, tokens: 2, answers: 2, finish: "stop", tier: "default"},
	// 14 reasoning_text deltas from 4, function_call added at 21, 9 argument deltas.
	"deepseek_deepseek-v4-flash_reasoning_function_call_cached.sse": {chunks: 34, usage: true, in: 366, out: 59, reason: 14, cached: 256,
		firstToken: 4, firstAnswer: 21, tokens: 24, answers: 10, finish: "tool_calls", tier: "default"},
	// 7 reasoning_text deltas from 4, 7 output_text deltas from 16.
	"deepseek_deepseek-v4-flash_reasoning_text.sse": {chunks: 27, usage: true, in: 90, out: 15, reason: 7,
		firstToken: 4, firstAnswer: 16, tokens: 14, answers: 7, finish: "stop", tier: "default"},
	// web_search_call events 3..5, 13 text deltas from 9 (an annotation event between).
	"openai_gpt-4.1_web_search.sse": {chunks: 27, usage: true, in: 17407, out: 164,
		firstToken: 9, firstAnswer: 9, tokens: 13, answers: 13, finish: "stop", tier: "default"},
	// two function_call items (added at 2 and 6), one argument delta each.
	"openai_gpt-4o_parallel_function_calls.sse": {chunks: 11, usage: true, in: 104, out: 51,
		firstToken: 2, firstAnswer: 2, tokens: 4, answers: 4, finish: "tool_calls", tier: "default"},
	// no deltas: the mcp_approval_request item added at 8 is the only token.
	"openai_gpt-5-mini_mcp_list_tools_approval_request.sse": {chunks: 11, usage: true, in: 422, out: 48,
		firstToken: 8, firstAnswer: 8, tokens: 1, answers: 1, finish: "tool_calls", tier: "default"},
	// created, in_progress, then the error event (nested "error" object):
	// openai-go stops there, so response.failed (3) is never read.
	"openai_gpt-5-nano_error_event_response_failed.sse": {chunks: 3, firstToken: -1, firstAnswer: -1,
		flags: fIncNoUse, errType: "insufficient_quota"},
	// no text at all (output_text.done with ""), an image_generation_call with a result.
	"openai_gpt-5_image_generation_partial_image.sse": {chunks: 16, usage: true, in: 2941, out: 1249, reason: 1024, cached: 1920,
		firstToken: -1, firstAnswer: -1, finish: "stop", tier: "default"},
	// 75 summary deltas from 4, function_call added at 82, 8 argument deltas.
	"openai_gpt-5_reasoning_summary_function_call.sse": {chunks: 94, usage: true, in: 63, out: 121, reason: 64,
		firstToken: 4, firstAnswer: 82, tokens: 84, answers: 9, finish: "tool_calls", tier: "default"},
	// 66 summary deltas from 4, 600 text deltas from 75; service_tier null.
	"xai_grok-code-fast-1_reasoning_summary_text.sse": {chunks: 679, usage: true, in: 216, out: 923, reason: 323, cached: 192,
		firstToken: 4, firstAnswer: 75, tokens: 666, answers: 600, finish: "stop"},
}

// respJSONTable: the non-streamed bodies, by file name.
var respJSONTable = map[string]respWant{
	"azure_gpt-4.1-mini_web_search_preview.json":            {usage: true, in: 10188, out: 405, finish: "stop", tier: "default"},
	"azure_gpt-5-mini_reasoning_summary_function_call.json": {usage: true, in: 63, out: 113, reason: 64, finish: "tool_calls", tier: "default"},
	"bedrock-mantle_gpt-oss-120b_simple_text.json":          {usage: true, in: 72, out: 45, finish: "stop", tier: "default"},
	"deepseek_deepseek-v4-flash_reasoning_text.json":        {usage: true, in: 90, out: 15, reason: 7, finish: "stop", tier: "default"},
	"openai_error_400_invalid_temperature.json":             {status: 400, errType: "decimal_below_min_value"},
	"openai_error_400_model_not_found.json":                 {status: 400, errType: "model_not_found"},
	"openai_error_400_reasoning_item_code_null.json":        {status: 400, errType: "invalid_request_error"}, // code null: the type
	"openai_error_429_insufficient_quota.json":              {status: 429, errType: "insufficient_quota"},
	"openai_gpt-4.1_web_search.json":                        {usage: true, in: 17432, out: 438, finish: "stop", tier: "default"},
	"openai_gpt-4o-mini_simple_text.json":                   {usage: true, in: 20, out: 3, finish: "stop", tier: "default"},
	"openai_gpt-5-nano_code_interpreter.json":               {usage: true, in: 2283, out: 1928, reason: 1792, finish: "stop", tier: "default"},
	"openai_gpt-5.1_incomplete_max_output_tokens.json":      {usage: true, in: 7, out: 16, finish: "length", flags: fTrunc, tier: "default"},
	"openai_gpt-5.4_reasoning_tokens.json":                  {usage: true, in: 44, out: 288, reason: 9, finish: "stop", tier: "default"},
	"openrouter_gpt-5.6-sol_cached_tokens_cost.json":        {usage: true, in: 4020, out: 5, cached: 4012, finish: "stop", tier: "default"},
	"pydantic-ai-gateway_gpt-5_simple_text.json":            {usage: true, in: 13, out: 8, finish: "stop", tier: "default"},
}

// agree fails the test where the hand-written table and the oracle
// disagree: one of the two was derived wrongly.
func agree(t *testing.T, w respWant, o *respOracle, status int, stream bool) {
	t.Helper()
	var diffs []string
	cmp := func(what string, table, oracle any) {
		if table != oracle {
			diffs = append(diffs, fmt.Sprintf("%s: table %v, oracle %v", what, table, oracle))
		}
	}
	cmp("usage", w.usage, o.usage)
	cmp("input", w.in, o.in)
	cmp("output", w.out, o.out)
	cmp("reasoning", w.reason, o.reasoning)
	cmp("cached", w.cached, o.cached)
	cmp("cache write", w.cacheWrite, o.cacheWrite)
	cmp("finish", w.finish, o.finish)
	cmp("flags", (w.flags & oracleFlags).String(), (o.flags(status) & oracleFlags).String())
	if stream {
		cmp("chunks", w.chunks, o.chunks)
		cmp("first token", w.firstToken, o.firstToken)
		cmp("first answer", w.firstAnswer, o.firstAnswer)
		cmp("token chunks", w.tokens, o.tokens)
		cmp("answer chunks", w.answers, o.answers)
	}
	if o.terminal >= 0 || !stream {
		cmp("service tier", w.tier, o.tier)
	}
	if w.errType != "" || o.streamErr {
		cmp("error type", w.errType, o.errCode)
	}
	for _, d := range diffs {
		t.Errorf("expectations disagree: %s", d)
	}
}

// checkCall asserts the Call of one attempt against the oracle and the
// table. paced says each event arrived at its own time, so that moments
// map to event indexes.
func checkCall(t *testing.T, c *infermetrics.Call, o *respOracle, w respWant, status int, stream, paced bool) {
	t.Helper()
	if c.API != infermetrics.APIResponses {
		t.Errorf("API: got %q, want %q", c.API, "responses")
	}
	if c.Stream != stream {
		t.Errorf("Stream: got %v, want %v", c.Stream, stream)
	}
	if c.StatusCode != status {
		t.Errorf("StatusCode: got %d, want %d", c.StatusCode, status)
	}
	if status >= 400 {
		var ae *infermetrics.APIError
		if !asAPIError(c.Err, &ae) {
			t.Fatalf("Err: got %v (%T), want *APIError", c.Err, c.Err)
		}
		if ae.StatusCode != status || ae.InStream {
			t.Errorf("APIError: got status %d in stream %v, want %d, false", ae.StatusCode, ae.InStream, status)
		}
		if c.ErrorType != w.errType {
			t.Errorf("ErrorType: got %q, want %q", c.ErrorType, w.errType)
		}
		return
	}
	if o.streamErr {
		var ae *infermetrics.APIError
		if !asAPIError(c.Err, &ae) {
			t.Errorf("Err: got %v (%T), want *APIError %s", c.Err, c.Err, o.errCode)
		} else {
			if ae.Code != o.errCode && ae.Type != o.errCode {
				t.Errorf("APIError: got code %q type %q, want %q", ae.Code, ae.Type, o.errCode)
			}
			// InStream: "sent as an event inside a streamed response";
			// a whole body's failed status is not.
			if ae.StatusCode != status || ae.InStream != stream {
				t.Errorf("APIError: got status %d InStream %v, want %d, %v", ae.StatusCode, ae.InStream, status, stream)
			}
		}
		if c.ErrorType != w.errType || c.ErrorType != o.errCode {
			t.Errorf("ErrorType: got %q, want %q (table) / %q (oracle)", c.ErrorType, w.errType, o.errCode)
		}
	} else if c.Err != nil {
		t.Errorf("Err: got %v, want nil", c.Err)
	}

	wantChunks := 0
	if stream {
		wantChunks = o.chunks
	}
	if c.Chunks != wantChunks || len(c.ChunkTimes) != c.Chunks {
		t.Errorf("Chunks: got %d (%d times), want %d", c.Chunks, len(c.ChunkTimes), wantChunks)
	}
	if stream && (c.TokenChunks != o.tokens || c.AnswerChunks != o.answers) {
		t.Errorf("TokenChunks, AnswerChunks: got %d, %d, want %d, %d", c.TokenChunks, c.AnswerChunks, o.tokens, o.answers)
	}
	if !stream && (c.TokenChunks != 0 || c.AnswerChunks != 0 || c.TimeToFirstToken != 0) {
		t.Errorf("non-streamed: got TokenChunks=%d AnswerChunks=%d TTFT=%v, want zero", c.TokenChunks, c.AnswerChunks, c.TimeToFirstToken)
	}
	if c.UsageReported != o.usage {
		t.Errorf("UsageReported: got %v, want %v", c.UsageReported, o.usage)
	}
	if o.usage {
		got := [5]int64{c.InputTokens, c.OutputTokens, c.ReasoningTokens, c.CachedInputTokens, c.CacheWriteInputTokens}
		want := [5]int64{o.in, o.out, o.reasoning, o.cached, o.cacheWrite}
		if got != want {
			t.Errorf("usage (in, out, reasoning, cached, cache write): got %v, want %v", got, want)
		}
	}
	if c.FinishReason != o.finish {
		t.Errorf("FinishReason: got %q, want %q", c.FinishReason, o.finish)
	}
	var wantReasons []string
	if o.finish != "" {
		wantReasons = []string{o.finish}
	}
	if !slices.Equal(c.FinishReasons, wantReasons) {
		t.Errorf("FinishReasons: got %q, want %q", c.FinishReasons, wantReasons)
	}
	if c.ResponseID != o.id || c.ResponseModel != o.model {
		t.Errorf("ResponseID, ResponseModel: got %q, %q, want %q, %q", c.ResponseID, c.ResponseModel, o.id, o.model)
	}
	if o.terminal >= 0 || !stream {
		if c.ServiceTier != o.tier {
			t.Errorf("ServiceTier: got %q, want %q", c.ServiceTier, o.tier)
		}
	}
	if got, want := c.Flags&oracleFlags, o.flags(status)&oracleFlags; got != want {
		t.Errorf("flags (oracle's): got %q, want %q", got, want)
	}
	if got := c.Flags &^ flagSet(infermetrics.FlagCostMismatch); got != w.flags {
		t.Errorf("flags: got %q, want %q (table)", got, w.flags)
	}
	if !stream {
		return
	}

	at := func(i int) time.Duration {
		if i < 0 || i >= len(c.ChunkTimes) {
			return 0
		}
		return c.ChunkTimes[i]
	}
	if o.terminal >= 0 && c.Duration != at(o.terminal) {
		t.Errorf("Duration: got %v, want the terminal event's arrival %v (event %d)", c.Duration, at(o.terminal), o.terminal)
	}
	if c.Chunks > 0 && c.TimeToFirstChunk != at(0) {
		t.Errorf("TimeToFirstChunk: got %v, want %v", c.TimeToFirstChunk, at(0))
	}
	if !paced {
		if (c.TimeToFirstToken > 0) != (o.firstToken >= 0) || (c.TimeToFirstAnswer > 0) != (o.firstAnswer >= 0) {
			t.Errorf("TTFT, TTFA: got %v, %v, want first token at %d, answer at %d", c.TimeToFirstToken, c.TimeToFirstAnswer, o.firstToken, o.firstAnswer)
		}
		return
	}
	for i := 1; i < len(c.ChunkTimes); i++ {
		if c.ChunkTimes[i] <= c.ChunkTimes[i-1] {
			t.Fatalf("paced events %d and %d arrived at %v and %v: the test cannot map times to events", i-1, i, c.ChunkTimes[i-1], c.ChunkTimes[i])
		}
	}
	index := func(d time.Duration) int {
		if d == 0 {
			return -1
		}
		if i := slices.Index(c.ChunkTimes, d); i >= 0 {
			return i
		}
		return -2 // not an event's arrival
	}
	if got := index(c.TimeToFirstToken); got != o.firstToken || got != w.firstToken {
		t.Errorf("TimeToFirstToken %v is at event %d, want %d (oracle) / %d (table)", c.TimeToFirstToken, got, o.firstToken, w.firstToken)
	}
	if got := index(c.TimeToFirstAnswer); got != o.firstAnswer || got != w.firstAnswer {
		t.Errorf("TimeToFirstAnswer %v is at event %d, want %d (oracle) / %d (table)", c.TimeToFirstAnswer, got, o.firstAnswer, w.firstAnswer)
	}
	if got := index(c.TimeToLastToken); got != o.lastToken {
		t.Errorf("TimeToLastToken %v is at event %d, want %d", c.TimeToLastToken, got, o.lastToken)
	}
	if c.Chunks != w.chunks || c.TokenChunks != w.tokens || c.AnswerChunks != w.answers {
		t.Errorf("Chunks, TokenChunks, AnswerChunks: got %d, %d, %d, want %d, %d, %d (table)", c.Chunks, c.TokenChunks, c.AnswerChunks, w.chunks, w.tokens, w.answers)
	}
}

// replayStream serves raw to a plain client, and to an instrumented one
// twice: in large reads (as a network would) and paced, each event in reads
// of its own. It asserts the three application views are the same and
// returns the two Calls.
func replayStream(t *testing.T, raw []byte, model string) (whole, paced *infermetrics.Call, plain respStreamResult) {
	t.Helper()
	params := respParams(model)
	plain = readRespEvents(newClient(&cannedTransport{status: 200, ctype: "text/event-stream", body: raw, split: wholeReads}), params)

	run := func(rt http.RoundTripper) (*infermetrics.Call, respStreamResult) {
		var got collect
		view := readRespEvents(newClient(rt, infermetrics.Instrument(infermetrics.WithOnCall(got.hook))), params)
		calls := got.all()
		if len(calls) != 1 {
			t.Fatalf("got %d calls, want 1", len(calls))
		}
		return calls[0], view
	}
	var view respStreamResult
	whole, view = run(&cannedTransport{status: 200, ctype: "text/event-stream", body: raw, split: wholeReads})
	sameView(t, "large reads", view, plain)
	paced, view = run(&pacedTransport{status: 200, ctype: "text/event-stream", pieces: framesOf(raw), gap: paceGap})
	sameView(t, "paced reads", view, plain)
	return whole, paced, plain
}

// modelOf is the request model for a body: the model the response names
// (so that model_mismatch does not fire), or a stand-in.
func modelOf(o *respOracle) string {
	if o.model != "" {
		return o.model
	}
	return "gpt-4o"
}

func TestReplayResponses(t *testing.T) {
	for _, path := range captures(t, filepath.Join(responsesDir, "*.sse")) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := respStreamTable[name]
			if !ok {
				t.Fatalf("no hand-written expectation for %s: add one to respStreamTable", name)
			}
			pacedOracle := streamOracle(raw, true)
			wholeOracle := streamOracle(raw, false)
			agree(t, w, pacedOracle, 200, true)

			whole, paced, _ := replayStream(t, raw, modelOf(pacedOracle))
			t.Run("paced", func(t *testing.T) { checkCall(t, paced, pacedOracle, w, 200, true, true) })
			t.Run("whole", func(t *testing.T) {
				ww := w
				if wholeOracle.chunks != pacedOracle.chunks {
					// Read whole, the events after the one openai-go
					// stopped at were read too: response.failed ends it.
					ww.chunks, ww.finish, ww.flags = wholeOracle.chunks, wholeOracle.finish, wholeOracle.flags(200)
				}
				checkCall(t, whole, wholeOracle, ww, 200, true, false)
			})
		})
	}
}

func TestReplayResponsesJSON(t *testing.T) {
	for _, path := range captures(t, filepath.Join(responsesDir, "*.json")) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := respJSONTable[name]
			if !ok {
				t.Fatalf("no hand-written expectation for %s: add one to respJSONTable", name)
			}
			status := 200
			if m := statusInName.FindStringSubmatch(name); m != nil {
				status, _ = strconv.Atoi(m[1])
			}
			if w.status != 0 && w.status != status {
				t.Fatalf("status: table %d, file name %d", w.status, status)
			}
			o := jsonOracle(t, raw, status)
			agree(t, w, o, status, false)
			checkJSON(t, raw, status, o, w)
			if status >= 400 {
				// The same error answering a streamed request.
				t.Run("streamed request", func(t *testing.T) {
					params := respParams(modelOf(o))
					plain := readRespEvents(newClient(&cannedTransport{status: status, ctype: "application/json", body: raw, split: wholeReads}), params)
					var got collect
					view := readRespEvents(newClient(&cannedTransport{status: status, ctype: "application/json", body: raw, split: wholeReads},
						infermetrics.Instrument(infermetrics.WithOnCall(got.hook))), params)
					sameView(t, "HTTP error", view, plain)
					if plain.err == "" {
						t.Fatalf("status %d: the SDK returned no error", status)
					}
					calls := got.all()
					if len(calls) != 1 {
						t.Fatalf("got %d calls, want 1", len(calls))
					}
					checkCall(t, calls[0], o, w, status, true, false)
				})
			}
		})
	}
}

// jsonOracle runs the oracle over a whole body.
func jsonOracle(t *testing.T, raw []byte, status int) *respOracle {
	t.Helper()
	o := newRespOracle()
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("body does not decode: %v", err)
	}
	if status >= 400 {
		e, _ := v["error"].(map[string]any)
		o.streamErr = false
		o.errCode = str(e["code"])
		if o.errCode == "" {
			o.errCode = str(e["type"])
		}
		return o
	}
	o.body(v, "")
	return o
}

// checkJSON serves a body to a plain and an instrumented client.New and
// asserts the application view and the Call.
func checkJSON(t *testing.T, raw []byte, status int, o *respOracle, w respWant) {
	t.Helper()
	params := respParams(modelOf(o))
	call := func(opts ...option.RequestOption) (string, string) {
		rt := &cannedTransport{status: status, ctype: "application/json", body: raw, split: wholeReads}
		client := newClient(rt, opts...)
		resp, err := client.Responses.New(context.Background(), params)
		if err != nil {
			return "", err.Error()
		}
		return resp.RawJSON(), ""
	}
	plainJSON, plainErr := call()
	var got collect
	gotJSON, gotErr := call(infermetrics.Instrument(infermetrics.WithOnCall(got.hook)))
	if gotErr != plainErr {
		t.Fatalf("error: got %q, want %q (plain)", gotErr, plainErr)
	}
	if gotJSON != plainJSON {
		t.Fatalf("response differs from plain")
	}
	if status >= 400 && plainErr == "" {
		t.Fatalf("status %d: the SDK returned no error", status)
	}
	calls := got.all()
	if len(calls) != 1 {
		t.Fatalf("got %d calls, want 1", len(calls))
	}
	if status >= 400 && o.errCode != w.errType {
		t.Errorf("expectations disagree: error type: table %q, oracle %q", w.errType, o.errCode)
	}
	checkCall(t, calls[0], o, w, status, false, false)
}

// sseFrame is one event of a body being transformed: its type (from the
// data's "type") and its bytes, framing included.
type sseFrame struct {
	typ  string
	data []byte // the data line's value (one line)
	raw  []byte
}

func parseFrames(raw []byte) []sseFrame {
	var out []sseFrame
	for _, fr := range framesOf(raw) {
		f := sseFrame{raw: fr}
		for _, line := range strings.Split(string(fr), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), "data: "); ok {
				f.data = []byte(v)
				f.typ = gjson.GetBytes(f.data, "type").String()
			}
		}
		out = append(out, f)
	}
	return out
}

// frame builds an event in OpenAI's framing.
func frame(data []byte) sseFrame {
	typ := gjson.GetBytes(data, "type").String()
	return sseFrame{typ: typ, data: data, raw: fmt.Appendf(nil, "event: %s\ndata: %s\n\n", typ, data)}
}

func joinFrames(fs []sseFrame) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.raw...)
	}
	return b
}

// mapData rewrites every event's data with fn, keeping OpenAI's framing.
func mapData(raw []byte, fn func(i int, f sseFrame) []sseFrame) []byte {
	var out []sseFrame
	for i, f := range parseFrames(raw) {
		out = append(out, fn(i, f)...)
	}
	return joinFrames(out)
}

func set(t *testing.T, data []byte, path string, v any) []byte {
	t.Helper()
	b, err := sjson.SetBytes(data, path, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func setRaw(t *testing.T, data []byte, path, raw string) []byte {
	t.Helper()
	b, err := sjson.SetRawBytes(data, path, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var deltaTypes = map[string]bool{}

func init() {
	for typ, k := range textKinds {
		if k.delta {
			deltaTypes[typ] = true
		}
	}
}

// terminalAs turns the terminal event into another one: typ, with status,
// and the given fields of the response set (raw JSON).
func terminalAs(t *testing.T, typ, status string, fields map[string]string) func(int, sseFrame) []sseFrame {
	return func(_ int, f sseFrame) []sseFrame {
		if f.typ != "response.completed" {
			return []sseFrame{f}
		}
		d := set(t, f.data, "type", typ)
		d = set(t, d, "response.status", status)
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			d = setRaw(t, d, "response."+k, fields[k])
		}
		return []sseFrame{frame(d)}
	}
}

// TestReplayResponsesVariants replays synthetic provider variants of real
// captures: the same events framed, spaced or ended differently, and ends
// that the recordings lack (incomplete, failed, filtered, exhausted).
func TestReplayResponsesVariants(t *testing.T) {
	load := func(t *testing.T, name string) []byte {
		paths := captures(t, filepath.Join(responsesDir, name))
		raw, err := os.ReadFile(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	const text = "deepseek_deepseek-v4-flash_reasoning_text.sse"
	const tool = "azure_gpt-5-mini_reasoning_summary_function_call.sse"
	const multi = "azure_gpt-5-mini_reasoning_summary_multipart_text.sse"
	base := respStreamTable[text]
	toolBase := respStreamTable[tool]
	with := func(w respWant, edit func(*respWant)) respWant { edit(&w); return w }

	// The deepseek text capture: 0 created, 1 in_progress, 2 reasoning
	// item added, 3 part added, 4..10 reasoning_text deltas, 11 its .done,
	// 12 part done, 13 item done, 14 message added, 15 part added, 16..22
	// output_text deltas, 23 its .done, 24 part done, 25 item done,
	// 26 response.completed.
	dropMessage := func(_ int, f sseFrame) []sseFrame {
		if f.typ == "response.completed" || f.typ == "response.incomplete" {
			d, err := sjson.DeleteBytes(f.data, "response.output.1")
			if err != nil {
				t.Fatal(err)
			}
			return []sseFrame{frame(d)}
		}
		if gjson.GetBytes(f.data, "output_index").Int() == 1 {
			return nil
		}
		return []sseFrame{f}
	}
	variants := []struct {
		name  string
		base  string
		build func(t *testing.T, raw []byte) []byte
		want  respWant
	}{
		{"data-only frames", text, func(t *testing.T, raw []byte) []byte {
			var b []byte
			for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
				if !bytes.HasPrefix(line, []byte("event:")) {
					b = append(b, line...)
				}
			}
			return b
		}, base},
		{"comments interleaved", text, func(t *testing.T, raw []byte) []byte {
			var b []byte
			for i, fr := range framesOf(raw) {
				b = append(b, ": keep-alive\n\n"...)
				b = fmt.Appendf(b, ":ping %d\n", i)
				b = append(b, fr...)
			}
			return append(b, ": bye\n\n"...)
		}, base},
		{"trailing [DONE]", text, func(t *testing.T, raw []byte) []byte {
			return append(bytes.Clone(raw), "data: [DONE]\n\n"...)
		}, base},
		{"item ids change on every event", text, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, func(i int, f sseFrame) []sseFrame {
				d := f.data
				if gjson.GetBytes(d, "item_id").Exists() {
					d = set(t, d, "item_id", fmt.Sprintf("capture-id-%d", i))
				}
				if gjson.GetBytes(d, "item.id").Exists() {
					d = set(t, d, "item.id", fmt.Sprintf("capture-id-%d", i))
				}
				return []sseFrame{frame(d)}
			})
		}, base},
		{"CRLF line endings", text, func(t *testing.T, raw []byte) []byte {
			return bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
		}, base},
		{"only .done events", text, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, func(_ int, f sseFrame) []sseFrame {
				if deltaTypes[f.typ] {
					return nil
				}
				return []sseFrame{f}
			})
		}, with(base, func(w *respWant) {
			// 4 reasoning_text.done, 9 output_text.done, 12 completed.
			w.chunks, w.firstToken, w.firstAnswer, w.tokens, w.answers = 13, 4, 9, 2, 1
		})},
		{"only .done events, tool call", tool, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, func(_ int, f sseFrame) []sseFrame {
				if deltaTypes[f.typ] {
					return nil
				}
				return []sseFrame{f}
			})
		}, with(toolBase, func(w *respWant) {
			// 4 summary .done, 7 function_call added, 8 arguments .done, 10 completed.
			w.chunks, w.firstToken, w.firstAnswer, w.tokens, w.answers = 11, 4, 7, 3, 2
		})},
		{"custom tool call", tool, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, func(_ int, f sseFrame) []sseFrame {
				d := f.data
				switch f.typ {
				case "response.function_call_arguments.delta":
					d = set(t, d, "type", "response.custom_tool_call_input.delta")
				case "response.function_call_arguments.done":
					d = set(t, d, "type", "response.custom_tool_call_input.done")
					d = set(t, d, "input", gjson.GetBytes(d, "arguments").String())
					d, _ = sjson.DeleteBytes(d, "arguments")
				case "response.output_item.added", "response.output_item.done":
					if gjson.GetBytes(d, "item.type").String() == "function_call" {
						d = set(t, d, "item.type", "custom_tool_call")
					}
				case "response.completed":
					d = set(t, d, "response.output.1.type", "custom_tool_call")
				}
				return []sseFrame{frame(d)}
			})
		}, toolBase},
		{"only .done events for one summary part of three", multi, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, func(_ int, f sseFrame) []sseFrame {
				if f.typ == "response.reasoning_summary_text.delta" && gjson.GetBytes(f.data, "summary_index").Int() == 1 {
					return nil
				}
				return []sseFrame{f}
			})
		}, with(respStreamTable[multi], func(w *respWant) {
			// Part 1's 100 deltas (99..198) are gone: its .done (now 99)
			// is a token; the text deltas start at 205.
			w.chunks, w.firstAnswer, w.tokens = 288, 205, 270
		})},
		{"refusal instead of text", text, func(t *testing.T, raw []byte) []byte {
			toRefusal := func(d []byte, path string) []byte {
				if gjson.GetBytes(d, path+".type").String() != "output_text" {
					return d
				}
				d = set(t, d, path+".type", "refusal")
				d = set(t, d, path+".refusal", gjson.GetBytes(d, path+".text").String())
				d, _ = sjson.DeleteBytes(d, path+".text")
				return d
			}
			return mapData(raw, func(_ int, f sseFrame) []sseFrame {
				d := f.data
				switch f.typ {
				case "response.output_text.delta":
					d = set(t, d, "type", "response.refusal.delta")
				case "response.output_text.done":
					d = set(t, d, "type", "response.refusal.done")
					d = set(t, d, "refusal", gjson.GetBytes(d, "text").String())
					d, _ = sjson.DeleteBytes(d, "text")
				case "response.content_part.added", "response.content_part.done":
					d = toRefusal(d, "part")
				case "response.output_item.done":
					d = toRefusal(d, "item.content.0")
				case "response.completed":
					d = toRefusal(d, "response.output.1.content.0")
				}
				return []sseFrame{frame(d)}
			})
		}, with(base, func(w *respWant) {
			// A refusal is an answer for TTFA, but not answer text: the
			// call is empty_answer, as a chat refusal is.
			w.flags = fEmpty
		})},
		{"empty deltas, the text only in .done", text, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, func(_ int, f sseFrame) []sseFrame {
				if f.typ == "response.output_text.delta" {
					return []sseFrame{frame(set(t, f.data, "delta", ""))}
				}
				return []sseFrame{f}
			})
		}, with(base, func(w *respWant) {
			// The 7 reasoning deltas, then output_text.done at 23.
			w.firstAnswer, w.tokens, w.answers = 23, 8, 1
		})},
		{"terminal event only", text, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, func(_ int, f sseFrame) []sseFrame {
				switch f.typ {
				case "response.created", "response.in_progress", "response.completed":
					return []sseFrame{f}
				}
				return nil
			})
		}, with(base, func(w *respWant) {
			// No event carries text before response.completed, whose
			// output brings it all: the first token and answer are there.
			w.chunks, w.firstToken, w.firstAnswer, w.tokens, w.answers = 3, 2, 2, 1, 1
		})},
		{"terminal event only, tool call", tool, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, func(_ int, f sseFrame) []sseFrame {
				switch f.typ {
				case "response.created", "response.in_progress", "response.completed":
					return []sseFrame{f}
				}
				return nil
			})
		}, with(toolBase, func(w *respWant) {
			w.chunks, w.firstToken, w.firstAnswer, w.tokens, w.answers = 3, 2, 2, 1, 1
		})},
		{"function call announced only by output_item.done", tool, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, func(_ int, f sseFrame) []sseFrame {
				if f.typ == "response.output_item.added" && gjson.GetBytes(f.data, "item.type").String() == "function_call" {
					return nil
				}
				return []sseFrame{f}
			})
		}, with(toolBase, func(w *respWant) {
			// The argument deltas (now from 94) are the answer.
			w.chunks, w.firstAnswer, w.tokens, w.answers = 105, 94, 95, 8
		})},
		{"cut off before the terminal event", text, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, func(_ int, f sseFrame) []sseFrame {
				if f.typ == "response.completed" {
					return nil
				}
				return []sseFrame{f}
			})
		}, with(base, func(w *respWant) {
			w.chunks, w.usage, w.in, w.out, w.reason, w.finish, w.flags = 26, false, 0, 0, 0, "", fIncNoUse
		})},
		{"incomplete: max_output_tokens", text, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, terminalAs(t, "response.incomplete", "incomplete", map[string]string{
				"incomplete_details": `{"reason":"max_output_tokens"}`}))
		}, with(base, func(w *respWant) { w.finish, w.flags = "length", fTrunc })},
		{"incomplete: content_filter", text, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, terminalAs(t, "response.incomplete", "incomplete", map[string]string{
				"incomplete_details": `{"reason":"content_filter"}`}))
		}, with(base, func(w *respWant) { w.finish, w.flags = "content_filter", fFiltered })},
		{"incomplete: server_timeout", text, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, terminalAs(t, "response.incomplete", "incomplete", map[string]string{
				"incomplete_details": `{"reason":"server_timeout"}`}))
		}, with(base, func(w *respWant) { w.finish = "server_timeout" })},
		{"failed without an error event", text, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, terminalAs(t, "response.failed", "failed", map[string]string{
				"error": `{"code":"server_error","message":"The model failed."}`, "usage": "null"}))
		}, with(base, func(w *respWant) {
			w.usage, w.in, w.out, w.reason, w.finish, w.flags, w.errType = false, 0, 0, 0, "error", fNoUse, "server_error"
		})},
		{"error event, documented flat shape, then failed", text, func(t *testing.T, raw []byte) []byte {
			fail := terminalAs(t, "response.failed", "failed", map[string]string{
				"error": `{"code":"rate_limit_exceeded","message":"Slow down."}`, "usage": "null"})
			return mapData(raw, func(i int, f sseFrame) []sseFrame {
				if f.typ != "response.completed" {
					return []sseFrame{f}
				}
				e := frame([]byte(`{"type":"error","code":"rate_limit_exceeded","message":"Slow down.","param":null,"sequence_number":26}`))
				return append([]sseFrame{e}, fail(i, f)...)
			})
		}, with(base, func(w *respWant) {
			w.chunks, w.usage, w.in, w.out, w.reason, w.finish, w.flags, w.errType = 28, false, 0, 0, 0, "error", fNoUse, "rate_limit_exceeded"
		})},
		{"completed with no answer", text, func(t *testing.T, raw []byte) []byte {
			return mapData(raw, dropMessage)
		}, with(base, func(w *respWant) {
			w.chunks, w.firstAnswer, w.tokens, w.answers, w.flags = 15, -1, 7, 0, fEmpty
		})},
		{"reasoning exhausted the budget", text, func(t *testing.T, raw []byte) []byte {
			noMsg := mapData(raw, dropMessage)
			return mapData(noMsg, terminalAs(t, "response.incomplete", "incomplete", map[string]string{
				"incomplete_details": `{"reason":"max_output_tokens"}`}))
		}, with(base, func(w *respWant) {
			w.chunks, w.firstAnswer, w.tokens, w.answers, w.finish, w.flags = 15, -1, 7, 0, "length", fExhausted
		})},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			raw := v.build(t, load(t, v.base))
			o := streamOracle(raw, true)
			agree(t, v.want, o, 200, true)
			if whole := streamOracle(raw, false); whole.chunks != o.chunks {
				t.Fatalf("variant stops the application early: whole-read expectations would differ")
			}
			whole, paced, plain := replayStream(t, raw, modelOf(o))
			if plain.err != "" {
				t.Errorf("plain client failed on the variant: %s", plain.err)
			}
			t.Run("paced", func(t *testing.T) { checkCall(t, paced, o, v.want, 200, true, true) })
			t.Run("whole", func(t *testing.T) { checkCall(t, whole, o, v.want, 200, true, false) })
		})
	}
}

// TestReplayResponsesOversizeImage replays the real image generation
// stream with its image made larger than the 4 MiB the library reads of an
// event (README, "The Responses API"), framed data-only: the image is still
// an answer, and a terminal event that repeats it still ends the response,
// with its usage lost.
func TestReplayResponsesOversizeImage(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-megabyte events")
	}
	const name = "openai_gpt-5_image_generation_partial_image.sse"
	orig, err := os.ReadFile(captures(t, filepath.Join(responsesDir, name))[0])
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("UklGRuIWGQBX", (5<<20)/12)
	for _, tc := range []struct {
		name     string
		terminal bool // the terminal event repeats the large image
	}{{"item done only", false}, {"item done and terminal", true}} {
		t.Run(tc.name, func(t *testing.T) {
			raw := mapData(orig, func(_ int, f sseFrame) []sseFrame {
				d := f.data
				switch {
				case f.typ == "response.output_item.done" && gjson.GetBytes(d, "item.type").String() == "image_generation_call":
					d = set(t, d, "item.result", big)
				case f.typ == "response.completed" && tc.terminal:
					d = set(t, d, "response.output.1.result", big)
				}
				return []sseFrame{frame(d)}
			})
			raw = bytes.ReplaceAll(raw, []byte("event: "), []byte(": event "))
			o := streamOracle(raw, true)
			w := respStreamTable[name]
			if tc.terminal {
				o.usage, o.tier, o.in, o.out, o.reasoning, o.cached = false, "", 0, 0, 0, 0
				w.usage, w.in, w.out, w.reason, w.cached, w.tier, w.flags = false, 0, 0, 0, 0, "", fNoUse
			}
			agree(t, w, o, 200, true)
			whole, paced, _ := replayStream(t, raw, modelOf(o))
			t.Run("paced", func(t *testing.T) { checkCall(t, paced, o, w, 200, true, true) })
			t.Run("whole", func(t *testing.T) { checkCall(t, whole, o, w, 200, true, false) })
		})
	}
}

// TestReplayResponsesJSONVariants replays whole bodies with ends the
// recordings lack: failed, and incomplete for a content filter.
func TestReplayResponsesJSONVariants(t *testing.T) {
	const name = "openai_gpt-4o-mini_simple_text.json"
	paths := captures(t, filepath.Join(responsesDir, name))
	orig, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	base := respJSONTable[name]
	for _, v := range []struct {
		name   string
		fields map[string]string
		want   respWant
	}{
		{"failed", map[string]string{"status": `"failed"`, "error": `{"code":"server_error","message":"The model failed."}`, "usage": "null", "output": "[]"},
			respWant{finish: "error", flags: fNoUse, errType: "server_error", tier: "default"}},
		{"incomplete: content_filter", map[string]string{"status": `"incomplete"`, "incomplete_details": `{"reason":"content_filter"}`},
			func() respWant { w := base; w.finish, w.flags = "content_filter", fFiltered; return w }()},
		{"completed with no output", map[string]string{"output": "[]"},
			func() respWant { w := base; w.flags = fEmpty; return w }()},
	} {
		t.Run(v.name, func(t *testing.T) {
			raw := orig
			keys := make([]string, 0, len(v.fields))
			for k := range v.fields {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				raw = setRaw(t, raw, k, v.fields[k])
			}
			o := jsonOracle(t, raw, 200)
			agree(t, v.want, o, 200, false)
			checkJSON(t, raw, 200, o, v.want)
		})
	}
}

// TestReplayResponsesJSONCacheWrite checks that a reported
// input_tokens_details.cache_write_tokens reaches CacheWriteInputTokens:
// the recorded body that has the field reports 0.
func TestReplayResponsesJSONCacheWrite(t *testing.T) {
	const name = "openai_gpt-5.1_incomplete_max_output_tokens.json"
	raw, err := os.ReadFile(captures(t, filepath.Join(responsesDir, name))[0])
	if err != nil {
		t.Fatal(err)
	}
	raw = set(t, raw, "usage.input_tokens_details.cache_write_tokens", 5)
	w := respJSONTable[name]
	w.cacheWrite = 5
	o := jsonOracle(t, raw, 200)
	agree(t, w, o, 200, false)
	checkJSON(t, raw, 200, o, w)
}

// TestResponsesScriptedTiming releases the events of a stream at scripted
// offsets and checks the moments the Call reports: the first token is the
// reasoning summary, the first answer the output text, and the attempt
// ends at response.completed, not at the end of the body.
func TestResponsesScriptedTiming(t *testing.T) {
	const (
		tol   = 25 * time.Millisecond // scheduling and -race slack
		model = "gpt-5-mini-2025-08-07"
	)
	resp := `{"id":"resp_1","object":"response","created_at":1,"status":"%s","model":"` + model + `","output":[%s],"service_tier":"%s","usage":%s}`
	msg := `{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":"Hi there"}]}`
	script := []struct {
		at   time.Duration
		data string
	}{
		{2 * time.Millisecond, `{"type":"response.created","sequence_number":0,"response":` + fmt.Sprintf(resp, "in_progress", "", "auto", "null") + `}`},
		{5 * time.Millisecond, `{"type":"response.in_progress","sequence_number":1,"response":` + fmt.Sprintf(resp, "in_progress", "", "auto", "null") + `}`},
		{10 * time.Millisecond, `{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[],"encrypted_content":"gAAAAB"}}`},
		{20 * time.Millisecond, `{"type":"response.reasoning_summary_part.added","sequence_number":3,"item_id":"rs_1","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}}`},
		{30 * time.Millisecond, `{"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Thinking"}`},
		{40 * time.Millisecond, `{"type":"response.reasoning_summary_text.done","sequence_number":5,"item_id":"rs_1","output_index":0,"summary_index":0,"text":"Thinking"}`},
		{60 * time.Millisecond, `{"type":"response.output_item.added","sequence_number":6,"output_index":1,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}}`},
		{70 * time.Millisecond, `{"type":"response.content_part.added","sequence_number":7,"item_id":"msg_1","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"text":""}}`},
		{80 * time.Millisecond, `{"type":"response.output_text.delta","sequence_number":8,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Hi"}`},
		{90 * time.Millisecond, `{"type":"response.output_text.delta","sequence_number":9,"item_id":"msg_1","output_index":1,"content_index":0,"delta":" there"}`},
		{100 * time.Millisecond, `{"type":"response.output_text.done","sequence_number":10,"item_id":"msg_1","output_index":1,"content_index":0,"text":"Hi there"}`},
		{120 * time.Millisecond, `{"type":"response.completed","sequence_number":11,"response":` + fmt.Sprintf(resp, "completed", msg, "default",
			`{"input_tokens":9,"input_tokens_details":{"cached_tokens":0},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":16},"total_tokens":29}`) + `}`},
	}
	rt := &pacedTransport{status: 200, ctype: "text/event-stream", eofAt: 250 * time.Millisecond}
	var body []byte
	for _, s := range script {
		if !json.Valid([]byte(s.data)) {
			t.Fatalf("script event is not JSON: %s", s.data)
		}
		f := frame([]byte(s.data))
		rt.pieces = append(rt.pieces, f.raw)
		rt.at = append(rt.at, s.at)
		body = append(body, f.raw...)
	}
	plain := readRespEvents(newClient(&cannedTransport{status: 200, ctype: "text/event-stream", body: body, split: wholeReads}), respParams(model))
	var got collect
	view := readRespEvents(newClient(rt, infermetrics.Instrument(infermetrics.WithOnCall(got.hook))), respParams(model))
	sameView(t, "scripted", view, plain)
	calls := got.all()
	if len(calls) != 1 {
		t.Fatalf("got %d calls, want 1", len(calls))
	}
	c := calls[0]
	within := func(what string, got, want time.Duration) {
		t.Helper()
		if got < want || got > want+tol {
			t.Errorf("%s: got %v, want %v (+%v)", what, got, want, tol)
		}
	}
	within("TimeToFirstChunk", c.TimeToFirstChunk, 2*time.Millisecond)
	within("TimeToFirstToken", c.TimeToFirstToken, 30*time.Millisecond)
	within("TimeToFirstAnswer", c.TimeToFirstAnswer, 80*time.Millisecond)
	within("TimeToLastToken", c.TimeToLastToken, 90*time.Millisecond)
	within("Duration", c.Duration, 120*time.Millisecond)
	if c.TokenChunks != 3 || c.AnswerChunks != 2 || c.Chunks != 12 {
		t.Errorf("Chunks, TokenChunks, AnswerChunks: got %d, %d, %d, want 12, 3, 2", c.Chunks, c.TokenChunks, c.AnswerChunks)
	}
	if c.InputTokens != 9 || c.OutputTokens != 20 || c.ReasoningTokens != 16 || !c.UsageReported {
		t.Errorf("usage: got in=%d out=%d reasoning=%d reported=%v, want 9 20 16 true", c.InputTokens, c.OutputTokens, c.ReasoningTokens, c.UsageReported)
	}
	if c.FinishReason != "stop" || c.ServiceTier != "default" || c.ResponseID != "resp_1" || c.ResponseModel != model {
		t.Errorf("got finish %q tier %q id %q model %q, want stop default resp_1 %s", c.FinishReason, c.ServiceTier, c.ResponseID, c.ResponseModel, model)
	}
	if c.Err != nil || c.Flags != 0 {
		t.Errorf("got Err %v flags %q, want none", c.Err, c.Flags)
	}
}
