package match

import (
	"encoding/binary"
	"math/bits"
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
// leave a boundary (the "soft" one the matcher honours, x^certutil). On
// such a join the filter gives up and lets the line through: benign lines
// hardly hold one (2 in 10,700 of the corpus), and the lines that do are
// obfuscated, which the matcher had better read in full anyway.
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
// A line is read a word at a time, so that it costs what its words cost,
// whatever the size of the pack: bitmaps of where words start and end,
// built eight bytes at a time, give the words; each is hashed by its first
// eight bytes and its length, a bit per hash value turns most away, and the
// rest are looked up in a small open-addressing table of the pack's words.
// Only the words found look at their sides. (A DFA over the bytes, which
// this replaced, cost as much per byte but paid dearly for each word of the
// pack it met, and a benign PowerShell line holds a dozen of a large pack's.)
//
// Once the line is read, the phrases to check are those anchored on a token
// seen: each phrase is anchored on the one of its tokens that the fewest
// phrases share, so a common word ("powershell", "net") found on a line
// costs a look at few phrases, whatever the size of the pack. The phrases
// whose tokens were all seen are the candidates (Matcher.verify takes them
// on).
type wordFilter struct {
	// The words of the pack: a bit per hash value (the top bits of the
	// hash), which settles most words of a line without a branch the
	// processor mispredicts, then an open-addressing table, a power of two
	// at most half full.
	present [hashBits / 64]uint64
	slots   []wordSlot
	shift   uint // 64 - log2(len(slots))
	words   []filterWord

	tokens []filterToken // by number; number len(tokens) stands for giving up
	ntok   int           // len(tokens)
	need   [][]int32     // by phrase: the tokens it needs
	anchor [][]anchored  // by token: the phrases anchored on it
}

// wordSlot holds a word of the pack, by its first sixteen bytes
// (zero-padded) and its length, which tell most words apart whole.
type wordSlot struct {
	head, next uint64
	n          int32 // 0: a free slot
	word       int32 // into wordFilter.words
}

// filterWord is a word of the pack: its bytes from the seventeenth on, and
// the tokens it stands for, by its left side and by whether a blank
// follows.
type filterWord struct {
	rest   []uint64 // eight bytes at a time, zero-padded
	tokens [3][2][]int32
}

// anchored is a phrase anchored on a token, with a bit per token it needs
// (token mod 64), which rules most phrases out without reading need.
type anchored struct {
	sig uint64
	ph  int32
}

// Byte classes of the raw line.
const (
	colSep   = iota // a byte that is none of the below
	colBlank        // blanks and operators: a blank once normalized
	colDash         // - / and the last byte of a Unicode dash
	colDot          // ".", which may start ".exe"
	colSkip         // ^ and ", which normalization removes
	colAlnum        // ASCII letters and digits
)

var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case isAlnum(byte(c)):
			t[c] = colAlnum
		case c == '^' || c == '"':
			t[c] = colSkip
		case normalize.KindOf(byte(c)) >= normalize.Blank: // blanks, line breaks, operators
			t[c] = colBlank
		case c == '-' || c == '/' || 0x90 <= c && c <= 0x95:
			t[c] = colDash
		case c == '.':
			t[c] = colDot
		}
	}
	return t
}()

// What a token needs next to its word.
const (
	sideAny = iota
	sideBlank
	sideDash
)

// sideOf is the left side a byte before a word gives it.
func sideOf(class uint8) int { return int(sides[class]) }

var sides = [...]uint8{colBlank: sideBlank, colDash: sideDash, colAlnum: sideAny}

type filterToken struct {
	left  uint8 // sideAny, sideBlank or sideDash
	word  string
	right uint8 // sideAny or sideBlank
}

// maxNeed bounds the tokens a phrase needs: a fifth word rarely rules out
// a line the first four let through, and each word in the table is one
// more to look at on the lines that hold it.
const maxNeed = 4

// buildFilter returns the filter for the phrases of a Set, given the text of
// every piece, or nil when some phrase has no word (nothing to look for).
func buildFilter(pieces []string, phrases []phraseInfo) *wordFilter {
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
				if len(chosen) < maxNeed && (len(t.word) >= 3) == long && !slices.Contains(chosen, t) {
					chosen = append(chosen, t)
				}
			}
		}
		if len(chosen) == 0 {
			return nil // a phrase of punctuation alone: any line may hold it
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
	f.tokens, f.ntok = tokens, len(tokens)
	f.anchorPhrases()

	wordID := map[string]int{}
	var words []string
	for id, t := range tokens {
		w, ok := wordID[t.word]
		if !ok {
			w = len(words)
			wordID[t.word] = w
			words = append(words, t.word)
			f.words = append(f.words, filterWord{})
		}
		for left := range 3 {
			for blank := range 2 {
				if (t.left == sideAny || int(t.left) == left) && (t.right == sideAny || blank == 1) {
					f.words[w].tokens[left][blank] = append(f.words[w].tokens[left][blank], int32(id))
				}
			}
		}
	}
	size := 16
	for size < 2*len(words) {
		size *= 2
	}
	f.slots = make([]wordSlot, size)
	f.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for w, word := range words {
		b := append([]byte(word), make([]byte, 16)...)
		for k := 16; k < len(word); k += 8 {
			f.words[w].rest = append(f.words[w].rest, chunk(b[k:], len(word)-k))
		}
		head := chunk(b, len(word))
		h := hash(head, len(word))
		f.present[h>>(64-hashLog)/64] |= 1 << (h >> (64 - hashLog) % 64)
		k := int(h >> f.shift)
		for f.slots[k].n != 0 {
			k = (k + 1) & (size - 1)
		}
		f.slots[k] = wordSlot{head: head, next: chunk(b[8:], max(len(word)-8, 0)), n: int32(len(word)), word: int32(w)}
	}
	return f
}

// chunk returns the r bytes (up to eight) at the start of b, which are
// letters and digits, lower-cased and zero-padded; b must have eight bytes.
// Setting bit 5 lower-cases a letter and leaves a digit as it is.
func chunk(b []byte, r int) uint64 {
	return (binary.LittleEndian.Uint64(b) | 0x2020202020202020) & firstBytes[min(r, 8)]
}

// firstBytes[r] keeps the first r bytes of eight (a table, not a shift
// and a branch: a line's words are as often shorter than eight as not).
var firstBytes = [9]uint64{0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff, 0xffffffffffffffff}

// hash hashes a word by its first eight bytes and its length: a
// multiplicative (Fibonacci) hash, whose top bits are mixed from all of
// theirs.
func hash(head uint64, n int) uint64 {
	return (head + uint64(n)) * 0x9e3779b97f4a7c15
}

// The bits of wordFilter.present.
const (
	hashLog  = 12
	hashBits = 1 << hashLog
)

// lookup returns the word of the pack that b[:n] is, or -1. b[:n] holds
// letters and digits, and b has eight bytes more.
func (f *wordFilter) lookup(b []byte, n int) int32 {
	head := chunk(b, n)
	h := hash(head, n)
	if f.mayHold(h) == 0 {
		return -1
	}
	return f.find(b, n, head, h)
}

// find is lookup once the table's bits let the word through.
func (f *wordFilter) find(b []byte, n int, head, h uint64) int32 {
	next := chunk(b[8:], max(n-8, 0))
	mask := len(f.slots) - 1
	for k := int(h >> f.shift); ; k = (k + 1) & mask {
		s := &f.slots[k]
		if s.head == head && s.next == next && int(s.n) == n {
			if n > 16 && !f.sameRest(s.word, b, n) {
				continue
			}
			return s.word
		}
		if s.n == 0 {
			return -1
		}
	}
}

// mayHold is 1 when the pack may hold a word of hash h, 0 when not.
func (f *wordFilter) mayHold(h uint64) int {
	top := h >> (64 - hashLog)
	return int(f.present[top/64] >> (top % 64) & 1)
}

// sameRest reports whether word w goes on as b[:n] does after sixteen
// bytes.
func (f *wordFilter) sameRest(w int32, b []byte, n int) bool {
	for k, c := range f.words[w].rest {
		if chunk(b[16+8*k:], n-16-8*k) != c {
			return false
		}
	}
	return true
}

// anchorPhrases anchors each phrase on the token of its own that the fewest
// phrases need, a long one (see buildFilter) if it has one.
func (f *wordFilter) anchorPhrases() {
	uses := make([]int, f.ntok)
	for _, need := range f.need {
		for _, t := range need {
			uses[t]++
		}
	}
	f.anchor = make([][]anchored, f.ntok)
	short := func(t int32) bool { return len(f.tokens[t].word) < 3 }
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

// filler is a byte the filter reads as neither a letter, digit, blank, dash
// nor dot; Matcher.raw has 64 of them after the line, so that the filter
// reads whole blocks of 64 bytes and words of eight without bounds.
const filler = 0x01

// tokenSeen is the record of the tokens found on one line: a bit per token
// and their list. A Matcher keeps one.
type tokenSeen struct {
	bits         []uint64
	list         []int32
	sig          uint64   // a bit per token seen, token mod 64
	starts, ends []uint64 // scratch: the line's words (wordBits)
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

// add records tokens.
func (t *tokenSeen) add(tokens []int32) {
	for _, v := range tokens {
		t.mark(v)
	}
}

func (t *tokenSeen) mark(v int32) {
	if !t.has(v) {
		t.bits[v/64] |= 1 << (v % 64)
		t.list = append(t.list, v)
		t.sig |= 1 << (v % 64)
	}
}

// seen records in t the tokens found in buf[:n], and token ntok when the
// filter gives up on the line; buf[n:n+64] must be filler bytes.
func (f *wordFilter) seen(t *tokenSeen, buf []byte, n int) {
	t.reset(f.ntok + 1)
	starts, ends := t.wordBits(buf, n)
	ke, eb := 0, ends[0]
	for ks, sb := range starts {
		for sb != 0 {
			i := ks*64 + bits.TrailingZeros64(sb) // a word starts
			sb &= sb - 1
			for eb == 0 {
				ke++
				eb = ends[ke]
			}
			e := ke*64 + bits.TrailingZeros64(eb) // and ends
			eb &= eb - 1
			if byteClass[buf[e]] == colSkip && joined(buf, e, n) {
				t.mark(int32(f.ntok))
				return
			}
			// The lookup, inlined up to the table's bits, which turn most
			// words away.
			head := chunk(buf[i:], e-i)
			h := hash(head, e-i)
			if f.mayHold(h) == 0 {
				continue
			}
			if w := f.find(buf[i:], e-i, head, h); w >= 0 {
				t.add(f.words[w].tokens[leftSide(buf, i)][blankAfter(buf, e, n)])
			}
		}
	}
}

// wordBits returns two bitmaps of buf[:n]: the bytes that start a word (an
// ASCII letter or digit after a byte that is not one) and those that end
// one (the byte after its last), every word ending in them, since
// buf[n:n+64] must be filler.
func (t *tokenSeen) wordBits(buf []byte, n int) (starts, ends []uint64) {
	m := n/64 + 1
	if cap(t.starts) < m {
		t.starts, t.ends = make([]uint64, m), make([]uint64, m)
	}
	starts, ends = t.starts[:m], t.ends[:m]
	var carry uint64 // whether the last byte of the block before is one
	for k := range m {
		w := alnum64((*[64]byte)(buf[64*k:]))
		before := w<<1 | carry
		starts[k], ends[k] = w&^before, before&^w
		carry = w >> 63
	}
	return starts, ends
}

// alnum64 returns a bit per byte of b, set for the ASCII letters and digits.
//
// It tests eight bytes at a time: adding 0x80-c to a byte below 0x80 sets
// its high bit exactly when it is c or more, and carries into no other
// byte, so two adds bound a range; the bytes from 0x80 on are dropped at
// the end. A multiply gathers the eight high bits, moved down to bit 0 of
// their bytes, in its top byte (no two partial products share a bit).
func alnum64(b *[64]byte) uint64 {
	const (
		ones = 0x0101010101010101
		high = 0x80 * ones
	)
	var w uint64
	for j := 0; j < 64; j += 8 {
		v := binary.LittleEndian.Uint64(b[j:])
		x := v &^ high
		l := x | 0x20*ones // letters lower-cased, no other byte made one
		r := (x+(0x80-'0')*ones)&^(x+(0x80-'9'-1)*ones) | (l+(0x80-'a')*ones)&^(l+(0x80-'z'-1)*ones)
		r &= high &^ v
		w |= (r >> 7) * 0x0102040810204080 >> 56 << j
	}
	return w
}

// joined reports whether the ^ and " at buf[e:] lead to a letter or digit:
// the word before them and the one after are one once normalized.
func joined(buf []byte, e, n int) bool {
	for e < n && byteClass[buf[e]] == colSkip {
		e++
	}
	return e < n && byteClass[buf[e]] == colAlnum
}

// leftSide is the side of the word at buf[i]: the class of the byte before
// it, past ^ and ".
func leftSide(buf []byte, i int) int {
	if i > 0 && byteClass[buf[i-1]] != colSkip { // the usual case, inlined
		return sideOf(byteClass[buf[i-1]])
	}
	return leftSideSkip(buf, i)
}

func leftSideSkip(buf []byte, i int) int {
	for i--; i >= 0; i-- {
		if c := byteClass[buf[i]]; c != colSkip {
			return sideOf(c)
		}
	}
	return sideAny
}

// blankAfter is 1 when a blank follows the word that ends at buf[e] once
// the line is normalized: past ^ and ", a blank or operator, or ".exe" (one
// or more) then one; 0 otherwise.
func blankAfter(buf []byte, e, n int) int {
	switch byteClass[buf[e]] { // the usual cases, inlined
	case colBlank:
		return 1
	case colSep, colDash, colAlnum:
		return 0
	}
	return blankAfterDot(buf, e, n)
}

func blankAfterDot(buf []byte, e, n int) int {
	for {
		for e < n && byteClass[buf[e]] == colSkip {
			e++
		}
		if e == n {
			return 0
		}
		switch byteClass[buf[e]] {
		case colBlank:
			return 1
		case colDot:
			j := e + 1
			for j < n && byteClass[buf[j]] == colSkip {
				j++
			}
			if j+3 <= n && buf[j]|0x20 == 'e' && buf[j+1]|0x20 == 'x' && buf[j+2]|0x20 == 'e' &&
				(j+3 == n || byteClass[buf[j+3]] != colAlnum) {
				e = j + 3
				continue
			}
		}
		return 0
	}
}

// mayMatch reports whether some phrase may match buf[:n], where buf[n:n+64]
// is filler bytes (see seen); t is scratch.
func (f *wordFilter) mayMatch(t *tokenSeen, buf []byte, n int) bool {
	f.seen(t, buf, n)
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
