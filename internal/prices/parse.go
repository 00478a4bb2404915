package prices

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// formatV1 is the value of the "format" member of this package's own
// catalogue format.
const formatV1 = "infermetrics/prices/v1"

// Parse reads a price catalogue in this package's own format or in
// LiteLLM's model_prices_and_context_window.json format, telling them apart
// by the presence of a top-level "format" member. The formats are described
// in the package documentation.
func Parse(r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	top, err := decodeObject(data)
	if err != nil {
		return nil, err
	}
	if _, ok := top.get("format"); ok {
		return parseV1(top)
	}
	return parseLiteLLM(top)
}

// An object is a decoded JSON object whose member values are left raw, in
// document order.
type object struct {
	keys []string
	vals []json.RawMessage
}

func (o *object) get(key string) (json.RawMessage, bool) {
	for i, k := range o.keys {
		if k == key {
			return o.vals[i], true
		}
	}
	return nil, false
}

// decodeObject decodes data, which must hold exactly one JSON object.
func decodeObject(data []byte) (*object, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, fmt.Errorf("prices: not JSON: %v", err)
	}
	if t := kind(data); t != "object" {
		return nil, fmt.Errorf("prices: top-level value is %s, want an object", t)
	}
	return objectOf(data)
}

// objectOf splits valid JSON holding an object into its members.
func objectOf(data []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, fmt.Errorf("prices: not JSON: %v", err)
	}
	o := new(object)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("prices: not JSON: %v", err)
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("prices: not JSON: %v", err)
		}
		o.keys = append(o.keys, k)
		o.vals = append(o.vals, v)
	}
	return o, nil
}

// kind names the type of a valid JSON value.
func kind(v json.RawMessage) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

func isNull(v json.RawMessage) bool { return kind(v) == "null" }

// parseNumber reads a non-negative finite price from v, scaled by 10^shift
// in decimal so that no binary rounding error is introduced.
func parseNumber(v json.RawMessage, shift int) (float64, error) {
	if k := kind(v); k != "number" {
		return 0, fmt.Errorf("not a number: %s %s", k, abbrev(v))
	}
	s := strings.TrimSpace(string(v))
	lit := s
	if shift != 0 {
		mant, exp := s, 0
		if i := strings.IndexAny(s, "eE"); i >= 0 {
			e, err := strconv.Atoi(s[i+1:])
			if err != nil {
				return 0, fmt.Errorf("price %s out of range", s)
			}
			mant, exp = s[:i], e
		}
		lit = mant + "e" + strconv.Itoa(exp+shift)
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("price %s out of range", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("negative price %s", s)
	}
	if f == 0 {
		f = 0 // not -0
	}
	return f, nil
}

// abbrev quotes at most 40 bytes of v for an error message.
func abbrev(v json.RawMessage) string {
	s := strings.TrimSpace(string(v))
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// LiteLLM's per-token price members and the Price fields they fill.
var liteLLMFields = []struct {
	name string
	set  func(*Price, float64)
}{
	{"input_cost_per_token", func(p *Price, f float64) { p.Input = f }},
	{"output_cost_per_token", func(p *Price, f float64) { p.Output = f }},
	{"cache_read_input_token_cost", func(p *Price, f float64) { p.CachedInput = f }},
	{"cache_creation_input_token_cost", func(p *Price, f float64) { p.CacheWrite = f }},
	{"output_cost_per_reasoning_token", func(p *Price, f float64) { p.Reasoning = f }},
}

func parseLiteLLM(top *object) (*Catalog, error) {
	list := make([]entry, 0, len(top.keys))
	for i, key := range top.keys {
		if key == "sample_spec" {
			continue
		}
		e, ok, err := liteLLMEntry(key, top.vals[i])
		if err != nil {
			return nil, fmt.Errorf("prices: model %q: %v", key, err)
		}
		if ok {
			list = append(list, e)
		}
	}
	return newCatalog(list), nil
}

// liteLLMEntry converts one LiteLLM entry; ok is false for an entry that is
// skipped.
func liteLLMEntry(key string, raw json.RawMessage) (e entry, ok bool, err error) {
	if k := kind(raw); k != "object" {
		return entry{}, false, fmt.Errorf("entry is %s, want an object", k)
	}
	obj, err := objectOf(raw)
	if err != nil {
		return entry{}, false, err
	}
	str := func(name string) (string, error) {
		v, ok := obj.get(name)
		if !ok || isNull(v) {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("%s: %s %s, want a string", name, kind(v), abbrev(v))
		}
		return s, nil
	}
	mode, err := str("mode")
	if err != nil {
		return entry{}, false, err
	}
	if mode != "" && mode != "chat" && mode != "responses" {
		return entry{}, false, nil
	}
	for _, name := range []string{"input_cost_per_token", "output_cost_per_token"} {
		if v, ok := obj.get(name); !ok || isNull(v) {
			return entry{}, false, nil
		}
	}
	var p Price
	for _, f := range liteLLMFields {
		v, ok := obj.get(f.name)
		if !ok || isNull(v) {
			continue
		}
		x, err := parseNumber(v, 6)
		if err != nil {
			return entry{}, false, fmt.Errorf("%s: %v", f.name, err)
		}
		f.set(&p, x)
	}
	if p.Source, err = str("source"); err != nil {
		p.Source = "" // a malformed source is not a price; ignore it
	}
	litellmProvider, err := str("litellm_provider")
	if err != nil {
		return entry{}, false, err
	}

	model := strings.ToLower(strings.TrimSpace(key))
	provider := ""
	if head, rest, found := strings.Cut(model, "/"); found && rest != "" {
		if p, known := providerAliases[head]; known {
			provider = p
		} else if head == strings.ToLower(litellmProvider) {
			provider = canonicalProvider(head)
		}
		if provider != "" {
			model = rest
		}
	}
	if model == "" {
		return entry{}, false, errors.New("empty model name")
	}
	return entry{
		id:       entryID(provider, model),
		key:      key,
		provider: provider,
		model:    model,
		price:    p,
	}, true, nil
}

// v1 members of a model entry, with the Price fields they fill.
var v1Prices = []struct {
	name     string
	required bool
	set      func(*Price, float64)
}{
	{"input", true, func(p *Price, f float64) { p.Input = f }},
	{"cached_input", false, func(p *Price, f float64) { p.CachedInput = f }},
	{"cache_write", false, func(p *Price, f float64) { p.CacheWrite = f }},
	{"output", true, func(p *Price, f float64) { p.Output = f }},
	{"reasoning", false, func(p *Price, f float64) { p.Reasoning = f }},
}

func parseV1(top *object) (*Catalog, error) {
	for _, k := range top.keys {
		if k != "format" && k != "models" {
			return nil, fmt.Errorf("prices: unknown top-level member %q", k)
		}
	}
	fv, _ := top.get("format")
	var format string
	if err := json.Unmarshal(fv, &format); err != nil {
		return nil, fmt.Errorf("prices: format: %s %s, want a string", kind(fv), abbrev(fv))
	}
	if format != formatV1 {
		return nil, fmt.Errorf("prices: unknown format %q, want %q", format, formatV1)
	}
	mv, ok := top.get("models")
	if !ok {
		return nil, errors.New(`prices: missing "models"`)
	}
	var models []json.RawMessage
	if k := kind(mv); k != "array" {
		return nil, fmt.Errorf("prices: models: %s, want an array", k)
	}
	if err := json.Unmarshal(mv, &models); err != nil {
		return nil, fmt.Errorf("prices: models: %v", err)
	}
	list := make([]entry, 0, len(models))
	seen := make(map[string]int, len(models))
	for i, raw := range models {
		e, err := v1Entry(raw)
		if err != nil {
			if e.model != "" {
				return nil, fmt.Errorf("prices: models[%d] (model %q): %v", i, e.model, err)
			}
			return nil, fmt.Errorf("prices: models[%d]: %v", i, err)
		}
		if j, dup := seen[e.id]; dup {
			return nil, fmt.Errorf("prices: models[%d] (model %q): duplicate of models[%d]", i, e.key, j)
		}
		seen[e.id] = i
		list = append(list, e)
	}
	return newCatalog(list), nil
}

// v1Entry converts one element of "models". On error, the returned entry
// carries the model name if it was read.
func v1Entry(raw json.RawMessage) (entry, error) {
	if k := kind(raw); k != "object" {
		return entry{}, fmt.Errorf("%s, want an object", k)
	}
	obj, err := objectOf(raw)
	if err != nil {
		return entry{}, err
	}
	var e entry
	str := func(name string) (string, error) {
		v, ok := obj.get(name)
		if !ok || isNull(v) {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("%s: %s %s, want a string", name, kind(v), abbrev(v))
		}
		return strings.TrimSpace(s), nil
	}
	name, err := str("model")
	if err != nil {
		return e, err
	}
	if name == "" {
		return e, errors.New("missing model name")
	}
	e.model = name
	for _, k := range obj.keys {
		switch k {
		case "provider", "model", "input", "cached_input", "cache_write",
			"output", "reasoning", "as_of", "source":
		default:
			return e, fmt.Errorf("unknown member %q", k)
		}
	}
	provider, err := str("provider")
	if err != nil {
		return e, err
	}
	provider = canonicalProvider(provider)
	var p Price
	for _, f := range v1Prices {
		v, ok := obj.get(f.name)
		if !ok || isNull(v) {
			if f.required {
				return e, fmt.Errorf("missing %s price", f.name)
			}
			continue
		}
		x, err := parseNumber(v, 0)
		if err != nil {
			return e, fmt.Errorf("%s: %v", f.name, err)
		}
		f.set(&p, x)
	}
	if p.AsOf, err = str("as_of"); err != nil {
		return e, err
	}
	if p.AsOf != "" {
		if _, err := time.Parse(time.DateOnly, p.AsOf); err != nil {
			return e, fmt.Errorf("as_of: %q is not a YYYY-MM-DD date", p.AsOf)
		}
	}
	if p.Source, err = str("source"); err != nil {
		return e, err
	}
	model := strings.ToLower(name)
	e = entry{
		id:       entryID(provider, model),
		key:      entryID(provider, name),
		provider: provider,
		model:    model,
		price:    p,
	}
	return e, nil
}
