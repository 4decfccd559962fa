package tokenize

import (
	"bytes"
	"math/bits"
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
	// carry is 1 while inside a token; at a block's start it says whether
	// the previous block ended inside one. Bits past the line's end are 0,
	// so a token ending there has its falling edge in the last block.
	var carry uint64
	start := 0
	for base := 0; base < len(line); base += 64 {
		blk := line[base:min(base+64, len(line))]
		var m uint64
		for k, c := range blk {
			m |= isTok[c] << (k & 63)
		}
		edges := m ^ (m<<1 | carry) // a bit where a token starts or ends
		for edges != 0 {
			pos := base + bits.TrailingZeros64(edges)
			edges &= edges - 1
			if carry == 0 { // rising edge
				start, carry = pos, 1
			} else {
				dst = append(dst, Span{int32(start), int32(pos)})
				carry = 0
			}
		}
	}
	if carry != 0 {
		dst = append(dst, Span{int32(start), int32(len(line))})
	}
	return dst, true
}
