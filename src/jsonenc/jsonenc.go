// Package jsonenc appends JSON strings, the one encoder the modular input,
// the score tool and the search command share. Its output is JSON that is
// also legal XML character data, since the modular input carries it inside
// a <data> element:
//
//		AppendString(nil, "a\"b\x00\xff\uFFFE")  →  "a\"b\u0000\ufffd\ufffe"
//
//	  - invalid UTF-8 becomes U+FFFD, one per bad byte (as encoding/json);
//	  - control characters are escaped: \n \r \t by name, the others as \u00XX;
//	  - U+FFFE and U+FFFF, which XML 1.0 forbids, are \u escaped;
//	  - everything else, <, > and & included, is written as is: the output
//	    is not for HTML.
//
// It is encoding/json's string encoding without HTML escaping and without
// the \u2028/\u2029 escapes meant for JavaScript, written to append to a
// reused buffer without allocating.
package jsonenc

import "unicode/utf8"

const hex = "0123456789abcdef"

// AppendString appends s, a string or a byte slice, to dst as a quoted
// JSON string and returns the extended buffer.
func AppendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending, to be copied as is
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		// At most 4 bytes: the conversion of a []byte stays on the stack.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == 0xFFFE || r == 0xFFFF:
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', 'f', 'f', 'f', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
