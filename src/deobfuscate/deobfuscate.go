package deobfuscate

import (
	"strings"
	"unsafe"
)

// Limits of one Run. A limit that trips stops the stage where it is and
// is reported as a technique (LimitDepth, LimitSize, LimitLoop).
const (
	MaxLayers    = 8        // rewriting passes that may change the text
	MaxGrowth    = 8        // output may be this many times the input...
	MinOutput    = 64 << 10 // ...or this many bytes, whichever is larger...
	MaxOutput    = 4 << 20  // ...but never more than this
	maxWorkRatio = 16       // expansion work (bytes produced) per byte of output limit
)

// Result is what the stage made of one command line.
type Result struct {
	// Text is the deobfuscated command line, case preserved. It is the input
	// itself (same bytes) when no technique outside Neutral was undone.
	Text []byte
	// Techniques lists what was undone, including limits that tripped.
	Techniques Techniques
	// Undone measures the obfuscation removed: for each pass that changed
	// the text, the length of the span that differs between its input and
	// output (after trimming their common prefix and suffix; the longer of
	// the two spans), summed over passes. 0 when Text is the input.
	Undone int
	// Layers counts the passes that changed the text; each undoes one kind
	// of layer (cmd.exe parsing, an encoded command, a base64 or compressed
	// blob, PowerShell string folding). 0 for plain text.
	Layers int
}

// Deobfuscator holds scratch reused across runs; its zero value is ready.
// A Deobfuscator is not safe for concurrent use: use one per goroutine.
type Deobfuscator struct {
	res  Result
	buf  []byte
	work int    // work units spent by the last full run (tests check bounds)
	cmd  cmdRun // the cmd.exe stage, its buffers reused
	ps   psWork // the PowerShell stages' budget and buffers
}

// Run deobfuscates cmdline. The result, and its Text, are valid until the
// next Run; Text may alias cmdline. A line without obfuscation markers, or
// whose markers are all harmless (inert), returns at once without
// allocating.
func (d *Deobfuscator) Run(cmdline []byte) *Result {
	d.res = Result{Text: cmdline}
	if !suspicious(cmdline) || inert(view(cmdline)) {
		return &d.res
	}
	return d.full(cmdline)
}

// view returns b as a string without copying it, for functions that only
// read it during the call.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// full runs the stages.
func (d *Deobfuscator) full(cmdline []byte) *Result {
	d.res = Result{Text: cmdline}
	maxOut := min(max(MaxGrowth*len(cmdline), MinOutput), MaxOutput)
	// The stages read the line only during this call, and whatever they
	// return is a new string, so the line needs no copy.
	text := view(cmdline)
	var techs Techniques
	d.work = 0
	for {
		next, t, w := d.pass(text, maxOut)
		d.work += w
		if t&^Neutral&^Limits == 0 || next == text {
			techs |= t & Limits
			break
		}
		if d.res.Layers == MaxLayers {
			techs.add(LimitDepth)
			break
		}
		techs |= t
		d.res.Layers++
		d.res.Undone += diffSpan(text, next)
		text = next
		// Most outputs of a first pass are inert: the pass they save
		// would cost as much as the first. (suspicious is no proof here:
		// the stages read a few things the fast path lets through, such
		// as us\"\"er inside a quoted argument.)
		if t&Limits != 0 || inert(text) {
			break
		}
	}
	if d.res.Layers == 0 && techs == 0 {
		return &d.res
	}
	d.buf = append(d.buf[:0], text...)
	d.res.Text, d.res.Techniques = d.buf, techs
	return &d.res
}

// Deobfuscate is Run on a fresh Deobfuscator, with a Text of its own.
func Deobfuscate(cmdline []byte) Result {
	var d Deobfuscator
	r := *d.Run(cmdline)
	if len(r.Text) > 0 && &r.Text[0] == &cmdline[0] {
		r.Text = append([]byte(nil), r.Text...)
	}
	return r
}

// pass undoes one layer: the first of cmd.exe parsing, an encoded command,
// base64 blobs, PowerShell folding that finds something to undo. It also
// returns the work it did: bytes the cmd.exe stage read and produced, and
// what the PowerShell stages charged to their budget. Both are bounded
// (maxWorkRatio, psBudget), so a pass is linear in its input and output.
func (d *Deobfuscator) pass(text string, maxOut int) (string, Techniques, int) {
	work := 0
	if !looksPowerShell(text) {
		r := &d.cmd
		r.reset(maxOut)
		r.line(text, 0)
		work = r.work
		if len(r.out) > maxOut { // the command that tripped the limit overshot it
			r.out = r.out[:maxOut]
		}
		if r.techs&^Neutral != 0 && view(r.out) != text {
			return string(r.out), r.techs, work
		}
	}
	var t Techniques
	if s, ok := encodedCommand(text, &t); ok {
		return s, t, work
	}
	w := &d.ps
	w.reset(len(text))
	full := w.budget
	if s, ok := base64Blobs(text, maxOut, &t, w); ok || t&Limits != 0 {
		return s, t, work + full - w.budget
	}
	s, t := foldPS(text, maxOut, w)
	return s, t, work + full - w.budget
}

// diffSpan returns the size of what differs between a and b.
func diffSpan(a, b string) int {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	return max(len(a)-p-s, len(b)-p-s)
}

// looksPowerShell reports a line that is PowerShell rather than cmd.exe:
// it starts with powershell or pwsh, a Verb-Noun cmdlet, a variable or a
// type. cmd.exe parsing would misread its carets and percent signs. It
// does not allocate.
func looksPowerShell(s string) bool {
	i := 0
	for i < len(s) && psLead[s[i]] {
		i++
	}
	if i == len(s) {
		return false
	}
	if s[i] == '$' || s[i] == '[' {
		return true
	}
	end := i
	for end < len(s) && !psWordEnd[s[end]] {
		end++
	}
	w := s[i:end]
	b := w
	for j := len(w) - 1; j >= 0; j-- {
		if w[j] == '\\' || w[j] == '/' {
			b = w[j+1:]
			break
		}
	}
	if len(b) >= 4 && strings.EqualFold(b[len(b)-4:], ".exe") {
		b = b[:len(b)-4]
	}
	if b != "" && (lower(b[0]) == 'p' || b[0] >= 0x80) && // most words are not
		(strings.EqualFold(b, "powershell") || strings.EqualFold(b, "pwsh") || strings.EqualFold(b, "powershell_ise")) {
		return true
	}
	// Verb-Noun: letters, one dash, letters.
	dash := strings.IndexByte(w, '-')
	if dash <= 0 || dash == len(w)-1 {
		return false
	}
	for i := 0; i < len(w); i++ {
		if i != dash && !isLetter(w[i]) {
			return false
		}
	}
	return true
}

// psLead holds what looksPowerShell skips before the first word, psWordEnd
// what ends that word.
var psLead, psWordEnd = byteSet(" \t\"'&.("), byteSet(" \t\"'(;|")

// Byte classes of the fast path: most bytes are plain; a marker byte makes
// a line suspicious at once; a candidate needs a look at its neighbours.
const (
	bPlain = iota
	bMarker
	bCandidate
)

var byteClass = func() (t [256]uint8) {
	for _, c := range "^%!`[" {
		t[c] = bMarker
	}
	for _, c := range []byte("\"+,;-/.&\x90\x91\x92\x93\x94\x95") {
		t[c] = bCandidate
	}
	return t
}()

// suspicious reports whether a line holds anything the stage may undo: a
// caret, a percent or exclamation mark, a backtick, a bracket ([char],
// [Convert]), a quote inside a word, quotes joined by +, a , or ; next to a
// separator, a dash or slash before e, f, j or r (-e…, -f, -join,
// -replace), .Replace, or a $ after . or &. Lines without any run in
// linear time with no allocation.
func suspicious(s []byte) bool {
	for i, c := range s {
		switch byteClass[c] {
		case bPlain:
			continue
		case bMarker:
			return true
		}
		switch c {
		case '"':
			if i > 0 && i+1 < len(s) && isWordByte(s[i-1]) && isWordByte(s[i+1]) {
				return true
			}
		case '+':
			if nearQuote(s, i) {
				return true
			}
		case ',', ';':
			if i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == ',' || s[i+1] == ';' || s[i+1] == '/') ||
				i > 0 && (s[i-1] == ' ' || s[i-1] == ',' || s[i-1] == ';') {
				return true
			}
		case '-', '/', 0x90, 0x91, 0x92, 0x93, 0x94, 0x95:
			if i+1 < len(s) {
				switch s[i+1] | 0x20 {
				case 'e', 'f', 'j', 'r':
					return true
				}
			}
		case '.':
			if i+1 < len(s) && (s[i+1]|0x20 == 'r' || s[i+1] == '$' || s[i+1] == '(' || s[i+1] == '\'' || s[i+1] == '"') {
				return true
			}
		case '&':
			if i+1 < len(s) && (s[i+1] == '$' || s[i+1] == '(' || s[i+1] == '\'' || s[i+1] == '"') {
				return true
			}
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9'
}

// nearQuote reports a + with a quote or parenthesis beside it, spaces
// aside.
func nearQuote(s []byte, i int) bool {
	j := i - 1
	for j >= 0 && s[j] == ' ' {
		j--
	}
	k := i + 1
	for k < len(s) && s[k] == ' ' {
		k++
	}
	q := func(c byte) bool { return c == '\'' || c == '"' || c == ')' || c == '(' }
	return j >= 0 && q(s[j]) || k < len(s) && q(s[k])
}
