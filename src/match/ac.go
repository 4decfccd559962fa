package match

import "scorecmdline/src/normalize"

// automaton is an Aho–Corasick automaton compiled to a full DFA over byte
// classes: one table lookup per byte of the command line, whatever the
// number of needles. Bytes that occur in no needle share class 0, which keeps
// the table narrow (a few dozen columns for real packs).
type automaton struct {
	class  [256]uint8 // byte (before folding) -> class
	nclass int32
	// next[s+c] is the state after reading class c in state s. States are
	// stored premultiplied by nclass; an accepting state is stored as
	// -(s+1) so the scan tests acceptance with one sign check.
	next     []int32
	outStart []int32 // per state id: outs[outStart[id]:outStart[id+1]]
	outs     []int32 // needle ids ending at that state
	maxLen   int     // longest needle: the state depends on no more bytes

	// next32 is next in the layout of table.go (nil when too large):
	// states premultiplied, those with needles from acc on,
	// accID[(s-acc)/nclass] the state id of s.
	next32 []uint32
	acc    uint32
	accID  []int32
	div    divider // by nclass
	// pad is a byte of class 0: the automaton is at the root after it.
	pad    byte
	hasPad bool
}

func buildAutomaton(needles []string) *automaton {
	a := &automaton{}
	var classOf [256]uint8
	n := 1
	for _, s := range needles {
		a.maxLen = max(a.maxLen, len(s))
		for i := 0; i < len(s); i++ {
			if classOf[s[i]] == 0 {
				classOf[s[i]] = uint8(n)
				n++
			}
		}
	}
	if n > 256 {
		// Every byte value is in some needle: give up on class 0 sharing.
		n = 0
		for b := range classOf {
			classOf[b] = uint8(n)
			n++
		}
	}
	for b := range a.class {
		a.class[b] = classOf[normalize.Fold(byte(b))]
	}
	a.nclass = int32(n)
	nc := n

	// Trie.
	goto_ := [][]int32{make([]int32, nc)}
	own := [][]int32{nil}
	for id, s := range needles {
		st := 0
		for i := 0; i < len(s); i++ {
			c := classOf[s[i]]
			if goto_[st][c] == 0 {
				goto_ = append(goto_, make([]int32, nc))
				own = append(own, nil)
				goto_[st][c] = int32(len(goto_) - 1)
			}
			st = int(goto_[st][c])
		}
		own[st] = append(own[st], int32(id))
	}

	// Breadth-first: failure links, full transitions, inherited outputs.
	states := len(goto_)
	fail := make([]int32, states)
	delta := make([][]int32, states)
	outs := make([][]int32, states)
	delta[0] = goto_[0] // missing edges of the root stay at the root (0)
	outs[0] = own[0]
	queue := make([]int32, 0, states)
	for c := 0; c < nc; c++ {
		if v := goto_[0][c]; v != 0 {
			queue = append(queue, v)
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		outs[u] = append(append([]int32(nil), own[u]...), outs[fail[u]]...)
		row := make([]int32, nc)
		for c := 0; c < nc; c++ {
			if v := goto_[u][c]; v != 0 {
				fail[v] = delta[fail[u]][c]
				row[c] = v
				queue = append(queue, v)
			} else {
				row[c] = delta[fail[u]][c]
			}
		}
		delta[u] = row
	}

	a.next = make([]int32, states*nc)
	a.outStart = make([]int32, states+1)
	for s := 0; s < states; s++ {
		a.outStart[s] = int32(len(a.outs))
		a.outs = append(a.outs, outs[s]...)
	}
	a.outStart[states] = int32(len(a.outs))
	for s := 0; s < states; s++ {
		for c := 0; c < nc; c++ {
			t := delta[s][c]
			v := t * int32(nc)
			if len(outs[t]) > 0 {
				v = -v - 1
			}
			a.next[s*nc+c] = v
		}
	}
	a.compact(delta, outs)
	for b := range 256 {
		if a.class[b] == 0 {
			a.pad, a.hasPad = byte(b), true
			break
		}
	}
	return a
}

// compact fills next32 and accID when the automaton fits.
func (a *automaton) compact(delta, outs [][]int32) {
	nc := int(a.nclass)
	off, acc, size, ok := layout(len(delta), nc, func(s int) bool { return len(outs[s]) > 0 })
	if !ok {
		return
	}
	a.next32, a.acc = make([]uint32, size), acc
	a.div = newDivider(nc)
	a.accID = make([]int32, (size-int(acc))/nc)
	for s := range delta {
		for c := range nc {
			a.next32[int(off[s])+c] = off[delta[s][c]]
		}
		if off[s] >= acc {
			a.accID[int(off[s]-acc)/nc] = int32(s)
		}
	}
}
