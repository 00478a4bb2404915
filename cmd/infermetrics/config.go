package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/infermetrics/infermetrics"
	"go.yaml.in/yaml/v3"
)

// A Config is a benchmark plan as bench.yaml writes it. The keys are a
// contract: scripts write them, so keys may be added but never renamed.
type Config struct {
	Targets   []Target   `yaml:"targets" json:"targets"`
	Scenarios []Scenario `yaml:"scenarios" json:"scenarios"`
	Loads     []string   `yaml:"loads" json:"loads"`
	// Trials is the number of measured trials per cell (default 25);
	// Warmups the trials before them, kept in trials.jsonl but left out of
	// every figure (default 3).
	Trials  *int `yaml:"trials" json:"trials"`
	Warmups *int `yaml:"warmups" json:"warmups"`
	// Windows repeats the whole plan, WindowGap apart (from the end of one
	// window to the start of the next).
	Windows   int      `yaml:"windows" json:"windows"`
	WindowGap Duration `yaml:"window_gap" json:"window_gap"`
	// Timeout bounds each request (default 120s).
	Timeout Duration `yaml:"timeout" json:"timeout"`

	// ColdTrials is the number of trials of a cold=D cell (default Trials).
	ColdTrials *int `yaml:"cold_trials" json:"cold_trials"`
	// MaxRequests and MaxDuration cap the run: once either is reached no
	// further request is started (defaults 100000 and 24h).
	MaxRequests int      `yaml:"max_requests" json:"max_requests"`
	MaxDuration Duration `yaml:"max_duration" json:"max_duration"`
	// ParallelTargets runs the targets' plans side by side instead of one
	// target after another. Cells of one target never overlap.
	ParallelTargets bool `yaml:"parallel_targets" json:"parallel_targets"`
	// Seed seeds the Poisson arrivals of rate=R/s loads (default 1).
	Seed uint64 `yaml:"seed" json:"seed"`

	// Simulated is set for the built-in simulated catalogue; it is not
	// read from YAML.
	Simulated bool `yaml:"-" json:"simulated"`
}

// A Target is one endpoint and model: one row of the report.
type Target struct {
	Name      string         `yaml:"name" json:"name"`
	BaseURL   string         `yaml:"base_url" json:"base_url"`
	Model     string         `yaml:"model" json:"model"`
	Provider  string         `yaml:"provider" json:"provider,omitempty"`
	APIKeyEnv string         `yaml:"api_key_env" json:"api_key_env,omitempty"`
	Price     *PriceConfig   `yaml:"price" json:"price,omitempty"`
	Extra     map[string]any `yaml:"extra" json:"extra,omitempty"`
}

// PriceConfig is a price in US dollars per million tokens.
type PriceConfig struct {
	Input       float64 `yaml:"input" json:"input"`
	CachedInput float64 `yaml:"cached_input" json:"cached_input"`
	Output      float64 `yaml:"output" json:"output"`
}

// A Scenario is what is asked: prompts, used in order and cycling.
type Scenario struct {
	Name        string   `yaml:"name" json:"name"`
	Prompts     []string `yaml:"prompts" json:"prompts,omitempty"`
	PromptsFile string   `yaml:"prompts_file" json:"prompts_file,omitempty"`
	MaxTokens   int      `yaml:"max_tokens" json:"max_tokens"`
	// Stream is true unless the scenario sets stream: false.
	Stream *bool `yaml:"stream" json:"stream"`
	// Temperature is sent as given (default 0); "none" sends none, for
	// models that reject the parameter.
	Temperature *Temperature `yaml:"temperature" json:"temperature,omitempty"`
	// MaxTokensField names the request field that carries MaxTokens:
	// max_completion_tokens (the default) or max_tokens; for the Responses
	// API always max_output_tokens.
	MaxTokensField string `yaml:"max_tokens_field" json:"max_tokens_field"`
	// API is the API the scenario calls, as Call.API names it:
	// chat_completions (the default, POST …/chat/completions) or responses
	// (POST …/responses, the prompts' messages as its input).
	API string `yaml:"api" json:"api"`

	// messages holds each prompt as a messages array.
	messages []json.RawMessage
}

// Temperature is a sampling temperature, or none.
type Temperature struct {
	Value float64
	None  bool
}

func (t *Temperature) UnmarshalYAML(n *yaml.Node) error {
	if n.Tag == "!!null" || n.Value == "none" {
		t.None = true
		return nil
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or none, got %q", n.Line, n.Value)
	}
	t.Value = v
	return nil
}

func (t Temperature) MarshalJSON() ([]byte, error) {
	if t.None {
		return []byte(`"none"`), nil
	}
	return json.Marshal(t.Value)
}

func (t *Temperature) UnmarshalJSON(b []byte) error {
	if string(b) == `"none"` {
		t.None = true
		return nil
	}
	return json.Unmarshal(b, &t.Value)
}

// Duration is a time.Duration written as Go writes it ("90s", "5m").
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 90s or 5m, got %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// A Load is how requests are offered to a target, parsed from a loads
// entry.
type Load struct {
	Spec        string        // as written in the config
	Kind        string        // sequential, concurrency, rate, burst, cold
	N           int           // concurrency or burst size
	Rate        float64       // requests per second
	Idle        time.Duration // cold: idle time before each request
	Concurrency int           // requests in flight by design; 0 when unbounded (rate) or 1 (cold)
}

// parseLoad parses one loads entry.
func parseLoad(s string) (Load, error) {
	l := Load{Spec: s}
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(s), "=")
	l.Kind = kind
	switch kind {
	case "sequential":
		if hasArg {
			return l, fmt.Errorf("%q: sequential takes no value", s)
		}
		l.N, l.Concurrency = 1, 1
	case "concurrency", "burst":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 || n > 100000 {
			return l, fmt.Errorf("%q: want %s=N with N a whole number from 1 to 100000", s, kind)
		}
		l.N, l.Concurrency = n, n
	case "rate":
		r, err := strconv.ParseFloat(strings.TrimSuffix(arg, "/s"), 64)
		if !strings.HasSuffix(arg, "/s") || err != nil || !(r > 0) || math.IsInf(r, 0) {
			return l, fmt.Errorf("%q: want rate=R/s with R a positive number of requests a second", s)
		}
		l.Rate = r
	case "cold":
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 {
			return l, fmt.Errorf("%q: want cold=D with D a duration such as 5m", s)
		}
		l.Idle, l.N, l.Concurrency = d, 1, 1
	default:
		return l, fmt.Errorf("%q: want sequential, concurrency=N, rate=R/s, burst=N or cold=D", s)
	}
	return l, nil
}

// Defaults.
const (
	defaultTrials      = 25
	defaultWarmups     = 3
	defaultTimeout     = 120 * time.Second
	defaultMaxRequests = 100000
	defaultMaxDuration = 24 * time.Hour
	defaultMaxTokens   = 256
)

// loadConfig reads and checks the config at path. Relative prompts_file
// paths are relative to the config's folder.
func loadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := parseConfig(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// parseConfig decodes and checks a config, fills in the defaults and
// reads prompts files from dir. Unknown keys are errors.
func parseConfig(b []byte, dir string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty config: want at least targets and scenarios")
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.check(dir); err != nil {
		return nil, err
	}
	return &c, nil
}

// check validates c, naming the field at fault, and fills in defaults.
func (c *Config) check(dir string) error {
	if len(c.Targets) == 0 {
		return errors.New("targets: want at least one target")
	}
	names := map[string]bool{}
	for i := range c.Targets {
		t := &c.Targets[i]
		f, err := entry("targets", "target", i, t.Name, names)
		if err != nil {
			return err
		}
		if t.BaseURL == "" {
			return fmt.Errorf("%s.base_url: missing", f)
		}
		if !strings.HasPrefix(t.BaseURL, "http://") && !strings.HasPrefix(t.BaseURL, "https://") {
			return fmt.Errorf("%s.base_url: %q is not an http:// or https:// URL", f, t.BaseURL)
		}
		if t.Model == "" {
			return fmt.Errorf("%s.model: missing", f)
		}
		if p := t.Price; p != nil {
			for _, v := range []struct {
				k string
				v float64
			}{{"input", p.Input}, {"cached_input", p.CachedInput}, {"output", p.Output}} {
				if v.v < 0 || math.IsNaN(v.v) || math.IsInf(v.v, 0) {
					return fmt.Errorf("%s.price.%s: %v is not a non-negative number", f, v.k, v.v)
				}
			}
		}
		for k := range t.Extra {
			switch k {
			case "model", "messages", "input", "stream", "stream_options":
				return fmt.Errorf("%s.extra.%s: set by the benchmark; remove it", f, k)
			}
		}
	}
	if len(c.Scenarios) == 0 {
		return errors.New("scenarios: want at least one scenario")
	}
	names = map[string]bool{}
	for i := range c.Scenarios {
		s := &c.Scenarios[i]
		f, err := entry("scenarios", "scenario", i, s.Name, names)
		if err != nil {
			return err
		}
		switch {
		case len(s.Prompts) > 0 && s.PromptsFile != "":
			return fmt.Errorf("%s: set prompts or prompts_file, not both", f)
		case len(s.Prompts) > 0:
			for j, p := range s.Prompts {
				if p == "" {
					return fmt.Errorf("%s.prompts[%d]: empty prompt", f, j)
				}
				m, _ := json.Marshal([]map[string]string{{"role": "user", "content": p}})
				s.messages = append(s.messages, m)
			}
		case s.PromptsFile != "":
			msgs, err := readPrompts(filepath.Join(dir, s.PromptsFile))
			if err != nil {
				return fmt.Errorf("%s.prompts_file: %w", f, err)
			}
			s.messages = msgs
		default:
			return fmt.Errorf("%s.prompts: want prompts or prompts_file", f)
		}
		if s.MaxTokens < 0 {
			return fmt.Errorf("%s.max_tokens: %d is negative", f, s.MaxTokens)
		}
		if s.MaxTokens == 0 {
			s.MaxTokens = defaultMaxTokens
		}
		switch s.API {
		case "":
			s.API = infermetrics.APIChatCompletions
		case infermetrics.APIChatCompletions, infermetrics.APIResponses:
		default:
			return fmt.Errorf("%s.api: %q is neither %s nor %s", f, s.API, infermetrics.APIChatCompletions, infermetrics.APIResponses)
		}
		switch {
		case s.API == infermetrics.APIResponses:
			if s.MaxTokensField != "" && s.MaxTokensField != "max_output_tokens" {
				return fmt.Errorf("%s.max_tokens_field: the Responses API's budget is max_output_tokens, not %q", f, s.MaxTokensField)
			}
			s.MaxTokensField = "max_output_tokens"
		case s.MaxTokensField == "":
			s.MaxTokensField = "max_completion_tokens"
		case s.MaxTokensField != "max_tokens" && s.MaxTokensField != "max_completion_tokens":
			return fmt.Errorf("%s.max_tokens_field: %q is neither max_completion_tokens nor max_tokens", f, s.MaxTokensField)
		}
		if s.Stream == nil {
			s.Stream = new(true)
		}
	}
	if len(c.Loads) == 0 {
		c.Loads = []string{"sequential"}
	}
	seen := map[string]bool{}
	for i, l := range c.Loads {
		if _, err := parseLoad(l); err != nil {
			return fmt.Errorf("loads[%d]: %w", i, err)
		}
		if seen[l] {
			return fmt.Errorf("loads[%d]: %q is listed twice", i, l)
		}
		seen[l] = true
	}
	if err := positive("trials", &c.Trials, defaultTrials, 1); err != nil {
		return err
	}
	if err := positive("warmups", &c.Warmups, defaultWarmups, 0); err != nil {
		return err
	}
	if err := positive("cold_trials", &c.ColdTrials, *c.Trials, 1); err != nil {
		return err
	}
	switch {
	case c.Windows < 0:
		return fmt.Errorf("windows: %d is negative", c.Windows)
	case c.Windows == 0:
		c.Windows = 1
	}
	if c.WindowGap < 0 {
		return fmt.Errorf("window_gap: %v is negative", time.Duration(c.WindowGap))
	}
	if err := orDefault("timeout", &c.Timeout, Duration(defaultTimeout)); err != nil {
		return err
	}
	if err := orDefault("max_requests", &c.MaxRequests, defaultMaxRequests); err != nil {
		return err
	}
	if err := orDefault("max_duration", &c.MaxDuration, Duration(defaultMaxDuration)); err != nil {
		return err
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return nil
}

// entry checks the name of entry i of a list (targets or scenarios): set,
// and unique in names. It returns how errors name the entry.
func entry(list, kind string, i int, name string, names map[string]bool) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%s[%d].name: missing", list, i)
	}
	f := fmt.Sprintf("%s[%d] (%s)", list, i, name)
	if names[name] {
		return "", fmt.Errorf("%s.name: %q is used by another %s", f, name, kind)
	}
	names[name] = true
	return f, nil
}

// orDefault sets a zero *v to def, and rejects a negative one.
func orDefault[T int | Duration](field string, v *T, def T) error {
	switch {
	case *v < 0:
		if d, ok := any(*v).(Duration); ok {
			return fmt.Errorf("%s: %v is negative", field, time.Duration(d))
		}
		return fmt.Errorf("%s: %v is negative", field, *v)
	case *v == 0:
		*v = def
	}
	return nil
}

// positive sets *p to def when absent and checks it is at least min.
func positive(field string, p **int, def, min int) error {
	if *p == nil {
		*p = new(def)
		return nil
	}
	if **p < min {
		return fmt.Errorf("%s: %d is below %d", field, **p, min)
	}
	return nil
}

// readPrompts reads a JSON Lines file of messages arrays.
func readPrompts(path string) ([]json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var msgs []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		}
		if err := json.Unmarshal(b, &msgs); err != nil || len(msgs) == 0 {
			return nil, fmt.Errorf("line %d: want a non-empty JSON array of messages", line)
		}
		for j, m := range msgs {
			if m.Role == "" {
				return nil, fmt.Errorf("line %d: message %d has no role", line, j)
			}
		}
		out = append(out, json.RawMessage(bytes.Clone(b)))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no prompts in " + path)
	}
	return out, nil
}
