package rules

import (
	"math/bits"
	"slices"
)

// wordFilter decides cheaply, on the raw command line, that no phrase of a
// Set can match it, so that most lines (which match nothing) skip
// normalization and the automaton altogether.
//
// Every phrase needs some words, the runs of ASCII letters and digits of its
// pieces ("net user ... /add" needs net, user and add), and each such run
// stands whole in the normalized line, bounded by what bounds it in the
// piece, or by the word boundary a piece needs at its ends. What
// normalization does to the raw line keeps those runs whole: lower-casing,
// blanks, operators and dashes touch no letter or digit, and ".exe" goes
// only at the end of a word. The one exception is ^ and ", which are
// removed: between two letters they join two runs into one (cer^tutil) yet
// leave a boundary (the "soft" one the matcher honours, x^certutil). The
// filter therefore reads the raw line as words split at every other byte,
// follows a word across ^ and ", and gives up (lets the line through) when a
// word of its own could also start right after them.
//
// A word is looked for with what the piece puts next to it, when that is a
// blank ("net" then a blank, in "net user") or a dash ("add" after one, in
// "-add"), which is what keeps "System.Net.WebClient ... User-Agent ...
// .Add(" from passing for "net user ... /add". In the raw line, a blank of
// the normalized one may also be an operator (echo|set), or ".exe" that
// normalization drops (net.exe user); a dash may be "/" or a Unicode dash.
// Each (left side, word, right side) is a token with a bit; a phrase can
// match only if the tokens chosen for it were all seen. The matcher then
// runs in full, so the filter only has to be sound, never exact.
//
// It runs as a DFA over byte columns, one table lookup per byte, in 128 KiB
// (states in uint16, so that the lookups need no bounds checks). After a
// separator byte (other than "." and ^ ") the DFA is back at a start state
// known from that byte alone, so a line is cut into parts there and the parts
// are scanned in lock step: four independent chains of lookups hide the
// latency of each, which is what bounds a one-chain scan.
type wordFilter struct {
	class [256]uint8 // byte -> column
	ncol  uint16
	div   divider // by ncol
	// next[s+c] is the state after reading column c in state s (states are
	// premultiplied by ncol). Entering a state s with accBit set adds
	// accMask[(s-accBit)/ncol] to the tokens seen.
	next    *[1 << 16]uint16
	accMask []uint64
	endMask []uint64  // by state number (without accBit): tokens seen if the line ends there
	start   [3]uint16 // start state after a separator of each context

	phraseMask []uint64     // by phrase: the token bits it needs
	byBit      [64][]uint64 // the distinct phrase masks holding each bit
}

// Columns.
const (
	colSep   = iota // a byte that is none of the below
	colBlank        // blanks and operators: a blank once normalized
	colDash         // - / and the last byte of a Unicode dash
	colDot          // ".", which may start ".exe"
	colSkip         // ^ and ", which normalization removes
	colAlnum        // a letter or digit that no token holds
	colFirst        // the letters and digits of the tokens
)

// What a token needs next to its word, and the contexts a separator leaves.
const (
	sideAny = iota
	sideBlank
	sideDash
)

// filterBits is the number of distinct token bits; tokens share bits
// beyond that, which only makes the filter less sharp. The last bit of 64
// is set only with all the others, by giving up.
const filterBits = 63

type filterToken struct {
	left  uint8 // sideAny, sideBlank or sideDash
	word  string
	right uint8 // sideAny or sideBlank
}

// buildFilter returns the filter for the phrases of a Set, given the text of
// every piece, or nil when some phrase has no word (nothing to look for) or
// the table does not fit.
func buildFilter(pieces []string, phrases []phraseInfo) *wordFilter {
	// Fewer tokens per phrase make a smaller table: try a few, then one.
	for _, per := range []int{4, 2, 1} {
		f, ok := buildFilterN(pieces, phrases, per)
		if !ok {
			return nil
		}
		if f != nil {
			return f
		}
	}
	return nil
}

// buildFilterN builds with at most per tokens a phrase. It returns ok false
// when no filter can be built at all, and a nil filter when the table is too
// large.
func buildFilterN(pieces []string, phrases []phraseInfo, per int) (*wordFilter, bool) {
	f := &wordFilter{phraseMask: make([]uint64, len(phrases))}
	tokenBit := map[filterToken]int{}
	var tokens []filterToken
	for ph, info := range phrases {
		var all []filterToken
		for _, p := range info.pieces {
			all = append(all, pieceTokens(pieces[p])...)
		}
		// Prefer words of three or more characters: "f", "n" and "1" are in
		// every other line and would let it through.
		var chosen []filterToken
		for _, long := range []bool{true, false} {
			for _, t := range all {
				if len(chosen) < per && (len(t.word) >= 3) == long && !slices.Contains(chosen, t) {
					chosen = append(chosen, t)
				}
			}
			if len(chosen) > 0 {
				break
			}
		}
		if len(chosen) == 0 {
			return nil, false // a phrase of punctuation alone: any line may hold it
		}
		for _, t := range chosen {
			b, ok := tokenBit[t]
			if !ok {
				b = len(tokens) % filterBits
				tokenBit[t] = b
				tokens = append(tokens, t)
			}
			f.phraseMask[ph] |= 1 << b
		}
	}

	f.byBit[filterBits] = []uint64{0} // giving up makes any phrase possible
	for _, need := range f.phraseMask {
		for b := range filterBits {
			if need&(1<<b) != 0 && !slices.Contains(f.byBit[b], need) {
				f.byBit[b] = append(f.byBit[b], need)
			}
		}
	}

	// Columns: one per letter or digit of the words, and for e and x, which
	// ".exe" needs.
	for c := 0; c < 256; c++ {
		switch {
		case isAlnum(byte(c)):
			f.class[c] = colAlnum
		case c == '^' || c == '"':
			f.class[c] = colSkip
		case normClass[c] == cSpace || normClass[c] == cNewline || normClass[c] == cOp:
			f.class[c] = colBlank
		case c == '-' || c == '/' || 0x90 <= c && c <= 0x95:
			f.class[c] = colDash
		case c == '.':
			f.class[c] = colDot
		}
	}
	ncol := colFirst
	letters := "ex"
	for _, t := range tokens {
		letters += t.word
	}
	for i := 0; i < len(letters); i++ {
		if c := letters[i]; f.class[c] == colAlnum {
			f.class[c] = uint8(ncol)
			if 'a' <= c && c <= 'z' {
				f.class[c-'a'+'A'] = uint8(ncol)
			}
			ncol++
		}
	}
	colE := int(f.class['e'])

	// One trie per left context, of the words that may follow it.
	type node struct {
		child map[int]int32
		any   uint64 // token bits of words ending here, right side any
		blank uint64 // and those that need a blank after them
	}
	var trie []node
	var root [3]int32
	for ctx := range root {
		root[ctx] = int32(len(trie))
		trie = append(trie, node{child: map[int]int32{}})
		for _, t := range tokens {
			if t.left != sideAny && int(t.left) != ctx {
				continue
			}
			n := root[ctx]
			for i := 0; i < len(t.word); i++ {
				col := int(f.class[t.word[i]])
				next, ok := trie[n].child[col]
				if !ok {
					next = int32(len(trie))
					trie = append(trie, node{child: map[int]int32{}})
					trie[n].child[col] = next
				}
				n = next
			}
			if t.right == sideBlank {
				trie[n].blank |= 1 << tokenBit[t]
			} else {
				trie[n].any |= 1 << tokenBit[t]
			}
		}
	}

	const exe = "exe"

	// State keys, explored breadth-first from the start states.
	type key struct {
		at   bool   // between words; ctx is the left side of the next one
		ctx  uint8  //
		n    int32  // in a word: its trie node, or -1 when it is none of ours
		pend uint64 // token bits that ".exe" then a blank would complete
		prog uint8  // letters of "exe" read in this word, while pend != 0
		skip bool   // in a word, after ^ or "
		give bool   // gave up
		mask uint64 // token bits seen on entering
	}
	child := func(n int32, col int) int32 {
		if n >= 0 {
			if next, ok := trie[n].child[col]; ok {
				return next
			}
		}
		return -1
	}
	step := func(k key, col int) key {
		if k.give {
			return key{give: true}
		}
		if k.at {
			switch {
			case col == colSkip:
				k.mask = 0
				return k
			case col < colSkip:
				return key{at: true, ctx: uint8(sideOf(uint8(col)))}
			}
			w := key{n: child(root[k.ctx], col), pend: k.pend}
			if w.pend != 0 && col == colE {
				w.prog = 1
			} else {
				w.pend = 0
			}
			return w
		}
		if col == colSkip {
			k.skip, k.mask = true, 0
			return k
		}
		if col >= colAlnum {
			// After ^ or " this letter joins the word (cer^tutil is
			// certutil), yet the matcher also sees a boundary there
			// (x^certutil holds certutil): the word so far ends, and one may
			// start. Following both readings would multiply the states, so
			// the filter gives up when a word of ours may start here.
			var seen uint64
			if k.skip {
				if child(root[sideAny], col) >= 0 {
					return key{give: true, mask: ^uint64(0)}
				}
				if k.n >= 0 {
					seen = trie[k.n].any
				}
			}
			w := key{n: child(k.n, col), pend: k.pend, prog: k.prog, mask: seen}
			if w.pend != 0 && w.prog < 3 && col == int(f.class[exe[w.prog]]) {
				w.prog++
			} else {
				w.pend, w.prog = 0, 0
			}
			return w
		}
		// The word ends at a separator.
		var seen, blank uint64
		if k.n >= 0 {
			seen, blank = trie[k.n].any, trie[k.n].blank
		}
		if k.pend != 0 && k.prog == 3 {
			blank |= k.pend
		}
		out := key{at: true, ctx: uint8(sideOf(uint8(col)))}
		switch col {
		case colBlank:
			seen |= blank
		case colDot:
			out.pend = blank
		}
		out.mask = seen
		return out
	}

	ids := map[key]int{}
	var keys []key
	add := func(k key) int {
		if id, ok := ids[k]; ok {
			return id
		}
		ids[k] = len(keys)
		keys = append(keys, k)
		return len(keys) - 1
	}
	for ctx := range root {
		add(key{at: true, ctx: uint8(ctx)})
	}
	var trans []int // trans[id*ncol+col]
	for i := 0; i < len(keys); i++ {
		if len(keys)*ncol > maxFilterEntries {
			return nil, true
		}
		for col := 0; col < ncol; col++ {
			trans = append(trans, add(step(keys[i], col)))
		}
	}

	// Number the states that add tokens from accBit on, so that one bit of
	// the state tells them apart.
	accepting := func(k key) bool { return k.mask != 0 }
	off, nplain, nacc, fits := layout16(len(keys), ncol, func(id int) bool { return accepting(keys[id]) })
	if !fits {
		return nil, true
	}
	f.ncol = uint16(ncol)
	f.div = newDivider(ncol)
	f.next = new([1 << 16]uint16)
	f.accMask = make([]uint64, nacc)
	f.endMask = make([]uint64, nplain)
	for id, k := range keys {
		s := off[id]
		for col := 0; col < ncol; col++ {
			f.next[s+col] = uint16(off[trans[id*ncol+col]])
		}
		switch {
		case accepting(k):
			f.accMask[(s-accBit)/ncol] = k.mask
		case !k.at && !k.give && k.n >= 0:
			f.endMask[s/ncol] = trie[k.n].any // nothing follows the last word, not even a blank
		}
	}
	for ctx := range root {
		f.start[ctx] = uint16(off[ids[key{at: true, ctx: uint8(ctx)}]])
	}
	return f, true
}

// accBit is set in the (premultiplied) numbers of the states that add
// tokens, and in no other.
const accBit = 1 << 15

// maxFilterEntries bounds the table while it is explored.
const maxFilterEntries = 1 << 16

// pieceTokens returns the tokens of a piece (normalized and folded): each
// maximal run of letters and digits, with a blank or dash next to it.
func pieceTokens(s string) []filterToken {
	var out []filterToken
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		t := filterToken{word: s[i:j]}
		if i > 0 {
			switch s[i-1] {
			case ' ':
				t.left = sideBlank
			case '-':
				t.left = sideDash
			}
		}
		if j < len(s) && s[j] == ' ' {
			t.right = sideBlank
		}
		out = append(out, t)
		i = j
	}
	return out
}

// filler is a byte the DFA reads as a separator other than a blank or a
// dash: reading it after the end of the line is the same as the end, so a
// line followed by filler bytes lets the last part run on in lock step.
const filler = 0x01

// seen returns the token bits found in buf[:n] (all bits when the filter
// gives up on it); buf[n:] must be filler bytes, as many as may be. It may
// stop early, as soon as some phrase is possible.
func (f *wordFilter) seen(buf []byte, n int) uint64 {
	line := buf[:n]
	if n < 64 {
		return f.scan(f.start[sideAny], line, true)
	}
	// Cut points: just after the separator byte nearest each quarter; the
	// part that follows starts in the state that byte leaves.
	var cut [5]int
	var from [4]uint16
	from[0] = f.start[sideAny]
	q := n / 4
	for k := 1; k < 4; k++ {
		lo, hi := cut[k-1], n-1 // a cut leaves something on both sides
		i := -1
		for d := 0; k*q-d > lo || k*q+d < hi; d++ {
			if j := k*q + d; j < hi && f.class[line[j]] <= colDash {
				i = j
				break
			}
			if j := k*q - d - 1; j >= lo && j < hi && f.class[line[j]] <= colDash {
				i = j
				break
			}
		}
		if i < 0 {
			// No separator left: scan the rest as one part.
			var found uint64
			for j := 0; j < k; j++ {
				end := n
				if j+1 < k {
					end = cut[j+1]
				}
				found |= f.scan(from[j], line[cut[j]:end], end == n)
			}
			return found
		}
		cut[k] = i + 1
		from[k] = f.start[sideOf(f.class[line[i]])]
	}
	cut[4] = n
	return f.scan4(buf, &cut, &from)
}

// sideOf is the left side a separator column leaves for the next word.
func sideOf(col uint8) int {
	switch col {
	case colBlank:
		return sideBlank
	case colDash:
		return sideDash
	}
	return sideAny
}

// scan runs the DFA over part from state s; last says whether the part ends
// the line.
func (f *wordFilter) scan(s uint16, part []byte, last bool) uint64 {
	next, class := f.next, &f.class
	var found uint64
	for _, c := range part {
		s = next[s+uint16(class[c])]
		if s&accBit != 0 {
			found |= f.accMask[f.div.of(s-accBit)]
		}
	}
	if last && s&accBit == 0 {
		found |= f.endMask[f.div.of(s)]
	}
	return found
}

// filterBlock is how many bytes of each part scan4 reads between looks at
// the tokens seen, once it has met one, and leanBlock before that.
const (
	filterBlock = 16
	leanBlock   = 32
)

// scan4 scans the four parts of buf[:cut[4]] in lock step, each as long
// as the longest: a part that ends early reads on into the next one (which
// it scans correctly, if for nothing) or into the filler. The lock step only
// notes that some part entered a state that adds tokens, which most lines
// never do; from the block where that happened on, it records the states.
func (f *wordFilter) scan4(buf []byte, cut *[5]int, from *[4]uint16) uint64 {
	m := max(cut[1]-cut[0], cut[2]-cut[1], cut[3]-cut[2], cut[4]-cut[3])
	m = min(m, len(buf)-cut[3])
	p0, p1, p2, p3 := buf[cut[0]:cut[0]+m], buf[cut[1]:cut[1]+m], buf[cut[2]:cut[2]+m], buf[cut[3]:cut[3]+m]
	s := *from
	// The lean loop, for as long as no part meets a token (to the end, in
	// most lines).
	j := 0
	for j < m {
		e := min(j+leanBlock, m)
		t, seen := lockstep(f.next, &f.class, p0[j:e], p1[j:e], p2[j:e], p3[j:e], s)
		if seen&accBit != 0 {
			break
		}
		s, j = t, e
	}
	// From there on, the loop that records where tokens were seen.
	var found uint64
	var rec [filterBlock]stepRec
	for ; j < m; j += filterBlock {
		e := min(j+filterBlock, m)
		t, n := lockstepRec(f.next, &f.class, p0[j:e], p1[j:e], p2[j:e], p3[j:e], s, &rec)
		if n != 0 {
			var add uint64
			for _, r := range rec[:n] {
				add |= f.accepted(r.s[0]) | f.accepted(r.s[1]) | f.accepted(r.s[2]) | f.accepted(r.s[3])
			}
			if add&^found != 0 && f.completes(found|add, add&^found) {
				return found | add // the matcher runs anyway: the rest is no use
			}
			found |= add
		}
		s = t
	}
	return found | f.tails(buf, cut, m, s)
}

// lockstep runs the DFA over four parts of equal length from states s, and
// returns the states after them and the bits of all the states met. It is
// kept small so that everything it needs stays in registers.
func lockstep(next *[1 << 16]uint16, class *[256]uint8, q0, q1, q2, q3 []byte, s [4]uint16) ([4]uint16, uint16) {
	q1, q2, q3 = q1[:len(q0)], q2[:len(q0)], q3[:len(q0)]
	s0, s1, s2, s3 := s[0], s[1], s[2], s[3]
	var seen uint16
	for k := range q0 {
		// uint16 indexes into a 1<<16 table need no bounds checks.
		s0 = next[s0+uint16(class[q0[k]])]
		s1 = next[s1+uint16(class[q1[k]])]
		s2 = next[s2+uint16(class[q2[k]])]
		s3 = next[s3+uint16(class[q3[k]])]
		seen |= s0 | s1 | s2 | s3
	}
	return [4]uint16{s0, s1, s2, s3}, seen
}

// stepRec is a step of lockstepRec where some part met a state with
// accBit: its offset and the four states.
type stepRec struct {
	j int32
	s [4]uint16
}

// lockstepRec is lockstep that also records the steps where a state has
// accBit set, in rec (which has room for one a step). The four parts are
// first copied side by side, which frees the registers the recording needs.
func lockstepRec(next *[1 << 16]uint16, class *[256]uint8, q0, q1, q2, q3 []byte, s [4]uint16, rec *[filterBlock]stepRec) ([4]uint16, int) {
	var blk [4][filterBlock]byte
	l := min(len(q0), filterBlock)
	copy(blk[0][:], q0[:l])
	copy(blk[1][:], q1[:l])
	copy(blk[2][:], q2[:l])
	copy(blk[3][:], q3[:l])
	s0, s1, s2, s3 := s[0], s[1], s[2], s[3]
	n := 0
	for k := range l {
		k &= filterBlock - 1
		s0 = next[s0+uint16(class[blk[0][k]])]
		s1 = next[s1+uint16(class[blk[1][k]])]
		s2 = next[s2+uint16(class[blk[2][k]])]
		s3 = next[s3+uint16(class[blk[3][k]])]
		if (s0|s1|s2|s3)&accBit != 0 {
			rec[n&(filterBlock-1)] = stepRec{int32(k), [4]uint16{s0, s1, s2, s3}}
			n++
		}
	}
	return [4]uint16{s0, s1, s2, s3}, n
}

// tails scans what the lock step of m bytes left of each part, from states
// s, and looks at the end of the line.
func (f *wordFilter) tails(buf []byte, cut *[5]int, m int, s [4]uint16) uint64 {
	var found uint64
	for k := range 4 {
		if done := cut[k] + m; done < cut[k+1] || k == 3 {
			found |= f.scan(s[k], buf[min(done, cut[k+1]):cut[k+1]], k == 3)
		}
	}
	return found
}

// accepted returns the tokens seen on entering state s.
func (f *wordFilter) accepted(s uint16) uint64 {
	if s&accBit == 0 {
		return 0
	}
	return f.accMask[f.div.of(s-accBit)]
}

// mayMatch reports whether some phrase may match buf[:n], where buf[n:] is
// filler bytes (see seen).
func (f *wordFilter) mayMatch(buf []byte, n int) bool {
	return f.possible(f.seen(buf, n))
}

// completes reports whether a phrase that needs one of the tokens just
// added needs no token beyond found.
func (f *wordFilter) completes(found, added uint64) bool {
	for ; added != 0; added &= added - 1 {
		for _, need := range f.byBit[bits.TrailingZeros64(added)] {
			if need&^found == 0 {
				return true
			}
		}
	}
	return false
}

// possible reports whether some phrase needs no token beyond found.
func (f *wordFilter) possible(found uint64) bool {
	if found == 0 {
		return false // every phrase needs at least one token
	}
	for _, need := range f.phraseMask {
		if need&^found == 0 {
			return true
		}
	}
	return false
}

// divider divides numbers below 1<<16 by a number up to 256 with a multiply,
// exactly: the error of the rounded-up reciprocal stays below one part in
// 1<<24.
type divider struct{ m uint64 }

func newDivider(d int) divider { return divider{(1<<32 + uint64(d) - 1) / uint64(d)} }

func (v divider) of(x uint16) int { return int(uint64(x) * v.m >> 32) }
