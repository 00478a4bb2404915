package chunk

// This file keeps the parser as it was before prefix reuse and the other
// per-chunk savings (commit b88f640), unchanged but for renamed
// identifiers, as the reference that FuzzParseMatchesReference and
// FuzzParseSequence compare Parse against.

import "bytes"

func refResetUsage(u *Usage) { *u = Usage{-1, -1, -1, -1, -1, -1, -1, -1} }

// Parse reads one JSON object from b into f. It never panics and never
// allocates; f's byte slices alias b.
func referenceParse(b []byte, f *Facts) {
	*f = Facts{FinishIndex: -1}
	refResetUsage(&f.Usage)
	refResetUsage(&f.XGroqUsage)
	p := refParser{b: b, f: f}
	i := p.ws(0)
	if i >= len(b) || b[i] != '{' {
		f.Malformed = true
		return
	}
	i, ok := p.top(i)
	if !ok {
		f.Malformed = true
		return
	}
	if p.ws(i) != len(b) {
		f.Malformed = true
	}
}

type refParser struct {
	b []byte
	f *Facts
}

// Iteration states for objects and arrays.
const (
	refMore = iota
	refEnd
	refBad
)

func (p *refParser) ws(i int) int {
	for i < len(p.b) {
		switch p.b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// open enters an object or array at b[i] and returns the index of its first
// member, or of the byte after it when it is empty.
func (p *refParser) open(i int, closer byte) (int, int) {
	i = p.ws(i + 1)
	if i >= len(p.b) {
		return i, refBad
	}
	if p.b[i] == closer {
		return i + 1, refEnd
	}
	return i, refMore
}

// key reads `"name" :` at i and returns the name and the index of the value.
func (p *refParser) key(i int) ([]byte, int, bool) {
	if i >= len(p.b) || p.b[i] != '"' {
		return nil, i, false
	}
	k, j, ok := p.str(i)
	if !ok {
		return nil, j, false
	}
	j = p.ws(j)
	if j >= len(p.b) || p.b[j] != ':' {
		return nil, j, false
	}
	j = p.ws(j + 1)
	if j >= len(p.b) {
		return nil, j, false
	}
	return k, j, true
}

// next moves past the separator after a member that ended at j.
func (p *refParser) next(j int, closer byte) (int, int) {
	j = p.ws(j)
	if j >= len(p.b) {
		return j, refBad
	}
	switch p.b[j] {
	case ',':
		k := p.ws(j + 1)
		if k >= len(p.b) {
			return k, refBad
		}
		return k, refMore
	case closer:
		return j + 1, refEnd
	}
	return j, refBad
}

// str reads a string starting at b[i] == '"' and returns its escaped
// contents and the index after the closing quote.
func (p *refParser) str(i int) ([]byte, int, bool) {
	start := i + 1
	j := start
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

// refMaxDepth is the deepest nesting skip follows, as encoding/json's limit:
// deeper input is reported malformed instead of growing the stack.
const refMaxDepth = 10000

// skip skips any value starting at b[i], checking its structure (strings
// are delimited but their escapes are not checked).
func (p *refParser) skip(i int) (int, bool) {
	return p.skipDepth(i, 0)
}

func (p *refParser) skipDepth(i, depth int) (int, bool) {
	if i >= len(p.b) {
		return i, false
	}
	switch p.b[i] {
	case '"':
		_, j, ok := p.str(i)
		return j, ok
	case '{':
		if depth >= refMaxDepth {
			return i, false
		}
		i, st := p.open(i, '}')
		for st == refMore {
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
		return i, st == refEnd
	case '[':
		if depth >= refMaxDepth {
			return i, false
		}
		i, st := p.open(i, ']')
		for st == refMore {
			j, ok := p.skipDepth(i, depth+1)
			if !ok {
				return j, false
			}
			i, st = p.next(j, ']')
		}
		return i, st == refEnd
	default:
		// Number, true, false or null: run to the next delimiter.
		j := i
		for j < len(p.b) {
			switch p.b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j, j > i && refValidScalar(p.b[i:j])
			}
			j++
		}
		return j, j > i && refValidScalar(p.b[i:j])
	}
}

func refValidScalar(s []byte) bool {
	switch string(s) {
	case "true", "false", "null":
		return true
	}
	c := s[0]
	return c == '-' || (c >= '0' && c <= '9')
}

// strField reads a string value at i; a non-string value is skipped and
// reported as nil.
func (p *refParser) strField(i int) ([]byte, int, bool) {
	if p.b[i] == '"' {
		return p.str(i)
	}
	j, ok := p.skip(i)
	return nil, j, ok
}

// top reads the top-level object at b[i] == '{'.
func (p *refParser) top(i int) (int, bool) {
	f := p.f
	i, st := p.open(i, '}')
	for st == refMore {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		switch string(k) {
		case "id":
			var s []byte
			s, j, ok = p.strField(v)
			if f.ID == nil {
				f.ID = s
			}
		case "model":
			var s []byte
			s, j, ok = p.strField(v)
			if s != nil {
				f.Model = s
			}
		case "object":
			var s []byte
			s, j, ok = p.strField(v)
			f.ObjectDone = string(s) == "chat.completion.done"
		case "service_tier":
			f.Tier, j, ok = p.strField(v)
		case "system_fingerprint":
			f.Fingerprint, j, ok = p.strField(v)
		case "choices":
			// With duplicate keys the last one counts, as encoding/json
			// decodes it.
			f.Choices = 0
			f.ChoicesArray = p.b[v] == '['
			if f.ChoicesArray {
				j, ok = p.choices(v)
			} else {
				j, ok = p.skip(v)
			}
		case "usage":
			refResetUsage(&f.Usage)
			f.UsagePresent = p.b[v] == '{'
			if f.UsagePresent {
				j, ok = p.usage(v, &f.Usage)
			} else {
				j, ok = p.skip(v)
			}
		case "x_groq":
			if p.b[v] == '{' {
				j, ok = p.xgroq(v)
			} else {
				j, ok = p.skip(v)
			}
		case "error":
			f.Error = true
			j, ok = p.skip(v)
			f.ErrorRaw = p.b[v:j]
		case "prompt_filter_results", "content_filter_results":
			j, ok = p.skipFilter(v)
		default:
			j, ok = p.skip(v)
		}
		if !ok {
			return j, false
		}
		i, st = p.next(j, '}')
	}
	return i, st == refEnd
}

func (p *refParser) xgroq(i int) (int, bool) {
	i, st := p.open(i, '}')
	for st == refMore {
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
	return i, st == refEnd
}

// skipFilter skips an Azure content filter result, noting whether any
// category was filtered.
func (p *refParser) skipFilter(i int) (int, bool) {
	j, ok := p.skip(i)
	if ok && refFilteredTrue(p.b[i:j]) {
		p.f.Filtered = true
	}
	return j, ok
}

func refFilteredTrue(b []byte) bool {
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

func (p *refParser) choices(i int) (int, bool) {
	i, st := p.open(i, ']')
	for st == refMore {
		j, ok := p.choice(i)
		if !ok {
			return j, false
		}
		i, st = p.next(j, ']')
	}
	return i, st == refEnd
}

func (p *refParser) choice(i int) (int, bool) {
	if p.b[i] != '{' {
		return p.skip(i)
	}
	f := p.f
	f.Choices++
	index := int64(-1)
	var finish []byte
	i, st := p.open(i, '}')
	for st == refMore {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		switch string(k) {
		case "index":
			var n int64
			n, j, ok = p.int(v)
			if ok && n >= 0 {
				index = n
			}
		case "delta", "message":
			if p.b[v] == '{' {
				j, ok = p.delta(v)
			} else {
				j, ok = p.skip(v)
			}
		case "finish_reason":
			var s []byte
			s, j, ok = p.strField(v)
			if len(s) > 0 {
				finish = s
			}
		case "content_filter_results":
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
	return i, st == refEnd
}

func (p *refParser) addSpan(kind TextKind, raw []byte) {
	if len(raw) == 0 {
		return
	}
	f := p.f
	switch kind {
	case Content:
		f.HasContent, f.HasAnswer = true, true
		if !f.NonBlank && !refBlank(raw) {
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

// refBlank reports whether escaped JSON string contents hold only white space.
func refBlank(raw []byte) bool {
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
func (p *refParser) delta(i int) (int, bool) {
	i, st := p.open(i, '}')
	for st == refMore {
		k, v, ok := p.key(i)
		if !ok {
			return v, false
		}
		var j int
		switch string(k) {
		case "content":
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
		case "reasoning_content", "reasoning", "thinking":
			var s []byte
			s, j, ok = p.strField(v)
			p.addSpan(Reasoning, s)
		case "reasoning_details":
			if p.b[v] == '[' {
				j, ok = p.details(v)
			} else {
				j, ok = p.skip(v)
			}
		case "refusal":
			var s []byte
			s, j, ok = p.strField(v)
			p.addSpan(Refusal, s)
		case "tool_calls":
			if p.b[v] == '[' {
				j, ok = p.toolCalls(v)
			} else {
				j, ok = p.skip(v)
			}
		case "function_call":
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
	return i, st == refEnd
}

// parts reads an array of typed content parts (Mistral and others stream
// content as [{"type":"text","text":…}] or [{"type":"thinking","thinking":[…]}]).
// kind is the kind of a plain text part: Content at the top, Reasoning
// inside a thinking part.
func (p *refParser) parts(i int, kind TextKind) (int, bool) {
	i, st := p.open(i, ']')
	for st == refMore {
		j, ok := p.part(i, kind)
		if !ok {
			return j, false
		}
		i, st = p.next(j, ']')
	}
	return i, st == refEnd
}

func (p *refParser) part(i int, kind TextKind) (int, bool) {
	if p.b[i] != '{' {
		return p.skip(i)
	}
	var typ, text []byte
	think := -1
	i, st := p.open(i, '}')
	for st == refMore {
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
	return i, st == refEnd
}

// details reads reasoning_details items: {"type":"reasoning.text","text":…},
// {"type":"reasoning.summary","summary":…} or {"type":"reasoning.encrypted",
// "data":…}. Encrypted data is evidence of reasoning but not text.
func (p *refParser) details(i int) (int, bool) {
	i, st := p.open(i, ']')
	for st == refMore {
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
	return i, st == refEnd
}

func (p *refParser) detail(i int) (int, bool) {
	i, st := p.open(i, '}')
	for st == refMore {
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
				p.f.Encrypted = true // as the parser under test: evidence of reasoning, not text
			}
		default:
			j, ok = p.skip(v)
		}
		if !ok {
			return j, false
		}
		i, st = p.next(j, '}')
	}
	return i, st == refEnd
}

func (p *refParser) toolCalls(i int) (int, bool) {
	i, st := p.open(i, ']')
	for st == refMore {
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
	return i, st == refEnd
}

func (p *refParser) toolCall(i int) (int, bool) {
	i, st := p.open(i, '}')
	for st == refMore {
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
	return i, st == refEnd
}

func (p *refParser) function(i int) (int, bool) {
	i, st := p.open(i, '}')
	for st == refMore {
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
	return i, st == refEnd
}

func (p *refParser) usage(i int, u *Usage) (int, bool) {
	i, st := p.open(i, '}')
	for st == refMore {
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
	return i, st == refEnd
}

func (p *refParser) promptDetails(i int, u *Usage) (int, bool) {
	i, st := p.open(i, '}')
	for st == refMore {
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
	return i, st == refEnd
}

func (p *refParser) completionDetails(i int, u *Usage) (int, bool) {
	i, st := p.open(i, '}')
	for st == refMore {
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
	return i, st == refEnd
}

func (p *refParser) intInto(i int, dst *int64) (int, bool) {
	v, j, ok := p.int(i)
	if ok && v >= 0 {
		*dst = v
	}
	return j, ok
}

// int reads a JSON number as an integer (a fraction is truncated; null or a
// non-number is skipped and reported as not ok only when malformed).
func (p *refParser) int(i int) (int64, int, bool) {
	j, ok := p.skip(i)
	if !ok {
		return 0, j, false
	}
	s := p.b[i:j]
	var v int64
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
func (p *refParser) float(i int) (float64, int, bool) {
	j, ok := p.skip(i)
	if !ok {
		return 0, j, false
	}
	v, good := refParseFloat(p.b[i:j])
	return v, j, good
}

func refParseFloat(s []byte) (float64, bool) {
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
	v := mant * refPow10(scale)
	if neg {
		v = -v
	}
	return v, true
}

func refPow10(e int) float64 {
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
