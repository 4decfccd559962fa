package rules

import "slices"

// Byte classes for normalization.
const (
	cWord    = iota // kept (ASCII upper case is lowered)
	cSkip           // ^ and ": what cmd.exe and argv parsing remove
	cSpace          // blanks collapse to one space
	cNewline        // a line break separates commands
	cOp             // & | < >: operators, spaced out
)

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
		t[i] = normClass[i] == cWord && (i < 0x90 || i > 0x95)
	}
	return t
}()

var normClass = func() (t [256]uint8) {
	t['^'], t['"'] = cSkip, cSkip
	for _, c := range " \t\r\v\f" {
		t[c] = cSpace
	}
	t['\n'] = cNewline
	for _, c := range "&|<>" {
		t[c] = cOp
	}
	return t
}()

// Normalize appends to dst the command line as cmdline would be read once
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
// Other bytes, invalid UTF-8 and NUL included, are kept. Normalize is
// idempotent; dst must not overlap cmdline. Matching also treats "/" and "-"
// as the same character, so switches match whichever way they are written;
// Normalize leaves them as they are so the result still reads like the
// original.
func Normalize(dst, cmdline []byte) []byte {
	n := normalizer{out: dst}
	n.run(cmdline)
	return n.out
}

// normalizer carries the reusable buffers of one normalization. With track
// set it also records where characters were removed (soft word boundaries)
// and where commands are separated, which the matcher needs.
type normalizer struct {
	out   []byte
	soft  []int32 // offsets in out[base:] right after a removed ^ or "
	seps  []int32 // offsets in out[base:] of command separators
	track bool

	base      int
	wordStart int // offset in out of the current word, or -1
	opStart   int // offset in out of the current operator run, or -1
	opSep     bool
	pend      uint8 // pending blank: 0 none, 1 space, 2 line break
}

func (n *normalizer) run(in []byte) {
	n.base = len(n.out)
	n.wordStart, n.opStart = -1, -1
	n.pend = 0
	if n.track {
		n.soft, n.seps = n.soft[:0], n.seps[:0]
	}
	n.out = slices.Grow(n.out, len(in)+len(in)/8) // operators may add spaces
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch normClass[c] {
		case cWord:
			if n.opStart < 0 && n.pend == 0 && n.wordStart >= 0 {
				// Fast path: the rest of a word, and the words that follow
				// it after single spaces, which is most of a line, written
				// straight into the capacity grown above.
				out := n.out
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
				n.out, n.wordStart = out[:w], ws
				if i == len(in) || normClass[in[i]] != cWord {
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
				n.wordStart = len(n.out)
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			n.out = append(n.out, c)
			if c >= 0x90 && c <= 0x95 { // may end a dash (U+2212 ends in 0x92)
				n.dash()
			}
		case cSkip:
			if n.track {
				p := int32(len(n.out) - n.base)
				if k := len(n.soft); k == 0 || n.soft[k-1] != p {
					n.soft = append(n.soft, p)
				}
			}
		case cSpace:
			n.endWord()
			n.endOp()
			if n.pend == 0 {
				n.pend = 1
			}
		case cNewline:
			n.endWord()
			n.endOp()
			n.pend = 2
		case cOp:
			n.endWord()
			if n.opStart < 0 {
				if n.pend == 0 {
					n.pend = 1
				}
				n.flushBlank()
				n.opStart = len(n.out)
				n.opSep = true
			}
			if c == '<' || c == '>' {
				n.opSep = false // a redirection such as 2>&1, not a separator
			}
			n.out = append(n.out, c)
		}
	}
	n.endWord()
	n.endOp()
}

// flushBlank writes the pending blank, unless nothing has been written yet.
func (n *normalizer) flushBlank() {
	if len(n.out) > n.base {
		if n.pend == 2 {
			if n.track {
				n.seps = append(n.seps, int32(len(n.out)-n.base))
			}
			n.out = append(n.out, '\n')
		} else {
			n.out = append(n.out, ' ')
		}
	}
	n.pend = 0
}

func (n *normalizer) endOp() {
	if n.opStart < 0 {
		return
	}
	if n.opSep && n.track {
		n.seps = append(n.seps, int32(n.opStart-n.base))
	}
	n.opStart = -1
	if n.pend == 0 {
		n.pend = 1
	}
}

// endWord drops ".exe" from the end of the word just written. It loops so
// that "x.exe.exe" and its normalization agree.
func (n *normalizer) endWord() {
	if n.wordStart < 0 {
		return
	}
	for {
		w := n.out[n.wordStart:]
		k := len(w)
		if k <= 4 || string(w[k-4:]) != ".exe" {
			break
		}
		switch w[k-5] {
		case '\\', '/', ':', '.':
			n.wordStart = -1
			return // a bare ".exe" name, not a program's extension
		}
		n.truncate(len(n.out) - 4)
	}
	n.wordStart = -1
}

// dash turns the UTF-8 form of a Unicode dash just written into "-". It works
// on the output so that a dash split by a removed caret is caught too, which
// keeps Normalize idempotent.
func (n *normalizer) dash() {
	k := len(n.out)
	if k-n.base < 3 || n.out[k-3] != 0xE2 {
		return
	}
	b1, b2 := n.out[k-2], n.out[k-1]
	if b1 == 0x80 && b2 >= 0x90 && b2 <= 0x95 || b1 == 0x88 && b2 == 0x92 {
		n.truncate(k - 2)
		n.out[k-3] = '-'
	}
}

// truncate shortens out to end and forgets soft marks past it.
func (n *normalizer) truncate(end int) {
	n.out = n.out[:end]
	if n.track {
		rel := int32(end - n.base)
		for k := len(n.soft); k > 0 && n.soft[k-1] > rel; k-- {
			n.soft = n.soft[:k-1]
		}
	}
}
