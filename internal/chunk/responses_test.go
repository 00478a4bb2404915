package chunk

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// spanText returns the unescaped text of f's spans of kind k, joined.
func spanText(f *Facts, k TextKind) string {
	var b []byte
	for i := 0; i < f.NSpans; i++ {
		if f.Spans[i].Kind == k {
			b = AppendUnescaped(b, f.Spans[i].Raw)
		}
	}
	return string(b)
}

func TestParseResponseEvent(t *testing.T) {
	tests := []struct {
		name, event, data string
		kind              TextKind // the span kind wanted, 0 for none
		text              string
		delta, final      TextKind
		finish            string
		check             func(*Facts) string
	}{
		{name: "text delta", data: `{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hel\"lo","sequence_number":4}`,
			kind: Content, text: `Hel"lo`, delta: Content},
		{name: "xAI order", data: `{"sequence_number":75,"type":"response.output_text.delta","content_index":0,"delta":"###","item_id":"msg_x","output_index":1,"logprobs":[]}`,
			kind: Content, text: "###", delta: Content},
		{name: "empty delta is no text", data: `{"type":"response.output_text.delta","delta":""}`, delta: Content},
		{name: "summary delta", data: `{"type":"response.reasoning_summary_text.delta","delta":"First","obfuscation":"abc","summary_index":0}`,
			kind: Reasoning, text: "First", delta: Reasoning},
		{name: "reasoning text delta", data: `{"type":"response.reasoning_text.delta","delta":"We need"}`, kind: Reasoning, text: "We need", delta: Reasoning},
		{name: "refusal delta", data: `{"type":"response.refusal.delta","delta":"I can't"}`, kind: Refusal, text: "I can't", delta: Refusal},
		{name: "args delta", data: `{"type":"response.function_call_arguments.delta","delta":"{\"a\":2}"}`, kind: Tool, text: `{"a":2}`, delta: Tool},
		{name: "custom tool input delta", data: `{"type":"response.custom_tool_call_input.delta","delta":"ls"}`, kind: Tool, text: "ls", delta: Tool},
		{name: "text done", data: `{"type":"response.output_text.done","text":"Paris.","logprobs":[]}`, kind: Content, text: "Paris.", final: Content},
		{name: "args done", data: `{"type":"response.function_call_arguments.done","arguments":"{}","delta":"x"}`, kind: Tool, text: "{}", final: Tool},
		{name: "refusal done", data: `{"type":"response.refusal.done","refusal":"No."}`, kind: Refusal, text: "No.", final: Refusal},
		{name: "summary done", data: `{"type":"response.reasoning_summary_text.done","text":"Thought."}`, kind: Reasoning, text: "Thought.", final: Reasoning},
		{name: "type from the SSE event", event: "response.output_text.delta", data: `{"delta":"hi"}`, kind: Content, text: "hi", delta: Content},
		{name: "function call added", data: `{"type":"response.output_item.added","item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"c","name":"get_weather"}}`,
			kind: Tool, text: "get_weather", check: func(f *Facts) string {
				if !f.HasToolCall || !f.HasAnswer {
					return "not a tool call"
				}
				return ""
			}},
		{name: "approval request added", data: `{"type":"response.output_item.added","item":{"type":"mcp_approval_request","name":"ask","arguments":"{\"q\":1}","server_label":"s"}}`,
			kind: Tool, text: `ask{"q":1}`},
		{name: "message added is no text", data: `{"type":"response.output_item.added","item":{"type":"message","content":[{"type":"output_text","text":"x"}]}}`},
		{name: "encrypted reasoning item", data: `{"type":"response.output_item.done","item":{"type":"reasoning","encrypted_content":"gAAAA","summary":[{"type":"summary_text","text":"s"}]}}`,
			check: func(f *Facts) string {
				if !f.Encrypted || f.HasReasoning {
					return "want encrypted, no reasoning text"
				}
				return ""
			}},
		{name: "image", data: `{"type":"response.output_item.done","item":{"type":"image_generation_call","result":"iVBOR","status":"completed"}}`,
			check: func(f *Facts) string {
				if !f.Image {
					return "no image"
				}
				return ""
			}},
		{name: "completed", data: `{"type":"response.completed","response":{"id":"resp_1","status":"completed","model":"gpt-5","output":[{"type":"message","content":[{"type":"output_text","text":"again"}]}],"service_tier":"default","usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":8},"total_tokens":30}}}`,
			kind: Content, text: "again", finish: "stop", check: func(f *Facts) string {
				u := f.Usage
				if !f.UsagePresent || u.Prompt != 10 || u.Completion != 20 || u.Cached != 4 || u.Reasoning != 8 || u.Total != 30 {
					return "usage"
				}
				if string(f.ID) != "resp_1" || string(f.Model) != "gpt-5" || string(f.Tier) != "default" || !f.Output {
					return "identity, tier, or the output"
				}
				return ""
			}},
		{name: "incomplete length", data: `{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}}`, finish: "length"},
		{name: "incomplete filter", data: `{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"content_filter"}}}`, finish: "content_filter"},
		{name: "incomplete other", data: `{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"server_timeout"}}}`, finish: "server_timeout"},
		{name: "failed", data: `{"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"boom"},"usage":null}}`,
			finish: "error", check: func(f *Facts) string {
				if !f.Error || string(f.ErrorRaw) != `{"code":"server_error","message":"boom"}` || f.UsagePresent {
					return "error"
				}
				return ""
			}},
		{name: "error event", data: `{"type":"error","sequence_number":2,"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"quota"}}`,
			check: func(f *Facts) string {
				if !f.Error || f.FinishReason != nil || !bytes.HasPrefix(f.ErrorRaw, []byte(`{"type":"error"`)) {
					return "error event"
				}
				return ""
			}},
		{name: "created is not the end", data: `{"type":"response.created","response":{"id":"resp_1","status":"in_progress","service_tier":"auto","usage":null}}`,
			check: func(f *Facts) string {
				if string(f.ID) != "resp_1" || f.FinishReason != nil {
					return "created"
				}
				return ""
			}},
		{name: "escaped names", data: `{"type":"response.output\u005ftext.delta","delta":"x"}`, kind: Content, text: "x", delta: Content},
		{name: "escaped status", data: `{"type":"response.incomplete","response":{"status":"incomplet\u0065","incomplete_details":{"reason":"max\u005foutput_tokens"}}}`, finish: "length"},
		{name: "other events", data: `{"type":"response.web_search_call.searching","item_id":"ws","output_index":0}`},
	}
	var f Facts
	for _, tt := range tests {
		ParseResponseEvent([]byte(tt.event), []byte(tt.data), &f)
		if f.Malformed {
			t.Errorf("%s: malformed", tt.name)
			continue
		}
		if got := spanText(&f, tt.kind); tt.kind != 0 && got != tt.text {
			t.Errorf("%s: text %q, want %q", tt.name, got, tt.text)
		}
		if tt.kind == 0 && f.NSpans != 0 {
			t.Errorf("%s: %d spans, want none", tt.name, f.NSpans)
		}
		if f.Delta != tt.delta || f.Final != tt.final {
			t.Errorf("%s: delta %d final %d, want %d %d", tt.name, f.Delta, f.Final, tt.delta, tt.final)
		}
		if string(f.FinishReason) != tt.finish {
			t.Errorf("%s: finish %q, want %q", tt.name, f.FinishReason, tt.finish)
		}
		if tt.check != nil {
			if msg := tt.check(&f); msg != "" {
				t.Errorf("%s: %s: %+v", tt.name, msg, f)
			}
		}
	}
	for _, bad := range []string{``, `[]`, `{"type":"response.output_text.delta","delta":"x"`, `{"type":1,}`, `{"a":1} x`} {
		ParseResponseEvent(nil, []byte(bad), &f)
		if !f.Malformed {
			t.Errorf("%q: not malformed", bad)
		}
	}
}

func TestParseResponse(t *testing.T) {
	body := `{
  "id": "resp_1", "object": "response", "status": "completed", "model": "gpt-5-2025-08-07",
  "output": [
    {"type": "reasoning", "encrypted_content": "gAAA", "summary": [{"type": "summary_text", "text": "Think."}], "content": [{"type": "reasoning_text", "text": "Raw."}]},
    {"type": "web_search_call", "status": "completed", "action": {"query": "q"}},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Paris.", "annotations": []}, {"type": "refusal", "refusal": "No."}]},
    {"type": "function_call", "name": "f", "arguments": "{\"x\":1}", "call_id": "c"}
  ],
  "service_tier": "default",
  "usage": {"input_tokens": 7, "output_tokens": 16, "output_tokens_details": {"reasoning_tokens": 3}, "total_tokens": 23}
}`
	var f Facts
	ParseResponse([]byte(body), &f)
	if f.Malformed {
		t.Fatal("malformed")
	}
	if got := spanText(&f, Content); got != "Paris." {
		t.Errorf("content %q", got)
	}
	if got := spanText(&f, Reasoning); got != "Think.Raw." {
		t.Errorf("reasoning %q", got)
	}
	if got := spanText(&f, Refusal); got != "No." {
		t.Errorf("refusal %q", got)
	}
	if got := spanText(&f, Tool); got != `f{"x":1}` {
		t.Errorf("tool %q", got)
	}
	if !f.Encrypted || !f.HasToolCall || !f.NonBlank || string(f.FinishReason) != "tool_calls" || f.Usage.Completion != 16 || f.Usage.Reasoning != 3 {
		t.Errorf("facts %+v", f)
	}
	ParseResponse([]byte(`{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[{"type":"message","status":"incomplete","content":[{"type":"output_text","text":"Par"}]}]}`), &f)
	if string(f.FinishReason) != "length" || spanText(&f, Content) != "Par" {
		t.Errorf("incomplete: %+v", f)
	}
	ParseResponse([]byte(`{"error":{"message":"bad"}}`), &f)
	if f.FinishReason != nil {
		t.Errorf("an error body is no response: finish %q", f.FinishReason)
	}
}

// responseCaptures returns the real Responses API captures, or skips.
func responseCaptures(t testing.TB, pattern string) []string {
	dir := filepath.Join("..", "..", "..", "shared", "streams", "responses")
	files, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(files) == 0 {
		t.Skip("no captures in " + dir)
	}
	return files
}

// sseData returns the event names and data of an SSE body (enough of the
// format for the captures: one data line an event).
func sseData(b []byte) (events, data [][]byte) {
	var ev []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case bytes.HasPrefix(line, []byte("event:")):
			ev = bytes.TrimSpace(line[len("event:"):])
		case bytes.HasPrefix(line, []byte("data:")):
			d := bytes.TrimSpace(line[len("data:"):])
			if string(d) != "[DONE]" {
				events, data = append(events, ev), append(data, d)
			}
			ev = nil
		}
	}
	return events, data
}

// Every event of every real capture reads as well-formed, each as its
// reference reading says, and without allocating.
func TestParseResponseEventCaptures(t *testing.T) {
	var f Facts
	for _, path := range responseCaptures(t, "*.sse") {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		events, data := sseData(raw)
		terminal := 0
		for i := range data {
			ParseResponseEvent(events[i], data[i], &f)
			if f.Malformed {
				t.Errorf("%s event %d malformed", filepath.Base(path), i)
			}
			if d := diffResponse(&f, referenceResponseEvent(events[i], data[i])); d != "" {
				t.Errorf("%s event %d: %s", filepath.Base(path), i, d)
			}
			if f.FinishReason != nil {
				terminal++
			}
			if n := testing.AllocsPerRun(10, func() { ParseResponseEvent(events[i], data[i], &f) }); n != 0 {
				t.Errorf("%s event %d: %v allocations", filepath.Base(path), i, n)
			}
		}
		if terminal != 1 && !strings.Contains(path, "error_event") {
			t.Errorf("%s: %d terminal events, want 1", filepath.Base(path), terminal)
		}
	}
}

// refFacts is what the reference reading of an event says.
type refFacts struct {
	texts        map[TextKind]string
	delta, final TextKind
	finish       string
	err, image   bool
	encrypted    bool
	usage        [4]int64 // input, output, reasoning, cached; -1 absent
}

// referenceResponseEvent reads an event with encoding/json, as the
// Responses API documents it, for comparison with ParseResponseEvent. ok
// is false when data is not a JSON object.
func referenceResponseEvent(event, data []byte) *refFacts {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	r := &refFacts{texts: map[TextKind]string{}, usage: [4]int64{-1, -1, -1, -1}}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	typ, ok := m["type"].(string)
	if _, present := m["type"]; !present {
		typ, ok = string(event), true
	}
	if !ok {
		typ = ""
	}
	add := func(k TextKind, s string) {
		if s != "" {
			r.texts[k] += s
		}
	}
	deltas := map[string]TextKind{
		"response.output_text.delta": Content, "response.refusal.delta": Refusal,
		"response.function_call_arguments.delta": Tool, "response.custom_tool_call_input.delta": Tool,
		"response.reasoning_summary_text.delta": Reasoning, "response.reasoning_text.delta": Reasoning,
	}
	dones := map[string]struct {
		kind TextKind
		key  string
	}{
		"response.output_text.done": {Content, "text"}, "response.refusal.done": {Refusal, "refusal"},
		"response.function_call_arguments.done": {Tool, "arguments"}, "response.custom_tool_call_input.done": {Tool, "input"},
		"response.reasoning_summary_text.done": {Reasoning, "text"}, "response.reasoning_text.done": {Reasoning, "text"},
	}
	item, _ := m["item"].(map[string]any)
	switch {
	case deltas[typ] != 0:
		r.delta = deltas[typ]
		add(r.delta, str(m, "delta"))
	case dones[typ].kind != 0:
		r.final = dones[typ].kind
		add(r.final, str(m, dones[typ].key))
	case typ == "response.output_item.added" && item != nil:
		switch str(item, "type") {
		case "function_call", "custom_tool_call", "mcp_approval_request":
			add(Tool, str(item, "name"))
			add(Tool, str(item, "arguments")+str(item, "input"))
		case "reasoning":
			r.encrypted = str(item, "encrypted_content") != ""
		}
	case typ == "response.output_item.done" && item != nil:
		r.encrypted = str(item, "encrypted_content") != ""
		r.image = str(item, "type") == "image_generation_call" && str(item, "result") != ""
	case typ == "response.image_generation_call.partial_image":
		r.image = true
	case typ == "error":
		r.err = true
	case typ == "response.completed" || typ == "response.incomplete" || typ == "response.failed":
		resp, _ := m["response"].(map[string]any)
		status := str(resp, "status")
		details, _ := resp["incomplete_details"].(map[string]any)
		switch reason := str(details, "reason"); {
		case status == "incomplete" && reason == "max_output_tokens":
			r.finish = "length"
		case status == "incomplete" && reason == "content_filter":
			r.finish = "content_filter"
		case status == "incomplete" && reason != "":
			r.finish = reason
		case status == "failed":
			r.finish = "error"
		case status == "completed" || status == "":
			r.finish = "stop"
		default:
			r.finish = status
		}
		r.err = resp["error"] != nil
		// The output, read as a body's (its texts in order).
		out, _ := resp["output"].([]any)
		call := false
		for _, o := range out {
			it, _ := o.(map[string]any)
			parts := func(key string, kinds map[string]TextKind) {
				ps, _ := it[key].([]any)
				for _, x := range ps {
					part, _ := x.(map[string]any)
					k := kinds[str(part, "type")]
					if k == 0 {
						continue
					}
					// The reader keeps the last of text and refusal.
					if _, ok := part["refusal"]; ok && k == Refusal {
						add(k, str(part, "refusal"))
					} else {
						add(k, str(part, "text"))
					}
				}
			}
			switch str(it, "type") {
			case "message":
				parts("content", map[string]TextKind{"output_text": Content, "refusal": Refusal})
			case "reasoning":
				parts("summary", map[string]TextKind{"summary_text": Reasoning, "reasoning_text": Reasoning})
				parts("content", map[string]TextKind{"summary_text": Reasoning, "reasoning_text": Reasoning})
				r.encrypted = r.encrypted || str(it, "encrypted_content") != ""
			case "function_call", "custom_tool_call", "mcp_approval_request":
				call = true
				add(Tool, str(it, "name"))
				add(Tool, str(it, "arguments")+str(it, "input"))
			case "image_generation_call":
				r.image = r.image || str(it, "result") != ""
			}
		}
		if call && r.finish == "stop" {
			r.finish = "tool_calls"
		}
		if u, ok := resp["usage"].(map[string]any); ok {
			num := func(m map[string]any, k string) int64 {
				if v, ok := m[k].(float64); ok {
					return int64(v)
				}
				return -1
			}
			in, _ := u["input_tokens_details"].(map[string]any)
			out, _ := u["output_tokens_details"].(map[string]any)
			r.usage = [4]int64{num(u, "input_tokens"), num(u, "output_tokens"), num(out, "reasoning_tokens"), num(in, "cached_tokens")}
		}
	}
	return r
}

// diffResponse says how f differs from the reference reading r.
func diffResponse(f *Facts, r *refFacts) string {
	if r == nil {
		if !f.Malformed {
			return "not JSON, not malformed"
		}
		return ""
	}
	var d []string
	for _, k := range []TextKind{Content, Refusal, Tool, Reasoning} {
		// encoding/json decodes each byte of invalid UTF-8 as U+FFFD, as
		// a conversion to runes does.
		if got := string([]rune(spanText(f, k))); got != r.texts[k] && f.NSpans < MaxSpans {
			d = append(d, "text of kind "+string(rune('0'+k))+": "+got+" != "+r.texts[k])
		}
	}
	if f.Delta != r.delta || f.Final != r.final {
		d = append(d, "delta or final kind")
	}
	// FinishReason is raw (escaped), as the chat reader's.
	if string([]rune(string(AppendUnescaped(nil, f.FinishReason)))) != r.finish {
		d = append(d, "finish "+string(f.FinishReason)+" != "+r.finish)
	}
	if f.Error != r.err || f.Image != r.image || f.Encrypted != r.encrypted {
		d = append(d, "error, image or encrypted")
	}
	if r.finish != "" {
		u := f.Usage
		if got := [4]int64{u.Prompt, u.Completion, u.Reasoning, u.Cached}; got != r.usage {
			d = append(d, "usage")
		}
	}
	return strings.Join(d, "; ")
}

// hasDuplicateKeys reports whether any object in the JSON b repeats a key:
// readers may differ on which one counts.
func hasDuplicateKeys(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		keys   map[string]bool
		object bool
		key    bool // the next string is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.key
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{keys: map[string]bool{}, object: v == '{', key: v == '{'})
			default:
				stack = stack[:len(stack)-1]
				if n := len(stack); n > 0 && stack[n-1].object {
					stack[n-1].key = true // the value ended: a key may follow
				}
			}
			continue
		case string:
			if isKey {
				if top.keys[v] {
					return true
				}
				top.keys[v] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}

// FuzzParseResponseEvent checks ParseResponseEvent against its reference
// on any input: it never panics, a JSON object is never malformed, and
// what it reads is what encoding/json reads.
func FuzzParseResponseEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"response.output_text.delta","delta":"Hel\u00e9lo"}`,
		`{"type":"response.output_item.added","item":{"type":"function_call","name":"f","arguments":""}}`,
		`{"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":1,"output_tokens":2}}}`,
		`{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}}`,
		`{"type":"error","code":"x","message":"m"}`,
	} {
		f.Add("", []byte(s))
	}
	if files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "streams", "responses", "*.sse")); len(files) > 0 {
		for _, path := range files[:min(len(files), 4)] {
			raw, _ := os.ReadFile(path)
			events, data := sseData(raw)
			for i := 0; i < len(data); i += max(1, len(data)/8) {
				f.Add(string(events[i]), data[i])
			}
		}
	}
	f.Fuzz(func(t *testing.T, event string, data []byte) {
		var facts Facts
		ParseResponseEvent([]byte(event), data, &facts)
		if !json.Valid(data) || hasDuplicateKeys(data) {
			return // the reader checks structure, not escapes; duplicates read differently
		}
		ref := referenceResponseEvent([]byte(event), data)
		if ref == nil {
			return // valid JSON encoding/json cannot decode (a number out of float64's range)
		}
		if d := diffResponse(&facts, ref); d != "" {
			var m map[string]any
			if json.Unmarshal(data, &m) != nil && facts.Malformed {
				return // valid JSON, but not an object
			}
			t.Fatalf("%q: %s", data, d)
		}
	})
}

func TestEventName(t *testing.T) {
	for _, tt := range []struct{ event, data, want string }{
		{"response.completed", `{"type":"response.failed"`, "response.completed"},
		{"", `{"type":"response.completed","response":{"output":[{"type":"message"`, "response.completed"},
		{"", `{"sequence_number":9,"type":"response.output_item.done","item":{`, "response.output_item.done"},
		{"", `{"sequence_number":9,"item":{"type":"x","id"`, "x"}, // the first "type" wins: a cut event is guessed at
		{"", `{"partial_image_b64":"iVBOR`, ""},
	} {
		if got := string(EventName([]byte(tt.event), []byte(tt.data))); got != tt.want {
			t.Errorf("%q %q: %q, want %q", tt.event, tt.data, got, tt.want)
		}
	}
}

func TestHasDuplicateKeys(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":1,"b":2}`:                 false,
		`{"a":1,"a":2}`:                 true,
		`{"a":{"x":1},"b":[1],"a":3}`:   true, // after nested values
		`{"a":{"x":1,"x":2}}`:           true,
		`{"a":{"x":1},"b":{"x":2}}`:     false, // one key in two objects
		`[{"a":1},{"a":1}]`:             false,
		`{"a":["a","a"],"b":"a","c":1}`: false, // strings as values
	} {
		if got := hasDuplicateKeys([]byte(in)); got != want {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
}
