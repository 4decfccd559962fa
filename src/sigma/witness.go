package sigma

import (
	"bytes"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// lit is a literal that must occur in a field's lower-cased value.
type lit struct {
	field int
	s     string
}

// A witness is a set of lits at least one of which occurs whenever the rule
// matches; nil means the rule has none (it is evaluated on every row).

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

func cost(w []lit) float64 {
	c := 0.0
	for _, l := range w {
		c += litCost(l.s)
	}
	return c
}

// best returns the cheapest of the witnesses, nil when none has one.
func best(ws ...[]lit) []lit {
	var b []lit
	for _, w := range ws {
		if w != nil && (b == nil || cost(w) < cost(b)) {
			b = w
		}
	}
	return b
}

// union returns the OR of witnesses: nil when one of them is nil.
func union(ws ...[]lit) []lit {
	var out []lit
	for _, w := range ws {
		if w == nil {
			return nil
		}
		for _, l := range w {
			if !containsLit(out, l) {
				out = append(out, l)
			}
		}
	}
	return out
}

func containsLit(ls []lit, l lit) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

func (c *fieldCond) witness() []lit {
	if c.onEmpty || c.neq || c.field == noField || c.kind == kExists || c.kind == kRef {
		return nil
	}
	var ws [][]lit
	for _, alts := range c.lits {
		var w []lit
		for _, s := range alts {
			w = append(w, lit{c.field, s})
		}
		ws = append(ws, w)
	}
	if c.all {
		return best(ws...)
	}
	return union(ws...)
}

func (s *search) witness() []lit {
	var ws [][]lit
	for _, alt := range s.alts {
		var as [][]lit
		for _, c := range alt {
			as = append(as, c.witness())
		}
		ws = append(ws, best(as...))
	}
	return union(ws...)
}

func (c *cond) witness(ss []*search) []lit {
	var ws [][]lit
	switch c.op {
	case 's':
		return ss[c.s].witness()
	case 'a', 'o':
		for _, k := range c.kids {
			ws = append(ws, k.witness(ss))
		}
	default:
		return nil
	}
	if c.op == 'a' {
		return best(ws...)
	}
	return union(ws...)
}

// globLits returns the glob's longest literal run (split at dashes for a
// windash glob, whose dashes stand for several characters), lower-cased.
func globLits(g *glob, windash, lowered bool) []string {
	var longest []byte
	for _, sg := range g.segs {
		for _, part := range sg {
			pieces := [][]byte{part}
			if windash {
				pieces = bytes.Split(part, []byte("-"))
			}
			for _, p := range pieces {
				if len(p) > len(longest) {
					longest = p
				}
			}
		}
	}
	if len(longest) == 0 || !lowered && !isASCII(longest) {
		// A cased non-ASCII literal may sit in a rune that lower-casing
		// changes with its neighbours: no witness.
		return nil
	}
	return []string{string(appendLower(nil, longest))}
}

// regexLits returns literals one of which every match of the regex holds.
func regexLits(src string) []string {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	w := reWitness(re.Simplify(), 0)
	var out []string
	for _, l := range w {
		out = append(out, l.s)
	}
	return out
}

func reWitness(re *syntax.Regexp, depth int) []lit {
	if depth > 100 {
		return nil
	}
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 || !lowerable(re.Rune, re.Flags&syntax.FoldCase != 0) {
			return nil
		}
		return []lit{{s: lowerString(string(re.Rune))}}
	case syntax.OpCapture, syntax.OpPlus:
		return reWitness(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reWitness(re.Sub[0], depth+1)
		}
	case syntax.OpConcat, syntax.OpAlternate:
		var ws [][]lit
		for _, s := range re.Sub {
			ws = append(ws, reWitness(s, depth+1))
		}
		if re.Op == syntax.OpConcat {
			return best(ws...)
		}
		return union(ws...)
	}
	return nil
}

// lowerable reports whether the literal's lower-cased form is in the
// lower-cased text whenever the regex matches: not so for U+FFFD (an
// invalid byte of the text) or a case-folded rune with a fold that
// lower-cases differently (ſ folds to s).
func lowerable(rs []rune, fold bool) bool {
	for _, r := range rs {
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
