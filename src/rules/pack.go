package rules

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"scorecmdline/src/normalize"
)

// PackSuffix ends the file name of every rule pack under lookups/.
const PackSuffix = ".rules.toml"

// MaxPackSize bounds a pack file; real packs are a few kilobytes.
const MaxPackSize = 4 << 20

// Keys a rule may have, in the order the documentation lists them.
var ruleKeys = []string{"name", "description", "any", "all", "none", "process_name", "parent", "regex", "flag", "techniques", "risk", "level"}

var packKeys = []string{"description"}

var (
	identRE     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	techniqueRE = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	packNameRE  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
)

// LoadPack reads and parses the pack <name>.rules.toml from fsys (see
// config.Lookups). A pack that is not there is a *PackError wrapping
// fs.ErrNotExist.
func LoadPack(fsys fs.FS, name string) (*Pack, error) {
	file := name + PackSuffix
	if !packNameRE.MatchString(name) || strings.Contains(name, "..") {
		return nil, &PackError{File: file, Err: errAt("", ErrBadPackName, "%q (use letters, digits, _, . and -)", name)}
	}
	f, err := fsys.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &PackError{File: file, Err: fmt.Errorf("unknown rule pack %q: %w", name, fs.ErrNotExist)}
	}
	if err != nil {
		return nil, &PackError{File: file, Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPackSize+1))
	if err != nil {
		return nil, &PackError{File: file, Err: err}
	}
	return ParsePack(file, data)
}

// ParsePack parses and validates a pack. file names it in errors and gives
// the pack its name (the base name without ".rules.toml").
func ParsePack(file string, data []byte) (*Pack, error) {
	if len(data) > MaxPackSize {
		return nil, &PackError{File: file, Err: errAt("", ErrTooLarge, "more than %d bytes", MaxPackSize)}
	}
	name := path.Base(strings.ReplaceAll(file, `\`, "/"))
	if n, ok := strings.CutSuffix(name, PackSuffix); ok {
		name = n
	} else {
		name = strings.TrimSuffix(name, path.Ext(name))
	}
	p := &parser{file: file, src: string(data)}
	pack, err := p.parse()
	if err != nil {
		return nil, err
	}
	pack.Name, pack.File = name, file
	for _, r := range pack.Rules {
		r.Pack = name
	}
	return pack, nil
}

type parser struct {
	file string
	src  string
	lay  *layout
	errs []*PackError
}

// fail records a mistake. parse reports one: an unknown key first, as it
// often explains the others (a misspelt "any" leaves the rule matching
// nothing), else the one nearest the top of the file.
func (p *parser) fail(line int, rule string, err error) {
	p.errs = append(p.errs, &PackError{File: p.file, Line: line, Rule: rule, Err: err})
}

func (p *parser) first() error {
	if len(p.errs) == 0 {
		return nil
	}
	rank := func(e *PackError) (bool, int) {
		line := e.Line
		if line == 0 {
			line = int(^uint(0) >> 1) // no line: after those that have one
		}
		return !errors.Is(e.Err, ErrUnknownKey), line
	}
	sort.SliceStable(p.errs, func(i, j int) bool {
		ui, li := rank(p.errs[i])
		uj, lj := rank(p.errs[j])
		if ui != uj {
			return !ui
		}
		return li < lj
	})
	return p.errs[0]
}

// Raw values are decoded by hand (see value) so that a wrong type is reported
// with the rule and line this package works out, not toml's.
type rawPack struct {
	Pack struct {
		Description value `toml:"description"`
	} `toml:"pack"`
	Rule []rawRule `toml:"rule"`
}

type rawRule struct {
	Name        value `toml:"name"`
	Description value `toml:"description"`
	Any         value `toml:"any"`
	All         value `toml:"all"`
	None        value `toml:"none"`
	ProcessName value `toml:"process_name"`
	Parent      value `toml:"parent"`
	Regex       value `toml:"regex"`
	Flag        value `toml:"flag"`
	Techniques  value `toml:"techniques"`
	Risk        value `toml:"risk"`
	Level       value `toml:"level"`
}

// value keeps whatever TOML value it is given; the decode never fails on it.
type value struct {
	v   any
	set bool
}

func (v *value) UnmarshalTOML(data any) error {
	v.v, v.set = data, true
	return nil
}

func (p *parser) parse() (*Pack, error) {
	// First pass: syntax, and the shape of the two tables, which the typed
	// decode below would otherwise report without a usable position.
	var generic map[string]any
	md, err := toml.Decode(p.src, &generic)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &PackError{File: p.file, Line: pe.Position.Line, Err: &detail{cause: ErrSyntax, msg: pe.Message, inner: pe}}
		}
		return nil, &PackError{File: p.file, Err: &detail{cause: ErrSyntax, msg: err.Error(), inner: err}}
	}
	p.lay = scanLayout(p.src)
	if v, ok := generic["pack"]; ok {
		if _, ok := v.(map[string]any); !ok {
			return nil, &PackError{File: p.file, Line: p.lay.line("", -1, "pack", -1), Err: errAt("pack", ErrBadValue, "write it as a [pack] table")}
		}
	} else {
		return nil, &PackError{File: p.file, Line: 1, Err: errAt("[pack]", ErrMissing, "the pack needs a [pack] table with a description")}
	}
	if _, ok := generic["rule"]; ok && md.Type("rule") != "ArrayHash" {
		return nil, &PackError{File: p.file, Line: p.lay.line("", -1, "rule", -1), Err: errAt("rule", ErrBadValue, "write each rule as its own [[rule]] table")}
	}

	var raw rawPack
	md, err = toml.Decode(p.src, &raw)
	if err != nil { // not expected after the checks above
		return nil, &PackError{File: p.file, Err: &detail{cause: ErrBadValue, msg: err.Error(), inner: err}}
	}
	p.unknownKeys(md, raw.Rule)

	pack := &Pack{}
	if s, ok := p.str(raw.Pack.Description, "pack", -1, "description", ""); ok {
		pack.Description = s
	}
	if !raw.Pack.Description.set {
		p.fail(p.lay.line("pack", -1, "", -1), "", errAt("description", ErrMissing, "say in [pack] what the pack detects"))
	}
	if len(raw.Rule) == 0 {
		p.fail(0, "", errAt("[[rule]]", ErrMissing, "the pack has no rules"))
	}
	seen := map[string]int{} // rule name -> line
	for i := range raw.Rule {
		if r := p.rule(i, &raw.Rule[i], seen); r != nil {
			pack.Rules = append(pack.Rules, r)
		}
	}
	if err := p.first(); err != nil {
		return nil, err
	}
	return pack, nil
}

// unknownKeys reports keys the pack format does not have. Undecoded lists
// keys toml did not place; toml also places keys case-insensitively
// ("Name"), which a pack must not rely on, so known names are checked exactly.
func (p *parser) unknownKeys(md toml.MetaData, rules []rawRule) {
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
	idx := -1
	reported := map[string]bool{}
	for _, k := range md.Keys() {
		if len(k) == 1 && k[0] == "rule" {
			idx++
			continue
		}
		var known []string
		table, n := "", -1
		switch {
		case len(k) == 1:
			known = []string{"pack", "rule"}
		case k[0] == "pack" && len(k) == 2:
			known, table = packKeys, "pack"
		case k[0] == "rule" && len(k) == 2:
			known, table, n = ruleKeys, "rule", idx
		case k[0] == "pack" || k[0] == "rule":
			table = k[0]
			if k[0] == "rule" {
				n = idx
			}
		}
		if !undecoded[k.String()] && contains(known, k[len(k)-1]) {
			continue
		}
		if under(reported, k) {
			continue // reported already, or the table holding it is
		}
		reported[k.String()] = true
		key := strings.Join(k, ".")
		if table != "" {
			key = strings.Join(k[1:], ".")
		}
		rule := ""
		if table == "rule" && n >= 0 && n < len(rules) {
			rule = p.ruleLabel(n, &rules[n])
		}
		line := p.unknownLine(k, n)
		if line == 0 && table == "rule" {
			line = p.lay.ruleLine(n)
		}
		msg := fmt.Sprintf("%q", key)
		if s := suggest(k[len(k)-1], known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else if len(known) > 0 {
			msg += " (known: " + strings.Join(known, ", ") + ")"
		}
		p.fail(line, rule, errAt("", ErrUnknownKey, "%s", msg))
	}
}

// unknownLine finds the line of an unknown key k of the n-th rule (or of the
// top level, n < 0): as a table header ([rule.x], [[rules]]), or as a key in
// the table that holds it.
func (p *parser) unknownLine(k toml.Key, n int) int {
	full := strings.Join(k, ".")
	for _, idx := range []int{n, 0} {
		if line, ok := p.lay.lines[posKey{full, idx, "", -1}]; ok {
			return line
		}
	}
	if len(k) > 1 {
		if line := p.lay.line(strings.Join(k[:len(k)-1], "."), n, k[len(k)-1], -1); line > 0 {
			return line
		}
		return p.lay.line(k[0], n, strings.Join(k[1:], "."), -1)
	}
	return p.lay.line("", -1, k[0], -1)
}

// under reports whether k or a prefix of it is among the reported keys.
func under(reported map[string]bool, k toml.Key) bool {
	for i := 1; i <= len(k); i++ {
		if reported[k[:i].String()] {
			return true
		}
	}
	return false
}

// ruleLabel names a rule in errors: its name when it has a usable one.
func (p *parser) ruleLabel(i int, r *rawRule) string {
	if s, ok := r.Name.v.(string); ok && identRE.MatchString(s) {
		return s
	}
	return fmt.Sprintf("#%d", i+1)
}

func (p *parser) rule(i int, raw *rawRule, seen map[string]int) *Rule {
	label := p.ruleLabel(i, raw)
	header := p.lay.ruleLine(i)
	r := &Rule{Line: header}
	nerr := len(p.errs)
	at := func(key string, elem int) int {
		if n := p.lay.line("rule", i, key, elem); n > 0 {
			return n
		}
		return header
	}
	failf := func(key string, elem int, cause error, format string, args ...any) {
		where := key
		if elem >= 0 {
			where = fmt.Sprintf("%s[%d]", key, elem)
		}
		p.fail(at(key, elem), label, errAt(where, cause, format, args...))
	}
	missing := func(key, why string) {
		p.fail(header, label, errAt(key, ErrMissing, "%s", why))
	}

	if !raw.Name.set {
		missing("name", "every rule needs a name (lower_snake_case)")
	} else if s, ok := p.str(raw.Name, "rule", i, "name", label); ok {
		switch {
		case !identRE.MatchString(s):
			failf("name", -1, ErrBadValue, "%q: use lower-case letters, digits and _, starting with a letter", s)
		default:
			if line, dup := seen[s]; dup {
				failf("name", -1, ErrDuplicateName, "%q is also the name of the rule at line %d", s, line)
				break
			}
			seen[s] = at("name", -1)
			r.Name = s
		}
	}
	if !raw.Description.set {
		missing("description", "say what the rule detects")
	} else if s, ok := p.str(raw.Description, "rule", i, "description", label); ok {
		if strings.TrimSpace(s) == "" {
			failf("description", -1, ErrMissing, "the description is blank")
		}
		r.Description = s
	}

	phrases := func(v value, key string) []string {
		list, ok := p.strs(v, "rule", i, key, label)
		if !ok {
			return nil
		}
		for k, s := range list {
			if _, err := ParsePhrase(s); err != nil {
				var d *detail
				if errors.As(err, &d) {
					failf(key, k, d.cause, "%s", d.msg)
				}
			}
		}
		return list
	}
	r.Any = phrases(raw.Any, "any")
	r.All = phrases(raw.All, "all")
	r.None = phrases(raw.None, "none")

	names := func(v value, key string) []string {
		list, ok := p.strs(v, "rule", i, key, label)
		if !ok {
			return nil
		}
		for k, s := range list {
			if err := checkName(s); err != nil {
				var d *detail
				if errors.As(err, &d) {
					failf(key, k, d.cause, "%s", d.msg)
				}
			}
		}
		return list
	}
	r.ProcessName = names(raw.ProcessName, "process_name")
	r.Parent = names(raw.Parent, "parent")

	if raw.Regex.set {
		if s, ok := p.str(raw.Regex, "rule", i, "regex", label); ok {
			if err := checkRegex(s); err != nil {
				p.fail(at("regex", -1), label, err)
			} else {
				r.Regex = s
			}
		}
	}
	if !raw.Any.set && !raw.All.set && !raw.ProcessName.set && !raw.Parent.set && !raw.Regex.set {
		missing("any", "the rule matches nothing: give any, all, process_name, parent or regex")
	}

	if raw.Flag.set {
		if s, ok := p.str(raw.Flag, "rule", i, "flag", label); ok {
			switch {
			case !identRE.MatchString(s):
				failf("flag", -1, ErrBadFlag, "%q: a flag is an output field name: lower-case letters, digits and _, starting with a letter", s)
			default:
				r.Flag = s
			}
		}
	}
	if !raw.Techniques.set {
		missing("techniques", "give the ATT&CK technique ids, e.g. [\"T1059.003\"]")
	} else if list, ok := p.strs(raw.Techniques, "rule", i, "techniques", label); ok {
		for k, s := range list {
			if !techniqueRE.MatchString(s) {
				failf("techniques", k, ErrBadValue, "%q is not an ATT&CK technique id like T1059 or T1059.003", s)
			}
		}
		r.Techniques = list
	}
	if !raw.Risk.set {
		missing("risk", "give a risk score from 0 to 100")
	} else if n, ok := raw.Risk.v.(int64); !ok {
		failf("risk", -1, ErrBadValue, "want an integer from 0 to 100, got %s", typeName(raw.Risk.v))
	} else if n < 0 || n > 100 {
		failf("risk", -1, ErrBadValue, "%d is outside 0 to 100", n)
	} else {
		r.Risk = int(n)
	}
	r.Level = LevelFor(r.Risk)
	if raw.Level.set {
		if s, ok := p.str(raw.Level, "rule", i, "level", label); ok {
			var d *detail
			if l, err := ParseLevel(s); errors.As(err, &d) {
				failf("level", -1, d.cause, "%s", d.msg)
			} else {
				r.Level = l
			}
		}
	}
	if len(p.errs) > nerr {
		return nil
	}
	return r
}

// str returns v as a string, reporting another type.
func (p *parser) str(v value, table string, i int, key, label string) (string, bool) {
	s, ok := v.v.(string)
	if !ok {
		p.fail(p.lay.line(table, i, key, -1), label, errAt(key, ErrBadValue, "want a string, got %s", typeName(v.v)))
	}
	return s, ok
}

// strs returns v as a non-empty list of strings; a single string is a list
// of one.
func (p *parser) strs(v value, table string, i int, key, label string) ([]string, bool) {
	if !v.set {
		return nil, false
	}
	line := p.lay.line(table, i, key, -1)
	switch x := v.v.(type) {
	case string:
		return []string{x}, true
	case []any:
		if len(x) == 0 {
			p.fail(line, label, errAt(key, ErrEmptyPattern, "the list is empty"))
			return nil, false
		}
		out := make([]string, 0, len(x))
		for k, e := range x {
			s, ok := e.(string)
			if !ok {
				p.fail(p.lay.line(table, i, key, k), label, errAt(fmt.Sprintf("%s[%d]", key, k), ErrBadValue, "want a string, got %s", typeName(e)))
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	p.fail(line, label, errAt(key, ErrBadValue, "want a string or a list of strings, got %s", typeName(v.v)))
	return nil, false
}

func typeName(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date/time" // the remaining TOML types
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the known key closest to k when it is a likely typo.
func suggest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if strings.EqualFold(c, k) {
			return c
		}
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkName vets a process name of a pack.
func checkName(s string) error {
	switch {
	case normalize.Name(s) == "":
		return errAt("", ErrEmptyPattern, "%q names no program", s)
	case strings.ContainsAny(s, `\/`):
		return errAt("", ErrBadValue, "%q: give the file name only (names are compared on the base name)", s)
	}
	return nil
}

// checkRegex vets the regex of a rule.
func checkRegex(s string) error {
	if s == "" {
		return errAt("regex", ErrEmptyPattern, "the regex is empty")
	}
	if _, err := regexp.Compile(s); err != nil {
		return &detail{where: "regex", cause: ErrBadRegex, msg: err.Error(), inner: err}
	}
	return nil
}
