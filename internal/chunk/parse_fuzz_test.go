package chunk

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// diffFacts describes how got differs from want in the exported fields, or
// returns "" when they are the same: byte slices by content and by whether
// they are nil, everything else by value.
func diffFacts(got, want *Facts) string {
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	t := g.Type()
	var d []string
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		gv, wv := g.Field(i).Interface(), w.Field(i).Interface()
		if gb, ok := gv.([]byte); ok {
			wb := wv.([]byte)
			if (gb == nil) != (wb == nil) || !bytes.Equal(gb, wb) {
				d = append(d, fmt.Sprintf("%s: got %q (nil %v), want %q (nil %v)", sf.Name, gb, gb == nil, wb, wb == nil))
			}
			continue
		}
		if !reflect.DeepEqual(gv, wv) {
			d = append(d, fmt.Sprintf("%s: got %+v, want %+v", sf.Name, gv, wv))
		}
	}
	return strings.Join(d, "; ")
}

// aliases reports whether every byte slice in f points into b.
func aliases(f *Facts, b []byte) bool {
	in := func(s []byte) bool {
		if len(s) == 0 {
			return true
		}
		for i := 0; i+len(s) <= len(b); i++ {
			if &b[i] == &s[0] {
				return true
			}
		}
		return false
	}
	ok := in(f.ID) && in(f.Model) && in(f.FinishReason) && in(f.ErrorRaw)
	for i := 0; i < f.NSpans; i++ {
		ok = ok && in(f.Spans[i].Raw)
	}
	return ok
}

// checkSeq parses each object of seq into one Facts, as a stream does, and
// compares every result with referenceParse's on a fresh Facts. Each object
// is parsed from its own copy, in one buffer reused for all of them as the
// SSE framer reuses its own.
func checkSeq(t *testing.T, seq [][]byte) {
	t.Helper()
	var f Facts
	buf := make([]byte, 0, 64)
	for n, obj := range seq {
		buf = append(buf[:0], obj...)
		Parse(buf, &f)
		var want Facts
		referenceParse(obj, &want)
		if d := diffFacts(&f, &want); d != "" {
			t.Fatalf("object %d of %d %q: %s", n, len(seq), obj, d)
		}
		if !aliases(&f, buf) {
			t.Fatalf("object %d %q: facts do not alias the input", n, obj)
		}
	}
}

// seqSeeds are streams of objects whose starts repeat, change, or look
// alike but differ later.
var seqSeeds = [][]string{
	{ // an OpenAI stream
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":"Hi \"x\""},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`,
	},
	{ // the id changes mid-stream, then the model
		`{"id":"a","model":"m","choices":[{"delta":{"content":"x"}}]}`,
		`{"id":"b","model":"m","choices":[{"delta":{"content":"x"}}]}`,
		`{"id":"b","model":"n","choices":[{"delta":{"content":"x"}}]}`,
		`{"id":"b","model":"n","choices":[{"delta":{"content":"x"}}]}`,
	},
	{ // the same start, then the object ends, is cut, or goes on differently
		`{"id":"a","model":"m","choices":[]}`,
		`{"id":"a","model":"m",`,
		`{"id":"a","model":"m",}`,
		`{"id":"a","model":"m", `,
		`{"id":"a","model":"m","model":"z","choices":[]}`,
		`{"id":"a","model":"m","id":"z","choices":[]}`,
		`{"id":"a","model":"m","object":"chat.completion.done","choices":[]}`,
		`{"id":"a","model":"m",  "choices":[]}`,
		`{"id":"a","model":"m","choices":[]} x`,
		`{"id":"a","model":"m","usage":null,"choices":[]}`,
		`{"id":"a","model":"m","error":{"message":"x"}}`,
	},
	{ // escapes in the repeated members, and starts that are prefixes of each other
		`{"id":"a\"b","model":"m\\","choices":[{"delta":{"content":"\\"}}]}`,
		`{"id":"a\"b","model":"m\\","choices":[{"delta":{"content":"\\\""}}]}`,
		`{"id":"a\"b","model":"m\\\"","choices":[]}`,
		`{"id":"a","choices":[]}`,
		`{"id":"ab","choices":[]}`,
		`{"id":"a","choices":[]}`,
		`{"id":1,"model":null,"choices":[]}`,
		`{"id":1,"model":null,"choices":[]}`,
	},
	{ // Perplexity's done object and a choices value that is not an array
		`{"id":"p","object":"chat.completion.done","choices":[]}`,
		`{"id":"p","object":"chat.completion.done","choices":null}`,
		`{"id":"p","object":"chat.completion.chunk","choices":null}`,
	},
}

func TestParseSequences(t *testing.T) {
	for i, seq := range seqSeeds {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var objs [][]byte
			for _, s := range seq {
				objs = append(objs, []byte(s))
			}
			checkSeq(t, objs)
			// Twice over, so that every object follows every kind.
			checkSeq(t, append(objs, objs...))
		})
	}
}

// TestParseClearsEveryField fills every exported field of a Facts and
// checks that Parse leaves none of it behind.
func TestParseClearsEveryField(t *testing.T) {
	var f Facts
	v := reflect.ValueOf(&f).Elem()
	for i := 0; i < v.NumField(); i++ {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		fill(v.Field(i))
	}
	f.NSpans = MaxSpans
	for _, in := range []string{`{}`, `{"choices":[{"delta":{"content":"a"}}]}`, `x`} {
		g := f
		Parse([]byte(in), &g)
		var want Facts
		referenceParse([]byte(in), &want)
		if d := diffFacts(&g, &want); d != "" {
			t.Errorf("Parse(%q) after a full Facts: %s", in, d)
		}
	}
}

func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint8:
		v.SetUint(3)
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Slice:
		v.SetBytes([]byte("stale"))
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i))
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i))
		}
	}
}

func FuzzParseMatchesReference(f *testing.F) {
	f.Add(sample)
	for _, seq := range seqSeeds {
		for _, s := range seq {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got, want Facts
		Parse(b, &got)
		referenceParse(b, &want)
		if d := diffFacts(&got, &want); d != "" {
			t.Fatalf("%q: %s", b, d)
		}
		// And once more into the same Facts, which now holds b's start.
		Parse(b, &got)
		if d := diffFacts(&got, &want); d != "" {
			t.Fatalf("%q, second time: %s", b, d)
		}
	})
}

// FuzzParseSequence parses a stream of objects into one Facts. The input is
// split into objects at every 0xff byte; objects made by appending the
// other parts to a shared start test starts that match but differ later.
func FuzzParseSequence(f *testing.F) {
	for _, seq := range seqSeeds {
		f.Add(strings.Join(seq, "\xff"), "")
	}
	f.Add(string(sample)+"\xff"+string(sample), "")
	f.Add(`"choices":[]}`+"\xff"+`"model":"x","choices":[]}`+"\xff"+`}`, `{"id":"a","model":"m",`)
	f.Fuzz(func(t *testing.T, stream, head string) {
		var seq [][]byte
		for _, s := range strings.Split(stream, "\xff") {
			seq = append(seq, []byte(head+s))
		}
		if len(seq) > 64 {
			seq = seq[:64]
		}
		checkSeq(t, seq)
	})
}

func FuzzAppendUnescapedMatchesReference(f *testing.F) {
	for _, s := range []string{`plain`, `a\nb\t\"c\"\\`, `\u00e9\u4e2d`, `\ud83d\ude00`, `\ud83d`, `\ude00x`, `\uZZZZ`, `end\`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, want := AppendUnescaped([]byte("x"), raw), referenceAppendUnescaped([]byte("x"), raw)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendUnescaped(%q) = %q, want %q", raw, got, want)
		}
	})
}
