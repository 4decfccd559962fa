package sigma

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A Sigma string is parsed into pieces: literal text, `*` or `?`.
type piece struct {
	lit  string
	star bool // `*`
	one  bool // `?`
}

// parseString splits a Sigma string at its wildcards. A backslash escapes
// `*`, `?` and `\`; before any other character it is literal.
func parseString(s string) []piece {
	var out []piece
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, piece{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			lit.WriteByte(s[i+1])
			i++
		case c == '*':
			flush()
			out = append(out, piece{star: true})
		case c == '?':
			flush()
			out = append(out, piece{one: true})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out
}

// plain returns the string's text when it has no wildcard.
func plain(ps []piece) (string, bool) {
	var b strings.Builder
	for _, p := range ps {
		if p.star || p.one {
			return "", false
		}
		b.WriteString(p.lit)
	}
	return b.String(), true
}

// seg is a run of the pattern between stars: literal parts, one `?` (one
// character of the text) between each two.
type seg [][]byte

// glob is a compiled Sigma string: segments separated by `*`, anchored at
// the start or the end of the value when the string does not begin or end
// with `*`.
type glob struct {
	segs       []seg
	start, end bool
}

// compileGlob builds a glob from pieces, mapping literal text through fold
// (lower-casing, dash folding) first.
func compileGlob(ps []piece, fold func(string) string) glob {
	g := glob{start: len(ps) == 0 || !ps[0].star, end: len(ps) == 0 || !ps[len(ps)-1].star}
	cur, open := seg{nil}, false
	for _, p := range ps {
		switch {
		case p.star:
			if open {
				g.segs = append(g.segs, cur)
			}
			cur, open = seg{nil}, false
		case p.one:
			cur, open = append(cur, nil), true
		default:
			cur[len(cur)-1] = append(cur[len(cur)-1], fold(p.lit)...)
			open = true
		}
	}
	if open || len(ps) == 0 {
		g.segs = append(g.segs, cur)
	}
	return g
}

// match reports whether the glob matches all of s. Segments go leftmost
// first, which is optimal between stars since each has a fixed length in
// characters.
func (g *glob) match(s []byte) bool {
	segs := g.segs
	if g.start && g.end && len(segs) == 1 {
		n, ok := segs[0].at(s)
		return ok && n == len(s)
	}
	if g.start {
		n, ok := segs[0].at(s)
		if !ok {
			return false
		}
		s, segs = s[n:], segs[1:]
	}
	if g.end {
		n, ok := segs[len(segs)-1].atEnd(s)
		if !ok {
			return false
		}
		s, segs = s[:len(s)-n], segs[:len(segs)-1]
	}
	for _, sg := range segs {
		i, n := sg.index(s)
		if i < 0 {
			return false
		}
		s = s[i+n:]
	}
	return true
}

// at matches sg at the start of s and returns the bytes it spans.
func (sg seg) at(s []byte) (int, bool) {
	n := 0
	for i, part := range sg {
		if i > 0 {
			_, sz := utf8.DecodeRune(s[n:])
			if sz == 0 {
				return 0, false
			}
			n += sz
		}
		if !bytes.HasPrefix(s[n:], part) {
			return 0, false
		}
		n += len(part)
	}
	return n, true
}

// atEnd matches sg at the end of s and returns the bytes it spans.
func (sg seg) atEnd(s []byte) (int, bool) {
	e := len(s)
	for i := len(sg) - 1; i >= 0; i-- {
		if i < len(sg)-1 {
			_, sz := utf8.DecodeLastRune(s[:e])
			if sz == 0 {
				return 0, false
			}
			e -= sz
		}
		if !bytes.HasSuffix(s[:e], sg[i]) {
			return 0, false
		}
		e -= len(sg[i])
	}
	return len(s) - e, true
}

// index finds sg's leftmost match in s: its offset and length, or -1.
func (sg seg) index(s []byte) (int, int) {
	if len(sg) == 1 {
		return bytes.Index(s, sg[0]), len(sg[0])
	}
	for off := 0; off <= len(s); {
		i := 0
		if len(sg[0]) > 0 {
			if i = bytes.Index(s[off:], sg[0]); i < 0 {
				return -1, 0
			}
		}
		if n, ok := sg.at(s[off+i:]); ok {
			return off + i, n
		}
		_, sz := utf8.DecodeRune(s[off+i:])
		if sz == 0 {
			break
		}
		off += i + sz
	}
	return -1, 0
}

// appendLower appends s lower-cased (Unicode simple mapping) to dst; bytes
// that are not UTF-8 pass through.
func appendLower(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, sz := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && sz == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += sz
	}
	return dst
}

// The dashes windash treats as one: -, /, en dash, em dash, horizontal bar.
func isDash(r rune) bool {
	return r == '-' || r == '/' || r == '\u2013' || r == '\u2014' || r == '\u2015'
}

// appendDashFold appends s with every dash as `-`.
func appendDashFold(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == '/' {
				c = '-'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, sz := utf8.DecodeRune(s[i:])
		if isDash(r) {
			dst = append(dst, '-')
		} else {
			dst = append(dst, s[i:i+sz]...)
		}
		i += sz
	}
	return dst
}

func lowerString(s string) string { return string(appendLower(nil, []byte(s))) }

func dashString(s string) string { return string(appendDashFold(nil, []byte(s))) }
