package sigma

import (
	"cmp"
	"math/bits"
	"slices"
)

// prefilter is an Aho–Corasick automaton over the witness literals of one
// field, compiled to a DFA over byte classes: one table load per byte of
// the lower-cased value. Bytes in no literal are class 0; the maxClasses-3
// bytes most used in literals get a class each; the others share class 1
// (non-ASCII) or 2, so a literal with a rare byte also "occurs" where
// another rare byte stands. That only over-reports, which a witness may, and keeps the table
// small enough for the cache.
type prefilter struct {
	field int
	class [256]uint8
	shift uint8 // log2 of the row length
	// next[s<<shift|c] is the state after class c from state s; the top
	// bit marks a state at which literals end (its own or its suffixes').
	// 16 bits keep the table in the cache; more states take another
	// automaton.
	next []uint16
	// Per state id: the clauses whose literal ends there (outs[outAt[id]:
	// outAt[id+1]]) and the next shorter suffix state with outputs (or -1).
	outAt []int32
	outs  []int32
	dict  []int32
}

const (
	accept     = 1 << 15
	maxStates  = accept
	maxClasses = 64
)

// buildPrefilters returns automata over the literals (lits[i] is one of
// clause clauseOf[i]), as many as the state bound needs.
func buildPrefilters(field int, lits []string, clauseOf []int32) []*prefilter {
	if p := buildPrefilter(field, lits, clauseOf); p != nil {
		return []*prefilter{p}
	}
	h := len(lits) / 2
	return append(buildPrefilters(field, lits[:h], clauseOf[:h]), buildPrefilters(field, lits[h:], clauseOf[h:])...)
}

// buildPrefilter returns nil when the literals need more than maxStates
// states (one literal never does).
func buildPrefilter(field int, lits []string, clauseOf []int32) *prefilter {
	p := &prefilter{field: field}
	var count [256]int
	for _, s := range lits {
		for i := 0; i < len(s); i++ {
			count[s[i]]++
		}
	}
	var used []byte
	for b, n := range count {
		if n > 0 {
			used = append(used, byte(b))
		}
	}
	slices.SortStableFunc(used, func(a, b byte) int { return cmp.Compare(count[b], count[a]) })
	nclass := len(used) + 1
	if nclass > maxClasses {
		// Rare bytes share class 1 beyond ASCII, class 2 within: a
		// non-ASCII literal never "occurs" in ASCII text.
		for _, b := range used[maxClasses-3:] {
			p.class[b] = 1 + uint8(b>>7^1)
		}
		used, nclass = used[:maxClasses-3], maxClasses
	}
	for i, b := range used {
		p.class[b] = uint8(nclass - len(used) + i)
	}
	p.shift = uint8(bits.Len(uint(nclass - 1)))
	n := uint32(1) << p.shift
	nc := int(n)
	// Trie, sparse while it grows.
	type edge struct {
		from int32
		c    uint8
	}
	child := map[edge]int32{}
	own := [][]int32{nil}
	for li, s := range lits {
		st := int32(0)
		for i := 0; i < len(s); i++ {
			e := edge{st, p.class[s[i]]}
			t, ok := child[e]
			if !ok {
				t = int32(len(own))
				child[e] = t
				own = append(own, nil)
			}
			st = t
		}
		own[st] = append(own[st], clauseOf[li])
	}
	ns := len(own)
	if ns > maxStates {
		return nil
	}
	kids := make([][]edge, ns) // per state: (child, class), for the walk
	for e, t := range child {
		kids[e.from] = append(kids[e.from], edge{t, e.c})
	}
	// Breadth-first: a state's row is its failure state's row (finished
	// before it) with its own children over it.
	trie := make([]int32, ns*nc)
	fail := make([]int32, ns)
	p.dict = make([]int32, ns)
	p.dict[0] = -1
	hasOut := make([]bool, ns)
	queue := []int32{0}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		f := fail[u]
		row := trie[int(u)*nc : int(u+1)*nc]
		if u != 0 {
			copy(row, trie[int(f)*nc:int(f+1)*nc])
			if len(own[f]) > 0 {
				p.dict[u] = f
			} else {
				p.dict[u] = p.dict[f]
			}
		}
		hasOut[u] = len(own[u]) > 0 || p.dict[u] >= 0
		for _, k := range kids[u] {
			if u != 0 {
				fail[k.from] = row[k.c]
			}
			row[k.c] = k.from
			queue = append(queue, k.from)
		}
	}
	p.next = make([]uint16, len(trie))
	for i, t := range trie {
		v := uint16(t)
		if hasOut[t] {
			v |= accept
		}
		p.next[i] = v
	}
	p.outAt = make([]int32, ns+1)
	for s, o := range own {
		p.outAt[s+1] = p.outAt[s] + int32(len(o))
		p.outs = append(p.outs, o...)
	}
	return p
}

// scan sets in hit every clause with a literal in s, and in cand the rules
// those clauses make candidates.
func (p *prefilter) scan(s []byte, hit, cand []uint64, primary [][]int32) {
	st := 0
	next, class, shift := p.next, &p.class, p.shift
	for _, b := range s {
		t := next[st<<shift|int(class[b])]
		st = int(t &^ accept)
		if t&accept == 0 {
			continue
		}
		for id := int32(st); id >= 0; id = p.dict[id] {
			for _, c := range p.outs[p.outAt[id]:p.outAt[id+1]] {
				if hit[c>>6]&(1<<(c&63)) != 0 {
					continue
				}
				hit[c>>6] |= 1 << (c & 63)
				for _, r := range primary[c] {
					cand[r>>6] |= 1 << (r & 63)
				}
			}
		}
	}
}
