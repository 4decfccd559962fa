package tokenize

import (
	"bytes"
	"math/bits"
	"slices"
)

// Span is a token's place in a line: line[Start:End].
type Span struct{ Start, End int32 }

// isTok is 1 for the bytes a token is made of.
var isTok = func() (t [256]uint64) {
	for c := range 256 {
		if class[c] != sep && class[c] != skip {
			t[c] = 1
		}
	}
	return t
}()

// AppendSpans appends the spans of line's tokens to dst. It handles only
// lines without backticks (which join the text around them) and reports
// ok=false for the others, which the Scanner handles.
//
// It is the fast path for long lines: a bit mask of token bytes is built 64
// bytes at a time without branches, and the tokens are read off the mask's
// rising and falling edges, so the cost does not hinge on predicting where
// each token ends, the way a byte-by-byte loop does.
func AppendSpans(dst []Span, line []byte) (_ []Span, ok bool) {
	if bytes.IndexByte(line, '`') >= 0 {
		return dst, false
	}
	// At most one token per two bytes: reserve room once, so the loop
	// below stores without growth checks.
	dst = slices.Grow(dst, len(line)/2+1)
	n := len(dst)
	out := dst[:cap(dst)]
	var carry uint64 // 1 when the previous block ended inside a token
	pending := 0     // start of that token
	for base := 0; base < len(line); base += 64 {
		var m uint64
		for k, c := range line[base:min(base+64, len(line))] {
			m |= isTok[c] << (k & 63)
		}
		prev := m<<1 | carry
		starts := m &^ prev // first byte of each token
		ends := prev &^ m   // the byte after each token
		if carry != 0 && ends != 0 {
			out[n] = Span{int32(pending), int32(base + bits.TrailingZeros64(ends))}
			n++
			ends &= ends - 1
		}
		for starts != 0 {
			st := base + bits.TrailingZeros64(starts)
			starts &= starts - 1
			if ends == 0 { // runs into the next block
				pending = st
				break
			}
			out[n] = Span{int32(st), int32(base + bits.TrailingZeros64(ends))}
			n++
			ends &= ends - 1
		}
		carry = m >> 63
	}
	if carry != 0 {
		out[n] = Span{int32(pending), int32(len(line))}
		n++
	}
	return out[:n], true
}
