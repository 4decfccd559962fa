// Package tokenize splits command lines into the tokens the ESCU macro
// `potentially_malicious_code_on_cmdline_tokenize_score` produces:
//
//	eval process=replace(lower(process), "`", "") | makemv tokenizer="([\w\d\-]+)" process
//
// That is: ASCII letters are lower-cased, every backtick is deleted (so
// "Web`Client" is one token, "webclient"), and a token is a maximal run of
// [A-Za-z0-9_-]. Splunk's PCRE has no UCP flag, so \w is ASCII-only: every
// other byte, including each byte of a multi-byte UTF-8 sequence and any
// invalid byte, separates tokens. Working on bytes therefore gives the same
// tokens as the reference scorer on text, without decoding.
//
// The Scanner is the zero-allocation hot path; Tokens is the simple form for
// tests and explanations.
package tokenize

// MaxToken is the longest token the Scanner keeps whole (a power of two).
// Longer tokens are reported as Long, with only their length known, since no
// model keyword is that long; the model checks its keywords fit.
const MaxToken = 32

const (
	sep  = 0   // not part of a token
	skip = '`' // deleted before tokenizing
)

// class maps a byte to its lower-cased token byte, sep, or skip.
var class = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = byte(c)
		t[c-'a'+'A'] = byte(c)
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	t['_'], t['-'], t['`'] = '_', '-', skip
	return t
}()

// Scanner walks the tokens of one command line. The zero value is ready
// after Reset.
//
// A token without backticks (nearly all of them) is a slice of the line; it
// is lower-cased into the Scanner's buffer only when Token is called, so a
// caller that rejects most tokens on Peek touches each byte once.
type Scanner struct {
	src   []byte
	pos   int
	start int  // the current token is src[start:pos] ...
	ticks bool // ... unless it had backticks: then it is already in buf
	lazy  bool // buf does not hold the current token yet
	n     int  // length of the current token, counted even past MaxToken
	buf   [MaxToken]byte
}

// Reset starts scanning src. The Scanner keeps src until the next Reset.
func (s *Scanner) Reset(src []byte) { s.src, s.pos, s.n = src, 0, 0 }

// Next advances to the next token and reports whether there is one.
func (s *Scanner) Next() bool {
	src, i := s.src, s.pos
	// Skip separators and backticks: a backtick between separators
	// joins nothing.
	for i < len(src) {
		c := class[src[i]]
		if c != sep && c != skip {
			break
		}
		i++
	}
	if i == len(src) {
		s.pos, s.n = i, 0
		return false
	}
	start, ticks := i, false
	for ; i < len(src); i++ {
		c := class[src[i]]
		if c == sep {
			break
		}
		if c == skip {
			ticks = true
		}
	}
	s.start, s.pos, s.ticks, s.lazy = start, i, ticks, true
	s.n = i - start
	if ticks {
		// Rare: gather the token without its backticks now.
		n := 0
		for _, b := range src[start:i] {
			if c := class[b]; c != skip {
				s.buf[n&(MaxToken-1)] = c // past MaxToken the bytes are garbage; Long says so
				n++
			}
		}
		s.n, s.lazy = n, false
	}
	return true
}

// Peek returns the current token's length and its first and last bytes in
// token form, without building the token. For a Long token only the length
// is meaningful.
func (s *Scanner) Peek() (n int, first, last byte) {
	if !s.lazy {
		return s.n, s.buf[0], s.buf[(s.n-1)&(MaxToken-1)]
	}
	return s.n, class[s.src[s.start]], class[s.src[s.pos-1]]
}

// Token returns the current token, lower-cased and without backticks. For a
// Long token it holds only the first MaxToken bytes. It is valid until the
// next call to Next.
func (s *Scanner) Token() []byte {
	n := min(s.n, MaxToken)
	if s.lazy {
		for k, b := range s.src[s.start : s.start+n] {
			s.buf[k] = class[b]
		}
		s.lazy = false
	}
	return s.buf[:n]
}

// Lower returns c lower-cased as in a token (A-Z only).
func Lower(c byte) byte { return class[c] }

// Long reports whether the current token is longer than MaxToken.
func (s *Scanner) Long() bool { return s.n > MaxToken }

// Tokens returns every token of cmdline in order, duplicates kept, exactly
// as the ESCU macro's makemv produces them.
func Tokens(cmdline string) []string {
	var out []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	for i := 0; i < len(cmdline); i++ {
		switch c := class[cmdline[i]]; c {
		case sep:
			flush()
		case skip:
		default:
			cur = append(cur, c)
		}
	}
	flush()
	return out
}
