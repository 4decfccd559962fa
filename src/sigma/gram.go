package sigma

import "encoding/binary"

// Grams are a second, per-row prefilter for the tests the automaton does
// not answer: a rule's other clauses and each value's needed literals. The
// first time a row needs field f, the Matcher hashes every 4-byte and
// 2-byte window of f's lower-cased value into 4096-bit sets and notes its
// bytes; a literal is absent for certain when one of its windows (or, for
// one byte, the byte) is not there. That rejects most failing `contains`
// tests and regexes without reading the value again.

const gramBits = 12

type gramSet [1 << gramBits / 64]uint64

// grams is what a row's field holds.
type grams struct {
	quad, pair gramSet
	bytes      [4]uint64
}

func gramHash(w uint32) uint16 { return uint16((w * 0x9E3779B1) >> (32 - gramBits)) }

func (g *gramSet) add(h uint16)      { g[h>>6] |= 1 << (h & 63) }
func (g *gramSet) has(h uint16) bool { return g[h>>6]&(1<<(h&63)) != 0 }

// needle is what a literal's grams are: up to three windows (first,
// middle, last) of 4 bytes, or of 2 for a literal of 2 or 3 bytes, or the
// byte itself.
type needle struct {
	field int16
	n     uint8 // windows in h; 0 for one byte
	quad  bool  // windows of 4 bytes
	h     [3]uint16
	b     byte
}

func newNeedle(l lit) needle {
	nd := needle{field: int16(l.field)}
	s := []byte(l.s)
	w := 4
	switch {
	case len(s) == 0:
		// Always there: never produced, but a needle must not lie.
		nd.b, nd.n, nd.quad = 0, 1, false
		nd.h[0] = noWindow
		return nd
	case len(s) == 1:
		nd.b = s[0]
		return nd
	case len(s) < 4:
		w = 2
	default:
		nd.quad = true
	}
	for _, at := range []int{0, (len(s) - w) / 2, len(s) - w} {
		h := windowHash(s[at:], w)
		if nd.n == 0 || nd.h[nd.n-1] != h {
			nd.h[nd.n] = h
			nd.n++
		}
	}
	return nd
}

// noWindow is in every row's pair set (see grams).
const noWindow = 0

func windowHash(s []byte, w int) uint16 {
	if w == 4 {
		return gramHash(binary.LittleEndian.Uint32(s))
	}
	return gramHash(uint32(binary.LittleEndian.Uint16(s)) | 1<<31)
}

// gramReq is a req in grams: per clause, its needles.
type gramReq [][]needle

func newGramReq(r req) gramReq {
	var out gramReq
	for _, cl := range r {
		var nds []needle
		for _, l := range cl {
			nds = append(nds, newNeedle(l))
		}
		out = append(out, nds)
	}
	return out
}

// grams returns field f's grams for this row.
func (m *Matcher) grams(f int) *grams {
	g := &m.gram[f]
	if m.gramHave&(1<<f) != 0 {
		return g
	}
	m.gramHave |= 1 << f
	*g = grams{}
	g.pair.add(noWindow)
	v := m.view(f, vLower)
	for i := range v {
		g.bytes[v[i]>>6] |= 1 << (v[i] & 63)
		if i+2 <= len(v) {
			g.pair.add(windowHash(v[i:], 2))
		}
		if i+4 <= len(v) {
			g.quad.add(windowHash(v[i:], 4))
		}
	}
	return g
}

// may reports whether the needle's literal may occur (false: it does not).
func (m *Matcher) may(nd *needle) bool {
	g := m.grams(int(nd.field))
	if nd.n == 0 {
		return g.bytes[nd.b>>6]&(1<<(nd.b&63)) != 0
	}
	set := &g.pair
	if nd.quad {
		set = &g.quad
	}
	for _, h := range nd.h[:nd.n] {
		if !set.has(h) {
			return false
		}
	}
	return true
}

// mayHold reports whether every clause of r may hold (false: r does not).
func (m *Matcher) mayHold(r gramReq) bool {
	for _, cl := range r {
		ok := false
		for i := range cl {
			if m.may(&cl[i]) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
