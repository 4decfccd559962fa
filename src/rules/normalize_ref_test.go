package rules

import "slices"

// refNormalizer is the normalizer without its fast paths: one byte at a
// time, every byte through the general case. The normalizer must give the
// same text, soft boundaries and separators (FuzzNormalizeRef).
type refNormalizer struct {
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

func (n *refNormalizer) run(in []byte) {
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
func (n *refNormalizer) flushBlank() {
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

func (n *refNormalizer) endOp() {
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
func (n *refNormalizer) endWord() {
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
func (n *refNormalizer) dash() {
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
func (n *refNormalizer) truncate(end int) {
	n.out = n.out[:end]
	if n.track {
		rel := int32(end - n.base)
		for k := len(n.soft); k > 0 && n.soft[k-1] > rel; k-- {
			n.soft = n.soft[:k-1]
		}
	}
}
