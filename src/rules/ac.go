package rules

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

	// next16 is next in the form of wordFilter.next, for automata small
	// enough (nil otherwise): states premultiplied, those with needles
	// from accBit on, accID[(s-accBit)/nclass] the state id of s.
	next16 *[1 << 16]uint16
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
		a.class[b] = classOf[fold[b]]
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

// layout16 places n states, each a row of ncol entries, in a 16-bit table:
// plain states from 0, accepting ones from accBit, so one bit of a state's
// offset says whether entering it reports something. It returns each
// state's offset and how many states of each kind there are; ok is false
// when either kind does not fit below its half of the table.
func layout16(n, ncol int, accepting func(int) bool) (off []int, nplain, nacc int, ok bool) {
	off = make([]int, n)
	for s := range n {
		if accepting(s) {
			off[s] = accBit + nacc*ncol
			nacc++
		} else {
			off[s] = nplain * ncol
			nplain++
		}
	}
	return off, nplain, nacc, nplain*ncol <= accBit && nacc*ncol <= accBit
}

// compact fills next16 and accID when the automaton fits.
func (a *automaton) compact(delta, outs [][]int32) {
	nc := int(a.nclass)
	off, _, nacc, ok := layout16(len(delta), nc, func(s int) bool { return len(outs[s]) > 0 })
	if !ok {
		return
	}
	a.next16 = new([1 << 16]uint16)
	a.div = newDivider(nc)
	a.accID = make([]int32, nacc)
	for s := range delta {
		for c := range nc {
			a.next16[off[s]+c] = uint16(off[delta[s][c]])
		}
		if off[s] >= accBit {
			a.accID[(off[s]-accBit)/nc] = int32(s)
		}
	}
}
