package match

import (
	"bytes"
	"slices"

	"scorecmdline/src/normalize"
)

// Matcher matches command lines against a Set. It owns the scratch buffers
// of matching, so it is used by one goroutine at a time; make one per
// goroutine with Set.NewMatcher.
type Matcher struct {
	s    *Set
	norm normalize.Normalizer

	// The line is normalized only when something needs it: a phrase the
	// filter lets through, a regex, or Normalized. raw keeps a copy so that
	// Normalized does not depend on the caller's buffer, followed by filler
	// bytes for the filter.
	raw      []byte
	rawLen   int
	normDone bool
	tokens   tokenSeen // the filter's
	cands    []int32   // the filter's candidate phrases
	folded   []byte    // the normalized line, folded, for verify
	foldDone bool

	// Per-call state is marked with a generation number instead of being
	// cleared, so a call costs what the line costs, not what the set costs.
	gen       uint32
	pieceGen  []uint32 // piece seen (on a word boundary) in this call
	head      []int32  // first kept occurrence of a piece, into occ
	tail      []int32
	phraseGen []uint32 // phrase decided in this call
	phraseHit []uint32 // phrase matched in this call
	ruleGen   []uint32 // rule already a candidate in this call

	occ    []occurrence
	acHits [4][]acHit // per part of scan
	seen   []int32    // pieces seen in this call
	cand   []int32
	hits   []int
	ends   []int32
	ends2  []int32
	prog   []byte
	parent []byte
}

// occurrence is one place a piece of a "..." phrase was found: text[start:end].
type occurrence struct {
	start, end int32
	next       int32 // next occurrence of the same piece, or -1
}

// NewMatcher returns a Matcher for s, building the matching tables first
// if need be (see Prepare).
func (s *Set) NewMatcher() *Matcher {
	s.Prepare()
	return &Matcher{
		s:         s,
		norm:      normalize.Normalizer{},
		pieceGen:  make([]uint32, len(s.pieces)),
		head:      make([]int32, len(s.pieces)),
		tail:      make([]int32, len(s.pieces)),
		phraseGen: make([]uint32, len(s.phrases)),
		phraseHit: make([]uint32, len(s.phrases)),
		ruleGen:   make([]uint32, len(s.rules)),
	}
}

// Match reports which rules match a command line and its parent process
// (a name or a full path; nil or empty when unknown). It returns indexes into
// Rules(), in rule order; the slice is reused by the next call.
func (m *Matcher) Match(cmdline, parent []byte) []int {
	s := m.s
	m.nextGen()
	m.raw = append(append(m.raw[:0], cmdline...), fillerPad[:]...)
	m.rawLen, m.normDone, m.foldDone = len(cmdline), false, false
	m.occ, m.seen, m.cand, m.hits = m.occ[:0], m.seen[:0], m.cand[:0], m.hits[:0]

	if s.ac != nil && m.mayMatch() {
		m.normalize()
		m.scan()
	}
	for _, p := range m.seen {
		for _, ph := range s.pieces[p].phrases {
			if m.phrase(ph) {
				for _, r := range s.phrases[ph].triggers {
					m.candidate(r)
				}
			}
		}
	}
	m.prog, m.parent = m.prog[:0], m.parent[:0]
	if s.byProgram != nil {
		m.prog = normalize.AppendProgram(m.prog, cmdline)
		for _, r := range s.byProgram[string(m.prog)] {
			m.candidate(r)
		}
	}
	if s.byParent != nil && len(parent) > 0 {
		m.parent = normalize.AppendName(m.parent, parent)
		for _, r := range s.byParent[string(m.parent)] {
			m.candidate(r)
		}
	}
	for _, r := range s.always {
		m.candidate(r)
	}
	slices.Sort(m.cand)
	for _, r := range m.cand {
		if m.decide(r) {
			m.hits = append(m.hits, int(r))
		}
	}
	return m.hits
}

// mayMatch reports whether some phrase may match the line of this call:
// the filter's candidates are verified on the normalized line, which
// settles the lines whose words are all there but not in the order or
// places a phrase needs ("powershell.exe ... -s 30" for "powershell -s").
func (m *Matcher) mayMatch() bool {
	f := m.s.filter
	if f == nil {
		return true
	}
	f.seen(&m.tokens, m.raw, m.rawLen)
	return m.possible()
}

// possible reports whether the filter gave up on the tokens it found or
// one of their candidates verifies.
func (m *Matcher) possible() bool {
	f := m.s.filter
	if m.tokens.has(int32(f.ntok)) {
		return true
	}
	m.cands = f.candidates(&m.tokens, m.cands[:0])
	return m.verify()
}

// maxVerify is how many candidates verify looks at before leaving the rest
// to the automaton, which finds every piece in one pass.
const maxVerify = 16

// verify reports whether some candidate phrase has every piece in the
// folded normalized line. A phrase that matches has (with word boundaries
// and gaps on top), so when none has, the automaton would find no phrase.
func (m *Matcher) verify() bool {
	if len(m.cands) == 0 {
		return false
	}
	if len(m.cands) > maxVerify {
		return true
	}
	m.normalize()
	if !m.foldDone {
		// The normalized line is lower case (TestFoldedLine): folding
		// leaves only "/" to replace.
		m.foldDone = true
		m.folded = append(m.folded[:0], m.norm.Out...)
		for i := 0; ; {
			k := bytes.IndexByte(m.folded[i:], '/')
			if k < 0 {
				break
			}
			m.folded[i+k] = normalize.Fold('/')
			i += k + 1
		}
	}
	for _, ph := range m.cands {
		all := true
		for _, p := range m.s.phrases[ph].pieces {
			if !bytes.Contains(m.folded, m.s.pieces[p].text) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// Normalized returns the normalized command line of the last Match (see
// Normalize). It is valid until the next call.
func (m *Matcher) Normalized() []byte {
	m.normalize()
	return m.norm.Out
}

// normalize normalizes the line of this call, once.
func (m *Matcher) normalize() {
	if !m.normDone {
		m.norm.Out = m.norm.Out[:0]
		m.norm.Run(m.raw[:m.rawLen])
		m.normDone = true
	}
}

func (m *Matcher) nextGen() {
	m.gen++
	if m.gen == 0 { // wrapped: old marks could look current
		clear(m.pieceGen)
		clear(m.phraseGen)
		clear(m.phraseHit)
		clear(m.ruleGen)
		m.gen = 1
	}
}

func (m *Matcher) candidate(r int32) {
	if m.ruleGen[r] != m.gen {
		m.ruleGen[r] = m.gen
		m.cand = append(m.cand, r)
	}
}

// scan runs the automaton over the normalized line and records the pieces
// found on word boundaries.
//
// The state of the automaton depends on the last maxLen bytes only, and is
// the root after a byte of no needle: so a long line is cut into four parts,
// each started from the root after such a byte or maxLen bytes early, and
// the four are scanned in lock step (as in wordFilter.scan4), so that the
// table lookups of one part do not wait for those of another. Pieces found
// are kept per part and recorded in line order afterwards.
func (m *Matcher) scan() {
	a := m.s.ac
	text := m.norm.Out
	switch {
	case a.next32 == nil:
		m.resume(text, 0, 0, len(text))
		return
	case !a.hasPad || len(text) < 64:
		m.resume32(text)
		return
	}
	n, w := len(text), a.maxLen
	// Part k starts at st[k] from the root, and its pieces are those that
	// end in [own[k], own[k+1]).
	var st, own [5]int
	own[4] = n
	for k := 1; k < 4; k++ {
		t := k * n / 4
		st[k], own[k] = max(t-w, 0), t
		lo := max(own[k-1], t-w)
		for d := 0; d < w; d++ {
			if p := t - 1 + d; p >= lo && p < n-1 && a.class[text[p]] == 0 {
				st[k], own[k] = p+1, p+1
				break
			}
			if p := t - 2 - d; p >= lo && a.class[text[p]] == 0 {
				st[k], own[k] = p+1, p+1
				break
			}
		}
		if own[k] <= own[k-1] || st[k] < st[k-1] {
			m.resume32(text) // a line too short for its needles
			return
		}
	}
	// Every part reads as many bytes as the longest needs: the others read
	// on into the next part, or into pad bytes after the line.
	l := max(own[1]-st[0], own[2]-st[1], own[3]-st[2], own[4]-st[3])
	buf := text
	for len(buf) < st[3]+l {
		buf = append(buf, a.pad)
	}
	m.norm.Out = buf[:n] // the same line, in the buffer that has room
	for k := range m.acHits {
		m.acHits[k] = m.acHits[k][:0]
	}
	var s [4]uint32
	var rec [block]stepRec
	for j := 0; j < l; j += block {
		e := min(j+block, l)
		q0, q1, q2, q3 := buf[st[0]+j:st[0]+e], buf[st[1]+j:st[1]+e], buf[st[2]+j:st[2]+e], buf[st[3]+j:st[3]+e]
		var nrec int
		s, nrec = lockstepRec(a.next32, &a.class, a.acc, q0, q1, q2, q3, s, &rec)
		for _, r := range rec[:nrec] {
			for k, sk := range r.s {
				if i := st[k] + j + int(r.j); sk&a.acc != 0 && i >= own[k] && i < own[k+1] {
					m.acHits[k] = append(m.acHits[k], acHit{int32(i), sk})
				}
			}
		}
	}
	for k := range 4 {
		for _, h := range m.acHits[k] {
			m.output32(text, h.pos, h.state)
		}
	}
}

// resume32 scans text with next32, from the root.
func (m *Matcher) resume32(text []byte) {
	a := m.s.ac
	next, class, acc := a.next32, &a.class, a.acc
	var s uint32
	for i, c := range text {
		s = next[s+uint32(class[c])]
		if s&acc != 0 {
			m.output32(text, int32(i), s)
		}
	}
}

// output32 records the pieces of state s of next32, met at text[i].
func (m *Matcher) output32(text []byte, i int32, s uint32) {
	a := m.s.ac
	id := a.accID[a.div.of(s-a.acc)]
	for _, p := range a.outs[a.outStart[id]:a.outStart[id+1]] {
		m.found(p, text, i+1)
	}
}

// fillerPad follows the line in Matcher.raw; see wordFilter.seen.
var fillerPad = func() (p [64]byte) {
	for i := range p {
		p[i] = filler
	}
	return p
}()

// acHit is an accepting state met at text[pos] by one part of scan.
type acHit struct {
	pos   int32
	state uint32
}

// resume scans text[from:to] from state st.
func (m *Matcher) resume(text []byte, st int32, from, to int) {
	a := m.s.ac
	next, class := a.next, &a.class
	for i := from; i < to; i++ {
		st = next[st+int32(class[text[i]])]
		if st >= 0 {
			continue
		}
		st = -st - 1
		m.output(text, int32(i), st)
	}
}

// output records the pieces of accepting state st, met at text[i].
func (m *Matcher) output(text []byte, i, st int32) {
	a := m.s.ac
	id := st / a.nclass
	for _, p := range a.outs[a.outStart[id]:a.outStart[id+1]] {
		m.found(p, text, i+1)
	}
}

// found checks the word boundaries of piece p ending at end and records it.
func (m *Matcher) found(p int32, text []byte, end int32) {
	info := &m.s.pieces[p]
	start := end - info.n
	if info.alnumStart && start > 0 && isAlnum(text[start-1]) && !m.soft(start) {
		return
	}
	if info.alnumEnd && int(end) < len(text) && isAlnum(text[end]) && !m.soft(end) {
		return
	}
	if m.pieceGen[p] != m.gen {
		m.pieceGen[p] = m.gen
		m.head[p], m.tail[p] = -1, -1
		m.seen = append(m.seen, p)
	}
	if !info.inGaps {
		return
	}
	k := int32(len(m.occ))
	m.occ = append(m.occ, occurrence{start: start, end: end, next: -1})
	if t := m.tail[p]; t >= 0 {
		m.occ[t].next = k
	} else {
		m.head[p] = k
	}
	m.tail[p] = k
}

// soft reports whether a caret or quote was removed right before text[pos]:
// cmd.exe joins c"er"tutil into one word, but the KQL rule this pack mirrors
// sees a boundary there, and so do we, to lose none of its matches.
func (m *Matcher) soft(pos int32) bool {
	_, ok := slices.BinarySearch(m.norm.Soft, pos)
	return ok
}

// phrase decides a phrase once per call.
func (m *Matcher) phrase(ph int32) bool {
	if m.phraseGen[ph] == m.gen {
		return m.phraseHit[ph] == m.gen
	}
	m.phraseGen[ph] = m.gen
	pieces := m.s.phrases[ph].pieces
	for _, p := range pieces {
		if m.pieceGen[p] != m.gen {
			return false
		}
	}
	if len(pieces) > 1 && !m.chain(pieces) {
		return false
	}
	m.phraseHit[ph] = m.gen
	return true
}

// chain decides a phrase with gaps: an occurrence of each piece in order,
// each followed (but the last) and preceded (but the first) by a space, and
// no command separator between one piece and the next. It works piece by
// piece over sorted occurrence lists, keeping the ends reachable so far, so
// it is linear in the number of occurrences.
func (m *Matcher) chain(pieces []int32) bool {
	text := m.norm.Out
	n := int32(len(text))
	last := len(pieces) - 1
	ends, reach := m.ends[:0], m.ends2[:0]
	for o := m.head[pieces[0]]; o >= 0; o = m.occ[o].next {
		if e := m.occ[o].end; e < n && text[e] == ' ' {
			ends = append(ends, e)
		}
	}
	for j := 1; j <= last && len(ends) > 0; j++ {
		reach = reach[:0]
		k := -1 // ends[k] is the latest reachable end before the current start
		for o := m.head[pieces[j]]; o >= 0; o = m.occ[o].next {
			st, e := m.occ[o].start, m.occ[o].end
			if st == 0 || text[st-1] != ' ' || j < last && (e >= n || text[e] != ' ') {
				continue
			}
			for k+1 < len(ends) && ends[k+1] < st {
				k++
			}
			if k >= 0 && !m.separated(ends[k], st) {
				reach = append(reach, e)
			}
		}
		ends, reach = reach, ends
	}
	m.ends, m.ends2 = ends, reach // keep both buffers for the next call
	return len(ends) > 0
}

// separated reports whether a command separator lies in text[from:to].
func (m *Matcher) separated(from, to int32) bool {
	i, _ := slices.BinarySearch(m.norm.Seps, from)
	return i < len(m.norm.Seps) && m.norm.Seps[i] < to
}

// decide checks every condition of a candidate rule.
func (m *Matcher) decide(r int32) bool {
	c := &m.s.checks[r]
	if len(c.any) > 0 {
		ok := false
		for _, ph := range c.any {
			if m.phrase(ph) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, ph := range c.all {
		if !m.phrase(ph) {
			return false
		}
	}
	for _, ph := range c.none {
		if m.phrase(ph) {
			return false
		}
	}
	if c.programs != nil && !c.programs[string(m.prog)] {
		return false
	}
	if c.parents != nil && !c.parents[string(m.parent)] {
		return false
	}
	if c.re == nil {
		return true
	}
	m.normalize()
	return c.re.Match(m.norm.Out)
}
