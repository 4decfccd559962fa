package rules

import (
	"bytes"
	"strings"
)

// gap is the phrase word that stands for "any arguments in between".
const gap = "..."

// maxPhrase bounds one phrase; a longer one is surely a pasted mistake.
const maxPhrase = 1024

// fold maps a normalized byte to the byte matching compares: "/" and "-"
// are one character, so a switch matches either way it is written.
var fold = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c + 'a' - 'A')
	}
	t['/'] = '-'
	return t
}()

// phrase is a compiled command-line pattern: pieces of normalized, folded
// text that must all occur in order. A piece must start and end on a word
// boundary where it starts or ends with a letter or digit; consecutive pieces
// are separated in the pattern by "..." and in the command line by any
// arguments that stay within one command.
type phrase struct {
	text   string   // as written in the pack
	pieces []string // normalized and folded
}

// parsePhrase compiles one pattern as written in a pack.
func parsePhrase(s string) (phrase, error) {
	if len(s) > maxPhrase {
		return phrase{}, errAt("", ErrBadPattern, "longer than %d bytes", maxPhrase)
	}
	for _, r := range s {
		if r < ' ' && r != '\t' || r == 0x7f {
			return phrase{}, errAt("", ErrBadPattern, "%q holds a control character", s)
		}
	}
	norm := string(Normalize(nil, []byte(s)))
	if norm == "" {
		return phrase{}, errAt("", ErrEmptyPattern, "%q has nothing left to match once normalized", s)
	}
	p := phrase{text: s}
	var cur []string
	for i, w := range strings.Split(norm, " ") {
		if w != gap {
			cur = append(cur, w)
			continue
		}
		if i == 0 || len(cur) == 0 {
			return phrase{}, errAt("", ErrBadPattern, "%q: %q must stand between words", s, gap)
		}
		p.pieces = append(p.pieces, foldString(strings.Join(cur, " ")))
		cur = cur[:0]
	}
	if len(cur) == 0 {
		return phrase{}, errAt("", ErrBadPattern, "%q: %q must stand between words", s, gap)
	}
	p.pieces = append(p.pieces, foldString(strings.Join(cur, " ")))
	return p, nil
}

func foldString(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = fold[c]
	}
	return string(b)
}

// appendName appends the comparable form of a process name or path: the
// base name, lower-cased, without ".exe". Both `C:\Program Files\Microsoft
// Office\root\Office16\WINWORD.EXE` and `winword.exe` give "winword".
func appendName(dst, name []byte) []byte {
	name = trimName(name)
	if i := lastSlash(name); i >= 0 {
		name = name[i+1:]
	}
	start := len(dst)
	dst = append(dst, name...) // memmove: safe when name lies in dst[start:]
	low := dst[start:]
	for i, c := range low {
		low[i] = lowerASCII[c]
	}
	for len(dst)-start > 4 && string(dst[len(dst)-4:]) == ".exe" {
		dst = dst[:len(dst)-4]
	}
	return dst
}

// appendProgram appends the comparable name of the program a command line
// starts: its first argument (quoted or not, carets removed), up to the
// first "/", ",", ";" or "=" after its directory part, which is where cmd.exe
// ends a command name ("cmd.exe/c" runs cmd.exe).
func appendProgram(dst, cmdline []byte) []byte {
	i := 0
	for i < len(cmdline) && (normClass[cmdline[i]] == cSpace || cmdline[i] == '\n') {
		i++
	}
	start := len(dst)
	quoted := false
	for ; i < len(cmdline); i++ {
		c := cmdline[i]
		switch {
		case c == '"':
			quoted = !quoted
			continue
		case c == '^':
			continue
		case !quoted && (normClass[c] == cSpace || c == '\n' || normClass[c] == cOp):
			i = len(cmdline)
			continue
		}
		dst = append(dst, c)
	}
	prog := dst[start:]
	if j := bytes.LastIndexByte(prog, '\\'); j >= 0 {
		prog = prog[j+1:]
	}
	if j := bytes.IndexAny(prog, "/,;="); j >= 0 {
		prog = prog[:j]
	}
	// prog is a subslice of dst[start:], so appendName may write over it:
	// it only ever writes at or before the byte it reads.
	return appendName(dst[:start], prog)
}

func trimName(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '"' || b[0] == '\t' || b[0] == '\'') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '"' || b[len(b)-1] == '\t' || b[len(b)-1] == '\'' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

func lastSlash(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\\' || b[i] == '/' {
			return i
		}
	}
	return -1
}

// nameKey is appendName for pack-side names.
func nameKey(s string) string { return string(appendName(nil, []byte(s))) }
