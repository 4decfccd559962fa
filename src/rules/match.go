package rules

import "slices"

// Matcher matches command lines against a Set. It owns the scratch buffers
// of matching, so it is used by one goroutine at a time; make one per
// goroutine with Set.NewMatcher.
type Matcher struct {
	s    *Set
	norm normalizer

	// The line is normalized only when something needs it: a phrase the
	// filter lets through, a regex, or Normalized. raw keeps a copy so that
	// Normalized does not depend on the caller's buffer.
	raw      []byte
	normDone bool

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
	seen   []int32 // pieces seen in this call
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

// NewMatcher returns a Matcher for s.
func (s *Set) NewMatcher() *Matcher {
	return &Matcher{
		s:         s,
		norm:      normalizer{track: true},
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
	m.raw = append(m.raw[:0], cmdline...)
	m.normDone = false
	m.occ, m.seen, m.cand, m.hits = m.occ[:0], m.seen[:0], m.cand[:0], m.hits[:0]

	if s.ac != nil && (s.filter == nil || s.filter.mayMatch(cmdline)) {
		m.normalize()
		m.scan(m.norm.out)
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
		m.prog = appendProgram(m.prog, cmdline)
		for _, r := range s.byProgram[string(m.prog)] {
			m.candidate(r)
		}
	}
	if s.byParent != nil && len(parent) > 0 {
		m.parent = appendName(m.parent, parent)
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

// Normalized returns the normalized command line of the last Match (see
// Normalize). It is valid until the next call.
func (m *Matcher) Normalized() []byte {
	m.normalize()
	return m.norm.out
}

// normalize normalizes the line of this call, once.
func (m *Matcher) normalize() {
	if !m.normDone {
		m.norm.out = m.norm.out[:0]
		m.norm.run(m.raw)
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
func (m *Matcher) scan(text []byte) {
	a := m.s.ac
	next, class := a.next, &a.class
	st := int32(0)
	for i := 0; i < len(text); i++ {
		st = next[st+int32(class[text[i]])]
		if st >= 0 {
			continue
		}
		st = -st - 1
		id := st / a.nclass
		for _, p := range a.outs[a.outStart[id]:a.outStart[id+1]] {
			m.found(p, text, int32(i+1))
		}
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
	_, ok := slices.BinarySearch(m.norm.soft, pos)
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
	text := m.norm.out
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
	i, _ := slices.BinarySearch(m.norm.seps, from)
	return i < len(m.norm.seps) && m.norm.seps[i] < to
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
	return c.re.Match(m.norm.out)
}
