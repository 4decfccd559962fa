package rules

import (
	"strconv"
	"strings"
)

// layout knows on which line each key and array element of a pack sits.
// BurntSushi/toml reports positions for syntax errors only (and keeps one
// position per key name, so the 20th rule's "any" would point at the last
// rule's), so after toml has accepted the file we walk it once more, a
// forgiving scan that needs no more of TOML than where values begin and end.
type layout struct {
	lines map[posKey]int
	rules []int // line of the i-th [[rule]] header
}

type posKey struct {
	table string // "" for the top level, else the table's name ("pack", "rule")
	idx   int    // element of an array of tables, or -1
	key   string // dotted key within the table, "" for the header itself
	elem  int    // element of an array value, or -1 for the key itself
}

// maxScanDepth bounds nesting of arrays and inline tables in the scan.
const maxScanDepth = 32

func scanLayout(src string) *layout {
	s := &scanner{src: src, line: 1, l: &layout{lines: map[posKey]int{}}, counts: map[string]int{}}
	s.top()
	return s.l
}

// line returns the line of a key (or of an element of its array value),
// falling back to the key, then to its table's header, then 0.
func (l *layout) line(table string, idx int, key string, elem int) int {
	for _, k := range []posKey{{table, idx, key, elem}, {table, idx, key, -1}, {table, idx, "", -1}} {
		if n, ok := l.lines[k]; ok {
			return n
		}
	}
	return 0
}

func (l *layout) ruleLine(i int) int {
	if i >= 0 && i < len(l.rules) {
		return l.rules[i]
	}
	return 0
}

type scanner struct {
	src    string
	i      int
	line   int
	l      *layout
	counts map[string]int
	table  string
	idx    int
}

func (s *scanner) top() {
	s.idx = -1
	for s.i < len(s.src) {
		switch c := s.src[s.i]; c {
		case '\n':
			s.line++
			s.i++
		case ' ', '\t', '\r':
			s.i++
		case '#':
			s.skipComment()
		case '[':
			s.header()
		default:
			s.keyValue()
		}
	}
}

func (s *scanner) skipComment() {
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		s.i++
	}
}

// header reads "[name]" or "[[name]]".
func (s *scanner) header() {
	array := strings.HasPrefix(s.src[s.i:], "[[")
	start := s.i + 1
	if array {
		start++
	}
	end := start
	for end < len(s.src) && s.src[end] != ']' && s.src[end] != '\n' {
		end++
	}
	name := keyName(s.src[start:end])
	s.i = end
	for s.i < len(s.src) && s.src[s.i] == ']' {
		s.i++
	}
	s.table, s.idx = name, -1
	if array {
		s.idx = s.counts[name]
		s.counts[name]++
		if name == "rule" {
			s.l.rules = append(s.l.rules, s.line)
		}
	} else if parent, _, ok := strings.Cut(name, "."); ok && s.counts[parent] > 0 {
		// [rule.sub] belongs to the latest [[rule]]
		s.idx = s.counts[parent] - 1
	}
	s.record(posKey{s.table, s.idx, "", -1})
}

// keyValue reads "key = value" in the current table.
func (s *scanner) keyValue() {
	start := s.i
	for s.i < len(s.src) && s.src[s.i] != '=' && s.src[s.i] != '\n' {
		if q := s.src[s.i]; q == '"' || q == '\'' {
			s.skipString(q)
			continue
		}
		s.i++
	}
	if s.i >= len(s.src) || s.src[s.i] != '=' {
		return // not a key line; the caller carries on from here
	}
	k := posKey{s.table, s.idx, keyName(s.src[start:s.i]), -1}
	s.record(k)
	s.i++
	s.value(k, 0)
}

func (s *scanner) record(k posKey) {
	if _, ok := s.l.lines[k]; !ok {
		s.l.lines[k] = s.line
	}
}

// value skips one value, recording the line of each element when it is an
// array.
func (s *scanner) value(k posKey, depth int) {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
	if s.i >= len(s.src) {
		return
	}
	if depth > maxScanDepth {
		s.i++ // give up on positions in absurd nesting, but keep moving
		return
	}
	switch c := s.src[s.i]; {
	case strings.HasPrefix(s.src[s.i:], `"""`), strings.HasPrefix(s.src[s.i:], `'''`):
		s.skipMultiline(s.src[s.i : s.i+3])
	case c == '"' || c == '\'':
		s.skipString(c)
	case c == '[':
		s.i++
		for n := 0; s.i < len(s.src); {
			switch s.src[s.i] {
			case ' ', '\t', '\r', ',':
				s.i++
			case '\n':
				s.line++
				s.i++
			case '#':
				s.skipComment()
			case ']':
				s.i++
				return
			default:
				if depth == 0 {
					s.record(posKey{k.table, k.idx, k.key, n})
				}
				n++
				at := s.i
				s.value(k, depth+1)
				if s.i == at {
					s.i++
				}
			}
		}
	case c == '{':
		s.i++
		for s.i < len(s.src) {
			switch s.src[s.i] {
			case ' ', '\t', '\r', ',':
				s.i++
			case '\n':
				s.line++
				s.i++
			case '}':
				s.i++
				return
			default:
				at := s.i
				for s.i < len(s.src) && s.src[s.i] != '=' && s.src[s.i] != '}' && s.src[s.i] != '\n' {
					s.i++
				}
				if s.i < len(s.src) && s.src[s.i] == '=' {
					s.i++
					s.value(k, depth+1)
				}
				if s.i == at {
					s.i++
				}
			}
		}
	default:
		for s.i < len(s.src) && !strings.ContainsRune(",]}\n#", rune(s.src[s.i])) {
			s.i++
		}
	}
}

// skipString skips a one-line string opened by q at s.i.
func (s *scanner) skipString(q byte) {
	s.i++
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		c := s.src[s.i]
		s.i++
		if c == '\\' && q == '"' && s.i < len(s.src) && s.src[s.i] != '\n' {
			s.i++
		} else if c == q {
			return
		}
	}
}

// skipMultiline skips a multi-line string (triple quotes), counting its lines.
func (s *scanner) skipMultiline(delim string) {
	s.i += 3
	for s.i < len(s.src) {
		if strings.HasPrefix(s.src[s.i:], delim) {
			s.i += 3
			for k := 0; k < 2 && s.i < len(s.src) && s.src[s.i] == delim[0]; k++ {
				s.i++ // up to two quotes may end the content
			}
			return
		}
		c := s.src[s.i]
		if c == '\n' {
			s.line++
		}
		s.i++
		if c == '\\' && delim[0] == '"' && s.i < len(s.src) && s.src[s.i] != '\n' {
			s.i++
		}
	}
}

// keyName turns a written key (`a . "b c"`) into its parts joined with ".".
func keyName(raw string) string {
	var parts []string
	for raw = strings.TrimSpace(raw); raw != ""; {
		var part string
		switch raw[0] {
		case '"':
			end := closing(raw, '"')
			part = raw[:end]
			if u, err := strconv.Unquote(part); err == nil {
				part = u
			} else {
				part = strings.Trim(part, `"`)
			}
			raw = raw[end:]
		case '\'':
			end := closing(raw, '\'')
			part = strings.Trim(raw[:end], "'")
			raw = raw[end:]
		default:
			end := strings.IndexByte(raw, '.')
			if end < 0 {
				end = len(raw)
			}
			part = strings.TrimSpace(raw[:end])
			raw = raw[end:]
		}
		parts = append(parts, part)
		raw = strings.TrimSpace(raw)
		raw = strings.TrimPrefix(raw, ".")
		raw = strings.TrimSpace(raw)
	}
	return strings.Join(parts, ".")
}

// closing returns the index just past the quote that closes raw[0].
func closing(raw string, q byte) int {
	for i := 1; i < len(raw); i++ {
		if raw[i] == '\\' && q == '"' {
			i++
			continue
		}
		if raw[i] == q {
			return i + 1
		}
	}
	return len(raw)
}
