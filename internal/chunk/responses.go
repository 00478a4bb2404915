package chunk

import "bytes"

// This file reads the Responses API (POST /v1/responses): one streamed
// event with [ParseResponseEvent], or a whole response object with
// [ParseResponse], into the same [Facts] a chat chunk fills.
//
// A streamed event is an object whose "type" names it; its other members
// depend on the type and may come in any order (xAI puts sequence_number
// first). The reader walks the members once, keeps the few it may need,
// and decides what they mean when the object ends.

// Finish reasons a response's status maps to, as a chat completion would
// name them.
var (
	finishStop      = []byte("stop")
	finishToolCalls = []byte("tool_calls")
	finishLength    = []byte("length")
	finishFilter    = []byte("content_filter")
	finishError     = []byte("error")
)

// Event types, by what the reader does with them.
const (
	evOther = iota
	evTextDelta
	evTextDone
	evRefusalDelta
	evRefusalDone
	evArgsDelta
	evArgsDone
	evInputDelta
	evInputDone
	evReasoningDelta
	evReasoningDone
	evItemAdded
	evItemDone
	evImagePartial
	evTerminal // response.completed, response.incomplete, response.failed
	evError
)

func eventType(t []byte) int {
	switch string(t) {
	case "response.output_text.delta":
		return evTextDelta
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		return evReasoningDelta
	case "response.function_call_arguments.delta":
		return evArgsDelta
	case "response.output_text.done":
		return evTextDone
	case "response.reasoning_summary_text.done", "response.reasoning_text.done":
		return evReasoningDone
	case "response.function_call_arguments.done":
		return evArgsDone
	case "response.refusal.delta":
		return evRefusalDelta
	case "response.refusal.done":
		return evRefusalDone
	case "response.custom_tool_call_input.delta":
		return evInputDelta
	case "response.custom_tool_call_input.done":
		return evInputDone
	case "response.output_item.added":
		return evItemAdded
	case "response.output_item.done":
		return evItemDone
	case "response.image_generation_call.partial_image":
		return evImagePartial
	case "response.completed", "response.incomplete", "response.failed":
		return evTerminal
	case "error":
		return evError
	}
	return evOther
}

// Output item types, by what they mean for the answer.
const (
	itemOther     = iota
	itemMessage   // content: output_text and refusal parts
	itemReasoning // summary and content: reasoning text; encrypted_content
	itemCall      // function_call (arguments), custom_tool_call (input): the application acts
	itemApproval  // mcp_approval_request (arguments): the application acts
	itemImage     // image_generation_call: result is the image
)

func itemType(t []byte) int {
	switch string(t) {
	case "message":
		return itemMessage
	case "reasoning":
		return itemReasoning
	case "function_call", "custom_tool_call":
		return itemCall
	case "mcp_approval_request":
		return itemApproval
	case "image_generation_call":
		return itemImage
	}
	return itemOther
}

// item is what the reader keeps of one output item.
type item struct {
	typ       int
	name      []byte // function or tool name
	input     []byte // arguments or input, escaped
	result    bool   // an image result that is a non-empty string
	encrypted bool   // encrypted_content is a non-empty string
}

// responseEvent is what the reader keeps of one event's members until it
// knows the event's type.
type responseEvent struct {
	typ                                    []byte
	delta, text, arguments, refusal, input []byte // escaped; nil if absent or not strings
	errRaw                                 []byte // the error member of an error event
	item                                   item
	hasItem, hasResponse                   bool
	kind                                   int    // the type's kind, when eventType knew it; else -1
	status, reason                         []byte // response.status and incomplete_details.reason
	failure                                []byte // response.error
}

// clearText forgets the text facts read so far.
func (f *Facts) clearText() {
	for i := range min(f.NSpans, MaxSpans) {
		f.Spans[i] = Span{}
	}
	f.NSpans = 0
	f.HasReasoning, f.HasAnswer, f.HasRefusal, f.HasToolCall, f.HasContent = false, false, false, false, false
	f.NonBlank, f.ReasonString, f.Encrypted, f.Image = false, false, false, false
}

// ParseResponseEvent reads one streamed Responses API event, the JSON data
// of one SSE event, into f. event is the SSE event name, used when the data
// has no "type" member. Like [Parse], it never panics and never allocates,
// and f's byte slices alias data.
//
// Text deltas become spans of their kind and set the matching flags; so
// does the whole text of a ".done" event, which also sets [Facts.Final]: a
// caller that saw deltas of that kind since the previous ".done" already
// has the text. An output item added that the application acts on (a
// function or custom tool call, an MCP approval request) is a tool span of
// its name. A terminal event (response.completed, .incomplete, .failed)
// sets FinishReason from the response's status, Usage, ServiceTier and,
// for a failure, Error and ErrorRaw, and reads the response's output as a
// body's, setting [Facts.Output]; an "error" event sets Error and
// ErrorRaw, without a finish. ID and Model come from the event's response
// object.
func ParseResponseEvent(event, data []byte, f *Facts) {
	f.clear()
	p := parser{b: data, f: f, id: -1, model: -1}
	i := p.ws(0)
	if i >= len(data) || data[i] != '{' {
		f.Malformed = true
		return
	}
	ev := responseEvent{kind: -1}
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.eventKey(i)
		if !ok {
			f.Malformed = true
			return
		}
		var j int
		switch k {
		case ekType:
			ev.typ, ev.kind, j, ok = p.eventType(v)
		// Which of these counts is known once the type is.
		case ekDelta:
			ev.delta, j, ok = p.strField(v)
		case ekText:
			ev.text, j, ok = p.strField(v)
		case ekArguments:
			ev.arguments, j, ok = p.strField(v)
		case ekRefusal:
			ev.refusal, j, ok = p.strField(v)
		case ekInput:
			ev.input, j, ok = p.strField(v)
		case ekID:
			j, ok = p.skipID(v)
		case ekItem:
			ev.item, ev.hasItem = item{}, data[v] == '{'
			if ev.hasItem {
				j, ok = p.item(v, &ev.item, false)
			} else {
				j, ok = p.skip(v)
			}
		case ekResponse:
			p.forgetResponse(&ev)
			if data[v] == '{' {
				ev.hasResponse = true
				j, ok = p.response(v, &ev, true)
			} else {
				j, ok = p.skip(v)
			}
		case ekError:
			j, ok = p.skip(v)
			ev.errRaw = nil
			if data[v] != 'n' {
				ev.errRaw = data[v:j]
			}
		default:
			j, ok = p.skip(v)
		}
		if !ok {
			f.Malformed = true
			return
		}
		i, st = p.next(j, '}')
	}
	if st != end || p.ws(i) != len(data) {
		f.Malformed = true
		return
	}
	if ev.typ == nil {
		ev.typ = event
	}
	typ := ev.kind
	if typ < 0 {
		typ = classify(ev.typ)
	}
	if ev.hasResponse {
		if typ == evTerminal {
			f.Output = f.HasReasoning || f.HasAnswer || f.HasToolCall || f.Image
		} else {
			// The response of response.created or .in_progress: what
			// its output holds so far was, or will be, in events.
			f.clearText()
		}
	}
	switch typ {
	case evTextDelta:
		f.Delta = Content
		p.addSpan(Content, ev.delta)
	case evTextDone:
		f.Final = Content
		p.addSpan(Content, ev.text)
	case evRefusalDelta:
		f.Delta = Refusal
		p.addSpan(Refusal, ev.delta)
	case evRefusalDone:
		f.Final = Refusal
		p.addSpan(Refusal, ev.refusal)
	case evArgsDelta, evInputDelta:
		f.Delta = Tool
		p.addSpan(Tool, ev.delta)
	case evArgsDone:
		f.Final = Tool
		p.addSpan(Tool, ev.arguments)
	case evInputDone:
		f.Final = Tool
		p.addSpan(Tool, ev.input)
	case evReasoningDelta:
		f.Delta = Reasoning
		p.addSpan(Reasoning, ev.delta)
	case evReasoningDone:
		f.Final = Reasoning
		p.addSpan(Reasoning, ev.text)
	case evItemAdded:
		if ev.hasItem {
			p.itemAdded(&ev.item)
		}
	case evItemDone:
		if ev.hasItem {
			f.Encrypted = ev.item.encrypted
			f.Image = ev.item.typ == itemImage && ev.item.result
		}
	case evImagePartial:
		f.Image = true
	case evTerminal:
		p.terminal(&ev)
	case evError:
		f.Error = true
		f.ErrorRaw = data
	}
}

// forgetResponse forgets what an earlier response member of the same
// event said: with duplicate keys the last one counts, as encoding/json
// decodes it.
func (p *parser) forgetResponse(ev *responseEvent) {
	f := p.f
	ev.status, ev.reason, ev.failure = nil, nil, nil
	f.clearText()
	f.ID, f.Model, f.Tier = nil, nil, nil
	f.UsagePresent = false
	f.Usage.reset()
}

// Top-level keys of an event, by what ParseResponseEvent does with them.
const (
	ekOther = iota
	ekType
	ekDelta
	ekText
	ekArguments
	ekRefusal
	ekInput
	ekItem
	ekResponse
	ekError
	ekID // item_id: a long id string, skipped
)

// eventKey reads the key of a top-level member at b[i] and returns what it
// is and the index of its value. The keys a streamed event usually carries
// are matched as they are usually written, compared whole with constants,
// before [parser.key] reads any other.
func (p *parser) eventKey(i int) (int, int, bool) {
	if b := p.b; i+1 < len(b) {
		switch b[i+1] {
		case 't':
			if len(b)-i > 7 && string(b[i:i+7]) == `"type":` {
				if v, ok := p.value(i + 7); ok {
					return ekType, v, true
				}
			}
			if len(b)-i > 7 && string(b[i:i+7]) == `"text":` {
				if v, ok := p.value(i + 7); ok {
					return ekText, v, true
				}
			}
		case 'd':
			if len(b)-i > 8 && string(b[i:i+8]) == `"delta":` {
				if v, ok := p.value(i + 8); ok {
					return ekDelta, v, true
				}
			}
		case 'i':
			if len(b)-i > 10 && string(b[i:i+10]) == `"item_id":` {
				if v, ok := p.value(i + 10); ok {
					return ekID, v, true
				}
			}
			if len(b)-i > 7 && string(b[i:i+7]) == `"item":` {
				if v, ok := p.value(i + 7); ok {
					return ekItem, v, true
				}
			}
		case 's':
			if len(b)-i > 18 && string(b[i:i+18]) == `"sequence_number":` {
				if v, ok := p.value(i + 18); ok {
					return ekOther, v, true
				}
			}
			if len(b)-i > 16 && string(b[i:i+16]) == `"summary_index":` {
				if v, ok := p.value(i + 16); ok {
					return ekOther, v, true
				}
			}
		case 'o':
			if len(b)-i > 15 && string(b[i:i+15]) == `"output_index":` {
				if v, ok := p.value(i + 15); ok {
					return ekOther, v, true
				}
			}
			if len(b)-i > 14 && string(b[i:i+14]) == `"obfuscation":` {
				if v, ok := p.value(i + 14); ok {
					return ekOther, v, true
				}
			}
		case 'c':
			if len(b)-i > 16 && string(b[i:i+16]) == `"content_index":` {
				if v, ok := p.value(i + 16); ok {
					return ekOther, v, true
				}
			}
		case 'l':
			if len(b)-i > 11 && string(b[i:i+11]) == `"logprobs":` {
				if v, ok := p.value(i + 11); ok {
					return ekOther, v, true
				}
			}
		case 'r':
			if len(b)-i > 11 && string(b[i:i+11]) == `"response":` {
				if v, ok := p.value(i + 11); ok {
					return ekResponse, v, true
				}
			}
		}
	}
	k, v, ok := p.key(i)
	if !ok {
		return ekOther, v, false
	}
	switch string(k) {
	case "type":
		return ekType, v, true
	case "delta":
		return ekDelta, v, true
	case "text":
		return ekText, v, true
	case "arguments":
		return ekArguments, v, true
	case "refusal":
		return ekRefusal, v, true
	case "input":
		return ekInput, v, true
	case "item":
		return ekItem, v, true
	case "response":
		return ekResponse, v, true
	case "error":
		return ekError, v, true
	}
	return ekOther, v, true
}

// hotTypes are the event types of the deltas that make up most of a
// stream, quoted: eventType compares them whole.
var hotTypes = [...]struct {
	lit  string
	kind int
}{
	{`"response.output_text.delta"`, evTextDelta}, {`"response.reasoning_summary_text.delta"`, evReasoningDelta},
	{`"response.function_call_arguments.delta"`, evArgsDelta}, {`"response.reasoning_text.delta"`, evReasoningDelta},
}

// eventType reads the type's string value at b[i], comparing the common
// delta types whole before scanning for the closing quote; kind is the
// type's when it was one of them, else -1.
func (p *parser) eventType(i int) (typ []byte, kind, j int, ok bool) {
	b := p.b
	for _, t := range &hotTypes {
		if n := len(t.lit); len(b)-i >= n && string(b[i:i+n]) == t.lit {
			// The literal holds no backslash: its last quote closes it.
			return b[i+1 : i+n-1], t.kind, i + n, true
		}
	}
	typ, j, ok = p.strField(i)
	return typ, -1, j, ok
}

// classify returns the kind of an event type read as it was written.
func classify(typ []byte) int {
	var nb [maxName]byte
	return eventType(name(typ, &nb))
}

// skipID skips a value that is usually a long id string, searching for its
// closing quote at once rather than byte by byte.
func (p *parser) skipID(i int) (int, bool) {
	b := p.b
	if b[i] == '"' {
		if k := bytes.IndexByte(b[i+1:], '"'); k >= 0 && b[i+k] != '\\' {
			return i + k + 2, true
		}
	}
	return p.skip(i)
}

// maxName is the longest name (event, item or part type, status, reason)
// name decodes; every name the reader compares with is shorter.
const maxName = 48

// name returns raw, an escaped JSON string's contents, decoded for
// comparing with the names the reader knows: raw itself when it has no
// escape (nearly always), else its decoding in buf, or raw when that does
// not fit (then it matches no name, as it would not once decoded).
func name(raw []byte, buf *[maxName]byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 || len(raw) > 2*maxName {
		return raw
	}
	d := AppendUnescaped(buf[:0], raw)
	if len(d) > maxName {
		return raw
	}
	return d
}

// itemAdded reads an output item as it is announced: a call's name is the
// first text the model generated for it.
func (p *parser) itemAdded(it *item) {
	switch it.typ {
	case itemCall, itemApproval:
		// A call's input streams in deltas after it; an approval
		// request's comes whole, here.
		p.addSpan(Tool, it.name)
		p.addSpan(Tool, it.input)
		p.f.HasToolCall = true
	case itemReasoning:
		p.f.Encrypted = it.encrypted
	}
}

// terminal reads the end of a response: its status as a finish reason,
// and a failure's error.
func (p *parser) terminal(ev *responseEvent) {
	f := p.f
	var sb, rb [maxName]byte
	switch string(name(ev.status, &sb)) {
	case "incomplete":
		switch string(name(ev.reason, &rb)) {
		case "max_output_tokens":
			f.FinishReason = finishLength
		case "content_filter":
			f.FinishReason = finishFilter
		case "":
			f.FinishReason = ev.status
		default:
			f.FinishReason = ev.reason
		}
	case "failed":
		f.FinishReason = finishError
	case "completed", "":
		f.FinishReason = finishStop
		if f.HasToolCall {
			f.FinishReason = finishToolCalls
		}
	default: // cancelled, or a status of the future
		f.FinishReason = ev.status
	}
	f.FinishIndex = 0
	if ev.failure != nil {
		f.Error, f.ErrorRaw = true, ev.failure
	}
}

// response reads a response object. whole is set to read its output
// items for their text: the body of a call, or a streamed event's
// response, whose output repeats what the events said (see
// [Facts.Output]).
func (p *parser) response(i int, ev *responseEvent, whole bool) (int, bool) {
	f := p.f
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		switch string(k) {
		case "id":
			f.ID, j, ok = p.strField(v)
		case "model":
			f.Model, j, ok = p.strField(v)
		case "status":
			ev.status, j, ok = p.strField(v)
		case "service_tier":
			f.Tier, j, ok = p.strField(v)
		case "incomplete_details":
			ev.reason = nil
			if p.b[v] == '{' {
				j, ok = p.incompleteDetails(v, ev)
			} else {
				j, ok = p.skip(v)
			}
		case "error":
			j, ok = p.skip(v)
			ev.failure = nil
			if p.b[v] != 'n' {
				ev.failure = p.b[v:j]
			}
		case "usage":
			f.Usage.reset()
			f.UsagePresent = p.b[v] == '{'
			if f.UsagePresent {
				j, ok = p.usage(v, &f.Usage)
			} else {
				j, ok = p.skip(v)
			}
		case "output":
			if whole && p.b[v] == '[' {
				j, ok = p.output(v)
			} else {
				j, ok = p.skip(v)
			}
		default:
			j, ok = p.skip(v)
		}
		if !ok {
			return j, false
		}
		i, st = p.next(j, '}')
	}
	return i, st == end
}

func (p *parser) incompleteDetails(i int, ev *responseEvent) (int, bool) {
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		if string(k) == "reason" {
			ev.reason, j, ok = p.strField(v)
		} else {
			j, ok = p.skip(v)
		}
		if !ok {
			return j, false
		}
		i, st = p.next(j, '}')
	}
	return i, st == end
}

// output reads the output items of a whole response.
func (p *parser) output(i int) (int, bool) {
	i, st := p.open(i, ']')
	for st == more {
		var j int
		var ok bool
		if p.b[i] == '{' {
			var it item
			j, ok = p.item(i, &it, true)
			if ok {
				p.itemWhole(&it)
			}
		} else {
			j, ok = p.skip(i)
		}
		if !ok {
			return j, false
		}
		i, st = p.next(j, ']')
	}
	return i, st == end
}

// itemWhole takes the facts of an output item of a whole response; its
// text parts were added as spans as they were read.
func (p *parser) itemWhole(it *item) {
	f := p.f
	switch it.typ {
	case itemCall, itemApproval:
		f.HasToolCall, f.HasAnswer = true, true
		p.addSpan(Tool, it.name)
		p.addSpan(Tool, it.input)
	case itemReasoning:
		f.Encrypted = f.Encrypted || it.encrypted
	case itemImage:
		f.Image = f.Image || it.result
	}
}

// item reads an output item. whole is set in a whole response, where the
// text parts of messages and reasoning items are added as spans; in an
// event they are skipped (their deltas carried them).
func (p *parser) item(i int, it *item, whole bool) (int, bool) {
	i, st := p.open(i, '}')
	var content, summary [2]int // value spans, read once the type is known
	content[0], summary[0] = -1, -1
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		switch string(k) {
		case "type":
			var s []byte
			s, j, ok = p.strField(v)
			var nb [maxName]byte
			it.typ = itemType(name(s, &nb))
		case "name":
			it.name, j, ok = p.strField(v)
		case "arguments", "input":
			it.input, j, ok = p.strField(v)
		case "result":
			var s []byte
			s, j, ok = p.strField(v)
			it.result = len(s) > 0
		case "encrypted_content":
			var s []byte
			s, j, ok = p.strField(v)
			it.encrypted = len(s) > 0
		case "content":
			j, ok = p.skip(v)
			content = [2]int{v, j}
		case "summary":
			j, ok = p.skip(v)
			summary = [2]int{v, j}
		default:
			j, ok = p.skip(v)
		}
		if !ok {
			return j, false
		}
		i, st = p.next(j, '}')
	}
	if st != end {
		return i, false
	}
	if whole {
		switch it.typ {
		case itemMessage:
			p.textParts(content[0], content[1])
		case itemReasoning:
			p.textParts(summary[0], summary[1])
			p.textParts(content[0], content[1])
		}
	}
	return i, true
}

// textParts adds the text of the content or summary parts in b[i:end] as
// spans: output_text and refusal parts of a message, summary_text and
// reasoning_text parts of reasoning. The value was checked by skip.
func (p *parser) textParts(i, end int) {
	if i < 0 || p.b[i] != '[' {
		return
	}
	i, st := p.open(i, ']')
	for st == more && i < end {
		j, ok := p.textPart(i)
		if !ok {
			return
		}
		i, st = p.next(j, ']')
	}
}

func (p *parser) textPart(i int) (int, bool) {
	if p.b[i] != '{' {
		return p.skip(i)
	}
	var typ, text []byte
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		switch string(k) {
		case "type":
			typ, j, ok = p.strField(v)
		case "text", "refusal":
			text, j, ok = p.strField(v)
		default:
			j, ok = p.skip(v)
		}
		if !ok {
			return j, false
		}
		i, st = p.next(j, '}')
	}
	var nb [maxName]byte
	switch string(name(typ, &nb)) {
	case "output_text":
		p.addSpan(Content, text)
	case "refusal":
		p.addSpan(Refusal, text)
	case "summary_text", "reasoning_text":
		p.addSpan(Reasoning, text)
	}
	return i, st == end
}

// EventName returns the type of a Responses API event from its SSE event
// name or, when there is none, from the first "type" member among the
// first bytes of its data, which may be cut short (an event too large to
// read whole). It returns nil when neither names it.
func EventName(event, data []byte) []byte {
	if len(event) > 0 {
		return event
	}
	head := data[:min(len(data), 256)]
	const key = `"type":"`
	i := bytes.Index(head, []byte(key))
	if i < 0 {
		return nil
	}
	name := head[i+len(key):]
	j := bytes.IndexByte(name, '"')
	if j < 0 {
		return nil
	}
	return name[:j]
}

// ParseResponse reads a whole Responses API response object (the body of
// a call that was not streamed) into f: its output items' text as spans,
// FinishReason from its status, Usage, ServiceTier, and Error for a
// failed response. It never panics and never allocates.
func ParseResponse(b []byte, f *Facts) {
	f.clear()
	p := parser{b: b, f: f, id: -1, model: -1}
	i := p.ws(0)
	if i >= len(b) || b[i] != '{' {
		f.Malformed = true
		return
	}
	var ev responseEvent
	j, ok := p.response(i, &ev, true)
	if !ok || p.ws(j) != len(b) {
		f.Malformed = true
		return
	}
	if ev.status != nil || f.UsagePresent {
		p.terminal(&ev)
	}
}
