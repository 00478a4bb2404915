package chunk

// AppendUnescaped as it was before it searched for backslashes with
// IndexByte, as the reference for FuzzAppendUnescapedMatchesReference.

import "unicode/utf8"

// AppendUnescaped appends the text of escaped JSON string contents raw to dst
// and returns the extended buffer. Invalid escapes are copied as they stand;
// a lone surrogate becomes U+FFFD. It never panics.
func referenceAppendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			// Copy the run up to the next backslash in one go.
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(raw) {
			dst = append(dst, c)
			break
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
			i += 2
		case 'n':
			dst = append(dst, '\n')
			i += 2
		case 't':
			dst = append(dst, '\t')
			i += 2
		case 'r':
			dst = append(dst, '\r')
			i += 2
		case 'b':
			dst = append(dst, '\b')
			i += 2
		case 'f':
			dst = append(dst, '\f')
			i += 2
		case 'u':
			r, n := refHex4(raw[i+2:])
			if n < 0 {
				dst = append(dst, raw[i:i+2]...)
				i += 2
				continue
			}
			i += 6
			if r >= 0xD800 && r < 0xDC00 {
				// High surrogate: expect a low one.
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2, n2 := refHex4(raw[i+2:]); n2 >= 0 && r2 >= 0xDC00 && r2 < 0xE000 {
						r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, raw[i:i+2]...)
			i += 2
		}
	}
	return dst
}

func refHex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, -1
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, -1
		}
	}
	return r, 4
}
