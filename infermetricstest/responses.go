package infermetricstest

import (
	"bytes"
	"strconv"
)

// respItem is one output item of a response being rendered.
type respItem struct {
	Type      string     `json:"type"`
	ID        string     `json:"id"`
	Status    string     `json:"status,omitempty"`
	Role      string     `json:"role,omitempty"`
	Content   []respPart `json:"content,omitempty"`
	Summary   []respPart `json:"summary,omitempty"`
	CallID    string     `json:"call_id,omitempty"`
	Name      string     `json:"name,omitempty"`
	Arguments *string    `json:"arguments,omitempty"`
	closed    bool       // its .done events were written
	text      []byte     // the text or arguments so far
}

type respPart struct {
	Type        string   `json:"type"`
	Text        string   `json:"text"`
	Annotations []string `json:"annotations,omitempty"`
}

type respUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

type respIncomplete struct {
	Reason string `json:"reason"`
}

type respObject struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	CreatedAt         int64           `json:"created_at"`
	Status            string          `json:"status"`
	Error             *struct{}       `json:"error"`
	IncompleteDetails *respIncomplete `json:"incomplete_details"`
	Model             string          `json:"model"`
	Output            []*respItem     `json:"output"`
	ServiceTier       string          `json:"service_tier"`
	Usage             *respUsage      `json:"usage"`
}

// respEvent is one streamed event; the fields each type carries are set.
type respEvent struct {
	Type           string      `json:"type"`
	SequenceNumber int         `json:"sequence_number"`
	Response       *respObject `json:"response,omitempty"`
	OutputIndex    *int        `json:"output_index,omitempty"`
	ItemID         string      `json:"item_id,omitempty"`
	ContentIndex   *int        `json:"content_index,omitempty"`
	SummaryIndex   *int        `json:"summary_index,omitempty"`
	Item           *respItem   `json:"item,omitempty"`
	Part           *respPart   `json:"part,omitempty"`
	Delta          *string     `json:"delta,omitempty"`
	Text           *string     `json:"text,omitempty"`
	Arguments      *string     `json:"arguments,omitempty"`
}

// respRenderer turns the events of one response into Responses API events,
// keeping the output items they build.
type respRenderer struct {
	response
	seq    int
	items  []*respItem
	finish string
	usage  *usageCounts
	out    bytes.Buffer // the events rendered by the last call
}

func (r *respRenderer) object(status string) *respObject {
	o := &respObject{ID: r.id, Object: "response", CreatedAt: r.created, Status: status, Model: r.model, Output: []*respItem{}, ServiceTier: "default"}
	if status != "in_progress" {
		o.Output = r.items
		o.Usage = r.respUsage()
		switch r.finish {
		case "length":
			o.Status, o.IncompleteDetails = "incomplete", &respIncomplete{"max_output_tokens"}
		case "content_filter":
			o.Status, o.IncompleteDetails = "incomplete", &respIncomplete{"content_filter"}
		}
	}
	return o
}

func (r *respRenderer) respUsage() *respUsage {
	u := &respUsage{}
	if r.usage != nil {
		u.InputTokens, u.OutputTokens = r.usage.prompt, r.usage.completion
		u.InputTokensDetails.CachedTokens = r.usage.cached
		u.OutputTokensDetails.ReasoningTokens = r.usage.reasoning
	}
	u.TotalTokens = u.InputTokens + u.OutputTokens
	return u
}

// emit writes one event, with its event: line as OpenAI sends it.
func (r *respRenderer) emit(e respEvent) {
	e.SequenceNumber = r.seq
	r.seq++
	r.out.WriteString("event: " + e.Type + "\ndata: ")
	r.out.Write(marshal(e))
	r.out.WriteString("\n\n")
}

func intp(n int) *int { return &n }

// open returns the last item if it is an open message or reasoning item
// of type typ, or adds one, announcing it. Function calls are added by
// event, one per ToolCall.
func (r *respRenderer) open(typ string) (*respItem, int) {
	if n := len(r.items); n > 0 {
		if it := r.items[n-1]; it.Type == typ && !it.closed {
			return it, n - 1
		}
	}
	r.closeLast()
	n := len(r.items)
	it := &respItem{Type: typ, Status: "in_progress"}
	switch typ {
	case "message":
		it.ID, it.Role, it.Content = "msg_"+r.id+"_"+strconv.Itoa(n), "assistant", []respPart{}
	case "reasoning":
		it.ID, it.Summary = "rs_"+r.id+"_"+strconv.Itoa(n), []respPart{}
	}
	r.items = append(r.items, it)
	added := *it
	r.emit(respEvent{Type: "response.output_item.added", OutputIndex: intp(n), Item: &added})
	switch typ {
	case "message":
		r.emit(respEvent{Type: "response.content_part.added", ItemID: it.ID, OutputIndex: intp(n), ContentIndex: intp(0), Part: &respPart{Type: "output_text", Annotations: []string{}}})
	case "reasoning":
		r.emit(respEvent{Type: "response.reasoning_summary_part.added", ItemID: it.ID, OutputIndex: intp(n), SummaryIndex: intp(0), Part: &respPart{Type: "summary_text"}})
	}
	return it, n
}

// closeLast closes the last item, if open, with its ".done" events.
func (r *respRenderer) closeLast() {
	n := len(r.items) - 1
	if n < 0 || r.items[n].closed {
		return
	}
	it := r.items[n]
	it.closed, it.Status = true, "completed"
	text := string(it.text)
	switch it.Type {
	case "message":
		part := respPart{Type: "output_text", Text: text, Annotations: []string{}}
		it.Content = []respPart{part}
		r.emit(respEvent{Type: "response.output_text.done", ItemID: it.ID, OutputIndex: intp(n), ContentIndex: intp(0), Text: &text})
		r.emit(respEvent{Type: "response.content_part.done", ItemID: it.ID, OutputIndex: intp(n), ContentIndex: intp(0), Part: &part})
	case "reasoning":
		part := respPart{Type: "summary_text", Text: text}
		it.Summary = []respPart{part}
		r.emit(respEvent{Type: "response.reasoning_summary_text.done", ItemID: it.ID, OutputIndex: intp(n), SummaryIndex: intp(0), Text: &text})
		r.emit(respEvent{Type: "response.reasoning_summary_part.done", ItemID: it.ID, OutputIndex: intp(n), SummaryIndex: intp(0), Part: &part})
	case "function_call":
		it.Arguments = &text
		r.emit(respEvent{Type: "response.function_call_arguments.done", ItemID: it.ID, OutputIndex: intp(n), Arguments: &text})
	}
	done := *it
	r.emit(respEvent{Type: "response.output_item.done", OutputIndex: intp(n), Item: &done})
}

// event renders a structured event of the script (not Raw, Stall or
// Drop) and returns its bytes, valid until the next call.
func (r *respRenderer) event(e Event) []byte {
	r.out.Reset()
	switch e.kind {
	case kindRole:
		r.emit(respEvent{Type: "response.created", Response: r.object("in_progress")})
		r.emit(respEvent{Type: "response.in_progress", Response: r.object("in_progress")})
	case kindContent:
		it, n := r.open("message")
		it.text = append(it.text, e.text...)
		r.emit(respEvent{Type: "response.output_text.delta", ItemID: it.ID, OutputIndex: intp(n), ContentIndex: intp(0), Delta: &e.text})
	case kindReasoning:
		it, n := r.open("reasoning")
		it.text = append(it.text, e.text...)
		r.emit(respEvent{Type: "response.reasoning_summary_text.delta", ItemID: it.ID, OutputIndex: intp(n), SummaryIndex: intp(0), Delta: &e.text})
	case kindToolCall:
		r.closeLast()
		n := len(r.items)
		empty := ""
		it := &respItem{Type: "function_call", ID: "fc_" + r.id + "_" + strconv.Itoa(n), Status: "in_progress", CallID: e.id, Name: e.name, Arguments: &empty}
		r.items = append(r.items, it)
		added := *it
		r.emit(respEvent{Type: "response.output_item.added", OutputIndex: intp(n), Item: &added})
		if e.text != "" {
			it.text = append(it.text, e.text...)
			r.emit(respEvent{Type: "response.function_call_arguments.delta", ItemID: it.ID, OutputIndex: intp(n), Delta: &e.text})
		}
	case kindToolArgs:
		if n := len(r.items) - 1; n >= 0 && r.items[n].Type == "function_call" && !r.items[n].closed {
			it := r.items[n]
			it.text = append(it.text, e.text...)
			r.emit(respEvent{Type: "response.function_call_arguments.delta", ItemID: it.ID, OutputIndex: intp(n), Delta: &e.text})
		}
	case kindFinish:
		r.finish = e.text
	case kindUsage:
		u := e.usage
		r.usage = &u
	}
	return r.out.Bytes()
}

// terminal closes the open item and renders the terminal event.
func (r *respRenderer) terminal() []byte {
	r.out.Reset()
	r.closeLast()
	o := r.object("completed")
	typ := "response.completed"
	if o.Status == "incomplete" {
		typ = "response.incomplete"
	}
	r.emit(respEvent{Type: typ, Response: o})
	return r.out.Bytes()
}

// foldResponse returns the response object equivalent to the structured
// events of events.
func foldResponse(resp response, events []Event) []byte {
	r := respRenderer{response: resp}
	for _, e := range events {
		if e.isChunk() {
			r.event(e)
		}
	}
	r.closeLast()
	return marshal(r.object("completed"))
}
