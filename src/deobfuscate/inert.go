package deobfuscate

import "strings"

// The second-level check. Half of ordinary command lines carry a byte the
// fast path cannot rule out (a %APPDATA% path, -ExecutionPolicy, a quoted
// argument, a ;), yet almost none of them has anything to undo. inert
// proves that cheaply, without running the stages and without allocating,
// by checking, stage by stage, that none of the triggers of a
// non-neutral technique or a limit is present:
//
//   - cmd.exe: no caret or !, every %VAR% a default variable without
//     modifier (expanding it is neutral), no set, setlocal, for, if or call
//     word, fewer cmd words than the nesting limit, quotes that open and
//     close at word boundaries, no "" pair, no cmd /c whose command starts
//     with a quote or sits inside one, no , or ; where a command starts,
//     and a line short enough that no size or loop limit can trip;
//   - -EncodedCommand: no flag followed by base64 that decodes to text;
//   - FromBase64String: no "frombase64string(";
//   - PowerShell folding: no backtick, +, [, -f, -join, -replace, -bxor,
//     .replace or $name = assignment, so no constant expression has an
//     operator and no variable is known.
//
// It is conservative: false only means "run the stages". The property
// inert(s) => Run(s) returns s with no technique is checked by
// TestInertAgreesWithRun over the corpora and by FuzzInert.

// maxInertLen bounds the lines inert accepts, so that no output size or
// step limit can trip on them (expanded, separated and escaped, they stay
// far below MinOutput; they hold far fewer than maxCmdSteps commands).
const maxInertLen = 4096

// inert reports whether Run would return s unchanged with no technique.
func inert(s string) bool {
	if len(s) > maxInertLen {
		return false
	}
	cmds := 0 // cmd words and %ComSpec% references
	quoted, open := false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '^', '!', '`', '[', '+':
			return false
		case '%':
			j := refEnd(s[i+1:], '%')
			if j <= 0 {
				continue
			}
			name, _, mod := strings.Cut(s[i+1:i+1+j], ":")
			k := defaultVar(name)
			switch {
			case k < 0:
				continue // undefined: kept, scanning resumes at the next byte
			case mod:
				return false
			case k == comSpec:
				cmds++
			}
			i += j + 1
		case '"':
			if i+1 < len(s) && s[i+1] == '"' || i > 0 && s[i-1] == '\\' && strings.HasPrefix(s[i+1:], `\"`) {
				return false
			}
			if !quoted && i > 0 && !opens(s[i-1]) || quoted && i+1 < len(s) && !closes(s[i+1]) {
				return false
			}
			quoted, open = !quoted, i
		case ',', ';':
			if commandStart(s, i) {
				return false
			}
		case '/':
			if i+1 < len(s) && strings.IndexByte("ckrCKR", s[i+1]) >= 0 && (quoted || quoteFollows(s, i+2)) {
				return false // a cmd /c command may lose its quotes or gain some
			}
			if _, _, _, ok := encodedSpan(s, i); ok {
				return false
			}
		case '-', 0xe2:
			if _, _, _, ok := encodedSpan(s, i); ok || c == '-' && psOperator(s[i+1:]) {
				return false
			}
		case '.':
			if len(s)-i >= 8 && strings.EqualFold(s[i+1:i+8], "replace") {
				return false
			}
		case '$':
			if assignment(s, i) {
				return false
			}
		case 'f', 'F':
			if len(s)-i >= 17 && strings.EqualFold(s[i:i+17], "frombase64string(") {
				return false
			}
		}
		if isLetter(c) && (i == 0 || !isLetter(s[i-1])) {
			j := i + 1
			for j < len(s) && isLetter(s[j]) {
				j++
			}
			switch w := s[i:j]; {
			case strings.EqualFold(w, "cmd"):
				cmds++
			case strings.EqualFold(w, "set"), strings.EqualFold(w, "setlocal"), strings.EqualFold(w, "for"),
				strings.EqualFold(w, "if"), strings.EqualFold(w, "call"):
				return false
			}
		}
	}
	// A quote left open makes a command word of one quote.
	return cmds < maxCmdDepth && !(quoted && commandStart(s, open))
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// opens and closes report the bytes that may stand before a quote that
// opens a whole word and after one that closes it: those that end a
// command word in splitCommand or a command in the parser. A quote
// anywhere else puts quotes inside a command word (unquoteWord).
func opens(c byte) bool { return cmdIsDelim(c) || strings.IndexByte("&|(\n\r", c) >= 0 }

func closes(c byte) bool { return cmdIsDelim(c) || strings.IndexByte("&|/(\n\r", c) >= 0 }

// commandStart reports whether s[i] may be where a command starts, were
// cmd.exe to skip it as a separator: at the start of the line, after an
// operator, an @, a quote (cmd /c "…" strips it) or a /c, /k, /r switch.
func commandStart(s string, i int) bool {
	j := i - 1
	for j >= 0 && cmdIsDelim(s[j]) {
		j--
	}
	if j < 0 || strings.IndexByte("&|()@\"\n\r", s[j]) >= 0 {
		return true
	}
	return j > 0 && s[j-1] == '/' && strings.IndexByte("ckrCKR", s[j]) >= 0
}

func quoteFollows(s string, i int) bool {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i < len(s) && s[i] == '"'
}

// psOperator reports a PowerShell string operator after a dash: -f (alone),
// -join, -replace, -ireplace, -creplace, -bxor.
func psOperator(s string) bool {
	if len(s) > 0 && s[0]|0x20 == 'f' && (len(s) == 1 || !isWordByte(s[1])) {
		return true
	}
	for _, op := range [...]string{"join", "replace", "ireplace", "creplace", "bxor"} {
		if len(s) >= len(op) && strings.EqualFold(s[:len(op)], op) {
			return true
		}
	}
	return false
}

// assignment reports "$name =" (not "=="), which may define a variable.
func assignment(s string, i int) bool {
	j := i + 1
	for j < len(s) && (isWordByte(s[j]) || s[j] == '_') {
		j++
	}
	if j == i+1 {
		return false
	}
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	return j < len(s) && s[j] == '=' && (j+1 == len(s) || s[j+1] != '=')
}

// comSpec is the index of ComSpec in defaultEnv: its value runs cmd.exe.
var comSpec = defaultVar("ComSpec")

// defaultVar returns the index of name in defaultEnv, or -1.
func defaultVar(name string) int {
	for i, kv := range defaultEnv {
		if strings.EqualFold(kv[0], name) {
			return i
		}
	}
	return -1
}
