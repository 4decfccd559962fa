package normalize

import "bytes"

// AppendName appends the comparable form of a process name or path: the
// base name, lower-cased, without ".exe". Both `C:\Program Files\Microsoft
// Office\root\Office16\WINWORD.EXE` and `winword.exe` give "winword".
func AppendName(dst, name []byte) []byte {
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

// Name is AppendName for a string.
func Name(s string) string { return string(AppendName(nil, []byte(s))) }

// AppendProgram appends the comparable name (see AppendName) of the program
// a command line starts: its first argument (quoted or not, carets
// removed), up to the first "/", ",", ";" or "=" after its directory part,
// which is where cmd.exe ends a command name ("cmd.exe/c" runs cmd.exe).
func AppendProgram(dst, cmdline []byte) []byte {
	// The usual first word has no ^ or " (but quotes around it all): it is
	// found without a copy and only its last path element goes on to
	// AppendName. Any other goes to appendProgramSlow (FuzzProgram holds
	// the two equal).
	i := 0
	for i < len(cmdline) && (kinds[cmdline[i]] == Blank || cmdline[i] == '\n') {
		i++
	}
	word := cmdline[i:]
	var end int
	if len(word) > 0 && word[0] == '"' {
		word = word[1:]
		end = bytes.IndexByte(word, '"')
		switch {
		case end < 0:
			end = len(word) // never closed: the rest of the line
		case end+1 < len(word) && !endsProgram[word[end+1]]:
			return appendProgramSlow(dst, cmdline) // "C:\x"y.exe: the word goes on
		}
		if bytes.IndexByte(word[:end], '^') >= 0 {
			return appendProgramSlow(dst, cmdline)
		}
	} else {
		for end < len(word) && !endsProgram[word[end]] && word[end] != '^' && word[end] != '"' {
			end++
		}
		if end < len(word) && !endsProgram[word[end]] {
			return appendProgramSlow(dst, cmdline)
		}
	}
	word = word[:end]
	if k := bytes.LastIndexByte(word, '\\'); k >= 0 {
		word = word[k+1:]
	}
	if k := bytes.IndexAny(word, "/,;="); k >= 0 {
		word = word[:k]
	}
	return AppendName(dst, word)
}

// endsProgram marks the bytes that end the first word outside quotes.
var endsProgram = func() (t [256]bool) {
	for c := range t {
		t[c] = kinds[c] == Blank || kinds[c] == LineBreak || kinds[c] == Operator
	}
	return t
}()

// appendProgramSlow is AppendProgram byte by byte, for any first word.
func appendProgramSlow(dst, cmdline []byte) []byte {
	i := 0
	for i < len(cmdline) && (kinds[cmdline[i]] == Blank || cmdline[i] == '\n') {
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
		case !quoted && (kinds[c] == Blank || c == '\n' || kinds[c] == Operator):
			i = len(cmdline)
			continue
		}
		dst = append(dst, c)
	}
	prog := dst[start:]
	if j := bytes.LastIndexByte(prog, '\\'); j >= 0 {
		prog = prog[j+1:]
	}
	for j, c := range prog {
		if c == '/' || c == ',' || c == ';' || c == '=' {
			prog = prog[:j]
			break
		}
	}
	// prog is a subslice of dst[start:], so AppendName may write over it:
	// it only ever writes at or before the byte it reads.
	return AppendName(dst[:start], prog)
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
