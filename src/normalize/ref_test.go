package normalize

import "slices"

// refNormalizer is the normalizer without its fast paths: one byte at a
// time, every byte through the general case. The normalizer must give the
// same text, soft boundaries and separators (FuzzNormalizeRef).
type refNormalizer struct {
	Out   []byte
	Soft  []int32 // offsets in Out[base:] right after a removed ^ or "
	Seps  []int32 // offsets in Out[base:] of command separators
	plain bool

	base      int
	wordStart int // offset in out of the current word, or -1
	opStart   int // offset in out of the current operator run, or -1
	opSep     bool
	pend      uint8 // pending blank: 0 none, 1 space, 2 line break
}

func (n *refNormalizer) run(in []byte) {
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
func (n *refNormalizer) flushBlank() {
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

func (n *refNormalizer) endOp() {
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
func (n *refNormalizer) endWord() {
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
func (n *refNormalizer) dash() {
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
func (n *refNormalizer) truncate(end int) {
	n.Out = n.Out[:end]
	if !n.plain {
		rel := int32(end - n.base)
		for k := len(n.Soft); k > 0 && n.Soft[k-1] > rel; k-- {
			n.Soft = n.Soft[:k-1]
		}
	}
}
