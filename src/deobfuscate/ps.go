package deobfuscate

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"io"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The PowerShell stage works on text: it finds an encoded command, base64
// blobs (optionally compressed) and constant string expressions, and
// replaces each by its value. Decoded scripts are spliced in raw, so the
// next pass (and the matchers) read them as code; folded expressions become
// one single-quoted literal, or a bare word where they are invoked
// (&('i'+'ex') reads &iex).

// encodedCommand replaces the first "-EncodedCommand <base64>" (any prefix
// of the flag, -ec, a / or a Unicode dash) by the script it encodes.
func encodedCommand(s string, t *Techniques) (string, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '-' && c != '/' && c != 0xe2 { // not a switch (dashLen)
			continue
		}
		v, e, end, ok := encodedSpan(s, i)
		if !ok {
			continue
		}
		text, ok := decodeUTF16(s[v:e])
		if !ok { // encodedSpan checked it decodes
			continue
		}
		t.add(EncodedCommand)
		return s[:i] + text + s[end:], true
	}
	return s, false
}

// encodedSpan reports an -EncodedCommand flag at s[i] whose argument
// s[v:e] is base64 of UTF-16LE text; end is past the argument and its
// closing quote. It does not allocate, so the second-level check uses it.
func encodedSpan(s string, i int) (v, e, end int, ok bool) {
	n := dashLen(s, i)
	if n == 0 || i > 0 && !isSpaceByte(s[i-1]) && s[i-1] != '"' && s[i-1] != '\'' {
		return 0, 0, 0, false
	}
	k := i + n
	for k < len(s) && 'a' <= s[k]|0x20 && s[k]|0x20 <= 'z' {
		k++
	}
	flag := s[i+n : k] // ASCII letters
	isEC := len(flag) == 2 && hasPrefixLower(flag, "ec")
	if flag == "" || !isEC && !(len(flag) <= 14 && hasPrefixLower(flag, "encodedcommand"[:len(flag)])) {
		return 0, 0, 0, false
	}
	v = k
	for v < len(s) && (isSpaceByte(s[v]) || s[v] == ':') {
		v++
	}
	q := v < len(s) && (s[v] == '"' || s[v] == '\'')
	if q {
		v++
	}
	e = v
	for e < len(s) && isB64Byte(s[e]) {
		e++
	}
	if !utf16Base64(s[v:e]) {
		return 0, 0, 0, false
	}
	end = e
	if q && e < len(s) && (s[e] == '"' || s[e] == '\'') {
		end++
	}
	return v, e, end, true
}

// dashLen returns the length of a switch character at s[i]: - / or a
// Unicode dash (U+2010 to U+2015), or 0.
func dashLen(s string, i int) int {
	switch s[i] {
	case '-', '/':
		return 1
	case 0xe2: // U+2010 to U+2015 are E2 80 90 to E2 80 95
		if len(s)-i >= 3 && s[i+1] == 0x80 && 0x90 <= s[i+2] && s[i+2] <= 0x95 {
			return 3
		}
	}
	return 0
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isB64Byte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '='
}

func decodeB64(s string) ([]byte, bool) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if len(s) < 4 {
		return nil, false
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	return b, err == nil
}

// decodeUTF16 decodes base64 holding UTF-16LE text, as -EncodedCommand
// carries; it fails unless the result is printable text.
func decodeUTF16(s string) (string, bool) {
	if len(s) < 8 {
		return "", false
	}
	b, ok := decodeB64(s)
	if !ok {
		return "", false
	}
	return utf16Text(b)
}

func utf16Text(b []byte) (string, bool) {
	if len(b) < 2 || len(b)%2 != 0 {
		return "", false
	}
	if b[0] == 0xff && b[1] == 0xfe { // a byte order mark
		b = b[2:]
	}
	var sb strings.Builder
	sb.Grow(len(b) / 2)
	for i := 0; i < len(b); i += 2 {
		c := rune(b[i]) | rune(b[i+1])<<8
		if utf16.IsSurrogate(c) { // only a high one followed by a low one
			if i+3 >= len(b) {
				return "", false
			}
			c = utf16.DecodeRune(c, rune(b[i+2])|rune(b[i+3])<<8)
			i += 2
		}
		if !printable(c) {
			return "", false
		}
		sb.WriteRune(c)
	}
	return sb.String(), sb.Len() > 0
}

func printable(c rune) bool {
	return c == '\t' || c == '\n' || c == '\r' || c != utf8.RuneError && unicode.IsPrint(c)
}

// utf8Text accepts bytes that are printable UTF-8 text.
func utf8Text(b []byte) (string, bool) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if len(b) == 0 || !utf8.Valid(b) {
		return "", false
	}
	for _, c := range string(b) {
		if !printable(c) {
			return "", false
		}
	}
	return string(b), true
}

// indexLower returns the first index of pat (lower case) in s, ASCII
// letters of s compared in either case, or -1.
func indexLower(s, pat string) int {
	for i := 0; i+len(pat) <= len(s); i++ {
		if lower(s[i]) == pat[0] && hasPrefixLower(s[i:], pat) {
			return i
		}
	}
	return -1
}

// hasPrefixLower reports whether s starts with pat (lower case), ASCII
// letters of s compared in either case.
func hasPrefixLower(s, pat string) bool {
	if len(s) < len(pat) {
		return false
	}
	for j := range len(pat) {
		if lower(s[j]) != pat[j] {
			return false
		}
	}
	return true
}

// asciiLower lower-cases ASCII letters only, keeping byte offsets.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lower(c)
	}
	return string(b)
}

// base64Blobs replaces each [Convert]::FromBase64String('…') with the
// text it decodes to, together with what decodes it: a GetString of an
// encoding, or a DeflateStream / GzipStream read to the end.
func base64Blobs(s string, maxOut int, t *Techniques, w *psWork) (string, bool) {
	const fn = "frombase64string("
	if indexLower(s, fn) < 0 {
		return s, false
	}
	low := asciiLower(s)
	var b strings.Builder
	last, changed := 0, false
	for from := 0; from < len(s); {
		k := strings.Index(low[from:], fn)
		if k < 0 {
			break
		}
		k += from
		from = k + len(fn)
		p := psParser{s: s, i: from, max: maxOut, w: w}
		v, ok := p.expr()
		if w.budget < 0 {
			t.add(LimitLoop)
			return s, false
		}
		if !ok || v.kind != vStr {
			continue
		}
		p.space()
		if p.i >= len(s) || s[p.i] != ')' {
			continue
		}
		raw, ok := decodeB64(v.s)
		if !ok {
			continue
		}
		start, end := typeStart(low, k), p.i+1
		if start < last {
			continue
		}
		text, span, ok := decodeAround(s, low, start, end, raw, maxOut, t)
		if !ok {
			continue
		}
		t.add(Base64)
		span[0] = balance(s, last, span)
		b.WriteString(s[last:span[0]])
		b.WriteString(text)
		last, changed = span[1], true
		from = max(from, last)
		if b.Len() > maxOut {
			t.add(LimitSize)
			return s, false
		}
	}
	if !changed {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// balance extends a span back over the opening parentheses (not before
// floor) whose closing ones it holds: (New-Object …).ReadToEnd().
func balance(s string, floor int, sp [2]int) int {
	depth := 0
	for _, c := range []byte(s[sp[0]:sp[1]]) {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		}
	}
	i := sp[0]
	for depth < 0 && i > floor {
		j := i - 1
		for j > floor && isSpaceByte(s[j]) {
			j--
		}
		if s[j] != '(' {
			break
		}
		i, depth = j, depth+1
	}
	return i
}

// typeStart moves back from a method name over "[System.Convert]::".
func typeStart(low string, k int) int {
	j := strings.TrimRight(low[:k], " \t")
	if !strings.HasSuffix(j, "::") {
		return k
	}
	j = strings.TrimRight(j[:len(j)-2], " \t")
	if strings.HasSuffix(j, "]") {
		if o := strings.LastIndexByte(j, '['); o >= 0 && len(j)-o < 40 {
			return o
		}
	}
	return k
}

// decodeAround decodes raw according to what surrounds s[start:end], and
// returns the text and the span it replaces.
func decodeAround(s, low string, start, end int, raw []byte, maxOut int, t *Techniques) (string, [2]int, bool) {
	before := low[max(0, start-300):start]
	off := start - len(before)
	kd, kg := strings.LastIndex(before, "deflatestream"), strings.LastIndex(before, "gzipstream")
	if kd >= 0 || kg >= 0 {
		var r io.Reader
		var err error
		if kd > kg {
			r = flate.NewReader(bytes.NewReader(raw))
		} else {
			r, err = gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				return "", [2]int{}, false
			}
		}
		out, err := io.ReadAll(io.LimitReader(r, int64(maxOut)+1))
		if len(out) > maxOut {
			t.add(LimitSize)
			return "", [2]int{}, false
		}
		if err != nil && len(out) == 0 {
			return "", [2]int{}, false
		}
		kw := max(kd, kg)
		if kd > kg {
			t.add(Deflate)
		} else {
			t.add(Gzip)
		}
		// From the outermost New-Object (a StreamReader around the stream)
		// to ReadToEnd().
		sp := [2]int{start, end}
		if n := strings.LastIndex(before[:kw], "new-object"); n >= 0 && kw-n < 80 {
			sp[0] = off + n
			if m := strings.LastIndex(before[:n], "new-object"); m >= 0 && n-m < 80 && strings.Contains(before[m:n], "streamreader") {
				sp[0] = off + m
			}
		}
		tail := low[end:min(len(low), end+300)]
		enc := ""
		if r := strings.Index(tail, "readtoend()"); r >= 0 {
			enc = tail[:r]
			sp[1] = end + r + len("readtoend()")
		}
		var text string
		var ok bool
		if strings.Contains(enc, "unicode") {
			text, ok = utf16Text(out)
		} else {
			text, ok = utf8Text(out)
		}
		return text, sp, ok
	}
	// [Text.Encoding]::Unicode.GetString(…)
	pre := strings.TrimRight(before, " \t(")
	if strings.HasSuffix(pre, "getstring") {
		g := len(pre) - len("getstring")
		o := strings.LastIndex(pre[:g], "encoding]")
		if o < 0 || g-o > 40 {
			o = g
		}
		name := pre[o:g]
		q := strings.LastIndexByte(pre[:o], '[')
		if q < 0 || o-q > 40 {
			q = o
		}
		e := end
		for e < len(s) && isSpaceByte(s[e]) {
			e++
		}
		if e < len(s) && s[e] == ')' {
			e++
		}
		var text string
		var ok bool
		if strings.Contains(name, "unicode") {
			text, ok = utf16Text(raw)
		} else {
			text, ok = utf8Text(raw)
		}
		return text, [2]int{off + q, e}, ok
	}
	if text, ok := utf16Text(raw); ok {
		return text, [2]int{start, end}, true
	}
	text, ok := utf8Text(raw)
	return text, [2]int{start, end}, ok
}

// foldPS replaces constant string expressions by their value and drops
// backticks that escape nothing.
func foldPS(s string, maxOut int, w *psWork) (string, Techniques) {
	var techs Techniques
	if strings.Contains(s, `\"\"`) { // argv escapes first: they cut strings
		var b []byte
		last := 0
		for i := 0; i < len(s); i++ {
			if emptyQuotes(s, i) == 4 {
				b = append(b, s[last:i]...)
				last = i + 4
			}
		}
		if last > 0 {
			return string(append(b, s[last:]...)), 1 << Quotes
		}
	}
	vars := psAssignments(s, maxOut, w)
	b := w.out[:0]
	defer func() { w.out = b[:0] }()
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !foldStart[c] {
			continue
		}
		if c == '`' {
			if i+1 < len(s) && backtickNoop(s[i+1]) {
				techs.add(Backtick)
				b = append(b, s[last:i]...)
				last = i + 1
				i++
			}
			continue
		}
		if n := emptyQuotes(s, i); n > 0 {
			techs.add(Quotes)
			b = append(b, s[last:i]...)
			last = i + n
			i += n - 1
			continue
		}
		if !exprStart(s, i) {
			continue
		}
		p := psParser{s: s, i: i, vars: vars, max: maxOut, w: w}
		v, ok := p.expr()
		if w.budget < 0 {
			return s, techs | 1<<LimitLoop
		}
		inv := invoked(s, i)
		if !ok || p.ops == 0 && !(p.reads > 0 && inv) || v.kind == vNum {
			if e := stringEnd(s, i); e > i {
				i = e - 1 // never start inside a string
			}
			continue
		}
		techs |= p.techs
		b = append(b, s[last:i]...)
		b = appendPSValue(b, v, inv)
		last = p.i
		i = p.i - 1
		if len(b) > maxOut {
			return s, techs | 1<<LimitSize
		}
	}
	if techs == 0 {
		return s, 0
	}
	b = append(b, s[last:]...)
	return string(b), techs
}

// foldStart holds the bytes where foldPS may act: a backtick, the start of
// emptyQuotes, or one of exprStart.
var foldStart = byteSet("`\"\\'([$-")

// emptyQuotes returns the length of an empty pair of quotes inside a bare
// word at s[i] (us""er, or us\"\"er as it reads inside a quoted
// powershell argument), which argument parsing drops; 0 otherwise.
func emptyQuotes(s string, i int) int {
	n := 0
	switch {
	case strings.HasPrefix(s[i:], `""`):
		n = 2
	case strings.HasPrefix(s[i:], `\"\"`):
		n = 4
	default:
		return 0
	}
	if i == 0 || i+n >= len(s) || !isWordByte(s[i-1]) || !isWordByte(s[i+n]) {
		return 0
	}
	return n
}

// backtickNoop reports a character that a backtick before it leaves as it
// is: letters and digits other than PowerShell's escapes 0 a b e f n r t u v.
func backtickNoop(c byte) bool {
	return isWordByte(c) && strings.IndexByte("0abefnrtuv", c) < 0
}

// exprStart reports where a constant expression may begin.
func exprStart(s string, i int) bool {
	switch s[i] {
	case '\'', '"':
		return true
	case '(': // not the argument list of a call: Write-Host('a'+'b')
		return i == 0 || !(isWordByte(s[i-1]) || s[i-1] == '_' || s[i-1] == ']')
	case '[':
		return hasPrefixLower(s[i+1:], "char") || hasPrefixLower(s[i+1:], "string")
	case '$':
		return i+1 < len(s) && isWordByte(s[i+1])
	case '-':
		return len(s) >= i+5 && strings.EqualFold(s[i+1:i+5], "join") && (i == 0 || !isWordByte(s[i-1]))
	}
	return false
}

// invoked reports an expression at s[i] that is called or used as a member
// name: after & or a dot.
func invoked(s string, i int) bool {
	j := i - 1
	for j >= 0 && (s[j] == ' ' || s[j] == '\t') {
		j--
	}
	return j >= 0 && (s[j] == '&' || s[j] == '.')
}

// stringEnd returns the end of a quoted string at s[i], or i.
func stringEnd(s string, i int) int {
	q := s[i]
	if q != '\'' && q != '"' {
		return i
	}
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '`' && q == '"':
			j++
		case s[j] == q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

func appendPSValue(b []byte, v psVal, bare bool) []byte {
	switch v.kind {
	case vArr:
		for i, e := range v.arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPSValue(b, e, false)
		}
		return b
	case vNum:
		return append(b, formatInt(v.n)...)
	}
	if bare && v.s != "" && strings.IndexFunc(v.s, func(c rune) bool {
		return !(c < 0x80 && (isWordByte(byte(c)) || c == '-' || c == '_'))
	}) < 0 {
		return append(b, v.s...)
	}
	b = append(b, '\'')
	b = append(b, strings.ReplaceAll(v.s, "'", "''")...)
	return append(b, '\'')
}

// psAssignments collects $name = <constant string> assignments; a name
// assigned twice is dropped, since its value then depends on the flow.
func psAssignments(s string, maxOut int, w *psWork) map[string]string {
	var vars map[string]string
	var seen map[string]bool // made at the first assignment
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(s) && (isWordByte(s[j]) || s[j] == '_') {
			j++
		}
		if j == i+1 {
			continue
		}
		name := strings.ToLower(s[i+1 : j])
		k := j
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if k >= len(s) || s[k] != '=' || k+1 < len(s) && s[k+1] == '=' {
			continue
		}
		p := psParser{s: s, i: k + 1, vars: vars, max: maxOut, w: w}
		v, ok := p.expr()
		if seen[name] {
			delete(vars, name)
			continue
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[name] = true
		if ok && v.kind == vStr {
			if vars == nil {
				vars = map[string]string{}
			}
			vars[name] = v.s
		}
	}
	return vars
}
