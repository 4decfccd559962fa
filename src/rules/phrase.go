package rules

import (
	"strings"

	"scorecmdline/src/normalize"
)

// gap is the phrase word that stands for "any arguments in between".
const gap = "..."

// maxPhrase bounds one phrase; a longer one is surely a pasted mistake.
const maxPhrase = 1024

// Phrase is a compiled command-line pattern: pieces of normalized, folded
// text (normalize.Append, then normalize.Fold) that must all occur in order.
// A piece must start and end on a word boundary where it starts or ends with
// a letter or digit; consecutive pieces are separated in the pattern by
// "..." and in the command line by any arguments that stay within one
// command.
type Phrase struct {
	Text   string   // as written in the pack
	Pieces []string // normalized and folded
}

// ParsePhrase compiles one pattern as written in a pack. A mistake is an
// error wrapping ErrBadPattern or ErrEmptyPattern.
func ParsePhrase(s string) (Phrase, error) {
	if len(s) > maxPhrase {
		return Phrase{}, errAt("", ErrBadPattern, "longer than %d bytes", maxPhrase)
	}
	for _, r := range s {
		if r < ' ' && r != '\t' || r == 0x7f {
			return Phrase{}, errAt("", ErrBadPattern, "%q holds a control character", s)
		}
	}
	norm := string(normalize.Append(nil, []byte(s)))
	if norm == "" {
		return Phrase{}, errAt("", ErrEmptyPattern, "%q has nothing left to match once normalized", s)
	}
	p := Phrase{Text: s}
	var cur []string
	for i, w := range strings.Split(norm, " ") {
		if w != gap {
			cur = append(cur, w)
			continue
		}
		if i == 0 || len(cur) == 0 {
			return Phrase{}, errAt("", ErrBadPattern, "%q: %q must stand between words", s, gap)
		}
		p.Pieces = append(p.Pieces, foldString(strings.Join(cur, " ")))
		cur = cur[:0]
	}
	if len(cur) == 0 {
		return Phrase{}, errAt("", ErrBadPattern, "%q: %q must stand between words", s, gap)
	}
	p.Pieces = append(p.Pieces, foldString(strings.Join(cur, " ")))
	return p, nil
}

func foldString(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = normalize.Fold(c)
	}
	return string(b)
}
