package infermetricstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// A Scenario describes the server's response to one chat-completions
// request, or to one Responses API request.
//
// For a successful status and a request with "stream": true, the response
// is a text/event-stream: the status and headers are sent (after
// HeaderDelay) and then Events are written one at a time, each after its
// own Delay, with a flush after every event. Nothing is added to the
// script: a stream ends with "data: [DONE]" only if the scenario contains
// [Done].
//
// Any other response (a non-2xx Status, a non-empty Body, or a request that
// is not streamed) is written in one piece after HeaderDelay plus the sum of
// the Delays of all Events. A [Drop] event aborts such a response instead,
// after the delays of the events before it.
//
// The zero Scenario answers with an empty 200 stream, or with an empty
// assistant message if the request is not streamed.
//
// A Responses API request (POST …/responses) is answered from the same
// script, as the Responses API would say the same things.
//
// Streamed, the events become Responses events: [Role] is
// response.created and response.in_progress; the first [Reasoning] or
// [Content] of a run opens a reasoning item (with a summary part) or a
// message (with an output_text part) and each is a
// response.reasoning_summary_text.delta or response.output_text.delta;
// [ToolCall] adds a function_call item (its arguments, if any, in a
// response.function_call_arguments.delta) and [ToolArgs] is such a
// delta. [Finish] and [Usage] say how the response ends, and [Done] ends
// it: the open items are closed with their ".done" events and the
// terminal event is written, response.completed, or response.incomplete
// for the finish reasons "length" (max_output_tokens) and
// "content_filter", with the usage. A script without Done ends without a
// terminal event, as a stream cut off. Raw events, comments, stalls and
// drops are written as for chat.
//
// Not streamed, the script is folded into one response object with the
// same output items, status and usage.
type Scenario struct {
	// Model is the model reported in the response. If empty, the model
	// named in the request is echoed.
	Model string

	// Status is the HTTP status code of the response. Zero means 200.
	Status int

	// ErrorBody is the body of a non-2xx response. If empty, an
	// OpenAI-style error object describing Status is sent.
	ErrorBody string

	// Body, if non-empty and Status is 2xx, is sent verbatim as an
	// application/json body in place of the response built from Events,
	// whether or not the request asked for a stream.
	Body string

	// Header holds extra response headers, such as Retry-After. They are
	// applied after the server's own headers and replace them.
	Header http.Header

	// HeaderDelay is how long the server waits before sending the response
	// status and headers.
	HeaderDelay time.Duration

	// Events is the script of the response. It is streamed as is, or
	// folded into a single chat.completion object if the request is not
	// streamed.
	Events []Event

	// AlwaysUsage makes a streamed response include its Usage event even
	// if the request did not set stream_options.include_usage, as some
	// providers do. By default a Usage event is streamed only when the
	// request asks for it.
	AlwaysUsage bool
}

// An Event is one step of a [Scenario]: after waiting Delay, the server
// writes the event to the response stream and flushes it.
//
// An Event whose Raw is non-empty writes Raw verbatim. Otherwise an event
// made by one of the chunk constructors ([Role], [Content], [Reasoning],
// [ToolCall], [ToolArgs], [Finish], [Usage]) writes a well-formed
// "data: {...chat.completion.chunk...}" SSE event whose id, created and
// model fields are those of the response. An Event with neither, such as
// the zero Event or one made by [Stall], writes nothing.
type Event struct {
	// Delay is how long the server waits before writing the event,
	// measured from the previous event (or from the response headers for
	// the first event).
	Delay time.Duration

	// Raw, if non-empty, is written to the stream verbatim. It must
	// contain its own SSE framing, such as "data: ...\n\n".
	Raw string

	kind  eventKind
	text  string // content, reasoning, finish reason or tool-call arguments
	id    string // tool-call id
	name  string // tool-call function name
	usage usageCounts
}

type eventKind uint8

const (
	kindRaw eventKind = iota // Raw, or nothing
	kindRole
	kindContent
	kindReasoning
	kindToolCall
	kindToolArgs
	kindFinish
	kindUsage
	kindDrop
)

type usageCounts struct {
	prompt, completion, reasoning, cached int
}

// After returns a copy of e that is written after waiting d.
func (e Event) After(d time.Duration) Event {
	e.Delay = d
	return e
}

// Role returns the usual first chunk of a response, whose delta is
// {"role":"assistant","content":""}.
func Role() Event { return Event{kind: kindRole} }

// Content returns a chunk whose delta carries the content s.
func Content(s string) Event { return Event{kind: kindContent, text: s} }

// Reasoning returns a chunk whose delta carries s as reasoning_content,
// the field used by reasoning models on OpenAI-compatible servers.
func Reasoning(s string) Event { return Event{kind: kindReasoning, text: s} }

// ToolCall returns a chunk that starts a new function tool call with the
// given id, function name and first fragment of arguments. Tool calls are
// indexed in the order they start within a response.
func ToolCall(id, name, args string) Event {
	return Event{kind: kindToolCall, id: id, name: name, text: args}
}

// ToolArgs returns a chunk that appends args to the arguments of the most
// recently started tool call.
func ToolArgs(args string) Event { return Event{kind: kindToolArgs, text: args} }

// Finish returns a chunk with an empty delta and the given finish_reason,
// such as "stop", "length" or "tool_calls".
func Finish(reason string) Event { return Event{kind: kindFinish, text: reason} }

// Tokens are the token counts of a [Usage] event, as OpenAI reports them:
// Input counts prompt tokens, CachedInput among them; Output counts
// completion tokens, Reasoning among them.
type Tokens struct {
	Input, Output, Reasoning, CachedInput int
}

// Usage returns the final usage chunk: empty choices and a usage object
// with t's prompt and completion token counts, their total, and
// completion_tokens_details.reasoning_tokens and
// prompt_tokens_details.cached_tokens.
//
// A streamed Usage event is written only if the request set
// stream_options.include_usage or the scenario sets AlwaysUsage; when it
// is left out its Delay still elapses.
func Usage(t Tokens) Event {
	return Event{kind: kindUsage, usage: usageCounts{t.Input, t.Output, t.Reasoning, t.CachedInput}}
}

// Done returns the terminating "data: [DONE]" event.
func Done() Event { return Raw(doneRaw) }

const doneRaw = "data: [DONE]\n\n"

// Comment returns an SSE comment line, ": s", followed by a blank line.
// Clients must ignore it.
func Comment(s string) Event { return Raw(": " + s + "\n\n") }

// ErrorEvent returns an in-stream error event,
// data: {"error":{"message":message,"type":typ,...}}, as sent by servers
// that fail after the response has started.
func ErrorEvent(message, typ string) Event {
	b := marshal(errorJSON{Error: errorObject{Message: message, Type: typ}})
	return Raw("data: " + string(b) + "\n\n")
}

// Raw returns an event that writes s verbatim, for malformed input,
// event: lines, lines split across writes, partial UTF-8 sequences and
// the like.
func Raw(s string) Event { return Event{Raw: s} }

// Stall returns an event that waits d and writes nothing.
func Stall(d time.Duration) Event { return Event{Delay: d} }

// Drop returns an event that aborts the response by closing the
// connection without finishing the HTTP response, as a crashing server or
// proxy would. Through [Server.Transport], reading the body then fails
// with [io.ErrUnexpectedEOF].
func Drop() Event { return Event{kind: kindDrop} }

// isChunk reports whether e writes a structured chunk.
func (e Event) isChunk() bool {
	return e.Raw == "" && e.kind != kindRaw && e.kind != kindDrop
}

// response holds the fields shared by every chunk of one response.
type response struct {
	id      string
	created int64
	model   string
}

// renderer turns the events of one response into wire bytes. It tracks
// tool-call indexes, which depend on the events before.
type renderer struct {
	response
	tools int // number of tool calls started so far
}

// chunk returns the SSE bytes of a structured chunk event.
func (r *renderer) chunk(e Event) []byte {
	c := chunkJSON{
		ID:      r.id,
		Object:  "chat.completion.chunk",
		Created: r.created,
		Model:   r.model,
		Choices: []chunkChoiceJSON{},
	}
	var d deltaJSON
	var finish *string
	switch e.kind {
	case kindRole:
		d.Role = "assistant"
		d.Content = ptr("")
	case kindContent:
		d.Content = ptr(e.text)
	case kindReasoning:
		d.ReasoningContent = ptr(e.text)
	case kindToolCall:
		d.ToolCalls = []toolCallDeltaJSON{{
			Index:    r.tools,
			ID:       e.id,
			Type:     "function",
			Function: functionJSON{Name: e.name, Arguments: e.text},
		}}
		r.tools++
	case kindToolArgs:
		d.ToolCalls = []toolCallDeltaJSON{{
			Index:    max(r.tools-1, 0),
			Function: functionJSON{Arguments: e.text},
		}}
	case kindFinish:
		finish = ptr(e.text)
	case kindUsage:
		c.Usage = e.usage.json()
	}
	if e.kind != kindUsage {
		c.Choices = append(c.Choices, chunkChoiceJSON{Delta: d, FinishReason: finish})
	}
	var b bytes.Buffer
	b.WriteString("data: ")
	b.Write(marshal(c))
	b.WriteString("\n\n")
	return b.Bytes()
}

// fold returns the chat.completion object equivalent to the chunk events
// of events. Raw, Stall and Drop events are ignored.
func fold(r response, events []Event) []byte {
	var (
		content, reasoning strings.Builder
		hasContent         bool
		hasReasoning       bool
		tools              []toolCallJSON
		finish             = "stop"
		usage              *usageJSON
	)
	for _, e := range events {
		if !e.isChunk() {
			continue
		}
		switch e.kind {
		case kindContent:
			content.WriteString(e.text)
			hasContent = true
		case kindReasoning:
			reasoning.WriteString(e.text)
			hasReasoning = true
		case kindToolCall:
			tools = append(tools, toolCallJSON{
				ID:       e.id,
				Type:     "function",
				Function: functionJSON{Name: e.name, Arguments: e.text},
			})
		case kindToolArgs:
			if len(tools) > 0 {
				tools[len(tools)-1].Function.Arguments += e.text
			}
		case kindFinish:
			finish = e.text
		case kindUsage:
			usage = e.usage.json()
		}
	}
	msg := messageJSON{Role: "assistant", ToolCalls: tools}
	if hasContent {
		msg.Content = ptr(content.String())
	}
	if hasReasoning {
		msg.ReasoningContent = ptr(reasoning.String())
	}
	return marshal(completionJSON{
		ID:      r.id,
		Object:  "chat.completion",
		Created: r.created,
		Model:   r.model,
		Choices: []completionChoiceJSON{{Message: msg, FinishReason: finish}},
		Usage:   usage,
	})
}

// errorBody returns the default body of a non-2xx response.
func errorBody(status int) []byte {
	typ := "invalid_request_error"
	if status >= 500 {
		typ = "server_error"
	}
	msg := fmt.Sprintf("infermetricstest: scripted %d %s", status, http.StatusText(status))
	return marshal(errorJSON{Error: errorObject{Message: msg, Type: typ}})
}

func (u usageCounts) json() *usageJSON {
	return &usageJSON{
		PromptTokens:            u.prompt,
		CompletionTokens:        u.completion,
		TotalTokens:             u.prompt + u.completion,
		PromptTokensDetails:     promptDetailsJSON{CachedTokens: u.cached},
		CompletionTokensDetails: completionDetailsJSON{ReasoningTokens: u.reasoning},
	}
}

// marshal encodes v as compact JSON without HTML escaping.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("infermetricstest: " + err.Error()) // only fixed types are encoded
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func ptr[T any](v T) *T { return &v }

// Wire types, in the field order used by OpenAI.

type chunkJSON struct {
	ID      string            `json:"id"`
	Object  string            `json:"object"`
	Created int64             `json:"created"`
	Model   string            `json:"model"`
	Choices []chunkChoiceJSON `json:"choices"`
	Usage   *usageJSON        `json:"usage,omitempty"`
}

type chunkChoiceJSON struct {
	Index        int       `json:"index"`
	Delta        deltaJSON `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type deltaJSON struct {
	Role             string              `json:"role,omitempty"`
	Content          *string             `json:"content,omitempty"`
	ReasoningContent *string             `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCallDeltaJSON `json:"tool_calls,omitempty"`
}

type toolCallDeltaJSON struct {
	Index    int          `json:"index"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function functionJSON `json:"function"`
}

type functionJSON struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type completionJSON struct {
	ID      string                 `json:"id"`
	Object  string                 `json:"object"`
	Created int64                  `json:"created"`
	Model   string                 `json:"model"`
	Choices []completionChoiceJSON `json:"choices"`
	Usage   *usageJSON             `json:"usage,omitempty"`
}

type completionChoiceJSON struct {
	Index        int         `json:"index"`
	Message      messageJSON `json:"message"`
	Logprobs     *struct{}   `json:"logprobs"`
	FinishReason string      `json:"finish_reason"`
}

type messageJSON struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"`
	ReasoningContent *string        `json:"reasoning_content,omitempty"`
	Refusal          *string        `json:"refusal"`
	ToolCalls        []toolCallJSON `json:"tool_calls,omitempty"`
}

type toolCallJSON struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionJSON `json:"function"`
}

type usageJSON struct {
	PromptTokens            int                   `json:"prompt_tokens"`
	CompletionTokens        int                   `json:"completion_tokens"`
	TotalTokens             int                   `json:"total_tokens"`
	PromptTokensDetails     promptDetailsJSON     `json:"prompt_tokens_details"`
	CompletionTokensDetails completionDetailsJSON `json:"completion_tokens_details"`
}

type promptDetailsJSON struct {
	CachedTokens int `json:"cached_tokens"`
}

type completionDetailsJSON struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

type errorJSON struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}
