package infermetrics_test

// Fuzz targets for guarantee 1 of "Never break the caller": transparency.
// Whatever bytes a server sends, an instrumented openai-go client must show
// the application what a plain client shows (less the usage-only chunk the
// library asked for itself), deliver exactly one Call, and never panic.
//
// Run one target with, for example:
//
//	go test -run '^$' -fuzz '^FuzzStreamTransparency$' -fuzztime 30s .

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/infermetrics/infermetrics"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// fuzzInspectLimit is the documented limit on the data of one SSE event
// that the library inspects (stream.go maxEventBytes): a larger event is
// counted, not parsed, so it is never stripped.
const fuzzInspectLimit = 4 << 20

func fuzzParams(includeUsage bool) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
	}
	if includeUsage {
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	}
	return p
}

// usageOnly reports whether a chunk is the usage-only chunk a stream ends
// with when include_usage is set: its top-level "choices" (exact key, the
// last one if repeated) is an empty array and its "usage" is a JSON object.
// Chunks above the inspection limit are kept (the library counts them
// without parsing).
func usageOnly(raw string) bool {
	if len(raw) >= fuzzInspectLimit-64 {
		return false
	}
	var v map[string]json.RawMessage // exact keys, unlike struct decoding
	if json.Unmarshal([]byte(raw), &v) != nil {
		return false
	}
	var choices []json.RawMessage
	if json.Unmarshal(v["choices"], &choices) != nil || choices == nil || len(choices) != 0 {
		return false
	}
	u := bytes.TrimSpace(v["usage"])
	return len(u) > 0 && u[0] == '{'
}

func diffChunks(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("chunks: instrumented %d, want %d\n got %s\nwant %s", len(got), len(want), clip(got), clip(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("chunk %d differs:\n got %.300q\nwant %.300q", i, got[i], want[i])
		}
	}
}

func clip(chunks []string) string {
	var b strings.Builder
	for i, c := range chunks {
		if i == 8 {
			fmt.Fprintf(&b, " ... (%d more)", len(chunks)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %.200q", c)
	}
	return b.String()
}

func FuzzStreamTransparency(f *testing.F) {
	addStreamSeeds(f)
	f.Fuzz(checkStream)
}

// checkStream compares plain and instrumented reads of a streamed body
// when the application itself asked for usage (nothing is stripped).
func checkStream(t *testing.T, body []byte, split uint16) {
	{
		plain := readStream(newClient(&cannedTransport{status: 200, ctype: "text/event-stream", body: body, split: split}), fuzzParams(true))

		var calls collect
		rt := &cannedTransport{status: 200, ctype: "text/event-stream", body: body, split: split}
		got := readStream(newClient(rt, infermetrics.Instrument(infermetrics.WithOnCall(calls.hook))), fuzzParams(true))

		if got.err != plain.err {
			t.Fatalf("error: instrumented %q, plain %q", got.err, plain.err)
		}
		diffChunks(t, got.chunks, plain.chunks)
		if n := len(calls.all()); n != 1 {
			t.Fatalf("got %d calls, want 1", n)
		}
	}
}

func FuzzStripTransparency(f *testing.F) {
	addStreamSeeds(f)
	f.Fuzz(checkStrip)
}

// checkStrip compares plain and instrumented reads of a streamed body when
// the library injects include_usage and strips the usage-only chunk.
func checkStrip(t *testing.T, body []byte, split uint16) {
	{
		plain := readStream(newClient(&cannedTransport{status: 200, ctype: "text/event-stream", body: body, split: split}), fuzzParams(false))

		var calls collect
		rt := &cannedTransport{status: 200, ctype: "text/event-stream", body: body, split: split}
		got := readStream(newClient(rt, infermetrics.Instrument(infermetrics.WithOnCall(calls.hook))), fuzzParams(false))

		if n := len(calls.all()); n != 1 {
			t.Fatalf("got %d calls, want 1", n)
		}
		if len(rt.reqs) != 1 || !bytes.Contains(rt.reqs[0], []byte(`"include_usage":true`)) {
			t.Fatalf("usage was not injected: sent %q", rt.reqs)
		}
		if got.err != plain.err {
			t.Fatalf("error: instrumented %q, plain %q", got.err, plain.err)
		}
		if plain.err != "" {
			return // which chunks come before an error is not specified
		}
		var want []string
		for _, c := range plain.chunks {
			if !usageOnly(c) {
				want = append(want, c)
			}
		}
		diffChunks(t, got.chunks, want)
	}
}

func FuzzNonStreamTransparency(f *testing.F) {
	addNonStreamSeeds(f)
	f.Fuzz(checkNonStream)
}

// checkNonStream compares plain and instrumented non-streamed calls.
func checkNonStream(t *testing.T, body []byte, status uint16, split uint16) {
	{
		code := 200
		if status%2 == 1 {
			code = 400 + int(status/2)%200
		}
		params := fuzzParams(false)
		call := func(opts ...option.RequestOption) (string, string) {
			rt := &cannedTransport{status: code, ctype: "application/json", body: body, split: split}
			client := newClient(rt, opts...)
			resp, err := client.Chat.Completions.New(context.Background(), params)
			if err != nil {
				return "", err.Error()
			}
			if resp == nil { // a body of null decodes to no response
				return "<nil>", ""
			}
			return resp.RawJSON(), ""
		}
		plainJSON, plainErr := call()
		var calls collect
		gotJSON, gotErr := call(infermetrics.Instrument(infermetrics.WithOnCall(calls.hook)))
		if gotErr != plainErr {
			t.Fatalf("status %d error: instrumented %.500q, plain %.500q", code, gotErr, plainErr)
		}
		if gotJSON != plainJSON {
			t.Fatalf("status %d response differs:\n got %.300q\nwant %.300q", code, gotJSON, plainJSON)
		}
		if n := len(calls.all()); n != 1 {
			t.Fatalf("status %d: got %d calls, want 1", code, n)
		}
	}
}

// TestHugeBodiesTransparency checks bodies too large to make good fuzzing
// seeds (each execution of a multi-megabyte input takes seconds, which
// starves the fuzzer): a data line over 64 KiB, one over the 4 MiB the
// library inspects, a 70 KiB error body (over the 64 KiB kept) and an
// 8 MiB response (over the 8 MiB inspected).
func TestHugeBodiesTransparency(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-megabyte bodies")
	}
	big64k := strings.Repeat("a", 70<<10)
	big4m := strings.Repeat("b", fuzzInspectLimit+1)
	for _, s := range []struct {
		body  string
		split uint16
	}{
		{sse(seedChunk(big64k), seedFinish, seedUsageOnly, "[DONE]"), 4096},
		{sse(seedChunk(big4m), seedFinish, seedUsageOnly, "[DONE]"), 0x7fff},
		{"data: " + big4m + "\n\n" + sse(seedUsageOnly, "[DONE]"), 0x7fff},
	} {
		checkStream(t, []byte(s.body), s.split)
		checkStrip(t, []byte(s.body), s.split)
	}
	errStatus := func(code int) uint16 { return uint16((code-400)*2 + 1) }
	checkNonStream(t, []byte(`{"error":{"message":"`+strings.Repeat("e", 70<<10)+`"}}`), errStatus(400), 4096)
	checkNonStream(t, []byte(`{"id":"x","choices":[{"index":0,"message":{"content":"`+strings.Repeat("c", 8<<20)+`"}}]}`), 0, 0x7fff)
}

// sharedCaptures returns the recorded responses beside the project, or
// nothing when the folder is absent.
func sharedCaptures() map[string][]byte {
	out := map[string][]byte{}
	entries, err := os.ReadDir(streamsDir)
	if err != nil {
		return out
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(streamsDir, e.Name()))
		if err == nil {
			out[e.Name()] = b
		}
	}
	return out
}

const (
	seedHead = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":`
	seedUse  = `"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}`
)

func seedChunk(content string) string {
	c, _ := json.Marshal(content)
	return seedHead + `[{"index":0,"delta":{"content":` + string(c) + `},"finish_reason":null}]}`
}

var (
	seedFinish    = seedHead + `[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	seedUsageOnly = seedHead + `[],` + seedUse + `}`
)

func sse(events ...string) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("data: ")
		b.WriteString(e)
		b.WriteString("\n\n")
	}
	return b.String()
}

// streamEdgeCases are scripted bodies with the splits to seed them with.
func streamEdgeCases() []struct {
	body  string
	split uint16
} {
	normal := sse(seedChunk("Hello"), seedChunk(" world"), seedFinish, seedUsageOnly, "[DONE]")
	type seed = struct {
		body  string
		split uint16
	}
	return []seed{
		{normal, 1},
		{normal, 13},
		{normal, 4096},
		{normal, 0x8000 | 4096},
		// UTF-8 split across reads.
		{sse(seedChunk("héllo 世界 🎉 ñ"), seedFinish, seedUsageOnly, "[DONE]"), 1},
		{sse(seedChunk("héllo 世界 🎉 ñ"), seedFinish, seedUsageOnly, "[DONE]"), 2},
		{sse(seedChunk("héllo 世界 🎉 ñ"), seedFinish, seedUsageOnly, "[DONE]"), 3},
		{"data: " + seedHead + "[{\"index\":0,\"delta\":{\"content\":\"\xe4\xb8\"}}]}\n\n", 5},
		// CRLF and CR line endings.
		{strings.ReplaceAll(normal, "\n", "\r\n"), 7},
		{strings.ReplaceAll(normal, "\n", "\r\n"), 1},
		{strings.ReplaceAll(normal, "\n", "\r"), 7},
		// Lines over 64 KiB and over the 4 MiB inspection limit: see
		// TestHugeBodiesTransparency.
		// Comments.
		{": keep-alive\n\n" + ":ping\n" + "data: " + seedChunk("x") + "\n: inline\n\n" + sse(seedUsageOnly, "[DONE]"), 9},
		// event: lines.
		{"event: message\ndata: " + seedChunk("x") + "\n\n" + "event: ping\ndata: {}\n\n" + sse(seedFinish, seedUsageOnly, "[DONE]"), 11},
		{sse(seedChunk("x")) + "event: error\ndata: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":\"529\"}}\n\n", 17},
		{sse(seedChunk("x")) + "event: error\ndata: {\"message\":\"no error key\"}\n\n" + sse(seedFinish, "[DONE]"), 17},
		{"event: usage\ndata: " + seedUsageOnly + "\n\n" + sse("[DONE]"), 17},
		// Missing [DONE].
		{sse(seedChunk("x"), seedFinish, seedUsageOnly), 5},
		{sse(seedChunk("x")), 5},
		// Garbage JSON.
		{sse(seedChunk("x"), "{not json", "[DONE]"), 6},
		// An event the library does not parse as a chunk, then the
		// usage-only chunk: only the latter may be stripped.
		{sse(seedChunk("x"), "{not json", seedUsageOnly, "[DONE]"), 6},
		{sse(seedChunk("x"), "{not json", seedUsageOnly, "[DONE]"), 4096},
		{sse(seedChunk("x"), `{"error":{"message":"boom"}}`, seedUsageOnly, "[DONE]"), 4096},
		{sse(`"string"`, `[]`, `null`, `42`, "[DONE]"), 6},
		{sse(seedChunk("x"), `{"choices":[],"usage":`, "[DONE]"), 6},
		// Error objects, nested and mid-stream.
		{sse(seedChunk("x"), `{"error":{"message":"rate limited","error":{"code":429,"details":[{"error":{}}]}}}`, seedFinish, "[DONE]"), 8},
		{sse(seedChunk("x"), `{"error":"plain string"}`, "[DONE]"), 8},
		{sse(seedChunk("x"), `{"error":null,"choices":[],`+seedUse+`}`, "[DONE]"), 8},
		{sse(`{"choices":[],"usage":{"prompt_tokens":1},"error":{"message":"late"}}`, "[DONE]"), 8},
		// Usage shapes near the strip rule.
		{sse(seedChunk("x"), seedHead+`[],"usage":null}`, seedHead+`[],"usage":{}}`, "[DONE]"), 10},
		{sse(seedChunk("x"), seedHead+`[{"index":0,"delta":{},"finish_reason":"stop"}],`+seedUse+`}`, "[DONE]"), 10},
		{sse(seedChunk("x"), seedHead+`[],`+seedUse+`}`, seedHead+`[],`+seedUse+`}`, seedHead+`[],`+seedUse+`}`, seedHead+`[],`+seedUse+`}`, seedHead+`[],`+seedUse+`}`, "[DONE]"), 3},
		{sse(seedChunk("x"), `{"choices":[],"choices":[{"index":0}],`+seedUse+`}`, `{"usage":null,"choices":[],"usage":{"total_tokens":1}}`, "[DONE]"), 10},
		{sse(seedChunk("x"), `{"choices" : [ ] , "usage" : { } }`, "[DONE]"), 4},
		{sse(seedUsageOnly, seedChunk("after usage"), "[DONE]", seedChunk("after done")), 4},
		// Empty body, only [DONE], blank lines.
		{"", 1},
		{sse("[DONE]"), 1},
		{"\n\n\n\n", 1},
		{"data: [DONE]", 1},
		{"data:" + seedUsageOnly, 64},
		// Multiple data lines per event.
		{"data: " + seedHead + "\ndata: [{\"index\":0,\"delta\":{\"content\":\"two lines\"}}]}\n\n" + "data: {\"choices\":[],\ndata: " + seedUse + "}\n\n" + sse("[DONE]"), 5},
		{"data: {\"choices\":[],\n\ndata: " + seedUse + "}\n\n" + sse("[DONE]"), 5},
		{"id: 1\nretry: 100\ndata:" + seedChunk("no space") + "\nfoo: bar\n\n" + sse(seedUsageOnly, "[DONE]"), 12},
	}
}

// regressionSeeds once failed: more than four usage-only chunks in one
// read (the fifth reached the application); an invalid event that looked
// like a usage-only chunk was stripped, hiding openai-go's decoding error;
// and a chunk truncated after "[{}," made the chunk reader index past its
// end. The fuzzer's own crashers are in testdata/fuzz.
func regressionSeeds() []string {
	u := seedHead + `[],` + seedUse + `}`
	return []string{
		sse(seedChunk("x"), u, u, u, u, u, seedChunk("y"), "[DONE]"),
		"data:{\"choices\":[],\"usage\":{\"\":{\"\"}}}\n\n",
		"data:{\"choices\":[{},\n\n",
	}
}

func addStreamSeeds(f *testing.F) {
	for _, b := range regressionSeeds() {
		f.Add([]byte(b), uint16(4096))
	}
	for _, b := range sharedCaptures() {
		f.Add(b, uint16(4096))
		f.Add(b, uint16(0x8000|61))
	}
	for _, s := range streamEdgeCases() {
		f.Add([]byte(s.body), s.split)
	}
}

func addNonStreamSeeds(f *testing.F) {
	// status: even is 200, odd is 400 + (status/2)%200.
	errStatus := func(code int) uint16 { return uint16((code-400)*2 + 1) }
	for name, b := range sharedCaptures() {
		st := uint16(0)
		if m := statusInName.FindStringSubmatch(name); m != nil {
			if code, _ := strconv.Atoi(m[1]); code >= 400 && code < 600 {
				st = errStatus(code)
			}
		}
		f.Add(b, st, uint16(4096))
		if st == 0 {
			f.Add(b, errStatus(500), uint16(7))
		}
	}
	full := `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"héllo 世界"},"finish_reason":"stop"}],` + seedUse + `}`
	apiErr := `{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":"bad"}}`
	for _, s := range []struct {
		body   string
		status uint16
		split  uint16
	}{
		{full, 0, 1},
		{full, 0, 0x8000 | 5},
		{strings.ReplaceAll(full, ",", ",\r\n"), 0, 3},
		{apiErr, errStatus(400), 1},
		{apiErr, errStatus(429), 8},
		{apiErr, errStatus(503), 8},
		{apiErr, 0, 8},
		{`{"error":{"message":"x","error":{"code":1}}}`, errStatus(500), 8},
		{`{"error":"plain"}`, errStatus(502), 8},
		{"", 0, 1},
		{"", errStatus(500), 1},
		{"{not json", 0, 2},
		{"{not json", errStatus(404), 2},
		{"null", 0, 2},
		{"[]", 0, 2},
		{"<html>Bad Gateway</html>", errStatus(502), 2},
		{sse(seedChunk("streamed anyway"), "[DONE]"), 0, 9},
		{"\xff\xfe{}", 0, 1},
	} {
		f.Add([]byte(s.body), s.status, s.split)
	}
}
