package conf

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Errors from loading and expanding macros, wrapped in a *MacroError.
var (
	ErrMacroStanza  = errors.New("invalid macros.conf stanza")
	ErrMacroCall    = errors.New("malformed macro call")
	ErrUnknownMacro = errors.New("unknown macro")
	ErrEvalMacro    = errors.New("iseval macro cannot be expanded without Splunk")
	ErrExpansion    = errors.New("macro expansion exceeds limits")
)

// Limits on Expand, so a macro that calls itself ends with an error rather
// than a hang or unbounded memory.
const (
	MaxExpandDepth = 32
	MaxExpandSize  = 1 << 20
	MaxExpandCalls = 10000 // macros that expand to nothing could otherwise fan out forever
)

// MacroError says which macro failed and where: Line is the stanza's line in
// macros.conf (0 when unknown), Offset the byte offset of the call's opening
// backtick in the text being scanned (-1 when not about a call).
type MacroError struct {
	Macro  string
	Line   int
	Offset int
	Err    error
}

func (e *MacroError) Error() string {
	var b strings.Builder
	b.WriteString("macro")
	if e.Macro != "" {
		fmt.Fprintf(&b, " %s", e.Macro)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (macros.conf line %d)", e.Line)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " at offset %d", e.Offset)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *MacroError) Unwrap() error { return e.Err }

// Macro is one search macro of macros.conf.
type Macro struct {
	Name       string   // without the "(N)" arity suffix
	Args       []string // argument names, in call order
	Definition string
	IsEval     bool
	Line       int
}

// Key is the name splunkd files the macro under: "name" without arguments,
// "name(N)" with N. Macros that differ only in arity are different macros.
func (m Macro) Key() string { return macroKey(m.Name, len(m.Args)) }

func macroKey(name string, n int) string {
	if n == 0 {
		return name
	}
	return name + "(" + strconv.Itoa(n) + ")"
}

// Macros maps Key() to the macro.
type Macros map[string]Macro

// macroKeys are the settings macros.conf.spec defines.
var macroKeys = map[string]bool{
	"args": true, "definition": true, "description": true,
	"errormsg": true, "iseval": true, "validation": true,
}

// LoadMacros reads the macros of a parsed macros.conf. A stanza must have a
// definition, only the settings the spec defines, and as many distinct
// argument names as its "(N)" suffix says.
func LoadMacros(f *File) (Macros, error) {
	ms := Macros{}
	for _, s := range f.Stanzas {
		if s.Name == "" || s.Name == "default" {
			continue
		}
		fail := func(format string, a ...any) (Macros, error) {
			return nil, &MacroError{Macro: s.Name, Line: s.Line, Offset: -1,
				Err: fmt.Errorf("%w: "+format, append([]any{ErrMacroStanza}, a...)...)}
		}
		name, arity := s.Name, 0
		if open := strings.IndexByte(name, '('); open >= 0 {
			n, err := strconv.Atoi(strings.TrimSuffix(name[open+1:], ")"))
			if !strings.HasSuffix(name, ")") || err != nil || n < 1 {
				return fail("name must be name or name(N) with N >= 1")
			}
			name, arity = name[:open], n
		}
		if !validMacroName(name) {
			return fail("name %q has characters other than letters, digits and _ . : -", name)
		}
		for _, st := range s.Settings {
			if !macroKeys[st.Key] {
				return fail("unknown setting %q", st.Key)
			}
		}
		def, ok := s.Get("definition")
		if !ok {
			return fail("no definition")
		}
		var args []string
		if v, ok := s.Get("args"); ok {
			seen := map[string]bool{}
			for _, a := range strings.Split(v, ",") {
				a = strings.TrimSpace(a)
				if !validArgName(a) || seen[a] {
					return fail("bad or repeated argument name %q", a)
				}
				seen[a] = true
				args = append(args, a)
			}
		}
		if len(args) != arity {
			return fail("%d argument names for a macro of %d arguments", len(args), arity)
		}
		iseval := false
		if v, ok := s.Get("iseval"); ok {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fail("iseval %q is not a boolean", v)
			}
			iseval = b
		}
		ms[macroKey(name, arity)] = Macro{Name: name, Args: args, Definition: def, IsEval: iseval, Line: s.Line}
	}
	return ms, nil
}

func validMacroName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isWordByte(c) || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func validArgName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return false
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// Call is a macro reference `name(arg, ...)` in SPL.
type Call struct {
	Name        string
	Args        []string // trimmed; quotes are kept, as splunkd substitutes them
	Offset, End int      // byte offsets of the opening backtick and just past the closing one
}

// Key is the macros.conf stanza the call refers to.
func (c Call) Key() string { return macroKey(c.Name, len(c.Args)) }

// Calls returns the macro calls in spl, in order. Backticks inside
// double-quoted strings are text, not calls (ESCU's own tokenize macro relies
// on this: replace(lower(process), "`", "")).
func Calls(spl string) ([]Call, error) {
	var calls []Call
	inQuote := false
	for i := 0; i < len(spl); i++ {
		switch c := spl[i]; {
		case inQuote && c == '\\':
			i++ // the escaped byte cannot end the string
		case c == '"':
			inQuote = !inQuote
		case c == '`' && !inQuote:
			end := strings.IndexByte(spl[i+1:], '`')
			if end < 0 {
				return nil, &MacroError{Offset: i, Err: fmt.Errorf("%w: no closing backtick", ErrMacroCall)}
			}
			end += i + 1
			call, err := parseCall(spl[i+1 : end])
			if err != nil {
				return nil, &MacroError{Offset: i, Err: err}
			}
			call.Offset, call.End = i, end+1
			calls = append(calls, call)
			i = end
		}
	}
	return calls, nil
}

func parseCall(text string) (Call, error) {
	text = strings.TrimSpace(text)
	name, rest, hasArgs := strings.Cut(text, "(")
	name = strings.TrimSpace(name)
	if !validMacroName(name) {
		return Call{}, fmt.Errorf("%w: bad macro name in `%s`", ErrMacroCall, clip(text))
	}
	c := Call{Name: name}
	if !hasArgs {
		return c, nil
	}
	if !strings.HasSuffix(rest, ")") {
		return Call{}, fmt.Errorf("%w: `%s` lacks a closing parenthesis", ErrMacroCall, clip(text))
	}
	inner := rest[:len(rest)-1]
	if strings.TrimSpace(inner) == "" {
		return Call{}, fmt.Errorf("%w: empty argument list in `%s`", ErrMacroCall, clip(text))
	}
	args, err := splitArgs(inner)
	if err != nil {
		return Call{}, fmt.Errorf("%w: %v in `%s`", ErrMacroCall, err, clip(text))
	}
	c.Args = args
	return c, nil
}

// splitArgs splits at commas outside double quotes and parentheses.
func splitArgs(s string) ([]string, error) {
	var args []string
	depth, inQuote, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			if depth--; depth < 0 {
				return nil, errors.New("unbalanced parentheses")
			}
		case c == ',' && depth == 0:
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if inQuote || depth != 0 {
		return nil, errors.New("unterminated quote or parenthesis")
	}
	return append(args, strings.TrimSpace(s[start:])), nil
}

// Expand replaces every macro call in spl by its definition, with $arg$
// replaced by the call's arguments, until no call is left.
func (ms Macros) Expand(spl string) (string, error) {
	var b strings.Builder
	calls := 0
	if err := ms.expand(&b, spl, 0, &calls); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (ms Macros) expand(b *strings.Builder, spl string, depth int, ncalls *int) error {
	if depth > MaxExpandDepth {
		return &MacroError{Offset: -1, Err: fmt.Errorf("%w: nested deeper than %d", ErrExpansion, MaxExpandDepth)}
	}
	calls, err := Calls(spl)
	if err != nil {
		return err
	}
	prev := 0
	for _, c := range calls {
		if *ncalls++; *ncalls > MaxExpandCalls {
			return &MacroError{Macro: c.Key(), Offset: c.Offset, Err: fmt.Errorf("%w: more than %d calls", ErrExpansion, MaxExpandCalls)}
		}
		b.WriteString(spl[prev:c.Offset])
		prev = c.End
		m, ok := ms[c.Key()]
		if !ok {
			return &MacroError{Macro: c.Key(), Offset: c.Offset, Err: ms.unknown(c)}
		}
		if m.IsEval {
			return &MacroError{Macro: c.Key(), Line: m.Line, Offset: c.Offset, Err: ErrEvalMacro}
		}
		if err := ms.expand(b, m.substitute(c.Args), depth+1, ncalls); err != nil {
			return err
		}
		if b.Len() > MaxExpandSize {
			return &MacroError{Macro: c.Key(), Offset: c.Offset, Err: fmt.Errorf("%w: result over %d bytes", ErrExpansion, MaxExpandSize)}
		}
	}
	b.WriteString(spl[prev:])
	if b.Len() > MaxExpandSize {
		return &MacroError{Offset: -1, Err: fmt.Errorf("%w: result over %d bytes", ErrExpansion, MaxExpandSize)}
	}
	return nil
}

// unknown explains a missing macro, naming the arities that do exist so a
// wrong argument count reads as such.
func (ms Macros) unknown(c Call) error {
	var have []string
	for k, m := range ms {
		if m.Name == c.Name {
			have = append(have, k)
		}
	}
	if len(have) == 0 {
		return ErrUnknownMacro
	}
	slices.Sort(have)
	return fmt.Errorf("%w: called with %d arguments, defined as %s", ErrUnknownMacro, len(c.Args), strings.Join(have, ", "))
}

// substitute replaces $name$ for each argument in one pass, so an argument
// value that looks like $other$ is not substituted again.
func (m Macro) substitute(values []string) string {
	if len(m.Args) == 0 {
		return m.Definition
	}
	var b strings.Builder
	def := m.Definition
	for {
		i := strings.IndexByte(def, '$')
		if i < 0 {
			break
		}
		j := strings.IndexByte(def[i+1:], '$')
		if j < 0 {
			break
		}
		name := def[i+1 : i+1+j]
		if k := indexOf(m.Args, name); k >= 0 {
			b.WriteString(def[:i])
			b.WriteString(values[k])
			def = def[i+j+2:]
			continue
		}
		// Not an argument: keep the first '$' and look again from the second.
		b.WriteString(def[:i+1])
		def = def[i+1:]
	}
	b.WriteString(def)
	return b.String()
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
