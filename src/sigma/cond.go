package sigma

import (
	"fmt"
	"path"
	"strings"
)

// cond is a compiled condition: and/or/not over search identifiers.
type cond struct {
	op   byte // 'a' and, 'o' or, 'n' not, 's' search, 't' true, 'f' false
	kids []*cond
	s    int // search index for 's'
}

func (c *cond) eval(m *Matcher, ss []*search) bool {
	switch c.op {
	case 's':
		return ss[c.s].eval(m)
	case 'a':
		for _, k := range c.kids {
			if !k.eval(m, ss) {
				return false
			}
		}
		return true
	case 'o':
		for _, k := range c.kids {
			if k.eval(m, ss) {
				return true
			}
		}
		return false
	case 'n':
		return !c.kids[0].eval(m, ss)
	}
	return c.op == 't'
}

// CondError is a condition that does not parse; Col is 1-based, in bytes.
type CondError struct {
	Col int
	Msg string
}

func (e *CondError) Error() string { return fmt.Sprintf("condition column %d: %s", e.Col, e.Msg) }

const maxCondDepth = 64

type condParser struct {
	src   string
	toks  []ctok
	i     int
	names []string // search identifiers, in rule order
	depth int
}

type ctok struct {
	s   string
	col int
}

func lexCond(src string) ([]ctok, error) {
	var toks []ctok
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, ctok{src[i : i+1], i + 1})
			i++
		case c == '|':
			return nil, &CondError{i + 1, unsupported("aggregation %q", strings.TrimSpace(src[i:])).Error()}
		case isIdentByte(c):
			j := i
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			toks = append(toks, ctok{src[i:j], i + 1})
			i = j
		default:
			return nil, &CondError{i + 1, fmt.Sprintf("unexpected character %q", c)}
		}
	}
	return toks, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '*' || c == '-' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// parseCond parses one condition over the search identifiers names.
// Precedence: or < and < not < `x of` < parentheses.
func parseCond(src string, names []string) (*cond, error) {
	toks, err := lexCond(src)
	if err != nil {
		return nil, err
	}
	p := &condParser{src: src, toks: toks, names: names}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errf("unexpected %q", p.toks[p.i].s)
	}
	return c, nil
}

func (p *condParser) errf(format string, a ...any) error {
	col := len(p.src) + 1
	if p.i < len(p.toks) {
		col = p.toks[p.i].col
	}
	return &CondError{col, fmt.Sprintf(format, a...)}
}

func (p *condParser) peek(kw string) bool {
	return p.i < len(p.toks) && strings.EqualFold(p.toks[p.i].s, kw)
}

func (p *condParser) or() (*cond, error)  { return p.binary("or", 'o', p.and) }
func (p *condParser) and() (*cond, error) { return p.binary("and", 'a', p.not) }

func (p *condParser) binary(kw string, op byte, next func() (*cond, error)) (*cond, error) {
	c, err := next()
	if err != nil {
		return nil, err
	}
	kids := []*cond{c}
	for p.peek(kw) {
		p.i++
		k, err := next()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return c, nil
	}
	return &cond{op: op, kids: kids}, nil
}

func (p *condParser) not() (*cond, error) {
	if !p.peek("not") {
		return p.primary()
	}
	p.i++
	if p.depth++; p.depth > maxCondDepth {
		return nil, p.errf("nested too deeply")
	}
	defer func() { p.depth-- }()
	c, err := p.not()
	if err != nil {
		return nil, err
	}
	return &cond{op: 'n', kids: []*cond{c}}, nil
}

func (p *condParser) primary() (*cond, error) {
	if p.i >= len(p.toks) {
		return nil, p.errf("unexpected end")
	}
	t := p.toks[p.i]
	switch {
	case t.s == "(":
		if p.depth++; p.depth > maxCondDepth {
			return nil, p.errf("nested too deeply")
		}
		p.i++
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.peek(")") {
			return nil, p.errf("missing )")
		}
		p.i++
		p.depth--
		return c, nil
	case t.s == ")":
		return nil, p.errf("unexpected )")
	case p.i+1 < len(p.toks) && strings.EqualFold(p.toks[p.i+1].s, "of"):
		return p.of()
	}
	switch strings.ToLower(t.s) {
	case "and", "or", "not", "of", "them":
		return nil, p.errf("unexpected %q", t.s)
	case "near":
		return nil, p.errf("%v", unsupported("near"))
	}
	for i, n := range p.names {
		if n == t.s {
			p.i++
			return &cond{op: 's', s: i}, nil
		}
	}
	return nil, p.errf("unknown search identifier %q", t.s)
}

// of parses `1 of x`, `all of x` where x is `them` or a pattern with `*`.
func (p *condParser) of() (*cond, error) {
	q := p.toks[p.i]
	var op byte
	switch strings.ToLower(q.s) {
	case "1", "any":
		op = 'o'
	case "all":
		op = 'a'
	default:
		return nil, p.errf("quantifier %q: only 1 and all are defined", q.s)
	}
	p.i += 2
	if p.i >= len(p.toks) {
		return nil, p.errf("of needs a pattern or them")
	}
	pat := p.toks[p.i].s
	var kids []*cond
	for i, n := range p.names {
		var ok bool
		if strings.EqualFold(pat, "them") {
			ok = !strings.HasPrefix(n, "_")
		} else {
			ok, _ = path.Match(pat, n)
		}
		if ok {
			kids = append(kids, &cond{op: 's', s: i})
		}
	}
	if len(kids) == 0 {
		return nil, p.errf("%q matches no search identifier", pat)
	}
	p.i++
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &cond{op: op, kids: kids}, nil
}
