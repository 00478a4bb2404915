package tokens

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// firstCallEnv, when set to 1, makes the test binary measure the first call
// to Count in a fresh process, print it and exit; see BenchmarkFirstCount.
const firstCallEnv = "TOKENS_MEASURE_FIRST_CALL"

func TestMain(m *testing.M) {
	if os.Getenv(firstCallEnv) == "1" {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		Count([]byte("hello world"))
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		fmt.Println(elapsed.Nanoseconds(), after.TotalAlloc-before.TotalAlloc)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The wanted counts were computed independently with the npm package
// tiktoken 1.0.22, which is OpenAI's Rust tiktoken compiled to WebAssembly:
// get_encoding("o200k_base").encode_ordinary(text).length. "hello world" is
// [24912, 2375] there, and "tiktoken is great!" is the example of OpenAI's
// cookbook "How to count tokens with tiktoken".
var countTests = []struct {
	name string
	text string
	want int
}{
	{"nil", "", 0},
	{"hello world", "hello world", 2},
	{"punctuation", "Hello, world!", 4},
	{"cookbook", "tiktoken is great!", 6},
	{"long word", "antidisestablishmentarianism", 6},
	{"contraction and number", "I'VE seen 3.14159 cats", 10},
	{"digits in threes", "1234567890", 4},
	{"japanese", "今日は良い天気ですね。", 7},
	{"cyrillic", "Привет, мир!", 5},
	{"emoji with skin tone", "👍🏽 ok", 4},
	{"code", "func main() {\n\tfmt.Println(\"hi\")\n}\n", 10},
	{"blank lines", "   \n\n  x", 3},
	{"delete", "\x7f", 1},
	{"delete between letters", "a\x7fb", 3},
	// Invalid UTF-8 counts as U+FFFD, byte by byte: tiktoken gives 3 for
	// "a\uFFFDb" and 1 for "\uFFFD\uFFFD".
	{"invalid byte", "a\xffb", 3},
	{"invalid bytes", "\xff\xfe", 1},
	{"truncated sequence", "\xe6\x97", 1},
	{"long text", strings.Repeat("hello world ", 10000), 20001},
	{"long piece", strings.Repeat("a", 100000), 12500},
}

func TestCount(t *testing.T) {
	for _, tt := range countTests {
		t.Run(tt.name, func(t *testing.T) {
			text := []byte(tt.text)
			if tt.text == "" {
				text = nil
			}
			if got := Count(text); got != tt.want {
				t.Errorf("Count(%.40q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}

func TestCountEmpty(t *testing.T) {
	if got := Count([]byte{}); got != 0 {
		t.Errorf("Count([]byte{}) = %d, want 0", got)
	}
}

// Every single byte is one token: the ASCII ones are in the vocabulary, and
// the others are invalid UTF-8 alone and count as U+FFFD, a token too.
func TestCountSingleBytes(t *testing.T) {
	for b := range 256 {
		if got := Count([]byte{byte(b)}); got != 1 {
			t.Errorf("Count([]byte{%#x}) = %d, want 1", b, got)
		}
	}
}

func TestCountConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, tt := range countTests[:12] {
				if got := Count([]byte(tt.text)); got != tt.want {
					t.Errorf("Count(%.40q) = %d, want %d", tt.text, got, tt.want)
				}
			}
		})
	}
	wg.Wait()
}

const (
	stringContentBody = `{"model":"gpt-4o","messages":[` +
		`{"role":"system","content":"You are a helpful assistant that answers in one sentence."},` +
		`{"role":"user","name":"alice","content":"What is the capital of France?"},` +
		`{"role":"assistant","content":"The capital of France is Paris."},` +
		`{"role":"user","content":"And of Italy?"}],"temperature":0.2}`

	contentPartsBody = `{
  "model": "gpt-4o-mini",
  "messages": [
    {"role": "user", "content": [
      {"type": "text", "text": "Describe this picture in detail."},
      {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}},
      {"type": "text", "text": "Then say what breed the cat is."}
    ]}
  ]
}`

	toolsBody = `{"model":"gpt-4o","messages":[` +
		`{"role":"user","content":"What's the weather in Boston today?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function",` +
		`"function":{"name":"get_weather","arguments":"{\"location\":\"Boston, MA\",\"unit\":\"celsius\"}"}}]},` +
		`{"role":"tool","tool_call_id":"call_abc123","content":"{\"temperature\":22,\"condition\":\"sunny\"}"}],` +
		`"tools":[{"type":"function","function":{"name":"get_weather",` +
		`"description":"Get the current weather in a given location",` +
		`"parameters":{"type":"object","properties":{` +
		`"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},` +
		`"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}}}]}`
)

// indent returns body pretty-printed.
func indent(t *testing.T, body string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(body), "", "\t"); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestCountMessages(t *testing.T) {
	// The wanted counts were computed independently: JSON.parse in Node.js,
	// the same rule (3 per message, role, name + 1, text content, tool calls'
	// name and arguments, JSON.stringify(tools), 3 for the reply) and the npm
	// package tiktoken 1.0.22 for the token counts. Of toolsBody's 122, the
	// tools definitions are 76.
	tests := []struct {
		name string
		body string
		want int
	}{
		{"string content", stringContentBody, 50},
		{"content parts", contentPartsBody, 21},
		{"tools", toolsBody, 122},
		{"tools pretty-printed", indent(t, toolsBody), 122},
		{"no messages", `{"messages":[]}`, 3},
		{"messages not objects", `{"messages":["hi",1,null]}`, 3},
		{"empty", ``, 0},
		{"truncated", stringContentBody[:len(stringContentBody)-1], 0},
		{"not JSON", `messages: hi`, 0},
		{"trailing garbage", `{"messages":[]} x`, 0},
		{"null", `null`, 0},
		{"array", `[{"role":"user","content":"hi"}]`, 0},
		{"messages not an array", `{"messages":"hi"}`, 0},
		{"no messages field", `{"model":"gpt-4o"}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CountMessages([]byte(tt.body)); got != tt.want {
				t.Errorf("CountMessages(%.60q) = %d, want %d", tt.body, got, tt.want)
			}
		})
	}
}

func FuzzCountMessages(f *testing.F) {
	for _, body := range []string{stringContentBody, contentPartsBody, toolsBody, `{"messages":[{"content":[1,{"type":"text","text":7}],"tool_calls":"x"}]}`} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if n := CountMessages(body); n < 0 {
			t.Errorf("CountMessages(%q) = %d, want >= 0", body, n)
		}
	})
}

// english is about 4 KB of ordinary English prose.
var english = strings.Repeat(`When a provider streams a chat completion without reporting usage, the
caller still wants to know what the call cost. The prompt and the answer are
both at hand, so the tokens can be counted locally with the same byte-pair
encoding the model uses. The count is an estimate: providers add formatting
around each message, some models use a different vocabulary, and images or
audio are priced by rules of their own. Still, for plain text the estimate is
usually within a few tokens of the billed figure, which is close enough to
spot a provider that reports nothing, reports zero, or reports ten times what
it should. Counting is not free, though. Each call splits the text with a
regular expression and merges byte pairs by rank, so a long document takes
noticeably longer than a short question, and the garbage it leaves behind
has to be collected. That is why the work is done once per call and never on
the hot path of a stream. `, 4)

func BenchmarkCount(b *testing.B) {
	text := []byte(english)
	tokens := Count(text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		Count(text)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tokens), "ns/token")
}

// BenchmarkFirstCount measures the one-time cost of the first call, which
// builds the vocabulary. Within one process that happens once, so each
// iteration starts the test binary anew and reads back what its first call
// took: init-ns is the time and init-B the bytes allocated. On the 2-core
// machine this was written on they were about 40 ms and 7 MB.
func BenchmarkFirstCount(b *testing.B) {
	var ns, alloc float64
	for b.Loop() {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), firstCallEnv+"=1")
		out, err := cmd.Output()
		if err != nil {
			b.Fatal(err)
		}
		var n, a float64
		if _, err := fmt.Sscan(string(out), &n, &a); err != nil {
			b.Fatalf("reading %q: %v", out, err)
		}
		ns += n
		alloc += a
	}
	b.ReportMetric(ns/float64(b.N), "init-ns")
	b.ReportMetric(alloc/float64(b.N), "init-B")
}

// A Responses API request counts as the chat request that says the same:
// instructions as a system message, a string input as a user message, and
// input items as messages, with input_text parts as text.
func TestCountMessagesResponses(t *testing.T) {
	tests := []struct{ name, responses, chat string }{
		{"string input", `{"model":"m","input":"What is the capital of France?"}`,
			`{"messages":[{"role":"user","content":"What is the capital of France?"}]}`},
		{"instructions", `{"instructions":"Answer in French.","input":"Capital of Italy?"}`,
			`{"messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"Capital of Italy?"}]}`},
		{"items and parts", `{"input":[{"role":"user","content":[{"type":"input_text","text":"Describe"},{"type":"input_image","image_url":"x"}]},{"role":"assistant","content":[{"type":"output_text","text":"A cat."}]}]}`,
			`{"messages":[{"role":"user","content":[{"type":"text","text":"Describe"}]},{"role":"assistant","content":"A cat."}]}`},
		{"tools", `{"input":"hi","tools":[{"type":"function","name":"f","parameters":{}}]}`,
			`{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","name":"f","parameters":{}}]}`},
	}
	for _, tt := range tests {
		got, want := CountMessages([]byte(tt.responses)), CountMessages([]byte(tt.chat))
		if got != want || got == 0 {
			t.Errorf("%s: %d, want %d (the chat request's)", tt.name, got, want)
		}
	}
	if n := CountMessages([]byte(`{"model":"m"}`)); n != 0 {
		t.Errorf("no input: %d, want 0", n)
	}
}
