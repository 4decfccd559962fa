package deobfuscate

import (
	"regexp"
	"strconv"
	"strings"
)

// psParser evaluates a constant PowerShell expression: string and number
// literals, known variables, and the operators obfuscators build strings
// with. Precedence follows PowerShell's, tightest first: postfix ([i],
// .Replace()), casts, unary -join, the comma, -f, -bxor, +, then -replace
// and binary -join. It stops before the first token it does not know, so
// the expression it read is s[start:p.i].
type psParser struct {
	s     string
	i     int
	vars  map[string]string // $name = constant, lower-case names
	max   int               // largest value built
	ops   int               // operations applied
	reads int               // variables read
	techs Techniques
	depth int
	args  bool // reading call arguments: a comma separates, it builds no array
	w     *psWork
}

// psWork is what the parsers of one pass share: the work left to the stage
// (values built, tokens read), so that a pass is linear in its input
// (nested starts or repeated operators cannot make it quadratic), and
// scratch for the strings they build.
type psWork struct {
	budget int
	buf    []byte // concatenations in progress, innermost last (add)
	out    []byte // foldPS's output
}

// reset readies w for a pass over n bytes, keeping its buffers.
func (w *psWork) reset(n int) {
	w.budget = psBudget(n)
	if cap(w.buf) > maxKeep {
		w.buf = nil
	}
	if cap(w.out) > maxKeep {
		w.out = nil
	}
}

// psBudget is the work a pass of the PowerShell stage may do on text of
// n bytes, in bytes built plus tokens read.
func psBudget(n int) int { return 16*n + 1<<14 }

// spend charges n units of work; it reports false once the budget is spent.
func (p *psParser) spend(n int) bool {
	p.w.budget -= n
	return p.w.budget >= 0
}

// enter and leave bound the nesting of the parse.
func (p *psParser) enter() bool {
	p.depth++
	return p.depth <= 64 && p.spend(1)
}

func (p *psParser) leave() { p.depth-- }

type valKind uint8

const (
	vStr valKind = iota
	vNum
	vArr
)

type psVal struct {
	kind valKind
	s    string
	n    int64
	arr  []psVal
	sz   int // vArr: size(), kept so that it costs nothing
}

func arrVal(arr []psVal) psVal {
	v := psVal{kind: vArr, arr: arr, sz: len(arr)}
	for _, e := range arr {
		v.sz += e.size()
	}
	return v
}

func (v psVal) str() string {
	switch v.kind {
	case vNum:
		return formatInt(v.n)
	case vArr:
		parts := make([]string, len(v.arr))
		for i, e := range v.arr {
			parts[i] = e.str()
		}
		return strings.Join(parts, " ")
	}
	return v.s
}

// size is the length of the value's text, elements counted with a
// separator each.
func (v psVal) size() int {
	if v.kind == vArr {
		return v.sz
	}
	return len(v.s)
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

func (p *psParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// keyword consumes an operator such as "-join" (any case) not followed by
// a letter.
func (p *psParser) keyword(k string) bool {
	save := p.i
	p.space()
	if len(p.s)-p.i >= len(k) && strings.EqualFold(p.s[p.i:p.i+len(k)], k) {
		e := p.i + len(k)
		if e >= len(p.s) || !isWordByte(p.s[e]) || !isWordByte(k[len(k)-1]) {
			p.i = e
			return true
		}
	}
	p.i = save
	return false
}

func (p *psParser) op(t Technique) {
	p.ops++
	p.techs.add(t)
}

func (p *psParser) fits(v psVal) (psVal, bool) {
	return v, v.size() <= p.max && p.spend(v.size())
}

// arg reads one argument of a method call.
func (p *psParser) arg() (psVal, bool) {
	saved := p.args
	p.args = true
	v, ok := p.expr()
	p.args = saved
	return v, ok
}

func (p *psParser) expr() (psVal, bool) {
	defer p.leave()
	if !p.enter() {
		return psVal{}, false
	}
	v, ok := p.bxor()
	for ok {
		save := p.i
		switch {
		case p.keyword("-replace"), p.keyword("-ireplace"), p.keyword("-creplace"):
			cs := strings.EqualFold(p.s[p.i-8:p.i], "creplace")
			r, ok2 := p.bxor()
			if !ok2 {
				p.i = save
				return v, true
			}
			nv, ok2 := psReplace(v, r, cs)
			if !ok2 || !p.spend(16*v.size()) { // regexp costs more than a copy
				p.i = save
				return v, true
			}
			p.op(Replace)
			v, ok = p.fits(nv)
		case p.keyword("-join"):
			r, ok2 := p.bxor()
			if !ok2 || r.kind == vArr {
				p.i = save
				return v, true
			}
			p.op(Replace)
			v, ok = p.fits(join(v, r.str()))
		default:
			return v, true
		}
	}
	return v, ok
}

func (p *psParser) bxor() (psVal, bool) {
	v, ok := p.add()
	for ok {
		save := p.i
		if !p.keyword("-bxor") {
			return v, true
		}
		r, ok2 := p.add()
		if !ok2 || v.kind != vNum || r.kind != vNum {
			p.i = save
			return v, true
		}
		p.op(CharCodes)
		v = psVal{kind: vNum, n: v.n ^ r.n}
	}
	return v, ok
}

// add reads a chain of +. Strings are concatenated into one buffer and
// arrays appended in place, so that a long chain costs its length. The
// buffer is the shared scratch past mark: a chain nested in an operand
// builds its string further on and gives the space back.
func (p *psParser) add() (psVal, bool) {
	v, ok := p.format()
	mark := len(p.w.buf)
	str, owned := false, false // str: v is a string built in p.w.buf[mark:]
	for ok {
		save := p.i
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '+' {
			p.i = save
			break
		}
		p.i++
		r, ok2 := p.format()
		if !ok2 {
			p.i = save
			break
		}
		switch {
		case !str && v.kind == vNum && r.kind == vNum:
			v = psVal{kind: vNum, n: v.n + r.n}
		case !str && v.kind == vArr:
			if !owned { // v.arr may be shared
				v.arr, owned = append([]psVal(nil), v.arr...), true
			}
			v.arr = append(v.arr, r)
			v.sz += r.size() + 1
			ok = v.sz <= p.max && p.spend(r.size()+1)
		default:
			p.op(Concat)
			if !str {
				p.w.buf, str = append(p.w.buf, v.str()...), true
			}
			rs := r.str()
			p.w.buf = append(p.w.buf, rs...)
			ok = len(p.w.buf)-mark <= p.max && p.spend(len(rs))
		}
	}
	if str {
		v = psVal{s: string(p.w.buf[mark:])}
		p.w.buf = p.w.buf[:mark]
	}
	return v, ok
}

func (p *psParser) format() (psVal, bool) {
	v, ok := p.comma()
	for ok {
		save := p.i
		if !p.keyword("-f") {
			return v, true
		}
		r, ok2 := p.comma()
		if !ok2 || v.kind != vStr {
			p.i = save
			return v, true
		}
		args := r.arr
		if r.kind != vArr {
			args = []psVal{r}
		}
		s, ok2 := psFormat(v.s, args, p.max)
		if !ok2 || !p.spend(len(s)) {
			p.i = save
			return v, true
		}
		p.op(Format)
		v = psVal{s: s}
	}
	return v, ok
}

func (p *psParser) comma() (psVal, bool) {
	v, ok := p.unary()
	if !ok || p.args {
		return v, ok
	}
	var arr []psVal
	for {
		save := p.i
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ',' {
			p.i = save
			break
		}
		p.i++
		r, ok := p.unary()
		if !ok {
			p.i = save
			break
		}
		if arr == nil {
			arr = []psVal{v}
		}
		arr = append(arr, r)
		if len(arr) > p.max {
			return v, false
		}
	}
	if arr != nil {
		return arrVal(arr), p.spend(len(arr))
	}
	return v, true
}

func (p *psParser) unary() (psVal, bool) {
	defer p.leave()
	if !p.enter() {
		return psVal{}, false
	}
	save := p.i
	if p.keyword("-join") {
		v, ok := p.unary()
		if !ok {
			p.i = save
			return v, false
		}
		p.op(Replace)
		return p.fits(join(v, ""))
	}
	return p.cast()
}

var castNames = []string{"[char[]]", "[char]", "[string]", "[int]", "[byte]"}

func (p *psParser) cast() (psVal, bool) {
	defer p.leave()
	if !p.enter() {
		return psVal{}, false
	}
	p.space()
	save := p.i
	if p.keyword("[string]::join(") {
		sep, ok := p.arg()
		if ok && p.punct(',') {
			list, ok := p.arg()
			if ok && p.punct(')') {
				p.op(Replace)
				return p.fits(join(list, sep.str()))
			}
		}
		p.i = save
		return psVal{}, false
	}
	for _, c := range castNames {
		if !p.keyword(c) {
			continue
		}
		v, ok := p.cast()
		if !ok {
			p.i = save
			return v, false
		}
		switch c {
		case "[char]":
			if v.kind != vNum || v.n < 0 || v.n > 0x10ffff {
				break
			}
			p.op(CharCodes)
			return psVal{s: string(rune(v.n))}, true
		case "[char[]]":
			if out, ok := charArray(v); ok {
				p.op(CharCodes)
				return out, true
			}
		case "[string]":
			return psVal{s: v.str()}, true
		case "[int]", "[byte]":
			if v.kind == vNum {
				return v, true
			}
		}
		p.i = save
		return v, false
	}
	return p.postfix()
}

func (p *psParser) punct(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func charArray(v psVal) (psVal, bool) {
	var out []psVal
	switch v.kind {
	case vStr:
		for _, c := range v.s {
			out = append(out, psVal{s: string(c)})
		}
	case vArr:
		for _, e := range v.arr {
			if e.kind != vNum || e.n < 0 || e.n > 0x10ffff {
				return v, false
			}
			out = append(out, psVal{s: string(rune(e.n))})
		}
	default:
		return v, false
	}
	return arrVal(out), true
}

func (p *psParser) postfix() (psVal, bool) {
	v, ok := p.primary()
	for ok {
		save := p.i
		switch {
		case p.i < len(p.s) && p.s[p.i] == '[' && v.kind != vNum:
			p.i++
			idx, ok2 := p.indexes()
			if !ok2 || !p.punct(']') {
				p.i = save
				return v, true
			}
			nv, ok2 := p.index(v, idx)
			if !ok2 {
				p.i = save
				return v, true
			}
			p.op(Replace)
			v = nv
		case p.keyword(".replace(") && v.kind == vStr:
			a, ok2 := p.arg()
			if ok2 && p.punct(',') {
				b, ok3 := p.arg()
				if ok3 && p.punct(')') && a.str() != "" {
					p.op(Replace)
					v, ok = p.fits(psVal{s: strings.ReplaceAll(v.s, a.str(), b.str())})
					continue
				}
			}
			p.i = save
			return v, true
		case p.keyword(".tolower()") && v.kind == vStr:
			v = psVal{s: strings.ToLower(v.s)}
		case p.keyword(".toupper()") && v.kind == vStr:
			v = psVal{s: strings.ToUpper(v.s)}
		case p.keyword(".tostring()"):
			v = psVal{s: v.str()}
		default:
			p.i = save
			return v, true
		}
	}
	return v, ok
}

// indexes reads an index list: numbers and ranges a..b, comma-separated.
func (p *psParser) indexes() ([]int64, bool) {
	var out []int64
	for {
		a, ok := p.number()
		if !ok {
			return nil, false
		}
		save := p.i
		p.space()
		if strings.HasPrefix(p.s[p.i:], "..") {
			p.i += 2
			b, ok := p.number()
			if !ok {
				return nil, false
			}
			step := int64(1)
			if b < a {
				step = -1
			}
			for x := a; ; x += step {
				if len(out) > p.max || !p.spend(8) { // an element costs more than a byte
					return nil, false
				}
				out = append(out, x)
				if x == b {
					break
				}
			}
		} else {
			p.i = save
			out = append(out, a)
		}
		if !p.punct(',') {
			return out, true
		}
	}
}

func (p *psParser) number() (int64, bool) {
	p.space()
	neg := false
	if p.i < len(p.s) && p.s[p.i] == '-' {
		neg = true
		p.i++
	}
	j := p.i
	base := 10
	if len(p.s)-j >= 2 && p.s[j] == '0' && p.s[j+1]|0x20 == 'x' {
		base, j = 16, j+2
		p.i = j
	}
	for j < len(p.s) && (isDigit(p.s[j]) || base == 16 && strings.IndexByte("abcdefABCDEF", p.s[j]) >= 0) {
		j++
	}
	if j == p.i || j-p.i > 12 || j < len(p.s) && (isWordByte(p.s[j]) || p.s[j] == '.' && j+1 < len(p.s) && isDigit(p.s[j+1])) {
		return 0, false
	}
	n, err := strconv.ParseInt(p.s[p.i:j], base, 64)
	if err != nil {
		return 0, false
	}
	p.i = j
	if neg {
		n = -n
	}
	return n, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (p *psParser) index(v psVal, idx []int64) (psVal, bool) {
	if !p.spend(v.size() + len(idx)) {
		return v, false
	}
	var runes []rune // a string indexes by character
	n := len(v.arr)
	if v.kind == vStr {
		runes = []rune(v.s)
		n = len(runes)
	}
	out := make([]psVal, 0, len(idx))
	for _, x := range idx {
		if x < 0 {
			x += int64(n)
		}
		if x < 0 || x >= int64(n) {
			continue // PowerShell yields $null
		}
		if runes != nil {
			out = append(out, psVal{s: string(runes[x])})
		} else {
			out = append(out, v.arr[x])
		}
	}
	if len(idx) == 1 {
		if len(out) == 0 {
			return v, false
		}
		return out[0], true
	}
	return arrVal(out), true
}

func (p *psParser) primary() (psVal, bool) {
	if !p.spend(1) {
		return psVal{}, false
	}
	p.space()
	if p.i >= len(p.s) {
		return psVal{}, false
	}
	switch c := p.s[p.i]; {
	case c == '\'' || c == '"':
		return p.literal()
	case c == '(':
		save, saved := p.i, p.args
		p.i++
		p.args = false
		v, ok := p.expr()
		p.args = saved
		if !ok || !p.punct(')') {
			p.i = save
			return v, false
		}
		return v, true
	case c == '$':
		return p.variable()
	case isDigit(c):
		n, ok := p.number()
		return psVal{kind: vNum, n: n}, ok
	}
	return psVal{}, false
}

// literal reads a quoted string. A double-quoted one must be constant: no
// $variable or $(…) inside. Backticks that escape nothing are dropped. A
// string without escapes is a substring of the text, with no copy.
func (p *psParser) literal() (psVal, bool) {
	q := p.s[p.i]
	start := p.i + 1
	var b []byte // the value, once an escape made it differ from the text
	copied := false
	for j := start; j < len(p.s); j++ {
		c := p.s[j]
		switch {
		case c == q:
			if j+1 < len(p.s) && p.s[j+1] == q {
				if !copied {
					b, copied = append(b, p.s[start:j]...), true
				}
				b = append(b, q)
				j++
				continue
			}
			p.i = j + 1
			v := p.s[start:j]
			if copied {
				v = string(b)
			}
			return psVal{s: v}, p.spend(len(v))
		case q == '"' && c == '$' && j+1 < len(p.s) && (isWordByte(p.s[j+1]) || strings.IndexByte("{(_:", p.s[j+1]) >= 0):
			return psVal{}, false
		case q == '"' && c == '`' && j+1 < len(p.s):
			if !copied {
				b, copied = append(b, p.s[start:j]...), true
			}
			j++
			e := p.s[j]
			if r := strings.IndexByte("0abefnrtv", e); r >= 0 {
				b = append(b, "\x00\a\b\x1b\f\n\r\t\v"[r])
				continue
			}
			if e == 'u' {
				return psVal{}, false
			}
			if backtickNoop(e) {
				p.op(Backtick)
			}
			b = append(b, e)
		default:
			if copied {
				b = append(b, c)
			}
		}
	}
	return psVal{}, false
}

// variable reads $env:NAME, an automatic variable or a constant assigned in
// the text.
func (p *psParser) variable() (psVal, bool) {
	j := p.i + 1
	isEnv := len(p.s)-j >= 4 && strings.EqualFold(p.s[j:j+4], "env:")
	if isEnv {
		j += 4
	}
	k := j
	for k < len(p.s) && (isWordByte(p.s[k]) || p.s[k] == '_' || isEnv && (p.s[k] == '(' || p.s[k] == ')')) {
		k++
	}
	name := p.s[j:k]
	// An assignment target is not a read.
	e := k
	for e < len(p.s) && (p.s[e] == ' ' || p.s[e] == '\t') {
		e++
	}
	if e < len(p.s) && p.s[e] == '=' && (e+1 >= len(p.s) || p.s[e+1] != '=') {
		return psVal{}, false
	}
	if isEnv {
		if i := defaultVar(name); i >= 0 {
			p.i = k
			p.techs.add(EnvIndex)
			return psVal{s: defaultEnv[i][1]}, true
		}
		return psVal{}, false
	}
	ln := strings.ToLower(name)
	for _, kv := range psAutomatic {
		if kv[0] == ln {
			p.i = k
			p.techs.add(EnvIndex)
			return psVal{s: kv[1]}, true
		}
	}
	if v, ok := p.vars[ln]; ok {
		p.i = k
		p.reads++
		p.techs.add(PSVariables)
		return psVal{s: v}, true
	}
	return psVal{}, false
}

func join(v psVal, sep string) psVal { // its size is charged by fits
	if v.kind != vArr {
		return psVal{s: v.str()}
	}
	parts := make([]string, len(v.arr))
	for i, e := range v.arr {
		parts[i] = e.str()
	}
	return psVal{s: strings.Join(parts, sep)}
}

// psFormat applies "…{0}…" -f args; only plain {n} items are supported.
func psFormat(f string, args []psVal, limit int) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{', c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte(c)
			i++
		case c == '{':
			j := i + 1
			for j < len(f) && (isDigit(f[j]) || f[j] == ' ') {
				j++
			}
			if j >= len(f) || f[j] != '}' || j == i+1 {
				return "", false
			}
			n, err := strconv.Atoi(strings.TrimSpace(f[i+1 : j]))
			if err != nil || n >= len(args) {
				return "", false
			}
			b.WriteString(args[n].str())
			i = j
		case c == '}':
			return "", false
		default:
			b.WriteByte(c)
		}
		if b.Len() > limit {
			return "", false
		}
	}
	return b.String(), true
}

// maxPattern bounds the -replace patterns compiled: matching costs the
// text's length times the pattern's.
const maxPattern = 256

// psReplace applies -replace: a regular expression, case-insensitive unless
// -creplace, with $1-style groups in the replacement.
func psReplace(v, r psVal, caseSensitive bool) (psVal, bool) {
	if v.kind != vStr {
		return v, false
	}
	var pat, rep string
	switch {
	case r.kind == vArr && len(r.arr) == 2:
		pat, rep = r.arr[0].str(), r.arr[1].str()
	case r.kind == vStr:
		pat = r.s
	default:
		return v, false
	}
	if pat == "" || len(pat) > maxPattern {
		return v, false
	}
	if !caseSensitive {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return v, false
	}
	return psVal{s: re.ReplaceAllString(v.s, rep)}, true
}
