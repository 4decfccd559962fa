package modinput

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxConfigBytes bounds the configuration document read from stdin.
const maxConfigBytes = 16 << 20

// inputDoc is the <input> document of a normal run (splunkd's
// print-modinput-config shape).
type inputDoc struct {
	XMLName       xml.Name    `xml:"input"`
	ServerHost    string      `xml:"server_host"`
	ServerURI     string      `xml:"server_uri"`
	SessionKey    string      `xml:"session_key"`
	CheckpointDir string      `xml:"checkpoint_dir"`
	Stanzas       []stanzaXML `xml:"configuration>stanza"`
}

// itemsDoc is the <items> document of --validate-arguments.
type itemsDoc struct {
	XMLName       xml.Name    `xml:"items"`
	ServerHost    string      `xml:"server_host"`
	CheckpointDir string      `xml:"checkpoint_dir"`
	Items         []stanzaXML `xml:"item"`
}

type stanzaXML struct {
	Name       string     `xml:"name,attr"`
	App        string     `xml:"app,attr"`
	Params     []paramXML `xml:"param"`
	ParamLists []struct {
		Name   string   `xml:"name,attr"`
		Values []string `xml:"value"`
	} `xml:"param_list"`
}

type paramXML struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

// params flattens a stanza's parameters; a param_list becomes a
// comma-separated value (the only list parameter, rules, is one).
func (s *stanzaXML) params() map[string]string {
	m := make(map[string]string, len(s.Params)+len(s.ParamLists))
	for _, p := range s.Params {
		m[p.Name] = p.Value
	}
	for _, l := range s.ParamLists {
		m[l.Name] = strings.Join(l.Values, ",")
	}
	return m
}

// decodeConfig reads one configuration document into v. It stops at the
// end of the root element, so it does not wait for stdin to close. The
// document may be UTF-8 or, as splunklib's fixtures are, UTF-16 with a byte
// order mark (or without one, recognised from "<" as the first character).
func decodeConfig(r io.Reader, v any) error {
	br := bufio.NewReader(io.LimitReader(r, maxConfigBytes))
	src, wide := io.Reader(br), false
	if head, _ := br.Peek(2); len(head) == 2 {
		switch {
		case head[0] == 0xFF && head[1] == 0xFE:
			br.Discard(2)
			src, wide = &utf16Reader{r: br}, true
		case head[0] == 0xFE && head[1] == 0xFF:
			br.Discard(2)
			src, wide = &utf16Reader{r: br, big: true}, true
		case head[0] == '<' && head[1] == 0:
			src, wide = &utf16Reader{r: br}, true
		case head[0] == 0 && head[1] == '<':
			src, wide = &utf16Reader{r: br, big: true}, true
		}
	}
	d := xml.NewDecoder(src)
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-16", "utf-16le", "utf-16be", "unicode":
			if wide {
				return in, nil // already converted to UTF-8
			}
		}
		return nil, fmt.Errorf("unsupported encoding %q (use UTF-8)", label)
	}
	if err := d.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%w: %w", ErrInputXML, err)
	}
	return nil
}

// utf16Reader turns UTF-16 into UTF-8 as it reads; unpaired surrogates
// become U+FFFD.
type utf16Reader struct {
	r   *bufio.Reader
	big bool
	out []byte // converted bytes not yet returned
	hi  rune   // pending high surrogate, or 0
	err error
}

func (u *utf16Reader) unit() (rune, error) {
	var b [2]byte
	if _, err := io.ReadFull(u.r, b[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("odd number of bytes in UTF-16 input: %w", err)
		}
		return 0, err
	}
	if u.big {
		return rune(b[0])<<8 | rune(b[1]), nil
	}
	return rune(b[1])<<8 | rune(b[0]), nil
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 && u.err == nil {
		c, err := u.unit()
		if err != nil {
			if u.hi != 0 {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				u.hi = 0
			}
			u.err = err
			break
		}
		switch {
		case utf16.IsSurrogate(c) && c < 0xDC00: // high half
			if u.hi != 0 {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
			}
			u.hi = c
		case utf16.IsSurrogate(c): // low half
			if u.hi != 0 {
				u.out = utf8.AppendRune(u.out, utf16.DecodeRune(u.hi, c))
				u.hi = 0
			} else {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
			}
		default:
			if u.hi != 0 {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				u.hi = 0
			}
			u.out = utf8.AppendRune(u.out, c)
		}
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	if n > 0 {
		return n, nil
	}
	return 0, u.err
}
