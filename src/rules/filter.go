package rules

// wordFilter decides cheaply, on the raw command line, that no phrase of a
// Set can match it, so that most lines (which match nothing) skip
// normalization and the automaton altogether.
//
// Every phrase needs some words, the runs of ASCII letters and digits of its
// pieces ("net user ... /add" needs net, user and add), and each such run
// stands whole in the normalized line: it is bounded by what bounds it in
// the piece, or by the word boundary a piece needs at its ends. What
// normalization does to the raw line keeps those runs whole and bounded:
// lower-casing, blanks, operators and dashes touch no letter or digit, and
// ".exe" goes only at the end of a word. The one exception is ^ and ",
// which are removed: between two letters they join two runs into one
// (cer^tutil) yet leave a boundary (the "soft" one the matcher honours).
// The filter therefore reads the raw line as words split at every byte that
// is not a letter or digit, and gives up (says "maybe") on any ^ or " that
// stands between two letters or digits. A phrase can match only if all of
// its words were seen; the matcher then runs in full, so the filter only has
// to be sound, never exact.
//
// It runs as a DFA over byte classes, one table lookup per byte. After a
// separator byte the DFA is always back at its start state, so a line is cut
// into parts at separators and the parts are scanned in lock step: four
// independent chains of lookups hide the latency of each.
type wordFilter struct {
	class [256]uint8 // byte -> column
	shift uint       // columns per state, as a power of two
	// next[s+c] is the state after reading column c in state s (states are
	// premultiplied by 1<<shift). States from acc on are "a word just
	// ended" states; reaching one adds accMask[(s-acc)>>shift] to the words
	// seen.
	next    []uint16
	acc     uint16
	accMask []uint64
	endMask []uint64 // by state number: words complete if the line ends here

	phraseMask []uint64 // by phrase: the word bits it needs
}

// Filter columns.
const (
	fSep   = iota // neither a letter nor a digit, nor ^ or "
	fSkip         // ^ and ", which normalization removes
	fAlnum        // a letter or digit that no filter word holds
	fFirst        // first column of the letters and digits of filter words
)

// filterWordBits is the number of distinct word bits; words share bits
// beyond that, which only makes the filter less sharp.
const filterWordBits = 63

// maxFilterWords bounds the words taken from one phrase: a few distinctive
// ones are enough to reject almost every line, and fewer keep the table
// small.
const maxFilterWords = 4

// maxFilterStates keeps states<<shift within uint16.
const maxFilterEntries = 1 << 16

// buildFilter returns the filter for the phrases of a Set, given the text of
// every piece, or nil when some phrase has no word (nothing to look for) or
// the table would be too large.
func buildFilter(pieces []string, phrases []phraseInfo) *wordFilter {
	f := &wordFilter{phraseMask: make([]uint64, len(phrases))}
	wordBit := map[string]int{}
	var words []string
	for ph, info := range phrases {
		var all []string
		for _, p := range info.pieces {
			all = append(all, alnumRuns(pieces[p])...)
		}
		// Prefer words of three or more characters: "f", "n" and "1" are in
		// every other line and would let it through.
		var chosen []string
		for _, long := range []bool{true, false} {
			for _, w := range all {
				if len(chosen) < maxFilterWords && (len(w) >= 3) == long && !contains(chosen, w) {
					chosen = append(chosen, w)
				}
			}
			if len(chosen) > 0 {
				break
			}
		}
		if len(chosen) == 0 {
			return nil // a phrase of punctuation alone: every line may hold it
		}
		for _, w := range chosen {
			b, ok := wordBit[w]
			if !ok {
				b = len(words) % filterWordBits
				wordBit[w] = b
				words = append(words, w)
			}
			f.phraseMask[ph] |= 1 << b
		}
	}

	// Columns: one per letter or digit of the words.
	ncol := fFirst
	for c := 0; c < 256; c++ {
		if !isAlnum(byte(c)) {
			continue
		}
		f.class[c] = fAlnum
	}
	f.class['^'], f.class['"'] = fSkip, fSkip
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			if c := w[i]; f.class[c] == fAlnum {
				col := uint8(ncol)
				ncol++
				f.class[c] = col
				if 'a' <= c && c <= 'z' {
					f.class[c-'a'+'A'] = col
				}
			}
		}
	}
	for 1<<f.shift < ncol {
		f.shift++
	}
	cols := 1 << f.shift

	// The trie of the words; node 0 is the root, which is the start state.
	type node struct {
		child map[uint8]int
		bit   int // word bit when a word ends here, else -1
	}
	trie := []node{{child: map[uint8]int{}, bit: -1}}
	for _, w := range words {
		n := 0
		for i := 0; i < len(w); i++ {
			col := f.class[w[i]]
			next, ok := trie[n].child[col]
			if !ok {
				next = len(trie)
				trie = append(trie, node{child: map[uint8]int{}, bit: -1})
				trie[n].child[col] = next
			}
			n = next
		}
		trie[n].bit = wordBit[w]
	}

	// State numbers: trie nodes (the root is the start), then "in a word
	// that is none of ours", "after ^ or \" that follows a letter" (one per
	// word bit that just ended, and one for none), then the accepting
	// states: "a word just ended" per bit, and "give up".
	var used []int // word bits in use, in order
	seenBit := map[int]bool{}
	for _, w := range words {
		if b := wordBit[w]; !seenBit[b] {
			seenBit[b] = true
			used = append(used, b)
		}
	}
	dead := len(trie)
	pNone := dead + 1
	pBit := map[int]int{}
	for i, b := range used {
		pBit[b] = pNone + 1 + i
	}
	accBase := pNone + 1 + len(used)
	r0Bit := map[int]int{}
	for i, b := range used {
		r0Bit[b] = accBase + i
	}
	giveUp := accBase + len(used)
	states := giveUp + 1
	if states*cols > maxFilterEntries {
		return nil
	}

	f.next = make([]uint16, states*cols)
	f.acc = uint16(accBase * cols)
	f.accMask = make([]uint64, states-accBase)
	f.endMask = make([]uint64, states)
	for _, b := range used {
		f.accMask[r0Bit[b]-accBase] = 1 << b
		f.endMask[pBit[b]] = 1 << b
	}
	f.accMask[giveUp-accBase] = ^uint64(0)

	set := func(s, col, to int) { f.next[s*cols+col] = uint16(to * cols) }
	// afterWord fills the columns of a state that is inside a word: bit is
	// the word bit when the letters so far make a word of ours, else -1.
	afterWord := func(s, bit int) {
		if bit >= 0 {
			set(s, fSep, r0Bit[bit])
			set(s, fSkip, pBit[bit])
			f.endMask[s] = 1 << bit
		} else {
			set(s, fSep, 0)
			set(s, fSkip, pNone)
		}
	}
	startRow := func(s int) {
		set(s, fSep, 0)
		set(s, fSkip, 0)
		for col := fAlnum; col < cols; col++ {
			to := dead
			if next, ok := trie[0].child[uint8(col)]; ok {
				to = next
			}
			set(s, col, to)
		}
	}
	startRow(0)
	for n := 1; n < len(trie); n++ {
		afterWord(n, trie[n].bit)
		for col := fAlnum; col < cols; col++ {
			to := dead
			if next, ok := trie[n].child[uint8(col)]; ok {
				to = next
			}
			set(n, col, to)
		}
	}
	afterWord(dead, -1)
	for col := fAlnum; col < cols; col++ {
		set(dead, col, dead)
	}
	// After ^ or " that follows a letter: another letter joins the words
	// across it, which the filter does not follow.
	pending := func(s, end int) {
		set(s, fSep, end)
		set(s, fSkip, s)
		for col := fAlnum; col < cols; col++ {
			set(s, col, giveUp)
		}
	}
	pending(pNone, 0)
	for _, b := range used {
		pending(pBit[b], r0Bit[b])
		startRow(r0Bit[b])
	}
	for col := 0; col < cols; col++ {
		set(giveUp, col, giveUp)
	}
	return f
}

// alnumRuns returns the maximal runs of ASCII letters and digits of s.
func alnumRuns(s string) []string {
	var runs []string
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		runs = append(runs, s[i:j])
		i = j
	}
	return runs
}

// seen returns the word bits found in line (all bits when the filter gives
// up on it).
func (f *wordFilter) seen(line []byte) uint64 {
	// Cut points: just after a separator byte, near each quarter.
	var cut [5]int
	parts := 1
	if len(line) >= 64 {
		q := len(line) / 4
		for k := 1; k < 4; k++ {
			i := max(k*q, cut[parts-1])
			for i < len(line) && f.class[line[i]] != fSep {
				i++
			}
			if i+1 >= len(line) {
				break
			}
			cut[parts] = i + 1
			parts++
		}
	}
	cut[parts] = len(line)
	if parts < 4 {
		var found uint64
		for k := 0; k < parts; k++ {
			found |= f.scan(line[cut[k]:cut[k+1]], k == parts-1)
		}
		return found
	}
	return f.scan4(line, &cut)
}

// scan runs the DFA over one part from the start state; last says whether
// the part ends the line, where a word may end without a separator.
func (f *wordFilter) scan(part []byte, last bool) uint64 {
	next, class, acc := f.next, &f.class, f.acc
	var found uint64
	s := uint16(0)
	for _, c := range part {
		s = next[s+uint16(class[c])]
		if s >= acc {
			found |= f.accMask[(s-acc)>>f.shift]
		}
	}
	if last {
		found |= f.endMask[s>>f.shift]
	}
	return found
}

// scan4 scans four parts in lock step, then the rest of each alone.
func (f *wordFilter) scan4(line []byte, cut *[5]int) uint64 {
	next, class, acc, shift := f.next, &f.class, f.acc, f.shift
	p0, p1, p2, p3 := line[cut[0]:cut[1]], line[cut[1]:cut[2]], line[cut[2]:cut[3]], line[cut[3]:cut[4]]
	n := min(len(p0), len(p1), len(p2), len(p3))
	var found uint64
	var s0, s1, s2, s3 uint16
	q0, q1, q2, q3 := p0[:n], p1[:n], p2[:n], p3[:n]
	for j := range q0 {
		s0 = next[s0+uint16(class[q0[j]])]
		s1 = next[s1+uint16(class[q1[j]])]
		s2 = next[s2+uint16(class[q2[j]])]
		s3 = next[s3+uint16(class[q3[j]])]
		if s0 >= acc {
			found |= f.accMask[(s0-acc)>>shift]
		}
		if s1 >= acc {
			found |= f.accMask[(s1-acc)>>shift]
		}
		if s2 >= acc {
			found |= f.accMask[(s2-acc)>>shift]
		}
		if s3 >= acc {
			found |= f.accMask[(s3-acc)>>shift]
		}
	}
	found |= f.resume(s0, p0[n:], false)
	found |= f.resume(s1, p1[n:], false)
	found |= f.resume(s2, p2[n:], false)
	found |= f.resume(s3, p3[n:], true)
	return found
}

// resume is scan from state s.
func (f *wordFilter) resume(s uint16, part []byte, last bool) uint64 {
	next, class, acc := f.next, &f.class, f.acc
	var found uint64
	for _, c := range part {
		s = next[s+uint16(class[c])]
		if s >= acc {
			found |= f.accMask[(s-acc)>>f.shift]
		}
	}
	if last {
		found |= f.endMask[s>>f.shift]
	}
	return found
}

// mayMatch reports whether some phrase may match line.
func (f *wordFilter) mayMatch(line []byte) bool {
	found := f.seen(line)
	if found == 0 {
		return false // every phrase needs at least one word
	}
	for _, need := range f.phraseMask {
		if need&^found == 0 {
			return true
		}
	}
	return false
}
