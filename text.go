package infermetrics

import (
	"unicode/utf8"

	"github.com/infermetrics/infermetrics/internal/chunk"
)

// truncate returns s as a string of at most n bytes, cut at a rune
// boundary so that telemetry never carries a broken character. It is the
// one cut every kept or exported text goes through.
func truncate[T ~string | ~[]byte](s T, n int) string {
	if len(s) <= n {
		return string(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return string(s[:n])
}

// appendDecoded appends the escaped JSON string contents raw to dst as the
// application sees them once decoded: escapes resolved and invalid UTF-8
// replaced by U+FFFD, as encoding/json does.
func appendDecoded(dst, raw []byte) []byte {
	start := len(dst)
	dst = chunk.AppendUnescaped(dst, raw)
	if utf8.Valid(dst[start:]) {
		return dst
	}
	fixed := []rune(string(dst[start:]))
	return append(dst[:start], string(fixed)...)
}
