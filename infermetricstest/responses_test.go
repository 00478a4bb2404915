package infermetricstest

import (
	"net/http"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/infermetrics/infermetrics"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
)

func respParams() responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model: "gpt-test",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	}
}

// A scenario served to the Responses API streams as the Responses API
// does, on the script's timing, and the library measures it as it would a
// real provider.
func TestResponsesStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(Scenario{
			HeaderDelay: 100 * ms,
			Events: []Event{
				Role(),
				Reasoning("Think").After(30 * ms),
				Reasoning("ing.").After(10 * ms),
				Content("Hel").After(40 * ms),
				Content("lo").After(20 * ms),
				ToolCall("call_1", "get_weather", `{"city":`).After(10 * ms),
				ToolArgs(`"Paris"}`).After(10 * ms),
				Finish("tool_calls"),
				Usage(Tokens{Input: 9, Output: 30, Reasoning: 12, CachedInput: 4}),
				Done().After(5 * ms),
			},
		})
		defer srv.Close()
		var call *infermetrics.Call
		client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL,
			infermetrics.Instrument(infermetrics.WithOnCall(func(c *infermetrics.Call) { call = c.Clone() })))
		s := client.Responses.NewStreaming(t.Context(), respParams())
		var types []string
		var text, args string
		var final responses.Response
		for s.Next() {
			ev := s.Current()
			types = append(types, ev.Type)
			switch ev.Type {
			case "response.output_text.delta":
				text += ev.Delta
			case "response.function_call_arguments.delta":
				args += ev.Delta
			case "response.completed":
				final = ev.Response
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"response.created", "response.in_progress",
			"response.output_item.added", "response.reasoning_summary_part.added",
			"response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
			"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
			"response.output_item.added", "response.content_part.added",
			"response.output_text.delta", "response.output_text.delta",
			"response.output_text.done", "response.content_part.done", "response.output_item.done",
			"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
			"response.function_call_arguments.done", "response.output_item.done",
			"response.completed",
		}
		if !slices.Equal(types, want) {
			t.Errorf("events\n%q\nwant\n%q", types, want)
		}
		if text != "Hello" || args != `{"city":"Paris"}` || final.Status != "completed" || final.OutputText() != "Hello" ||
			final.Usage.OutputTokens != 30 || final.Usage.OutputTokensDetails.ReasoningTokens != 12 || len(final.Output) != 3 {
			t.Errorf("text %q args %q final %s", text, args, final.RawJSON())
		}
		if call == nil {
			t.Fatal("no call")
		}
		// The reasoning arrives 100+30 ms after the request, the answer at
		// +10+40 = 180 ms, the end at +20+10+10+5 = 225 ms: the scripted
		// delays exactly. Tokens: 2 summary deltas, 2 text deltas, the call
		// added (its name) with its first arguments delta, and one more
		// delta; all but the summary are the answer.
		if call.API != infermetrics.APIResponses || call.TimeToFirstToken != 130*ms || call.TimeToFirstAnswer != 180*ms ||
			call.Duration != 225*ms || call.TokenChunks != 7 || call.AnswerChunks != 5 {
			t.Errorf("call: api %q ttft %v ttfa %v duration %v tokens %d answers %d",
				call.API, call.TimeToFirstToken, call.TimeToFirstAnswer, call.Duration, call.TokenChunks, call.AnswerChunks)
		}
		if call.FinishReason != "tool_calls" || call.InputTokens != 9 || call.CachedInputTokens != 4 || call.OutputTokens != 30 ||
			!call.UsageReported || call.Flags != 0 {
			t.Errorf("call: finish %q usage %d/%d/%d flags %v", call.FinishReason, call.InputTokens, call.CachedInputTokens, call.OutputTokens, call.Flags)
		}
	})
}

// The finish reasons length and content_filter end a Responses stream as
// response.incomplete; a script without Done ends it with no terminal
// event.
func TestResponsesEnds(t *testing.T) {
	for _, tc := range []struct {
		events []Event
		status string
		flag   infermetrics.Flag
	}{
		{[]Event{Role(), Content("Par"), Finish("length"), Done()}, "incomplete", infermetrics.FlagTruncated},
		{[]Event{Role(), Content("Par"), Finish("content_filter"), Done()}, "incomplete", infermetrics.FlagContentFiltered},
		{[]Event{Role(), Content("Par")}, "", infermetrics.FlagIncomplete},
	} {
		srv := NewServer(Scenario{Events: tc.events})
		var call *infermetrics.Call
		client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL,
			infermetrics.Instrument(infermetrics.WithOnCall(func(c *infermetrics.Call) { call = c.Clone() })))
		s := client.Responses.NewStreaming(t.Context(), respParams())
		status := ""
		for s.Next() {
			if r := s.Current().Response; r.Status != "" && r.Status != "in_progress" {
				status = string(r.Status)
			}
		}
		srv.Close()
		if status != tc.status || call == nil || !call.Flags.Has(tc.flag) {
			t.Errorf("%v: status %q, call %+v", tc.flag, status, call)
		}
	}
}

// Not streamed, the script is one response object.
func TestResponsesNonStreamed(t *testing.T) {
	srv := NewServer(Scenario{Events: []Event{
		Role(), Reasoning("Hm."), Content("Paris."), Finish("stop"), Usage(Tokens{Input: 5, Output: 8, Reasoning: 2}), Done(),
	}})
	defer srv.Close()
	var call *infermetrics.Call
	client := newOpenAI(&http.Client{Transport: srv.Transport()}, memoryBaseURL,
		infermetrics.Instrument(infermetrics.WithOnCall(func(c *infermetrics.Call) { call = c.Clone() })))
	r, err := client.Responses.New(t.Context(), respParams())
	if err != nil {
		t.Fatal(err)
	}
	if r.OutputText() != "Paris." || r.Status != "completed" || r.Usage.OutputTokens != 8 || len(r.Output) != 2 || r.Output[0].Type != "reasoning" {
		t.Errorf("response %s", r.RawJSON())
	}
	if call == nil || call.API != infermetrics.APIResponses || call.Stream || call.OutputTokens != 8 || call.ReasoningTokens != 2 || call.FinishReason != "stop" || call.Flags != 0 {
		t.Errorf("call %+v", call)
	}
}
