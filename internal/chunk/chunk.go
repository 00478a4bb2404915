// Package chunk reads the facts infermetrics needs from one chat-completions
// JSON object (a streamed chunk or a whole non-streamed response) in a single
// pass, without allocating and without decoding into maps or structs.
//
// The reader is deliberately narrow: it walks the object's structure, looks
// at the handful of keys that carry timing-relevant or billing-relevant
// information, and skips every other value by scanning for its end. Strings
// are left escaped; callers that need text unescape the spans they care about
// with [AppendUnescaped].
package chunk

import (
	"bytes"
)

// TextKind says what a span of generated text is.
type TextKind uint8

// Kinds of generated text.
const (
	Content   TextKind = iota + 1 // visible answer text (delta.content / message.content)
	Reasoning                     // reasoning_content, reasoning, or a thinking part
	Detail                        // text inside reasoning_details (duplicates Reasoning on some providers)
	Refusal                       // delta.refusal
	Tool                          // tool or function call name or arguments
)

// MaxSpans is how many text spans one object reports; further spans still set
// the token flags but their text is not returned.
const MaxSpans = 8

// Span is one piece of generated text, still JSON-escaped, aliasing the input.
type Span struct {
	Kind TextKind
	Raw  []byte
}

// Usage is a usage object as a provider reported it. A field is -1 when
// absent.
type Usage struct {
	Prompt, Completion, Total int64
	Cached, CacheWrite        int64
	Reasoning                 int64
	DeepSeekCacheHit          int64
	// Cost is a provider-reported cost in US dollars (OpenRouter's usage.cost,
	// or xAI's cost_in_usd_ticks converted); negative when absent.
	Cost float64
}

func (u *Usage) reset() {
	*u = Usage{-1, -1, -1, -1, -1, -1, -1, -1}
}

// Facts is what one object says. The zero value is ready for [Parse], which
// resets it. Parse also keeps in it the start of the object it read, to
// skip the same bytes in the next one (see [Facts.Reset]); it is kept by
// value, so a copy of a Facts is independent of the original.
type Facts struct {
	// Malformed is set when the object is not well-formed JSON (as far as
	// the reader looked) or not an object.
	Malformed bool

	ID, Model []byte // raw (escaped) id and model strings, nil if absent

	Choices      int  // number of choice objects
	ChoicesArray bool // a "choices" array was present (possibly empty)
	HasReasoning bool // some choice carries reasoning text
	// Encrypted is set when a choice carries reasoning as opaque data (a
	// reasoning_details item of type reasoning.encrypted): evidence that the
	// model reasoned, but no text, so by itself not a token.
	Encrypted    bool
	HasAnswer    bool // some choice carries content, refusal or tool call text
	HasRefusal   bool
	HasToolCall  bool
	HasContent   bool
	NonBlank     bool // some content text has a non-whitespace character
	ReasonString bool // reasoning came in a string field (not only details)
	FinishReason []byte
	FinishIndex  int64 // choice index the finish reason belongs to
	FinishCount  int   // number of non-null finish reasons
	Filtered     bool  // a content filter result said "filtered": true
	Error        bool  // a top-level "error" key is present
	ErrorRaw     []byte
	UsagePresent bool // a non-null usage object was present
	Usage        Usage
	XGroqPresent bool // x_groq.usage was present
	XGroqUsage   Usage
	ObjectDone   bool // "object" is "chat.completion.done" (Perplexity)

	// Tier and Fingerprint are the raw (escaped) top-level service_tier
	// and system_fingerprint strings, nil if absent (a Responses API
	// response has a tier and no fingerprint).
	Tier, Fingerprint []byte

	// Set by the Responses API readers only (responses.go). Delta is the
	// kind of text a delta event carries, Final the kind a ".done" event
	// repeats whole (0 for other events); Image is set when an image
	// generation call delivered an image. Output is set when the spans
	// and flags are a terminal event's output, which repeats what the
	// stream's events carried: only a stream that sent none of it (a
	// provider that sends the terminal event alone) has them nowhere else.
	Delta, Final  TextKind
	Image, Output bool

	Spans  [MaxSpans]Span
	NSpans int

	// prev is the start of the previous object Parse read into f, kept to
	// skip the same bytes in the next one.
	prev prefix
}

// maxPrefix is the longest start of an object Parse keeps to compare the
// next object with. An OpenAI chunk's id, object, created, model,
// service_tier and system_fingerprint take about 190 bytes.
const maxPrefix = 384

// prefix is the start of an object up to the key "choices", when all the
// members before it (at least one) are "id", "model", "object" or keys
// Parse ignores (a streamed chunk's id, object, created, model,
// service_tier, system_fingerprint, which a stream repeats in every chunk),
// and the facts those members gave. It ends with the comma before "choices"
// and any white space after it. An object that starts with the same bytes
// has the same facts after them, so Parse takes those facts and reads on
// from there as after any comma between members.
type prefix struct {
	n          int    // length of b in use; 0 when none is kept
	id, model  [2]int // ID and Model as offsets in b; [0] is -1 when nil
	tier, fp   [2]int // Tier and Fingerprint, the same way
	objectDone bool
	b          [maxPrefix]byte
}

// Reset forgets what f remembers of the objects read into it. Parse gives
// the same facts with or without it (it reuses what it remembers only for
// an object that starts with the same bytes); Reset is for a Facts reused
// for another stream, so that it holds nothing of the earlier one.
func (f *Facts) Reset() {
	*f = Facts{}
}

// clear sets every exported field as Parse starts, keeping prev.
func (f *Facts) clear() {
	n := f.NSpans
	f.Malformed = false
	f.ID, f.Model = nil, nil
	f.Choices, f.ChoicesArray = 0, false
	f.HasReasoning, f.HasAnswer, f.HasRefusal, f.HasToolCall, f.HasContent = false, false, false, false, false
	f.Encrypted = false
	f.NonBlank, f.ReasonString = false, false
	f.FinishReason, f.FinishIndex, f.FinishCount = nil, -1, 0
	f.Filtered, f.Error, f.ErrorRaw = false, false, nil
	f.UsagePresent, f.XGroqPresent = false, false
	f.Usage.reset()
	f.XGroqUsage.reset()
	f.ObjectDone = false
	f.Delta, f.Final, f.Image, f.Output, f.Tier, f.Fingerprint = 0, 0, false, false, nil, nil
	for i := range min(n, MaxSpans) {
		f.Spans[i] = Span{}
	}
	f.NSpans = 0
}

// Parse reads one JSON object from b into f. It never panics and never
// allocates; f's byte slices alias b.
//
// Parse remembers the start of the object in f (see [Facts.Reset]): the
// chunks of a stream repeat their first members, and an object that starts
// with the same bytes as the previous one is read from where they end. The
// facts are the same as without it.
func Parse(b []byte, f *Facts) {
	f.clear()
	p := parser{b: b, f: f, id: -1, model: -1, tier: -1, fp: -1}
	var i, st int
	if r := &f.prev; r.n > 0 && len(b) >= r.n && string(b[:r.n]) == string(r.b[:r.n]) {
		// The same members as last time, up to just after a comma (and
		// white space): what follows must be another member.
		if r.id[0] >= 0 {
			f.ID = b[r.id[0]:r.id[1]]
		}
		if r.model[0] >= 0 {
			f.Model = b[r.model[0]:r.model[1]]
		}
		if r.tier[0] >= 0 {
			f.Tier = b[r.tier[0]:r.tier[1]]
		}
		if r.fp[0] >= 0 {
			f.Fingerprint = b[r.fp[0]:r.fp[1]]
		}
		f.ObjectDone = r.objectDone
		p.reused = true
		i, st = p.ws(r.n), more
		if i >= len(b) {
			f.Malformed = true
			return
		}
	} else {
		i = p.ws(0)
		if i >= len(b) || b[i] != '{' {
			f.Malformed = true
			return
		}
		i, st = p.open(i, '}')
	}
	i, ok := p.top(i, st)
	if !ok {
		f.Malformed = true
		return
	}
	if p.ws(i) != len(b) {
		f.Malformed = true
	}
}

// keep remembers b[:n], the members read so far, and their facts.
func (p *parser) keep(n int) {
	r := &p.f.prev
	if n > maxPrefix {
		r.n = 0
		return
	}
	r.n = copy(r.b[:], p.b[:n])
	f := p.f
	r.id = [2]int{-1, -1}
	if f.ID != nil {
		r.id = [2]int{p.id, p.id + len(f.ID)}
	}
	r.model = [2]int{-1, -1}
	if f.Model != nil {
		r.model = [2]int{p.model, p.model + len(f.Model)}
	}
	r.tier = [2]int{-1, -1}
	if f.Tier != nil {
		r.tier = [2]int{p.tier, p.tier + len(f.Tier)}
	}
	r.fp = [2]int{-1, -1}
	if f.Fingerprint != nil {
		r.fp = [2]int{p.fp, p.fp + len(f.Fingerprint)}
	}
	r.objectDone = f.ObjectDone
}

type parser struct {
	b []byte
	f *Facts

	id, model int  // offsets of f.ID and f.Model in b
	tier, fp  int  // and of f.Tier and f.Fingerprint
	reused    bool // the object's start came from f.prev
}

// Iteration states for objects and arrays.
const (
	more = iota
	end
	bad
)

func (p *parser) ws(i int) int {
	b := p.b
	for i < len(b) {
		if c := b[i]; c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return i
		}
		i++
	}
	return i
}

// value returns the index of the value after a key and its colon that
// end at j, as [parser.key] does, and whether there is one. The key
// functions match the keys a chunk usually carries as they are usually
// written (`"index":`, compared whole) and leave any other, and any
// written otherwise, to [parser.key].
func (p *parser) value(j int) (int, bool) {
	b := p.b
	if b[j] > ' ' {
		return j, true
	}
	j = p.ws(j)
	return j, j < len(b)
}

// open enters an object or array at b[i] and returns the index of its first
// member, or of the byte after it when it is empty.
func (p *parser) open(i int, closer byte) (int, int) {
	i = p.ws(i + 1)
	if i >= len(p.b) {
		return i, bad
	}
	if p.b[i] == closer {
		return i + 1, end
	}
	return i, more
}

// key reads `"name" :` at i and returns the name and the index of the value.
func (p *parser) key(i int) ([]byte, int, bool) {
	if i >= len(p.b) || p.b[i] != '"' {
		return nil, i, false
	}
	k, j, ok := p.str(i)
	if !ok {
		return nil, j, false
	}
	b := p.b
	if j >= len(b) || b[j] != ':' {
		j = p.ws(j)
		if j >= len(b) || b[j] != ':' {
			return nil, j, false
		}
	}
	j++
	if j < len(b) && b[j] > ' ' {
		return k, j, true
	}
	j = p.ws(j)
	if j >= len(b) {
		return nil, j, false
	}
	return k, j, true
}

// next moves past the separator after a member that ended at j.
func (p *parser) next(j int, closer byte) (int, int) {
	b := p.b
	if j+1 < len(b) && b[j] == ',' && b[j+1] > ' ' {
		return j + 1, more
	}
	j = p.ws(j)
	if j >= len(p.b) {
		return j, bad
	}
	switch p.b[j] {
	case ',':
		k := p.ws(j + 1)
		if k >= len(p.b) {
			return k, bad
		}
		return k, more
	case closer:
		return j + 1, end
	}
	return j, bad
}

// str reads a string starting at b[i] == '"' and returns its escaped
// contents and the index after the closing quote.
func (p *parser) str(i int) ([]byte, int, bool) {
	b := p.b
	start := i + 1
	j := start
	// Most strings in a chunk are short: look at their bytes one by one,
	// which costs less than setting up IndexByte, stepping over escapes.
	for lim := min(len(b), start+24); j < lim; {
		switch b[j] {
		case '"':
			return b[start:j], j + 1, true
		case '\\':
			j += 2
		default:
			j++
		}
	}
	// Longer strings: search for quotes and count the backslashes before
	// each. j is not inside an escape, so counting back from a quote may
	// cross it.
	for {
		if j > len(p.b) {
			return nil, len(p.b), false
		}
		k := bytes.IndexByte(p.b[j:], '"')
		if k < 0 {
			return nil, len(p.b), false
		}
		j += k
		// Count the backslashes before the quote.
		n := 0
		for m := j - 1; m >= start && p.b[m] == '\\'; m-- {
			n++
		}
		if n%2 == 0 {
			return p.b[start:j], j + 1, true
		}
		j++
	}
}

// maxDepth is the deepest nesting skip follows, as encoding/json's limit:
// deeper input is reported malformed instead of growing the stack.
const maxDepth = 10000

// skip skips any value starting at b[i], checking its structure (strings
// are delimited but their escapes are not checked).
func (p *parser) skip(i int) (int, bool) {
	return p.skipDepth(i, 0)
}

func (p *parser) skipDepth(i, depth int) (int, bool) {
	if i >= len(p.b) {
		return i, false
	}
	switch p.b[i] {
	case '"':
		_, j, ok := p.str(i)
		return j, ok
	case '{':
		if depth >= maxDepth {
			return i, false
		}
		i, st := p.open(i, '}')
		for st == more {
			_, v, ok := p.key(i)
			if !ok {
				return v, false
			}
			j, ok := p.skipDepth(v, depth+1)
			if !ok {
				return j, false
			}
			i, st = p.next(j, '}')
		}
		return i, st == end
	case '[':
		if depth >= maxDepth {
			return i, false
		}
		i, st := p.open(i, ']')
		for st == more {
			j, ok := p.skipDepth(i, depth+1)
			if !ok {
				return j, false
			}
			i, st = p.next(j, ']')
		}
		return i, st == end
	default:
		// Number, true, false or null: run to the next delimiter.
		b := p.b
		if b[i] == 'n' && len(b)-i >= 4 && string(b[i:i+4]) == "null" && (len(b)-i == 4 || delim(b[i+4])) {
			return i + 4, true
		}
		j := i
		for j < len(p.b) {
			switch p.b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j, j > i && validScalar(p.b[i:j])
			}
			j++
		}
		return j, j > i && validScalar(p.b[i:j])
	}
}

// delim reports whether c ends a number, true, false or null.
func delim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func validScalar(s []byte) bool {
	switch string(s) {
	case "true", "false", "null":
		return true
	}
	c := s[0]
	return c == '-' || (c >= '0' && c <= '9')
}

// strField reads a string value at i; a non-string value is skipped and
// reported as nil.
func (p *parser) strField(i int) ([]byte, int, bool) {
	if p.b[i] == '"' {
		return p.str(i)
	}
	j, ok := p.skip(i)
	return nil, j, ok
}

// Keys the reader acts on, by the object they are in; kOther is any other.
const (
	kOther = iota
	kID
	kModel
	kObject
	kChoices
	kUsage
	kXGroq
	kError
	kFilter // prompt_filter_results or content_filter_results
	kIndex
	kDelta // delta or message
	kFinish
	kContent
	kReasoning // reasoning_content, reasoning or thinking
	kDetails
	kRefusal
	kToolCalls
	kFunctionCall
	kTier        // service_tier
	kFingerprint // system_fingerprint
)

// topKey reads the key of a top-level member at b[i] and returns what it
// is and the index of its value. The keys a streamed chunk carries after
// its repeated start are matched as they are usually written, before
// [parser.key] reads any other.
func (p *parser) topKey(i int) (int, int, bool) {
	if b := p.b; i+1 < len(b) {
		switch b[i+1] {
		case 'c':
			if len(b)-i > 10 && string(b[i:i+10]) == `"choices":` {
				if v, ok := p.value(i + 10); ok {
					return kChoices, v, true
				}
			}
			if len(b)-i > 10 && string(b[i:i+10]) == `"created":` {
				if v, ok := p.value(i + 10); ok {
					return kOther, v, true
				}
			}
		case 'u':
			if len(b)-i > 8 && string(b[i:i+8]) == `"usage":` {
				if v, ok := p.value(i + 8); ok {
					return kUsage, v, true
				}
			}
		case 'o':
			if len(b)-i > 14 && string(b[i:i+14]) == `"obfuscation":` {
				if v, ok := p.value(i + 14); ok {
					return kOther, v, true
				}
			}
			if len(b)-i > 9 && string(b[i:i+9]) == `"object":` {
				if v, ok := p.value(i + 9); ok {
					return kObject, v, true
				}
			}
		case 'i':
			if len(b)-i > 5 && string(b[i:i+5]) == `"id":` {
				if v, ok := p.value(i + 5); ok {
					return kID, v, true
				}
			}
		case 'm':
			if len(b)-i > 8 && string(b[i:i+8]) == `"model":` {
				if v, ok := p.value(i + 8); ok {
					return kModel, v, true
				}
			}
		case 's':
			if len(b)-i > 21 && string(b[i:i+21]) == `"system_fingerprint":` {
				if v, ok := p.value(i + 21); ok {
					return kFingerprint, v, true
				}
			}
			if len(b)-i > 15 && string(b[i:i+15]) == `"service_tier":` {
				if v, ok := p.value(i + 15); ok {
					return kTier, v, true
				}
			}
		}
	}
	k, v, ok := p.key(i)
	if !ok {
		return kOther, v, false
	}
	switch string(k) {
	case "id":
		return kID, v, true
	case "model":
		return kModel, v, true
	case "object":
		return kObject, v, true
	case "choices":
		return kChoices, v, true
	case "usage":
		return kUsage, v, true
	case "x_groq":
		return kXGroq, v, true
	case "error":
		return kError, v, true
	case "prompt_filter_results", "content_filter_results":
		return kFilter, v, true
	case "service_tier":
		return kTier, v, true
	case "system_fingerprint":
		return kFingerprint, v, true
	}
	return kOther, v, true
}

// choiceKey is topKey for the members of a choice.
func (p *parser) choiceKey(i int) (int, int, bool) {
	if b := p.b; i+1 < len(b) {
		switch b[i+1] {
		case 'i':
			if len(b)-i > 8 && string(b[i:i+8]) == `"index":` {
				if v, ok := p.value(i + 8); ok {
					return kIndex, v, true
				}
			}
		case 'd':
			if len(b)-i > 8 && string(b[i:i+8]) == `"delta":` {
				if v, ok := p.value(i + 8); ok {
					return kDelta, v, true
				}
			}
		case 'l':
			if len(b)-i > 11 && string(b[i:i+11]) == `"logprobs":` {
				if v, ok := p.value(i + 11); ok {
					return kOther, v, true
				}
			}
		case 'f':
			if len(b)-i > 16 && string(b[i:i+16]) == `"finish_reason":` {
				if v, ok := p.value(i + 16); ok {
					return kFinish, v, true
				}
			}
		}
	}
	k, v, ok := p.key(i)
	if !ok {
		return kOther, v, false
	}
	switch string(k) {
	case "index":
		return kIndex, v, true
	case "delta", "message":
		return kDelta, v, true
	case "finish_reason":
		return kFinish, v, true
	case "content_filter_results":
		return kFilter, v, true
	}
	return kOther, v, true
}

// deltaKey is topKey for the members of a delta or message.
func (p *parser) deltaKey(i int) (int, int, bool) {
	if b := p.b; i+1 < len(b) {
		switch b[i+1] {
		case 'c':
			if len(b)-i > 10 && string(b[i:i+10]) == `"content":` {
				if v, ok := p.value(i + 10); ok {
					return kContent, v, true
				}
			}
		case 'r':
			if len(b)-i > 7 && string(b[i:i+7]) == `"role":` {
				if v, ok := p.value(i + 7); ok {
					return kOther, v, true
				}
			}
			if len(b)-i > 10 && string(b[i:i+10]) == `"refusal":` {
				if v, ok := p.value(i + 10); ok {
					return kRefusal, v, true
				}
			}
		}
	}
	k, v, ok := p.key(i)
	if !ok {
		return kOther, v, false
	}
	switch string(k) {
	case "content":
		return kContent, v, true
	case "reasoning_content", "reasoning", "thinking":
		return kReasoning, v, true
	case "reasoning_details":
		return kDetails, v, true
	case "refusal":
		return kRefusal, v, true
	case "tool_calls":
		return kToolCalls, v, true
	case "function_call":
		return kFunctionCall, v, true
	}
	return kOther, v, true
}

// top reads the members of the top-level object from b[i], in state st.
func (p *parser) top(i, st int) (int, bool) {
	f := p.f
	// members counts the members before i that a prefix may hold; -1 once
	// one that may not was read.
	members := 0
	if p.reused {
		members = -1
	}
	for st == more {
		c, v, ok := p.topKey(i)
		if !ok {
			return v, false
		}
		var j int
		plain := true // the member sets nothing but ID, Model or ObjectDone
		switch c {
		case kID:
			var s []byte
			s, j, ok = p.strField(v)
			if f.ID == nil && s != nil {
				f.ID, p.id = s, v+1
			}
		case kModel:
			var s []byte
			s, j, ok = p.strField(v)
			if s != nil {
				f.Model, p.model = s, v+1
			}
		case kObject:
			var s []byte
			s, j, ok = p.strField(v)
			f.ObjectDone = string(s) == "chat.completion.done"
		case kTier:
			f.Tier, j, ok = p.strField(v)
			p.tier = v + 1
		case kFingerprint:
			f.Fingerprint, j, ok = p.strField(v)
			p.fp = v + 1
		case kChoices:
			plain = false
			if members > 0 {
				p.keep(i)
			}
			// With duplicate keys the last one counts, as encoding/json
			// decodes it.
			f.Choices = 0
			f.ChoicesArray = p.b[v] == '['
			if f.ChoicesArray {
				j, ok = p.choices(v)
			} else {
				j, ok = p.skip(v)
			}
		case kUsage:
			plain = false
			f.Usage.reset()
			f.UsagePresent = p.b[v] == '{'
			if f.UsagePresent {
				j, ok = p.usage(v, &f.Usage)
			} else {
				j, ok = p.skip(v)
			}
		case kXGroq:
			plain = false
			if p.b[v] == '{' {
				j, ok = p.xgroq(v)
			} else {
				j, ok = p.skip(v)
			}
		case kError:
			plain = false
			f.Error = true
			j, ok = p.skip(v)
			f.ErrorRaw = p.b[v:j]
		case kFilter:
			plain = false
			j, ok = p.skipFilter(v)
		default:
			j, ok = p.skip(v)
		}
		if !ok {
			return j, false
		}
		if plain {
			if members >= 0 {
				members++
			}
		} else {
			members = -1
		}
		i, st = p.next(j, '}')
	}
	return i, st == end
}

func (p *parser) xgroq(i int) (int, bool) {
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		if string(k) == "usage" && p.b[v] == '{' {
			p.f.XGroqPresent = true
			j, ok = p.usage(v, &p.f.XGroqUsage)
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

// skipFilter skips an Azure content filter result, noting whether any
// category was filtered.
func (p *parser) skipFilter(i int) (int, bool) {
	j, ok := p.skip(i)
	if ok && filteredTrue(p.b[i:j]) {
		p.f.Filtered = true
	}
	return j, ok
}

func filteredTrue(b []byte) bool {
	for {
		k := bytes.Index(b, []byte(`"filtered"`))
		if k < 0 {
			return false
		}
		b = b[k+len(`"filtered"`):]
		n := 0
		for n < len(b) && (b[n] == ' ' || b[n] == ':' || b[n] == '\t') {
			n++
		}
		if bytes.HasPrefix(b[n:], []byte("true")) {
			return true
		}
	}
}

func (p *parser) choices(i int) (int, bool) {
	i, st := p.open(i, ']')
	for st == more {
		j, ok := p.choice(i)
		if !ok {
			return j, false
		}
		i, st = p.next(j, ']')
	}
	return i, st == end
}

func (p *parser) choice(i int) (int, bool) {
	if p.b[i] != '{' {
		return p.skip(i)
	}
	f := p.f
	f.Choices++
	index := int64(-1)
	var finish []byte
	i, st := p.open(i, '}')
	for st == more {
		c, v, ok := p.choiceKey(i)
		if !ok {
			return v, false
		}
		var j int
		switch c {
		case kIndex:
			var n int64
			n, j, ok = p.int(v)
			if ok && n >= 0 {
				index = n
			}
		case kDelta:
			if p.b[v] == '{' {
				j, ok = p.delta(v)
			} else {
				j, ok = p.skip(v)
			}
		case kFinish:
			var s []byte
			s, j, ok = p.strField(v)
			if len(s) > 0 {
				finish = s
			}
		case kFilter:
			j, ok = p.skipFilter(v)
		default:
			j, ok = p.skip(v)
		}
		if !ok {
			return j, false
		}
		i, st = p.next(j, '}')
	}
	if finish != nil {
		f.FinishCount++
		// Prefer choice 0's finish reason; otherwise keep the first one.
		if f.FinishReason == nil || (index == 0 && f.FinishIndex != 0) {
			f.FinishReason = finish
			f.FinishIndex = index
		}
	}
	return i, st == end
}

func (p *parser) addSpan(kind TextKind, raw []byte) {
	if len(raw) == 0 {
		return
	}
	f := p.f
	switch kind {
	case Content:
		f.HasContent, f.HasAnswer = true, true
		if !f.NonBlank && !blank(raw) {
			f.NonBlank = true
		}
	case Reasoning:
		f.HasReasoning, f.ReasonString = true, true
	case Detail:
		f.HasReasoning = true
	case Refusal:
		f.HasRefusal, f.HasAnswer = true, true
	case Tool:
		f.HasToolCall, f.HasAnswer = true, true
	}
	if f.NSpans < MaxSpans {
		f.Spans[f.NSpans] = Span{kind, raw}
		f.NSpans++
	}
}

// blank reports whether escaped JSON string contents hold only white space.
func blank(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ' ', '\t':
		case '\\':
			if i+1 < len(raw) {
				switch raw[i+1] {
				case 'n', 'r', 't':
					i++
					continue
				}
			}
			return false
		default:
			return false
		}
	}
	return true
}

// delta reads a delta (streamed) or message (non-streamed) object.
func (p *parser) delta(i int) (int, bool) {
	i, st := p.open(i, '}')
	for st == more {
		c, v, ok := p.deltaKey(i)
		if !ok {
			return v, false
		}
		var j int
		switch c {
		case kContent:
			switch p.b[v] {
			case '"':
				var s []byte
				s, j, ok = p.str(v)
				p.addSpan(Content, s)
			case '[':
				j, ok = p.parts(v, Content)
			default:
				j, ok = p.skip(v)
			}
		case kReasoning:
			var s []byte
			s, j, ok = p.strField(v)
			p.addSpan(Reasoning, s)
		case kDetails:
			if p.b[v] == '[' {
				j, ok = p.details(v)
			} else {
				j, ok = p.skip(v)
			}
		case kRefusal:
			var s []byte
			s, j, ok = p.strField(v)
			p.addSpan(Refusal, s)
		case kToolCalls:
			if p.b[v] == '[' {
				j, ok = p.toolCalls(v)
			} else {
				j, ok = p.skip(v)
			}
		case kFunctionCall:
			if p.b[v] == '{' {
				j, ok = p.function(v)
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

// parts reads an array of typed content parts (Mistral and others stream
// content as [{"type":"text","text":…}] or [{"type":"thinking","thinking":[…]}]).
// kind is the kind of a plain text part: Content at the top, Reasoning
// inside a thinking part.
func (p *parser) parts(i int, kind TextKind) (int, bool) {
	i, st := p.open(i, ']')
	for st == more {
		j, ok := p.part(i, kind)
		if !ok {
			return j, false
		}
		i, st = p.next(j, ']')
	}
	return i, st == end
}

func (p *parser) part(i int, kind TextKind) (int, bool) {
	if p.b[i] != '{' {
		return p.skip(i)
	}
	var typ, text []byte
	think := -1
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
		case "text":
			text, j, ok = p.strField(v)
		case "thinking":
			think = v
			j, ok = p.skip(v)
		default:
			j, ok = p.skip(v)
		}
		if !ok {
			return j, false
		}
		i, st = p.next(j, '}')
	}
	switch string(typ) {
	case "thinking", "reasoning":
		switch {
		case think >= 0 && p.b[think] == '"':
			s, _, _ := p.str(think)
			p.addSpan(Reasoning, s)
		case think >= 0 && p.b[think] == '[':
			p.parts(think, Reasoning)
		default:
			p.addSpan(Reasoning, text)
		}
	case "text", "":
		p.addSpan(kind, text)
	case "refusal":
		p.addSpan(Refusal, text)
	}
	return i, st == end
}

// details reads reasoning_details items: {"type":"reasoning.text","text":…},
// {"type":"reasoning.summary","summary":…} or {"type":"reasoning.encrypted",
// "data":…}. Encrypted data is evidence of reasoning but not text: it sets
// Encrypted, not HasReasoning. A signature (Anthropic's, on an item whose
// text is empty) is skipped like any other key.
func (p *parser) details(i int) (int, bool) {
	i, st := p.open(i, ']')
	for st == more {
		var j int
		ok := true
		if p.b[i] == '{' {
			j, ok = p.detail(i)
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

func (p *parser) detail(i int) (int, bool) {
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		switch string(k) {
		case "text", "summary":
			var s []byte
			s, j, ok = p.strField(v)
			p.addSpan(Detail, s)
		case "data":
			var s []byte
			s, j, ok = p.strField(v)
			if len(s) > 0 {
				p.f.Encrypted = true
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

func (p *parser) toolCalls(i int) (int, bool) {
	i, st := p.open(i, ']')
	for st == more {
		var j int
		ok := true
		if p.b[i] == '{' {
			j, ok = p.toolCall(i)
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

func (p *parser) toolCall(i int) (int, bool) {
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		if string(k) == "function" && p.b[v] == '{' {
			j, ok = p.function(v)
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

func (p *parser) function(i int) (int, bool) {
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		switch string(k) {
		case "name", "arguments":
			var s []byte
			s, j, ok = p.strField(v)
			p.addSpan(Tool, s)
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

func (p *parser) usage(i int, u *Usage) (int, bool) {
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		switch string(k) {
		case "prompt_tokens", "input_tokens":
			j, ok = p.intInto(v, &u.Prompt)
		case "completion_tokens", "output_tokens":
			j, ok = p.intInto(v, &u.Completion)
		case "total_tokens":
			j, ok = p.intInto(v, &u.Total)
		case "prompt_cache_hit_tokens":
			j, ok = p.intInto(v, &u.DeepSeekCacheHit)
		case "cache_read_input_tokens":
			if u.Cached < 0 {
				j, ok = p.intInto(v, &u.Cached)
			} else {
				j, ok = p.skip(v)
			}
		case "cache_creation_input_tokens":
			j, ok = p.intInto(v, &u.CacheWrite)
		case "prompt_tokens_details", "input_tokens_details":
			if p.b[v] == '{' {
				j, ok = p.promptDetails(v, u)
			} else {
				j, ok = p.skip(v)
			}
		case "completion_tokens_details", "output_tokens_details":
			if p.b[v] == '{' {
				j, ok = p.completionDetails(v, u)
			} else {
				j, ok = p.skip(v)
			}
		case "cost":
			var c float64
			var good bool
			c, j, good = p.float(v)
			ok = j > v
			if good {
				u.Cost = c
			}
		case "cost_in_usd_ticks":
			// xAI: one tick is 1e-10 US dollars.
			var c float64
			var good bool
			c, j, good = p.float(v)
			ok = j > v
			if good {
				u.Cost = c / 1e10
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

func (p *parser) promptDetails(i int, u *Usage) (int, bool) {
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		switch string(k) {
		case "cached_tokens":
			j, ok = p.intInto(v, &u.Cached)
		case "cache_write_tokens", "cache_creation_tokens":
			j, ok = p.intInto(v, &u.CacheWrite)
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

func (p *parser) completionDetails(i int, u *Usage) (int, bool) {
	i, st := p.open(i, '}')
	for st == more {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		if string(k) == "reasoning_tokens" {
			j, ok = p.intInto(v, &u.Reasoning)
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

func (p *parser) intInto(i int, dst *int64) (int, bool) {
	v, j, ok := p.int(i)
	if ok && v >= 0 {
		*dst = v
	}
	return j, ok
}

// int reads a JSON number as an integer (a fraction is truncated; null or a
// non-number is skipped and reported as not ok only when malformed).
func (p *parser) int(i int) (int64, int, bool) {
	// Most are a few digits: read them and check what ends them.
	b := p.b
	var v int64
	j := i
	for j < len(b) && j-i < 18 && b[j] >= '0' && b[j] <= '9' {
		v = v*10 + int64(b[j]-'0')
		j++
	}
	if j > i && (j == len(b) || delim(b[j])) {
		return v, j, true
	}
	j, ok := p.skip(i)
	if !ok {
		return 0, j, false
	}
	s := p.b[i:j]
	v = 0
	neg := false
	n := 0
	for n < len(s) {
		c := s[n]
		if c == '-' && n == 0 {
			neg = true
			n++
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if v > (1<<62)/10 {
			break // absurd value; stop before overflow
		}
		v = v*10 + int64(c-'0')
		n++
	}
	if n == 0 || (neg && n == 1) {
		return -1, j, true // null or not a number: treat as absent
	}
	if neg {
		v = -v
	}
	return v, j, true
}

// float reads a JSON number as a float64 without allocating (enough
// precision for costs; exponents are honoured).
func (p *parser) float(i int) (float64, int, bool) {
	j, ok := p.skip(i)
	if !ok {
		return 0, j, false
	}
	v, good := parseFloat(p.b[i:j])
	return v, j, good
}

func parseFloat(s []byte) (float64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	neg := false
	n := 0
	if s[0] == '-' {
		neg = true
		n++
	}
	var mant float64
	digits := 0
	for ; n < len(s) && s[n] >= '0' && s[n] <= '9'; n++ {
		mant = mant*10 + float64(s[n]-'0')
		digits++
	}
	scale := 0
	if n < len(s) && s[n] == '.' {
		n++
		for ; n < len(s) && s[n] >= '0' && s[n] <= '9'; n++ {
			mant = mant*10 + float64(s[n]-'0')
			scale--
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		n++
		eneg := false
		if n < len(s) && (s[n] == '+' || s[n] == '-') {
			eneg = s[n] == '-'
			n++
		}
		e := 0
		for ; n < len(s) && s[n] >= '0' && s[n] <= '9'; n++ {
			if e < 10000 {
				e = e*10 + int(s[n]-'0')
			}
		}
		if eneg {
			e = -e
		}
		scale += e
	}
	if n != len(s) {
		return 0, false
	}
	v := mant * pow10(scale)
	if neg {
		v = -v
	}
	return v, true
}

func pow10(e int) float64 {
	v := 1.0
	if e < 0 {
		for ; e < 0; e++ {
			v /= 10
		}
		return v
	}
	for ; e > 0 && v < 1e300; e-- {
		v *= 10
	}
	return v
}
