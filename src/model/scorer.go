package model

import (
	"encoding/binary"
	"math/bits"
	"strconv"

	"scorecmdline/src/tokenize"
)

// The keyword table: open addressing over a hash of the token's length and
// its first and last eight bytes, so a lookup costs two multiplies per token
// rather than work per byte. tableSize is a power of two at least twice the
// number of keywords.
const tableSize = 128

type slot struct {
	kw  string
	idx int32 // index into Keywords; -1 for an empty slot
}

func key(tok []byte) uint32 {
	var a, b uint64
	if n := len(tok); n >= 8 {
		a = binary.LittleEndian.Uint64(tok)
		b = binary.LittleEndian.Uint64(tok[n-8:])
	} else {
		for i, c := range tok {
			a |= uint64(c) << (8 * i)
		}
	}
	h := a*0x9e3779b97f4a7c15 ^ bits.RotateLeft64(b*0xc2b2ae3d27d4eb4f, 31) ^ uint64(len(tok))
	return uint32(h>>32) ^ uint32(h)
}

func (m *Model) buildTable() {
	for i := range m.table {
		m.table[i].idx = -1
	}
	for i, kw := range m.Keywords {
		m.maybe.add(kw)
		h := key([]byte(kw))
		for j := h; ; j++ {
			s := &m.table[j%tableSize]
			if s.idx < 0 {
				*s = slot{kw, int32(i)}
				break
			}
		}
	}
}

// Index returns the position of tok in Keywords, or -1.
func (m *Model) Index(tok []byte) int {
	// Most tokens are no keyword; a bit set over their length and first
	// and last bytes says so before any hashing.
	if len(tok) == 0 || !m.maybe.has(len(tok), tok[0], tok[len(tok)-1]) {
		return -1
	}
	for j := key(tok); ; j++ {
		s := &m.table[j%tableSize]
		if s.idx < 0 {
			return -1
		}
		if s.kw == string(tok) {
			return int(s.idx)
		}
	}
}

// Scorer scores command lines with one model. It holds scratch state, so use
// one Scorer per goroutine. Scoring allocates nothing.
type Scorer struct {
	m      *Model
	scan   tokenize.Scanner
	spans  []tokenize.Span
	tok    [tokenize.MaxToken]byte
	counts []int32
	seen   []int32 // keyword indexes with a non-zero count, to reset cheaply
}

// NewScorer returns a Scorer for m.
func (m *Model) NewScorer() *Scorer {
	return &Scorer{m: m, counts: make([]int32, len(m.Keywords)), seen: make([]int32, 0, len(m.Keywords))}
}

// Score returns the model's score for cmdline.
func (s *Scorer) Score(cmdline []byte) float64 {
	for _, i := range s.seen {
		s.counts[i] = 0
	}
	s.seen = s.seen[:0]
	m := s.m
	var ok bool
	if s.spans, ok = tokenize.AppendSpans(s.spans[:0], cmdline); ok {
		for _, sp := range s.spans {
			n := int(sp.End - sp.Start)
			if n > tokenize.MaxToken || !m.maybe.has(n, tokenize.Lower(cmdline[sp.Start]), tokenize.Lower(cmdline[sp.End-1])) {
				continue
			}
			for k, c := range cmdline[sp.Start:sp.End] {
				s.tok[k] = tokenize.Lower(c)
			}
			s.count(m.Index(s.tok[:n]))
		}
	} else {
		s.scan.Reset(cmdline)
		for s.scan.Next() {
			if n, first, last := s.scan.Peek(); n > tokenize.MaxToken || !m.maybe.has(n, first, last) {
				continue
			}
			s.count(m.Index(s.scan.Token()))
		}
	}
	// Sequential sum in keyword order. Zero counts are skipped: adding
	// 0·w (±0) to the accumulator never changes it, so the result is the
	// same as the dense dot product. The float64() conversion forbids FMA.
	acc := 0.0
	for i, c := range s.counts {
		if c != 0 {
			acc += float64(float64(c) * m.Weights[i])
		}
	}
	return acc + m.Intercept
}

func (s *Scorer) count(i int) {
	if i < 0 {
		return
	}
	if s.counts[i] == 0 {
		s.seen = append(s.seen, int32(i))
	}
	s.counts[i]++
}

// Contribution is one keyword's part of the last score.
type Contribution struct {
	Keyword string
	Count   int
	Value   float64 // Count × weight
}

// Contributions appends the non-zero terms of the last score, in summation
// order, to dst.
func (s *Scorer) Contributions(dst []Contribution) []Contribution {
	for i, c := range s.counts {
		if c != 0 {
			dst = append(dst, Contribution{s.m.Keywords[i], int(c), float64(float64(c) * s.m.Weights[i])})
		}
	}
	return dst
}

// AppendFloat appends f the way MLTK writes a float64 into its CSV output:
// Python's repr (shortest round-trip digits; positional between 1e-4 and
// 1e16 with at least one decimal, else exponent form like 1e-05 or
// 1.5e+16; nan, inf, -inf).
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case f != f:
		return append(dst, "nan"...)
	case f > 1.7976931348623157e308:
		return append(dst, "inf"...)
	case f < -1.7976931348623157e308:
		return append(dst, "-inf"...)
	}
	abs := f
	if abs < 0 {
		abs = -abs
	}
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' {
			return dst
		}
	}
	return append(dst, ".0"...)
}

// prefilter is a one-hash Bloom filter over (length, first byte, last byte):
// with 36 keywords in 1024 bits, about 3% of other tokens get past it.
type prefilter [16]uint64

func prefilterBit(n int, first, last byte) uint {
	return (uint(n)*0x9e37 ^ uint(first)*0x2f ^ uint(last)*0x3b1) & 1023
}

func (p *prefilter) add(kw string) {
	b := prefilterBit(len(kw), kw[0], kw[len(kw)-1])
	p[b>>6] |= 1 << (b & 63)
}

func (p *prefilter) has(n int, first, last byte) bool {
	b := prefilterBit(n, first, last)
	return p[b>>6]&(1<<(b&63)) != 0
}
