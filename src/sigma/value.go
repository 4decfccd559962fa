package sigma

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"

	"scorecmdline/src/event"
)

// View kinds of a field value the conditions read (bits).
const (
	vLower uint8 = 1 // lower-cased
	vDash  uint8 = 2 // dashes folded to '-'
)

const noField = -1 // an unmapped Sigma field: always absent

type condKind uint8

const (
	kGlob condKind = iota
	kRegex
	kCIDR
	kNum
	kRef
	kExists
)

// fieldCond is one `Field|modifiers: values` entry of a selection.
type fieldCond struct {
	name  string // Sigma field name, as written
	field int    // event.Field or noField
	view  uint8
	kind  condKind
	all   bool // every value must match (`all`)
	neq   bool // the field differs from the values
	// onEmpty is the result on an absent (empty) field, fixed at compile
	// time.
	onEmpty bool

	globs []glob
	res   []*regexp.Regexp
	reSrc []string  // per regex: its source, flags included (for the cache)
	reMin []int     // per regex: the fewest bytes a match spans
	runs  []byteRun // per regex: a run of bytes every match spans
	nets  []netip.Prefix
	nums  []float64
	op    string // lt lte gt gte
	ref   int    // fieldref: the other field (or noField)
	refM  string // fieldref comparison: "", contains, startswith, endswith
	exist bool

	// reqs holds per value what it needs of the lower-cased field (nil
	// when nothing is known): the witness candidates.
	reqs []req
	pre  []gramReq // reqs in grams
}

// value is one scalar of a selection: a string, or null.
type value struct {
	s    string
	null bool
}

func (c *fieldCond) eval(m *Matcher) bool {
	v := m.view(c.field, c.view)
	if len(v) == 0 {
		return c.onEmpty
	}
	switch c.kind {
	case kExists:
		return c.exist
	case kRef:
		return c.evalRef(m, v)
	}
	r := c.test(m, v)
	if c.neq {
		return !r
	}
	return r
}

// test applies the values to v; m, when not nil, lends its gram sets.
func (c *fieldCond) test(m *Matcher, v []byte) bool {
	n := c.count()
	for i := range n {
		if c.testOne(m, i, v) != c.all {
			return !c.all
		}
	}
	return c.all && n > 0
}

func (c *fieldCond) count() int {
	switch c.kind {
	case kGlob:
		return len(c.globs)
	case kRegex:
		return len(c.res)
	case kCIDR:
		return len(c.nets)
	case kNum:
		return len(c.nums)
	}
	return 0
}

func (c *fieldCond) testOne(m *Matcher, i int, v []byte) bool {
	if m != nil && m.pre && !m.mayHold(c.pre[i]) {
		return false
	}
	switch c.kind {
	case kGlob:
		return c.globs[i].match(v)
	case kRegex:
		// Backtracking over every row is the costliest test: a value
		// shorter than the shortest match, or without the run of
		// characters every match spans, cannot match.
		return len(v) >= c.reMin[i] && (m == nil || !m.pre || c.runs[i].holds(v)) && c.res[i].Match(v)
	case kCIDR:
		a, err := netip.ParseAddr(string(v))
		return err == nil && c.nets[i].Contains(a.Unmap())
	case kNum:
		x, err := strconv.ParseFloat(strings.TrimSpace(string(v)), 64)
		if err != nil {
			return false
		}
		switch y := c.nums[i]; c.op {
		case "lt":
			return x < y
		case "lte":
			return x <= y
		case "gt":
			return x > y
		default:
			return x >= y
		}
	}
	return false
}

func (c *fieldCond) evalRef(m *Matcher, v []byte) bool {
	w := m.view(c.ref, c.view)
	if len(w) == 0 {
		return false
	}
	var r bool
	switch c.refM {
	case "contains":
		r = bytes.Contains(v, w)
	case "startswith":
		r = bytes.HasPrefix(v, w)
	case "endswith":
		r = bytes.HasSuffix(v, w)
	default:
		r = bytes.Equal(v, w)
	}
	return r != c.neq
}

// errUnsupported marks parts of the specification this engine does not
// evaluate (as opposed to rules that break it).
var errUnsupported = errors.New("unsupported")

func unsupported(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUnsupported, fmt.Sprintf(format, a...))
}

// compileField builds the condition for key (`Field|mod|mod`) over vals.
// A key with an empty field name is a keyword search on the command line.
func compileField(key string, vals []value, cfg *Config) (*fieldCond, bool, error) {
	parts := strings.Split(key, "|")
	c := &fieldCond{name: parts[0], field: noField, view: vLower}
	unmapped := false
	if parts[0] == "" {
		c.field = int(event.Process)
	} else if f, ok := cfg.Field(parts[0]); ok {
		c.field = int(f)
	} else {
		unmapped = true
	}
	var (
		cmp                    string // contains, startswith, endswith
		re, cased, windash     bool
		reFlags                string
		transforms             []string
		exists, fieldref, cidr bool
	)
	for _, mod := range parts[1:] {
		switch mod {
		case "contains", "startswith", "endswith":
			if cmp != "" {
				return nil, false, fmt.Errorf("modifiers %s and %s conflict", cmp, mod)
			}
			cmp = mod
		case "all":
			c.all = true
		case "windash":
			windash = true
		case "base64", "base64offset", "utf16le", "wide", "utf16be", "utf16", "expand":
			transforms = append(transforms, mod)
		case "re":
			re = true
		case "i", "m", "s":
			reFlags += mod
		case "cased":
			cased = true
		case "neq":
			c.neq = true
		case "exists":
			exists = true
		case "fieldref":
			fieldref = true
		case "cidr":
			cidr = true
		case "lt", "lte", "gt", "gte":
			if c.op != "" {
				return nil, false, fmt.Errorf("modifiers %s and %s conflict", c.op, mod)
			}
			c.op = mod
		case "minute", "hour", "day", "week", "month", "year":
			return nil, false, unsupported("time modifier %s", mod)
		case "near":
			return nil, false, unsupported("modifier near")
		default:
			return nil, false, fmt.Errorf("unknown modifier %q", mod)
		}
	}
	if reFlags != "" && !re {
		return nil, false, fmt.Errorf("sub-modifiers %s need re", reFlags)
	}
	special := 0
	for _, b := range []bool{re, exists, fieldref, cidr, c.op != ""} {
		if b {
			special++
		}
	}
	if special > 1 || special == 1 && (cmp != "" && !fieldref || windash || len(transforms) > 0) {
		return nil, false, fmt.Errorf("modifiers in %q conflict", key)
	}
	if c.all && len(vals) < 2 {
		return nil, false, fmt.Errorf("modifier all needs a list of values")
	}
	if parts[0] == "" && cmp == "" && special == 0 {
		cmp = "contains" // keywords match anywhere
	}
	if windash && slicesContainsEncoding(transforms) {
		return nil, false, unsupported("windash with an encoding modifier")
	}
	for _, v := range vals {
		if v.null && (len(vals) > 1 || special > 0 || cmp != "" || len(transforms) > 0 || windash || c.neq) {
			return nil, false, fmt.Errorf("null must be a selection's only value, without modifiers")
		}
	}
	if cased {
		c.view &^= vLower
	}
	if windash {
		c.view |= vDash
	}

	switch {
	case exists:
		c.kind = kExists
		if len(vals) != 1 || (vals[0].s != "true" && vals[0].s != "false") {
			return nil, false, fmt.Errorf("exists needs true or false")
		}
		c.exist = vals[0].s == "true"
		c.onEmpty = !c.exist
		return c, unmapped, nil
	case fieldref:
		c.kind, c.refM, c.ref = kRef, cmp, noField
		if len(vals) != 1 || vals[0].null {
			return nil, false, fmt.Errorf("fieldref needs one field name")
		}
		if f, ok := cfg.Field(vals[0].s); ok {
			c.ref = int(f)
		} else {
			unmapped = true
		}
		return c, unmapped, nil
	case re:
		c.kind, c.view = kRegex, 0
		for _, v := range vals {
			src := v.s
			if reFlags != "" {
				src = "(?" + reFlags + ")" + src
			}
			rx, err := regexp.Compile(src)
			if err != nil {
				return nil, false, unsupported("regex %q: %v", v.s, err)
			}
			c.res = append(c.res, rx)
			c.reSrc = append(c.reSrc, src)
			c.reMin = append(c.reMin, regexMinLen(src))
			c.runs = append(c.runs, regexRun(src))
			c.reqs = append(c.reqs, regexReq(src, c.field))
		}
	case cidr:
		c.kind, c.view = kCIDR, 0
		for _, v := range vals {
			p, err := netip.ParsePrefix(v.s)
			if err != nil {
				return nil, false, fmt.Errorf("cidr: %v", err)
			}
			c.nets = append(c.nets, p.Masked())
			c.reqs = append(c.reqs, nil)
		}
	case c.op != "":
		c.kind, c.view = kNum, 0
		for _, v := range vals {
			x, err := strconv.ParseFloat(v.s, 64)
			if err != nil {
				return nil, false, fmt.Errorf("%s needs a number, not %q", c.op, v.s)
			}
			c.nums = append(c.nums, x)
			c.reqs = append(c.reqs, nil)
		}
	default:
		c.kind = kGlob
		fold := func(s string) string { return s }
		if !cased {
			fold = lowerString
		}
		if windash {
			lf := fold
			fold = func(s string) string { return dashString(lf(s)) }
		}
		for _, v := range vals {
			strs, err := transform(v, transforms, cfg)
			if err != nil {
				return nil, false, err
			}
			for _, ps := range strs {
				switch cmp {
				case "contains":
					ps = append(append([]piece{{star: true}}, ps...), piece{star: true})
				case "startswith":
					ps = append(ps, piece{star: true})
				case "endswith":
					ps = append([]piece{{star: true}}, ps...)
				}
				g := compileGlob(ps, fold)
				c.globs = append(c.globs, g)
				c.reqs = append(c.reqs, globReq(&g, c.field, windash, !cased))
			}
		}
		if c.all {
			// all is over the rule's values; an expansion of one value
			// (base64offset, placeholders) stays an OR within it.
			if len(c.globs) != len(vals) {
				return nil, false, unsupported("all with a value that expands to several")
			}
		}
	}
	if c.kind != kExists && c.kind != kRef {
		c.onEmpty = !c.neq && c.test(nil, nil)
	}
	for _, r := range c.reqs {
		c.pre = append(c.pre, newGramReq(r))
	}
	return c, unmapped, nil
}

func slicesContainsEncoding(ts []string) bool {
	for _, t := range ts {
		if t != "expand" {
			return true
		}
	}
	return false
}

// transform applies the transformation modifiers in order to one value and
// returns the resulting Sigma strings (several for base64offset and
// placeholders with several values).
func transform(v value, mods []string, cfg *Config) ([][]piece, error) {
	if v.null {
		return [][]piece{nil}, nil
	}
	raws := []string{v.s}
	encoded := false
	var out [][]byte
	for _, mod := range mods {
		if mod == "expand" {
			if encoded {
				return nil, fmt.Errorf("expand after an encoding")
			}
			var err error
			if raws, err = expand(raws, cfg); err != nil {
				return nil, err
			}
			continue
		}
		if !encoded {
			for _, r := range raws {
				s, ok := plain(parseString(r))
				if !ok {
					return nil, fmt.Errorf("%s of a value with wildcards", mod)
				}
				out = append(out, []byte(s))
			}
			encoded = true
		}
		var next [][]byte
		for _, b := range out {
			next = append(next, encode(mod, b)...)
		}
		out = next
	}
	var res [][]piece
	if !encoded {
		for _, r := range raws {
			res = append(res, parseString(r))
		}
		return res, nil
	}
	for _, b := range out {
		res = append(res, []piece{{lit: string(b)}})
	}
	return res, nil
}

func encode(mod string, b []byte) [][]byte {
	switch mod {
	case "base64":
		return [][]byte{[]byte(base64.StdEncoding.EncodeToString(b))}
	case "base64offset":
		// The value at offsets 0, 1, 2 of a 3-byte group: drop the
		// characters that depend on the bytes around it.
		var vs [][]byte
		for i := range 3 {
			enc := base64.StdEncoding.EncodeToString(append(make([]byte, i), b...))
			start := [3]int{0, 2, 3}[i]
			end := len(enc) - [3]int{0, 3, 2}[(len(b)+i)%3]
			if start < end {
				vs = append(vs, []byte(enc[start:end]))
			}
		}
		return vs
	case "utf16le", "wide", "utf16be", "utf16":
		u := utf16.Encode([]rune(string(b)))
		var out []byte
		if mod == "utf16" {
			out = append(out, 0xff, 0xfe)
		}
		for _, x := range u {
			if mod == "utf16be" {
				out = append(out, byte(x>>8), byte(x))
			} else {
				out = append(out, byte(x), byte(x>>8))
			}
		}
		return [][]byte{out}
	}
	panic("sigma: unknown encoding " + mod)
}

// expand replaces %name% placeholders by each of their configured values
// (\% is a literal percent sign).
func expand(raws []string, cfg *Config) ([]string, error) {
	var out []string
	for _, r := range raws {
		alts := []string{""}
		for i := 0; i < len(r); i++ {
			switch {
			case r[i] == '\\' && i+1 < len(r) && r[i+1] == '%':
				alts = appendAll(alts, []string{"%"})
				i++
			case r[i] == '%':
				j := strings.IndexByte(r[i+1:], '%')
				if j < 0 {
					return nil, fmt.Errorf("unterminated placeholder in %q", r)
				}
				name := r[i+1 : i+1+j]
				vals, ok := cfg.Placeholders[name]
				if !ok || len(vals) == 0 {
					return nil, unsupported("placeholder %%%s%% has no values in %s", name, ConfigFile)
				}
				alts = appendAll(alts, vals)
				if len(alts) > 1024 {
					return nil, fmt.Errorf("placeholders expand to more than 1024 values")
				}
				i += j + 1
			default:
				alts = appendAll(alts, []string{r[i : i+1]})
			}
		}
		out = append(out, alts...)
	}
	return out, nil
}

func appendAll(prefixes, suffixes []string) []string {
	out := make([]string, 0, len(prefixes)*len(suffixes))
	for _, p := range prefixes {
		for _, s := range suffixes {
			out = append(out, p+s)
		}
	}
	return out
}
