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
	// A PowerShell line skips the cmd.exe stage: only the PowerShell
	// triggers matter.
	ps := looksPowerShell(s)
	cmds := 0 // cmd words and %ComSpec% references
	quoted, open := false, 0
	word := 0         // where the current word starts
	underCmd := false // something that matters only in a cmd /c command
	class := &inertClass
	if ps {
		class = &inertClassPS
	}
	for i := 0; i < len(s); i++ {
		// Most bytes need no call and stay in this loop: plain ones,
		// separators, letters inside a word.
		var k uint8
		for ; i < len(s); i++ {
			if k = class[s[i]]; k == 0 {
				continue
			}
			if k&kOpens != 0 && !quoted {
				word = i + 1
			}
			if k&kSpecial != 0 || k&kKeyStart != 0 && (i == 0 || !isLetter(s[i-1])) {
				break
			}
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if k&kKeyStart != 0 && (i == 0 || !isLetter(s[i-1])) && i+1 < len(s) && keyFirst[c]&keySecond[s[i+1]] != 0 {
			switch keyword(s, i) {
			case "cmd":
				cmds++
			case "":
			default: // set, setlocal, for, if, call
				return false
			}
		}
		if k&kSpecial == 0 {
			continue
		}
		// The next byte rules most dashes, slashes, dots and f's out.
		mayPS := true
		if f := psNeeds[c]; f != 0 && (i+1 == len(s) || psNext[s[i+1]]&f == 0) {
			mayPS = false
		}
		if ps {
			if mayPS && psTrigger(s, i) {
				return false
			}
			continue
		}
		switch c {
		case '^', '!', '`', '[', '+':
			return false
		case '\n':
			if quoted { // ends the command all the same
				return false
			}
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
			if mayPS && psTrigger(s, i) {
				return false
			}
			if !quoted && i > 0 && !opens(s[i-1]) || quoted && i+1 < len(s) && !closes(s[i+1]) {
				switch commandStart(s, word) { // quotes inside a command word
				case always:
					return false
				case child:
					underCmd = true
				}
			}
			if !quoted {
				open = word
			}
			quoted = !quoted
		case ',', ';':
			switch commandStart(s, i) {
			case always:
				return false
			case child:
				underCmd = true
			}
		case '/':
			if i+1 < len(s) && cmdSwitch(s[i+1]) {
				if quoted || quoteFollows(s, i+2) {
					underCmd = true // a cmd /c command may lose its quotes or gain some
				} else {
					word = i + 2 // where the command of a cmd /c starts
				}
			}
			if mayPS && psTrigger(s, i) {
				return false
			}
		default:
			if mayPS && psTrigger(s, i) {
				return false
			}
		}
	}
	// A quote left open puts one quote in its word.
	if quoted && commandStart(s, open) != never {
		return false
	}
	return cmds == 0 || cmds < maxCmdDepth && !underCmd
}

// Byte classes of inert: a byte that may open a word, one the switch
// handles, one that may start a keyword (cmd set setlocal for if call).
const (
	kOpens = 1 << iota
	kSpecial
	kKeyStart
)

var inertClass = func() (t [256]uint8) {
	for c := range 256 {
		if opens(byte(c)) {
			t[c] |= kOpens
		}
	}
	for _, c := range []byte("^!`[+\n%\",;/-\xe2.$fF") {
		t[c] |= kSpecial
	}
	for _, c := range []byte("cCsSfFiI") {
		t[c] |= kKeyStart
	}
	return t
}()

// inertClassPS is inertClass for a PowerShell line, where only the
// PowerShell triggers matter: the special bytes alone.
var inertClassPS = func() (t [256]uint8) {
	for c, k := range inertClass {
		t[c] = k & kSpecial
	}
	return t
}()

// cmdSwitch reports the letter of a /c, /k or /r switch.
func cmdSwitch(c byte) bool {
	switch c | 0x20 {
	case 'c', 'k', 'r':
		return true
	}
	return false
}

// keyword returns the cmd.exe keyword that the letters at s[i] spell, in
// lower case, or "". Two letters tell which keyword it may be.
func keyword(s string, i int) string {
	if i+1 == len(s) {
		return ""
	}
	var k string
	switch a, b := lower(s[i]), lower(s[i+1]); {
	case a == 'c' && b == 'm':
		k = "cmd"
	case a == 'c' && b == 'a':
		k = "call"
	case a == 's' && b == 'e':
		if isWord(s, i, "setlocal") {
			return "setlocal"
		}
		k = "set"
	case a == 'f' && b == 'o':
		k = "for"
	case a == 'i' && b == 'f':
		k = "if"
	default:
		return ""
	}
	if isWord(s, i, k) {
		return k
	}
	return ""
}

// keyFirst and keySecond filter keyword's calls: the first two letters of
// cmd, call, set, setlocal, for, if, in either case, as bit sets.
var keyFirst, keySecond = func() (first, second [256]uint8) {
	for n, kw := range []string{"cm", "ca", "se", "fo", "if"} {
		for _, d := range []byte{0, 'a' - 'A'} {
			first[kw[0]-d] |= 1 << n
			second[kw[1]-d] |= 1 << n
		}
	}
	return first, second
}()

// isWord reports whether the letters at s[i] spell k (lower case), in
// either case, and end there.
func isWord(s string, i int, k string) bool {
	e := i + len(k)
	return hasPrefixLower(s[i:], k) && (e == len(s) || !isLetter(s[e]))
}

// psNeeds says what must follow a byte for psTriggerAt to read further:
// after a dash or slash, e f j r i c b (-EncodedCommand, -f, -join,
// -replace, -ireplace, -creplace, -bxor); after a dot or an f, r
// (.Replace, FromBase64String). psNext holds the classes of the bytes.
var psNeeds, psNext = func() (needs, next [256]uint8) {
	const dash, r = 1, 2
	needs['-'], needs['/'], needs['.'], needs['f'], needs['F'] = dash, dash, r, r, r
	for _, c := range []byte("efjricbEFJRICB") {
		next[c] |= dash
	}
	next['r'] |= r
	next['R'] |= r
	return needs, next
}()

// psTrigger reports a trigger of the PowerShell stages at s[i]. inert
// calls it only past the filter of psNeeds.
func psTrigger(s string, i int) bool {
	switch c := s[i]; c {
	case '`', '[', '+':
		return true
	case '"':
		return i+1 < len(s) && s[i+1] == '"' || i > 0 && s[i-1] == '\\' && strings.HasPrefix(s[i+1:], `\"`)
	case '-', '/':
		if i+1 == len(s) {
			return false
		}
		switch s[i+1] | 0x20 {
		case 'e': // -e… may be -EncodedCommand, -ec or -en…
			if i+2 < len(s) && isLetter(s[i+2]) && s[i+2]|0x20 != 'c' && s[i+2]|0x20 != 'n' {
				return false
			}
			_, _, _, ok := encodedSpan(s, i)
			return ok
		case 'f', 'j', 'r', 'i', 'c', 'b':
			return c == '-' && psOperator(s[i+1:])
		}
	case 0xe2: // a Unicode dash
		_, _, _, ok := encodedSpan(s, i)
		return ok
	case '.':
		return len(s)-i >= 8 && s[i+1]|0x20 == 'r' && strings.EqualFold(s[i+1:i+8], "replace")
	case '$':
		return assignment(s, i)
	case 'f', 'F':
		return len(s)-i >= 17 && s[i+1]|0x20 == 'r' && hasPrefixLower(s[i:], "frombase64string(")
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// opens and closes report the bytes that may stand before a quote that
// opens a whole word and after one that closes it: those that end a
// command word in splitCommand or a command in the parser. A quote
// anywhere else is inside its word, which matters where the word may be a
// command (unquoteWord).
func opens(c byte) bool { return opensSet[c] }

func closes(c byte) bool { return closesSet[c] }

var opensSet, closesSet = func() (o, c [256]bool) {
	for b := range 256 {
		d := cmdIsDelim(byte(b))
		o[b] = d || strings.IndexByte("&|(\n\r", byte(b)) >= 0
		c[b] = d || strings.IndexByte("&|/(\n\r", byte(b)) >= 0
	}
	return o, c
}()

// commandStart reports whether s[i] may be where a command starts, with
// separators before it skipped: at the start of the line, after an
// operator, an @ or a /c, /k, /r switch (cmd.exe finds them anywhere; the
// command after them starting with a quote is ruled out apart).
func commandStart(s string, i int) start {
	j := i - 1
	for j >= 0 && cmdIsDelim(s[j]) {
		j--
	}
	switch {
	case j < 0 || strings.IndexByte("&|()@\n\r", s[j]) >= 0:
		return always
	case j > 0 && s[j-1] == '/' && strings.IndexByte("ckrCKR", s[j]) >= 0:
		return child
	}
	return never
}

// start says whether a position may start a command.
type start uint8

const (
	never  start = iota
	always       // at the start of a line or after an operator
	child        // after a /c switch: only in a line that runs cmd
)

func quoteFollows(s string, i int) bool {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i < len(s) && s[i] == '"'
}

// psOperator reports a PowerShell string operator after a dash: -f (not
// at the end),
// -join, -replace, -ireplace, -creplace, -bxor.
func psOperator(s string) bool {
	if len(s) == 0 {
		return false
	}
	if len(s) > 1 && s[0]|0x20 == 'f' && !isWordByte(s[1]) {
		return true
	}
	switch s[0] | 0x20 {
	case 'j':
		return hasPrefixLower(s, "join")
	case 'r':
		return hasPrefixLower(s, "replace")
	case 'i':
		return hasPrefixLower(s, "ireplace")
	case 'c':
		return hasPrefixLower(s, "creplace")
	case 'b':
		return hasPrefixLower(s, "bxor")
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

// defaultVar returns the index of name in defaultEnv, or -1. Names fold
// as strings.EqualFold does, where a non-ASCII rune may fold to an ASCII
// letter (U+017F to s); an ASCII name is looked up lower-cased.
func defaultVar(name string) int {
	var buf [32]byte // longer than any name
	for i := range len(name) {
		c := name[i]
		if c >= 0x80 {
			for i, kv := range defaultEnv {
				if strings.EqualFold(kv[0], name) {
					return i
				}
			}
			return -1
		}
		if i < len(buf) {
			buf[i] = lower(c)
		}
	}
	if len(name) > len(buf) {
		return -1
	}
	if i, ok := defaultIndex[string(buf[:len(name)])]; ok {
		return i
	}
	return -1
}

// defaultIndex maps the lower-case names of defaultEnv to their index.
var defaultIndex = func() map[string]int {
	m := make(map[string]int, len(defaultEnv))
	for i, kv := range defaultEnv {
		m[strings.ToLower(kv[0])] = i
	}
	return m
}()
