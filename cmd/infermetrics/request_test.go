package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/infermetrics/infermetrics/infermetricstest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// TestRequestsAreOpenAIGos checks that the requests the harness sends,
// prepared once and copied, are those an application would send with
// openai-go's typed parameters: the same method, path and headers
// (Authorization from api_key_env, openai-go's own), and the same JSON
// body, field for field, streamed (asking for usage, as the library would
// have added) or not.
func TestRequestsAreOpenAIGos(t *testing.T) {
	t.Setenv("INFERMETRICS_TEST_KEY", "sk-prepared")
	srv := infermetricstest.NewServer()
	defer srv.Close()
	cfg := fmt.Sprintf(`
targets: [{name: t, base_url: %q, model: m, api_key_env: INFERMETRICS_TEST_KEY, extra: {reasoning_effort: low, seed: 7}}]
scenarios:
  - {name: streamed, prompts: ["first prompt", "second prompt"], max_tokens: 64}
  - {name: whole, prompts: ["third prompt"], max_tokens: 32, stream: false, temperature: 0.5, max_tokens_field: max_tokens}
loads: [sequential]
trials: 2
warmups: 0
`, srv.URL())
	if _, err := bench(context.Background(), benchOptions{config: writeConfig(t, cfg), out: filepath.Join(t.TempDir(), "run"), warmups: -1, progress: quiet{}}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	sent := srv.Requests()
	if len(sent) != 4 {
		t.Fatalf("%d requests, want 4", len(sent))
	}

	// The same requests, written as an application writes them.
	client := openai.NewClient(option.WithBaseURL(srv.URL()), option.WithAPIKey("sk-prepared"),
		option.WithHTTPClient(srv.Client()), option.WithMaxRetries(0))
	ctx := context.Background()
	for _, p := range []string{"first prompt", "second prompt"} {
		st := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:               "m",
			Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage(p)},
			Temperature:         openai.Float(0),
			MaxCompletionTokens: openai.Int(64),
			StreamOptions:       openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			ReasoningEffort:     shared.ReasoningEffortLow,
			Seed:                openai.Int(7),
		})
		for st.Next() {
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:           "m",
			Messages:        []openai.ChatCompletionMessageParamUnion{openai.UserMessage("third prompt")},
			Temperature:     openai.Float(0.5),
			MaxTokens:       openai.Int(32),
			ReasoningEffort: shared.ReasoningEffortLow,
			Seed:            openai.Int(7),
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := srv.Requests()[4:]
	// The harness sends the streamed scenario's two prompts, then the
	// whole one twice.
	for i, w := range want {
		g := sent[i]
		if g.Method != w.Method || g.Path != w.Path {
			t.Errorf("request %d: %s %s, want %s %s", i, g.Method, g.Path, w.Method, w.Path)
		}
		if got := g.Header.Get("Authorization"); got != "Bearer sk-prepared" {
			t.Errorf("request %d: Authorization %q", i, got)
		}
		if !maps.EqualFunc(g.Header, w.Header, slices.Equal) {
			t.Errorf("request %d: headers\n%v\nwant\n%v", i, g.Header, w.Header)
		}
		var gb, wb any
		if err := json.Unmarshal(g.Body, &gb); err != nil {
			t.Fatalf("request %d: %v: %s", i, err, g.Body)
		}
		if err := json.Unmarshal(w.Body, &wb); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gb, wb) {
			t.Errorf("request %d: body\n%s\nwant\n%s", i, g.Body, w.Body)
		}
	}
}

// TestPreparedRequestsAreCopies checks that an attempt's request is its
// own: changing one's headers changes neither the prepared request nor
// the next attempt's.
func TestPreparedRequestsAreCopies(t *testing.T) {
	c, err := parseConfig([]byte(`
targets: [{name: t, base_url: "http://127.0.0.1:1/v1", model: m, api_key_env: INFERMETRICS_NO_KEY}]
scenarios: [{name: chat, prompts: [hi], max_tokens: 16}]
loads: [sequential]
`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := prepare(c.Targets[0], nil, &c.Scenarios[0])
	if err != nil {
		t.Fatal(err)
	}
	a := p[0].newRequest(context.Background())
	a.Header.Set("User-Agent", "changed")
	b := p[0].newRequest(context.Background())
	if b.Header.Get("User-Agent") == "changed" || p[0].header.Get("User-Agent") == "changed" {
		t.Error("an attempt's header change reached the prepared request")
	}
	body, err := io.ReadAll(a.Body)
	if err != nil || len(body) == 0 || int64(len(body)) != a.ContentLength {
		t.Fatalf("body %q (%v), length %d", body, err, a.ContentLength)
	}
	again, err := a.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	if replay, _ := io.ReadAll(again); string(replay) != string(body) {
		t.Errorf("GetBody gave %q, want %q", replay, body)
	}
	if a.Method != http.MethodPost || a.URL.Path != "/v1/chat/completions" {
		t.Errorf("%s %s", a.Method, a.URL)
	}
}
