package follow

import "bytes"

// A Framer finds where records end in a byte stream fed in pieces. The
// follower resets it at every record boundary it starts reading from.
type Framer interface {
	// Next returns the index just past the first record end in b, or -1 if
	// b holds none; then all of b counts as seen and the state carries
	// over to the next call. After a record end the state is reset.
	Next(b []byte) int
	// Reset forgets the bytes seen since the last record end.
	Reset()
}

// Lines frames records that end at a newline (XML one event per line,
// JSON Lines).
func Lines() Framer { return lines{} }

type lines struct{}

func (lines) Next(b []byte) int {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i + 1
	}
	return -1
}

func (lines) Reset() {}

// CSV frames CSV records: a record ends at a newline outside a quoted
// field, where a quote opens a field only at its start and "" inside one
// is a literal quote (RFC 4180), so a stray quote inside an unquoted field
// does not make the rest of the file one record.
func CSV() Framer { return &csvFramer{fieldStart: true} }

type csvFramer struct {
	inQuote    bool
	quoteSeen  bool // the previous byte was a quote inside a quoted field
	fieldStart bool
}

func (s *csvFramer) Reset() {
	s.inQuote, s.quoteSeen, s.fieldStart = false, false, true
}

func (s *csvFramer) Next(b []byte) int {
	for i, c := range b {
		if s.quoteSeen {
			s.quoteSeen = false
			if c == '"' {
				continue // "" is an escaped quote
			}
			s.inQuote = false // the quote closed the field; c is outside it
		}
		if s.inQuote {
			if c == '"' {
				s.quoteSeen = true
			}
			continue
		}
		switch c {
		case '\n':
			s.Reset()
			return i + 1
		case ',':
			s.fieldStart = true
		case '"':
			s.inQuote = s.fieldStart
			s.fieldStart = false
		case '\r':
		default:
			s.fieldStart = false
		}
	}
	return -1
}
