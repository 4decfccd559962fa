// Package normalize puts Windows command lines in the form detectors match
// on: what cmd.exe itself undoes (case, ^ and " inside words, repeated
// blanks, ".exe" after program names, Unicode dashes) is undone, so that
// none of it evades a rule written the plain way. Rule packs, Sigma rules,
// models and a deobfuscation stage share it, so that they all see the same
// text.
//
// Append is the one-shot form. A Normalizer keeps its buffer across calls
// (no allocation once warm) and also records what a phrase matcher needs:
// where a ^ or " was removed and where one command ends and the next
// begins. Fold gives the further equivalence matching applies ("/" is "-"),
// and AppendName and AppendProgram give the comparable name of a program.
//
// The byte-at-a-time normalizer of the tests (refNormalizer) is the
// reference the fast paths of Run are checked against.
package normalize

import "slices"

// Kind is what normalization does with a byte.
type Kind uint8

// Kinds of bytes.
const (
	Word      Kind = iota // kept (ASCII upper case is lowered)
	Removed               // ^ and ": what cmd.exe and argv parsing remove
	Blank                 // blanks collapse to one space
	LineBreak             // a line break separates commands
	Operator              // & | < >: operators, spaced out
)

// KindOf returns the kind of byte c.
func KindOf(c byte) Kind { return kinds[c] }

// Fold maps a normalized byte to the byte matching compares: ASCII letters
// lower-cased, and "/" and "-" one character, so a switch matches either way
// it is written. Normalization itself keeps "/" so the text still reads like
// the original.
func Fold(c byte) byte { return fold[c] }

var fold = func() (t [256]byte) {
	t = lowerASCII
	t['/'] = '-'
	return t
}()

var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c + 'a' - 'A')
	}
	return t
}()

// plainWord marks the word bytes that need no more than lower-casing: all
// but those that may end a Unicode dash.
var plainWord = func() (t [256]bool) {
	for i := range t {
		t[i] = kinds[i] == Word && (i < 0x90 || i > 0x95)
	}
	return t
}()

var kinds = func() (t [256]Kind) {
	t['^'], t['"'] = Removed, Removed
	for _, c := range " \t\r\v\f" {
		t[c] = Blank
	}
	t['\n'] = LineBreak
	for _, c := range "&|<>" {
		t[c] = Operator
	}
	return t
}()

// Append appends to dst the command line as cmdline would be read once
// what cmd.exe itself undoes is undone, and returns the extended slice:
//
//   - ASCII letters are lower-cased;
//   - every ^ and " is removed, so c"er"tu^til reads certutil;
//   - runs of blanks become one space, a run holding a line break becomes
//     one "\n", and leading and trailing blanks go;
//   - runs of the operators & | < > stand as their own words, with a space
//     on each side (echo|set becomes echo | set);
//   - ".exe" at the end of a word is dropped (C:\Windows\System32\certutil.exe
//     reads c:\windows\system32\certutil);
//   - the Unicode dashes U+2010 to U+2015 and U+2212 become "-".
//
// Other bytes, invalid UTF-8 and NUL included, are kept. Append is
// idempotent; dst must not overlap cmdline. Matching also treats "/" and "-"
// as the same character (see Fold), so switches match whichever way they
// are written; Append leaves them as they are so the result still reads like
// the original.
func Append(dst, cmdline []byte) []byte {
	n := Normalizer{Out: dst, plain: true}
	n.Run(cmdline)
	return n.Out
}

// Normalizer normalizes as Append does, into a buffer it keeps, and also
// records where characters were removed (soft word boundaries: cmd.exe reads
// c"er"tutil as one word, yet a matcher may want to see a boundary there) and
// where commands are separated. The zero value is ready to use; one
// Normalizer serves one goroutine.
type Normalizer struct {
	Out  []byte  // Run appends the normalized text here
	Soft []int32 // offsets in the text of the last Run right after a removed ^ or "
	Seps []int32 // offsets in the text of the last Run of command separators (& && | || and line breaks)

	plain     bool // Append: no Soft or Seps
	base      int
	wordStart int // offset in Out of the current word, or -1
	opStart   int // offset in Out of the current operator run, or -1
	opSep     bool
	pend      uint8 // pending blank: 0 none, 1 space, 2 line break
}

// Run appends the normalized cmdline to Out and sets Soft and Seps, which
// count from where this text starts in Out.
func (n *Normalizer) Run(in []byte) {
	n.base = len(n.Out)
	n.wordStart, n.opStart = -1, -1
	n.pend = 0
	if !n.plain {
		n.Soft, n.Seps = n.Soft[:0], n.Seps[:0]
	}
	n.Out = slices.Grow(n.Out, len(in)+len(in)/8) // operators may add spaces
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch kinds[c] {
		case Word:
			if n.opStart < 0 && n.pend == 0 && n.wordStart >= 0 {
				// Fast path: the rest of a word, and the words that follow
				// it after single spaces, which is most of a line, written
				// straight into the capacity grown above.
				out := n.Out
				w, ws := len(out), n.wordStart
				out = out[:cap(out)]
				for ; i < len(in) && w < len(out); i++ {
					c = in[i]
					if plainWord[c] {
						out[w] = lowerASCII[c]
						w++
						continue
					}
					// A single space between two plain bytes ends one word and
					// starts the next, as the general path would, unless the
					// word ends in ".exe", which the general path drops.
					if c != ' ' || i+1 >= len(in) || !plainWord[in[i+1]] || w-ws >= 4 && string(out[w-4:w]) == ".exe" {
						break
					}
					out[w] = ' '
					w++
					ws = w
				}
				n.Out, n.wordStart = out[:w], ws
				if i == len(in) || kinds[in[i]] != Word {
					i-- // let the loop bring it back
					continue
				}
				c = in[i] // a byte that may end a dash: the general path
			}
			if n.opStart >= 0 {
				n.endOp()
			}
			if n.pend != 0 {
				n.flushBlank()
			}
			if n.wordStart < 0 {
				n.wordStart = len(n.Out)
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			n.Out = append(n.Out, c)
			if c >= 0x90 && c <= 0x95 { // may end a dash (U+2212 ends in 0x92)
				n.dash()
			}
		case Removed:
			if !n.plain {
				p := int32(len(n.Out) - n.base)
				if k := len(n.Soft); k == 0 || n.Soft[k-1] != p {
					n.Soft = append(n.Soft, p)
				}
			}
		case Blank:
			n.endWord()
			n.endOp()
			if n.pend == 0 {
				n.pend = 1
			}
		case LineBreak:
			n.endWord()
			n.endOp()
			n.pend = 2
		case Operator:
			n.endWord()
			if n.opStart < 0 {
				if n.pend == 0 {
					n.pend = 1
				}
				n.flushBlank()
				n.opStart = len(n.Out)
				n.opSep = true
			}
			if c == '<' || c == '>' {
				n.opSep = false // a redirection such as 2>&1, not a separator
			}
			n.Out = append(n.Out, c)
		}
	}
	n.endWord()
	n.endOp()
}

// flushBlank writes the pending blank, unless nothing has been written yet.
func (n *Normalizer) flushBlank() {
	if len(n.Out) > n.base {
		if n.pend == 2 {
			if !n.plain {
				n.Seps = append(n.Seps, int32(len(n.Out)-n.base))
			}
			n.Out = append(n.Out, '\n')
		} else {
			n.Out = append(n.Out, ' ')
		}
	}
	n.pend = 0
}

func (n *Normalizer) endOp() {
	if n.opStart < 0 {
		return
	}
	if n.opSep && !n.plain {
		n.Seps = append(n.Seps, int32(n.opStart-n.base))
	}
	n.opStart = -1
	if n.pend == 0 {
		n.pend = 1
	}
}

// endWord drops ".exe" from the end of the word just written. It loops so
// that "x.exe.exe" and its normalization agree.
func (n *Normalizer) endWord() {
	if n.wordStart < 0 {
		return
	}
	for {
		w := n.Out[n.wordStart:]
		k := len(w)
		if k <= 4 || string(w[k-4:]) != ".exe" {
			break
		}
		switch w[k-5] {
		case '\\', '/', ':', '.':
			n.wordStart = -1
			return // a bare ".exe" name, not a program's extension
		}
		n.truncate(len(n.Out) - 4)
	}
	n.wordStart = -1
}

// dash turns the UTF-8 form of a Unicode dash just written into "-". It works
// on the output so that a dash split by a removed caret is caught too, which
// keeps Append idempotent.
func (n *Normalizer) dash() {
	k := len(n.Out)
	if k-n.base < 3 || n.Out[k-3] != 0xE2 {
		return
	}
	b1, b2 := n.Out[k-2], n.Out[k-1]
	if b1 == 0x80 && b2 >= 0x90 && b2 <= 0x95 || b1 == 0x88 && b2 == 0x92 {
		n.truncate(k - 2)
		n.Out[k-3] = '-'
	}
}

// truncate shortens out to end and forgets soft marks past it.
func (n *Normalizer) truncate(end int) {
	n.Out = n.Out[:end]
	if !n.plain {
		rel := int32(end - n.base)
		for k := len(n.Soft); k > 0 && n.Soft[k-1] > rel; k-- {
			n.Soft = n.Soft[:k-1]
		}
	}
}
