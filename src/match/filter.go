package match

import (
	"encoding/binary"
	"slices"

	"scorecmdline/src/normalize"
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
// Each (left side, word, right side) is a token with a number; a phrase can
// match only if the tokens chosen for it were all seen. The matcher then
// runs in full, so the filter only has to be sound, never exact.
//
// Once the line is read, the phrases to check are those anchored on a token
// seen: each phrase is anchored on the one of its tokens that the fewest
// phrases share, so a common word ("powershell", "net") found on a line
// costs a look at few phrases, whatever the size of the pack. The phrases
// whose tokens were all seen are the candidates (Matcher.verify takes them
// on). A line that will match usually completes a phrase early: the scan
// may then stop there, since the matcher runs anyway.
//
// It runs as a DFA over byte columns, one table lookup per byte (see
// table.go). After a separator byte (other than "." and ^ ") the DFA is back
// at a start state known from that byte alone, so a line is cut into parts
// there and the parts are scanned in lock step.
type wordFilter struct {
	class [256]uint8 // byte -> column
	ncol  uint32
	div   divider // by ncol
	// next[s+c] is the state after reading column c in state s (states are
	// premultiplied by ncol). Entering a state s with bit acc set adds the
	// tokens of set accSet[(s-acc)/ncol].
	next   []uint32
	acc    uint32
	accSet []int32
	endSet []int32   // by state number (without accBit): tokens seen if the line ends there
	start  [3]uint32 // start state after a separator of each context

	shift uint32 // log2(acc)

	sets   [][]int32    // token sets, by id; 0 is the empty set
	ntok   int          // tokens; number ntok stands for giving up
	need   [][]int32    // by phrase: the tokens it needs
	anchor [][]anchored // by token: the phrases anchored on it
}

// anchored is a phrase anchored on a token, with a bit per token it needs
// (token mod 64), which rules most phrases out without reading need.
type anchored struct {
	sig uint64
	ph  int32
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
	f := &wordFilter{need: make([][]int32, len(phrases))}
	tokenID := map[filterToken]int32{}
	var tokens []filterToken
	for ph, info := range phrases {
		var all []filterToken
		for i, p := range info.pieces {
			all = append(all, pieceTokens(pieces[p], i > 0, i < len(info.pieces)-1)...)
		}
		// Prefer words of three or more characters: "f", "n" and "1" are in
		// every other line and would let it through alone. With them, they
		// only make the filter sharper.
		var chosen []filterToken
		for _, long := range []bool{true, false} {
			for _, t := range all {
				if len(chosen) < per && (len(t.word) >= 3) == long && !slices.Contains(chosen, t) {
					chosen = append(chosen, t)
				}
			}
		}
		if len(chosen) == 0 {
			return nil, false // a phrase of punctuation alone: any line may hold it
		}
		for _, t := range chosen {
			id, ok := tokenID[t]
			if !ok {
				id = int32(len(tokens))
				tokenID[t] = id
				tokens = append(tokens, t)
			}
			f.need[ph] = append(f.need[ph], id)
		}
	}
	f.ntok = len(tokens)
	give := int32(f.ntok)
	f.anchorPhrases(tokens)
	sets := tokenSets{ids: map[string]int32{"": 0}, lists: [][]int32{nil}}

	// Columns: one per letter or digit of the words, and for e and x, which
	// ".exe" needs.
	for c := 0; c < 256; c++ {
		switch {
		case isAlnum(byte(c)):
			f.class[c] = colAlnum
		case c == '^' || c == '"':
			f.class[c] = colSkip
		case normalize.KindOf(byte(c)) >= normalize.Blank: // blanks, line breaks, operators
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
		any   int32 // the set of tokens of words ending here, right side any
		blank int32 // and of those that need a blank after them
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
			one := sets.id([]int32{tokenID[t]})
			if t.right == sideBlank {
				trie[n].blank = sets.union(trie[n].blank, one)
			} else {
				trie[n].any = sets.union(trie[n].any, one)
			}
		}
	}

	const exe = "exe"

	// State keys, explored breadth-first from the start states.
	type key struct {
		at   bool  // between words; ctx is the left side of the next one
		ctx  uint8 //
		n    int32 // in a word: its trie node, or -1 when it is none of ours
		pend int32 // the tokens that ".exe" then a blank would complete
		prog uint8 // letters of "exe" read in this word, while pend != 0
		skip bool  // in a word, after ^ or "
		give bool  // gave up
		mask int32 // the tokens seen on entering
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
			return key{give: true, mask: sets.id([]int32{give})}
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
			var seen int32
			if k.skip {
				if child(root[sideAny], col) >= 0 {
					return key{give: true, mask: sets.id([]int32{give})}
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
		var seen, blank int32
		if k.n >= 0 {
			seen, blank = trie[k.n].any, trie[k.n].blank
		}
		if k.pend != 0 && k.prog == 3 {
			blank = sets.union(blank, k.pend)
		}
		out := key{at: true, ctx: uint8(sideOf(uint8(col)))}
		switch col {
		case colBlank:
			seen = sets.union(seen, blank)
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
		if len(keys)*ncol > maxFilterTable {
			return nil, true
		}
		for col := 0; col < ncol; col++ {
			trans = append(trans, add(step(keys[i], col)))
		}
	}

	// Number the states that add tokens from accBit on, so that one bit of
	// the state tells them apart.
	accepting := func(k key) bool { return k.mask != 0 }
	off, acc, size, fits := layout(len(keys), ncol, func(id int) bool { return accepting(keys[id]) })
	if !fits {
		return nil, true
	}
	f.ncol, f.acc = uint32(ncol), acc
	for f.shift = 0; 1<<f.shift < acc; f.shift++ {
	}
	f.div = newDivider(ncol)
	f.next = make([]uint32, size)
	f.accSet = make([]int32, (size-int(acc))/ncol)
	f.endSet = make([]int32, int(acc)/ncol+1)
	for id, k := range keys {
		s := off[id]
		for col := 0; col < ncol; col++ {
			f.next[s+uint32(col)] = off[trans[id*ncol+col]]
		}
		switch {
		case accepting(k):
			f.accSet[(s-acc)/uint32(ncol)] = k.mask
		case !k.at && !k.give && k.n >= 0:
			f.endSet[s/uint32(ncol)] = trie[k.n].any // nothing follows the last word, not even a blank
		}
	}
	for ctx := range root {
		f.start[ctx] = off[ids[key{at: true, ctx: uint8(ctx)}]]
	}
	f.sets = sets.lists
	return f, true
}

// maxFilterTable bounds the table while it is explored.
const maxFilterTable = 1 << 22

// anchorPhrases anchors each phrase on the token of its own that the fewest
// phrases need, a long one (see buildFilterN) if it has one.
func (f *wordFilter) anchorPhrases(tokens []filterToken) {
	uses := make([]int, f.ntok)
	for _, need := range f.need {
		for _, t := range need {
			uses[t]++
		}
	}
	f.anchor = make([][]anchored, f.ntok)
	short := func(t int32) bool { return len(tokens[t].word) < 3 }
	for ph, need := range f.need {
		best := need[0]
		a := anchored{ph: int32(ph)}
		for _, t := range need {
			if short(best) && !short(t) || short(best) == short(t) && uses[t] < uses[best] {
				best = t
			}
			a.sig |= 1 << (t % 64)
		}
		f.anchor[best] = append(f.anchor[best], a)
	}
}

// tokenSets numbers the distinct sets of tokens the DFA's states add, each
// kept sorted.
type tokenSets struct {
	ids   map[string]int32
	lists [][]int32
}

func (t *tokenSets) id(list []int32) int32 {
	key := make([]byte, 0, 4*len(list))
	for _, v := range list {
		key = binary.LittleEndian.AppendUint32(key, uint32(v))
	}
	if id, ok := t.ids[string(key)]; ok {
		return id
	}
	id := int32(len(t.lists))
	t.ids[string(key)] = id
	t.lists = append(t.lists, list)
	return id
}

func (t *tokenSets) union(a, b int32) int32 {
	switch {
	case a == b || b == 0:
		return a
	case a == 0:
		return b
	}
	u := slices.Concat(t.lists[a], t.lists[b])
	slices.Sort(u)
	return t.id(slices.Compact(u))
}

// pieceTokens returns the tokens of a piece (normalized and folded): each
// maximal run of letters and digits, with a blank or dash next to it. A
// piece after "..." stands after a blank, and one before "..." before a
// blank (see Matcher.chain).
func pieceTokens(s string, afterGap, beforeGap bool) []filterToken {
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
		} else if afterGap {
			t.left = sideBlank
		}
		if j < len(s) && s[j] == ' ' || j == len(s) && beforeGap {
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

// tokenSeen is the record of the tokens found on one line: a bit per token
// and their list. A Matcher keeps one.
type tokenSeen struct {
	bits []uint64
	list []int32
	sig  uint64 // a bit per token seen, token mod 64
}

func (t *tokenSeen) reset(ntok int) {
	if n := ntok/64 + 1; len(t.bits) < n {
		t.bits = make([]uint64, n)
	}
	for _, v := range t.list {
		t.bits[v/64] = 0
	}
	t.list, t.sig = t.list[:0], 0
}

func (t *tokenSeen) has(v int32) bool { return t.bits[v/64]&(1<<(v%64)) != 0 }

// add records the tokens of set id.
func (f *wordFilter) add(t *tokenSeen, id int32) {
	for _, v := range f.sets[id] {
		if !t.has(v) {
			t.bits[v/64] |= 1 << (v % 64)
			t.list = append(t.list, v)
			t.sig |= 1 << (v % 64)
		}
	}
}

// seen records in t the tokens found in buf[:n] (token ntok when the filter
// gives up on the line); buf[n:] must be filler bytes, as many as may be.
// With stop, it may stop as soon as a phrase is possible, and then reports
// true: t then holds the tokens found so far.
func (f *wordFilter) seen(t *tokenSeen, buf []byte, n int, stop bool) bool {
	t.reset(f.ntok + 1)
	line := buf[:n]
	if n < 64 {
		f.scan(t, f.start[sideAny], line, true)
		return false
	}
	// Cut points: just after the separator byte nearest each quarter; the
	// part that follows starts in the state that byte leaves.
	var cut [5]int
	var from [4]uint32
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
			for j := 0; j < k; j++ {
				end := n
				if j+1 < k {
					end = cut[j+1]
				}
				f.scan(t, from[j], line[cut[j]:end], end == n)
			}
			return false
		}
		cut[k] = i + 1
		from[k] = f.start[sideOf(f.class[line[i]])]
	}
	cut[4] = n
	return f.scan4(t, buf, &cut, &from, stop)
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
func (f *wordFilter) scan(t *tokenSeen, s uint32, part []byte, last bool) {
	next, class, acc := f.next, &f.class, f.acc
	for _, c := range part {
		s = next[s+uint32(class[c])]
		if s&acc != 0 {
			f.add(t, f.accSet[f.div.of(s-acc)])
		}
	}
	if last && s&acc == 0 {
		f.add(t, f.endSet[f.div.of(s)])
	}
}

// scan4 scans the four parts of buf[:cut[4]] in lock step, each as long
// as the longest: a part that ends early reads on into the next one (which
// it scans correctly, if for nothing) or into the filler. The lock step only
// notes that some part entered a state that adds tokens, which lines without
// words of the pack never do; from the block where that happened on, it
// records those states. With stop, it returns true as soon as a phrase
// anchored on a token just found is possible.
func (f *wordFilter) scan4(t *tokenSeen, buf []byte, cut *[5]int, from *[4]uint32, stop bool) bool {
	m := max(cut[1]-cut[0], cut[2]-cut[1], cut[3]-cut[2], cut[4]-cut[3])
	m = min(m, len(buf)-cut[3])
	p0, p1, p2, p3 := buf[cut[0]:cut[0]+m], buf[cut[1]:cut[1]+m], buf[cut[2]:cut[2]+m], buf[cut[3]:cut[3]+m]
	s := *from
	j := 0
	for j < m {
		e := min(j+lean, m)
		next, seen := lockstep(f.next, &f.class, p0[j:e], p1[j:e], p2[j:e], p3[j:e], s)
		if seen&f.acc != 0 {
			break
		}
		s, j = next, e
	}
	var rec [4 * block]uint32
	for ; j < m; j += block {
		e := min(j+block, m)
		next, n := lockstepAcc(f.next, &f.class, f.shift, p0[j:e], p1[j:e], p2[j:e], p3[j:e], s, &rec)
		if n > 0 {
			had := len(t.list)
			for _, st := range rec[:n] {
				f.add(t, f.accSet[f.div.of(st-f.acc)])
			}
			if stop && len(t.list) > had && f.completes(t, had) {
				return true
			}
		}
		s = next
	}
	f.tails(t, buf, cut, m, s)
	return false
}

// tails scans what the lock step of m bytes left of each part, from states
// s, and looks at the end of the line.
func (f *wordFilter) tails(t *tokenSeen, buf []byte, cut *[5]int, m int, s [4]uint32) {
	for k := range 4 {
		if done := cut[k] + m; done < cut[k+1] || k == 3 {
			f.scan(t, s[k], buf[min(done, cut[k+1]):cut[k+1]], k == 3)
		}
	}
}

// mayMatch reports whether some phrase may match buf[:n], where buf[n:] is
// filler bytes (see seen); t is scratch.
func (f *wordFilter) mayMatch(t *tokenSeen, buf []byte, n int) bool {
	f.seen(t, buf, n, false)
	return f.completes(t, 0)
}

// completes reports whether the filter gave up or a phrase anchored on a
// token of t.list[from:] needs no token beyond those seen.
func (f *wordFilter) completes(t *tokenSeen, from int) bool {
	for _, v := range t.list[from:] {
		if v == int32(f.ntok) {
			return true
		}
		for _, a := range f.anchor[v] {
			if a.sig&^t.sig == 0 && f.complete(t, a.ph) {
				return true
			}
		}
	}
	return false
}

// candidates appends to dst the phrases all of whose tokens were seen, once
// each (a phrase has one anchor). The caller checks giving up first.
func (f *wordFilter) candidates(t *tokenSeen, dst []int32) []int32 {
	for _, v := range t.list {
		if v == int32(f.ntok) {
			continue
		}
		for _, a := range f.anchor[v] {
			if a.sig&^t.sig == 0 && f.complete(t, a.ph) {
				dst = append(dst, a.ph)
			}
		}
	}
	return dst
}

// complete reports whether every token phrase ph needs was seen.
func (f *wordFilter) complete(t *tokenSeen, ph int32) bool {
	for _, v := range f.need[ph] {
		if !t.has(v) {
			return false
		}
	}
	return true
}
