package modinput

import "bytes"

// splitter finds where records end in a byte stream fed in pieces. A record
// ends at a newline; in CSV only at a newline outside a quoted field, where a
// quote opens a field only at its start and "" inside one is a literal
// quote (RFC 4180), so a stray quote inside an unquoted field does not make
// the rest of the file one record.
type splitter struct {
	csv        bool
	inQuote    bool
	quoteSeen  bool // the previous byte was a quote inside a quoted field
	fieldStart bool
}

func newSplitter(f Format) splitter {
	return splitter{csv: f == FormatCSV, fieldStart: true}
}

func (s *splitter) reset() {
	s.inQuote, s.quoteSeen, s.fieldStart = false, false, true
}

// next returns the index just past the first record end in b, or -1 if b
// holds none; then all of b counts as seen and the state carries over to the
// next call. After a record end the state is reset.
func (s *splitter) next(b []byte) int {
	if !s.csv {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return i + 1
		}
		return -1
	}
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
			s.reset()
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
