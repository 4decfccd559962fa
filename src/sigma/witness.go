package sigma

import (
	"bytes"
	"cmp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// lit is a literal that must occur in a field's lower-cased value.
type lit struct {
	field int
	s     string
}

// clause is a disjunction: one of its literals occurs.
type clause []lit

// req is what a condition needs of the row: every clause holds whenever
// the condition does. An empty req means nothing is known (the rule is
// evaluated on every row). Dropping clauses keeps a req true, so reqs are
// pruned to the few most selective clauses.
type req []clause

const (
	maxClauses = 4  // per req
	maxProduct = 16 // clauses an OR may distribute into before pruning
)

// commonText is text most process events hold (lower-cased): a literal
// inside it is a poor witness, whatever its length.
const commonText = `c:\windows\system32\cmd.exe /c c:\windows\syswow64\windowspowershell\v1.0\powershell.exe -c:\program files (x86)\c:\users\`

// litCost estimates how often a literal occurs: short ones are everywhere.
func litCost(s string) float64 {
	n := float64(min(len(s), 16))
	c := 1 / (n * n)
	if strings.Contains(commonText, s) {
		c *= 100
	}
	return c
}

func (cl clause) cost() float64 {
	c := 0.0
	for _, l := range cl {
		c += litCost(l.s)
	}
	return c
}

// subset reports whether every literal of cl is in other (so cl implies
// other, which adds nothing next to cl).
func (cl clause) subset(other clause) bool {
	for _, l := range cl {
		if !slices.Contains(other, l) {
			return false
		}
	}
	return true
}

// prune drops clauses implied by others and keeps the cheapest few.
func (r req) prune() req {
	var out req
	for i, c := range r {
		implied := false
		for j, d := range r {
			// Of two equal clauses keep the first.
			if i != j && d.subset(c) && (!c.subset(d) || j < i) {
				implied = true
				break
			}
		}
		if !implied {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b clause) int { return cmp.Compare(a.cost(), b.cost()) })
	if len(out) > maxClauses {
		out = out[:maxClauses]
	}
	return out
}

// andReq is the req of a conjunction: every child's clauses.
func andReq(rs ...req) req {
	var out req
	for _, r := range rs {
		out = append(out, r...)
	}
	return out.prune()
}

// orReq is the req of a disjunction: (a1∧a2)∨(b1∧b2) needs each ai∨bj.
// When that product grows too large, only each child's cheapest clause is
// kept. A child with no req makes the disjunction unknown.
func orReq(rs ...req) req {
	for _, r := range rs {
		if len(r) == 0 {
			return nil
		}
	}
	prod := 1
	for _, r := range rs {
		if prod *= len(r); prod > maxProduct {
			rs = slices.Clone(rs)
			for i := range rs {
				rs[i] = rs[i][:1] // pruned reqs come cheapest first
			}
			break
		}
	}
	if prod == 1 || prod > maxProduct {
		// One clause: every child's cheapest, merged in one pass.
		var cl clause
		seen := map[lit]bool{}
		for _, r := range rs {
			for _, l := range r[0] {
				if !seen[l] {
					seen[l] = true
					cl = append(cl, l)
				}
			}
		}
		return req{cl}
	}
	out := req{nil}
	for _, r := range rs {
		var next req
		for _, a := range out {
			for _, b := range r {
				next = append(next, union(a, b))
			}
		}
		out = next
	}
	return out.prune()
}

func union(a, b clause) clause {
	out := slices.Clone(a)
	for _, l := range b {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// mkLit bounds a literal's length: any part of a needed literal is needed,
// and short literals keep the automaton small.
func mkLit(field int, s string) lit {
	if len(s) > maxWitness {
		s = s[len(s)-maxWitness:]
	}
	return lit{field, s}
}

func (c *fieldCond) req() req {
	if c.onEmpty || c.neq || c.field == noField || c.kind == kExists || c.kind == kRef {
		return nil
	}
	if c.all {
		return andReq(c.reqs...)
	}
	return orReq(c.reqs...)
}

func (s *search) req() req {
	var rs []req
	for _, alt := range s.alts {
		var as []req
		for _, c := range alt {
			as = append(as, c.req())
		}
		rs = append(rs, andReq(as...))
	}
	return orReq(rs...)
}

func (c *cond) req(ss []*search) req {
	var rs []req
	switch c.op {
	case 's':
		return ss[c.s].req()
	case 'a', 'o':
		for _, k := range c.kids {
			rs = append(rs, k.req(ss))
		}
	default:
		return nil
	}
	if c.op == 'a' {
		return andReq(rs...)
	}
	return orReq(rs...)
}

// globReq returns the glob's literal runs (split at dashes for a windash
// glob, whose dashes stand for several characters), lower-cased: each must
// occur.
func globReq(g *glob, field int, windash, lowered bool) req {
	var out req
	for _, sg := range g.segs {
		for _, part := range sg {
			pieces := [][]byte{part}
			if windash {
				pieces = bytes.Split(part, []byte("-"))
			}
			for _, p := range pieces {
				// A cased non-ASCII literal may sit in a rune that
				// lower-casing changes with its neighbours: not needed.
				if len(p) > 0 && (lowered || isASCII(p)) {
					out = append(out, clause{mkLit(field, string(appendLower(nil, p)))})
				}
			}
		}
	}
	return out.prune()
}

// regexReq returns what every match of the regex needs of the field's
// lower-cased value.
func regexReq(src string, field int) req {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	return reReq(re.Simplify(), field, 0)
}

func reReq(re *syntax.Regexp, field, depth int) req {
	if depth > 100 {
		return nil
	}
	switch re.Op {
	case syntax.OpLiteral:
		// Split at runes whose lower-cased form the text may lack; every
		// piece is needed.
		var out req
		fold := re.Flags&syntax.FoldCase != 0
		start := 0
		for i := 0; i <= len(re.Rune); i++ {
			if i < len(re.Rune) && lowerable(re.Rune[i], fold) {
				continue
			}
			if i > start {
				out = append(out, clause{mkLit(field, lowerString(string(re.Rune[start:i])))})
			}
			start = i + 1
		}
		return out.prune()
	case syntax.OpCapture, syntax.OpPlus:
		return reReq(re.Sub[0], field, depth+1)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reReq(re.Sub[0], field, depth+1)
		}
	case syntax.OpConcat:
		// Adjacent literals and small classes make strings: `\.[ "']`
		// needs one of ". ", ".\"", ".'".
		var rs []req
		var cur []string
		flush := func() {
			var cl clause
			for _, s := range cur {
				cl = append(cl, mkLit(field, s))
			}
			if len(cl) > 0 {
				rs = append(rs, req{cl})
			}
			cur = nil
		}
		for _, s := range re.Sub {
			alts, ok := smallAlts(s)
			switch {
			case ok && len(cur) == 0:
				cur = alts
			case ok && len(cur)*len(alts) <= maxAlts:
				var next []string
				for _, a := range cur {
					for _, b := range alts {
						if x := a + b; !slices.Contains(next, x) {
							next = append(next, x)
						}
					}
				}
				cur = next
			default:
				flush()
				if ok {
					cur = alts
				} else {
					rs = append(rs, reReq(s, field, depth+1))
				}
			}
		}
		flush()
		return andReq(rs...)
	case syntax.OpAlternate:
		var rs []req
		for _, s := range re.Sub {
			rs = append(rs, reReq(s, field, depth+1))
		}
		return orReq(rs...)
	}
	return nil
}

// maxAlts bounds the strings a run of literals and classes makes.
const maxAlts = 24

// smallAlts returns the lower-cased strings a literal or a class of a few
// characters matches (one for a literal).
func smallAlts(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		fold := re.Flags&syntax.FoldCase != 0
		for _, r := range re.Rune {
			if !lowerable(r, fold) {
				return nil, false
			}
		}
		return []string{lowerString(string(re.Rune))}, len(re.Rune) > 0
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1]-re.Rune[i] >= 8 {
				return nil, false
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if r == utf8.RuneError {
					return nil, false
				}
				if x := string(unicode.ToLower(r)); !slices.Contains(out, x) {
					out = append(out, x)
				}
			}
			if len(out) > 8 {
				return nil, false
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}

// lowerable reports whether r lower-cased is in the lower-cased text
// wherever the regex matches r: not so for U+FFFD (an invalid byte of the
// text) or a case-folded rune with a fold that lower-cases differently
// (ſ folds to s).
func lowerable(r rune, fold bool) bool {
	if r == utf8.RuneError {
		return false
	}
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if unicode.ToLower(f) != unicode.ToLower(r) {
				return false
			}
		}
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// byteRun is a cheap test before a regex: every match spans a run of at
// least n bytes of set (n 0: no test).
type byteRun struct {
	set [4]uint64
	n   int
}

func (br *byteRun) holds(v []byte) bool {
	n := br.n
	if n == 0 {
		return true
	}
	// Test the window's last byte first: outside the set, no run through
	// it, so the next window starts after it (a skip of up to n bytes).
	for i := 0; i+n <= len(v); {
		j := i + n - 1
		for j >= i && br.set[v[j]>>6]&(1<<(v[j]&63)) != 0 {
			j--
		}
		if j < i {
			return true
		}
		i = j + 1
	}
	return false
}

// regexRun finds the longest run of single characters (classes,
// repetitions of one) that every match of the regex spans: `\s[a-f0-9]{64}`
// needs 65 bytes of space or hex digits.
func regexRun(src string) byteRun {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return byteRun{}
	}
	br := reRun(re, 0)
	if br.n < 2 || br.set == [4]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)} {
		return byteRun{}
	}
	return br
}

func reRun(re *syntax.Regexp, depth int) byteRun {
	if depth > 100 {
		return byteRun{}
	}
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus, syntax.OpRepeat:
		if re.Op == syntax.OpRepeat && re.Min < 1 {
			return byteRun{}
		}
		if n, set, ok := charRun(re); ok {
			return byteRun{set, n}
		}
		return reRun(re.Sub[0], depth+1)
	case syntax.OpConcat:
		var best, cur byteRun
		for _, s := range re.Sub {
			n, set, ok := charRun(s)
			if !ok {
				if in := reRun(s, depth+1); in.n > best.n {
					best = in
				}
				cur = byteRun{}
				continue
			}
			cur.n += n
			for i := range set {
				cur.set[i] |= set[i]
			}
			if cur.n > best.n {
				best = cur
			}
		}
		return best
	}
	return byteRun{}
}

// charRun returns, for a class or a repetition of a class, the fewest
// characters it matches and the bytes they are made of. A rune beyond
// ASCII is bytes >= 0x80 only, at least one per rune.
func charRun(re *syntax.Regexp) (int, [4]uint64, bool) {
	var set [4]uint64
	n := 1
	switch re.Op {
	case syntax.OpPlus:
		re = re.Sub[0]
	case syntax.OpRepeat:
		n, re = re.Min, re.Sub[0]
	}
	if re.Op != syntax.OpCharClass || n < 1 {
		return 0, set, false
	}
	for i := 0; i+1 < len(re.Rune); i += 2 {
		lo, hi := re.Rune[i], re.Rune[i+1]
		for r := lo; r <= min(hi, utf8.RuneSelf-1); r++ {
			set[r>>6] |= 1 << (r & 63)
		}
		if hi >= utf8.RuneSelf {
			set[2], set[3] = ^uint64(0), ^uint64(0)
		}
	}
	return n, set, true
}

// regexMinLen returns a lower bound of the bytes a match of the regex spans
// (each character counts one byte).
func regexMinLen(src string) int {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return 0
	}
	return minLen(re.Simplify(), 0)
}

func minLen(re *syntax.Regexp, depth int) int {
	if depth > 100 {
		return 0
	}
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLen(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		return re.Min * minLen(re.Sub[0], depth+1)
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minLen(s, depth+1)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minLen(s, depth+1); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0
}
