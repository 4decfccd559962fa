// Package conf reads Splunk .conf files (and the .spec and .meta files that
// share their syntax) and the macros they define, so the app's contract can be
// checked by the project's own code where no Splunk is available.
//
// A .conf file is a list of stanzas, each a header in brackets followed by
// key = value settings:
//
//	# comment
//	[scorecmdline_ctime(1)]
//	args = field
//	definition = convert timeformat="%Y-%m-%dT%H:%M:%S" \
//	ctime($field$)
//
// gives the stanza "scorecmdline_ctime(1)" with the settings args = "field"
// and definition = "convert ... \nctime($field$)": a line that ends in a
// backslash continues on the next one and, as in splunkd, the line break is
// kept in the value. Settings before the first header belong to a stanza
// with the empty name (Splunk's global settings). Comments are whole lines
// whose first non-blank character is '#'; a '#' after a value is part of the
// value, as in splunkd.
//
// The parser is stricter than splunkd, which merges repeated stanzas and lets
// the last of repeated keys win: here both are errors, because in a file we
// ship either one is a mistake.
package conf

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"
)

// Errors a parse can fail with, wrapped in a *ParseError; match with errors.Is.
var (
	ErrSyntax          = errors.New("not a stanza header, setting or comment")
	ErrHeader          = errors.New("malformed stanza header")
	ErrEmptyKey        = errors.New("setting without a name")
	ErrDuplicateStanza = errors.New("duplicate stanza")
	ErrDuplicateKey    = errors.New("duplicate setting")
	ErrContinuation    = errors.New("file ends inside a continued line")
	ErrEncoding        = errors.New("not UTF-8 text")
	ErrSpecDoc         = errors.New("documentation line before any stanza")
)

// ParseError reports where a file could not be parsed.
type ParseError struct {
	File string // name given to Parse
	Line int    // 1-based line of the offending text
	Err  error  // one of the Err* sentinels, possibly wrapped with detail
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// File is a parsed .conf file with its stanzas in file order.
type File struct {
	Name    string
	Stanzas []*Stanza
}

// Stanza is one [name] block. Global settings before the first header form a
// stanza whose Name is "" and whose Line is 0. Doc holds the "* ..." lines
// between a .spec stanza's header and its first setting.
type Stanza struct {
	Name     string
	Line     int
	Doc      []string
	Settings []Setting
}

// Setting is one key = value pair. Doc holds the "* ..." lines that follow a
// setting in a .spec file (see ParseSpec), without the leading "* ".
type Setting struct {
	Key, Value string
	Line       int // line where the setting starts
	Doc        []string
}

// Stanza returns the stanza with the given name, or nil.
func (f *File) Stanza(name string) *Stanza {
	for _, s := range f.Stanzas {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Get returns the value of key and whether the stanza has it.
func (s *Stanza) Get(key string) (string, bool) {
	if st := s.Setting(key); st != nil {
		return st.Value, true
	}
	return "", false
}

// Setting returns the setting named key, or nil.
func (s *Stanza) Setting(key string) *Setting {
	for i := range s.Settings {
		if s.Settings[i].Key == key {
			return &s.Settings[i]
		}
	}
	return nil
}

// Keys returns the setting names in file order.
func (s *Stanza) Keys() []string {
	keys := make([]string, len(s.Settings))
	for i, st := range s.Settings {
		keys[i] = st.Key
	}
	return keys
}

// Parse parses the text of a .conf or .meta file; name is used in errors.
func Parse(name string, src []byte) (*File, error) {
	return parse(name, src, false)
}

// ParseSpec parses a .spec file (README/inputs.conf.spec and the like): the
// .conf syntax plus documentation lines starting with '*', which are kept in
// the Doc of the setting they follow.
func ParseSpec(name string, src []byte) (*File, error) {
	return parse(name, src, true)
}

// ReadFile reads and parses the file name from fsys; a name ending in
// ".spec" is parsed with ParseSpec.
func ReadFile(fsys fs.FS, name string) (*File, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return parse(name, src, strings.HasSuffix(name, ".spec"))
}

func parse(name string, src []byte, spec bool) (*File, error) {
	p := &parser{file: &File{Name: name}, spec: spec, stanzaLine: map[string]int{}}
	fail := func(line int, err error) (*File, error) {
		return nil, &ParseError{File: name, Line: line, Err: err}
	}
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf")) // editors on Windows add a BOM
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return fail(1+bytes.Count(src[:i], []byte("\n")), fmt.Errorf("%w: NUL byte", ErrEncoding))
	}
	if !utf8.Valid(src) {
		n := 0
		for len(src[n:]) > 0 {
			r, size := utf8.DecodeRune(src[n:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			n += size
		}
		return fail(1+bytes.Count(src[:n], []byte("\n")), ErrEncoding)
	}

	var (
		cont      *strings.Builder // value being continued, if any
		contKey   string
		contStart int
	)
	lineNo := 0
	for rest := src; len(rest) > 0; {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		lineNo++
		line = bytes.TrimSuffix(line, []byte("\r"))

		if cont != nil {
			text, more := cutContinuation(string(line))
			cont.WriteByte('\n')
			cont.WriteString(text)
			if !more {
				if err := p.add(contKey, cont.String(), contStart); err != nil {
					return fail(contStart, err)
				}
				cont = nil
			}
			continue
		}

		trimmed := strings.TrimSpace(string(line))
		switch {
		case trimmed == "" || trimmed[0] == '#':
			continue
		case trimmed[0] == '[':
			end := strings.LastIndexByte(trimmed, ']')
			if end < 0 || end != len(trimmed)-1 {
				return fail(lineNo, fmt.Errorf("%w: %q", ErrHeader, trimmed))
			}
			if err := p.open(trimmed[1:end], lineNo); err != nil {
				return fail(lineNo, err)
			}
		case spec && trimmed[0] == '*':
			if err := p.doc(strings.TrimSpace(trimmed[1:])); err != nil {
				return fail(lineNo, err)
			}
		default:
			key, value, ok := strings.Cut(trimmed, "=")
			if !ok {
				return fail(lineNo, fmt.Errorf("%w: %q", ErrSyntax, clip(trimmed)))
			}
			key = strings.TrimSpace(key)
			if key == "" {
				return fail(lineNo, ErrEmptyKey)
			}
			value = strings.TrimLeft(value, " \t")
			if text, more := cutContinuation(value); more {
				cont, contKey, contStart = &strings.Builder{}, key, lineNo
				cont.WriteString(text)
				continue
			}
			if err := p.add(key, value, lineNo); err != nil {
				return fail(lineNo, err)
			}
		}
	}
	if cont != nil {
		return fail(contStart, ErrContinuation)
	}
	return p.file, nil
}

// cutContinuation strips the backslash that continues a line onto the next.
func cutContinuation(s string) (string, bool) {
	if strings.HasSuffix(s, `\`) {
		return s[:len(s)-1], true
	}
	return s, false
}

func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

type parser struct {
	file       *File
	spec       bool
	cur        *Stanza
	stanzaLine map[string]int
}

func (p *parser) open(name string, line int) error {
	if prev, ok := p.stanzaLine[name]; ok {
		return fmt.Errorf("%w [%s] (first at line %d)", ErrDuplicateStanza, name, prev)
	}
	p.stanzaLine[name] = line
	p.cur = &Stanza{Name: name, Line: line}
	p.file.Stanzas = append(p.file.Stanzas, p.cur)
	return nil
}

func (p *parser) add(key, value string, line int) error {
	if p.cur == nil {
		p.cur = &Stanza{}
		p.stanzaLine[""] = 0
		p.file.Stanzas = append(p.file.Stanzas, p.cur)
	}
	if prev := p.cur.Setting(key); prev != nil {
		return fmt.Errorf("%w %q in [%s] (first at line %d)", ErrDuplicateKey, key, p.cur.Name, prev.Line)
	}
	p.cur.Settings = append(p.cur.Settings, Setting{Key: key, Value: strings.TrimRight(value, " \t"), Line: line})
	return nil
}

func (p *parser) doc(text string) error {
	if p.cur == nil {
		return ErrSpecDoc
	}
	if len(p.cur.Settings) == 0 {
		p.cur.Doc = append(p.cur.Doc, text)
		return nil
	}
	last := &p.cur.Settings[len(p.cur.Settings)-1]
	last.Doc = append(last.Doc, text)
	return nil
}
