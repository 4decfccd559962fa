package modinput

import (
	"bufio"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// Sourcetype is the sourcetype of every verdict event.
const Sourcetype = "scorecmdline:verdict"

// eventWriter writes the XML streaming protocol: <stream>, then complete
// events (unbroken="1" with <done/>), then </stream>. Output is buffered
// and reaches stdout on flush, which the caller does before checkpointing.
type eventWriter struct {
	w   *bufio.Writer
	buf []byte
	err error // first write error; later writes are dropped
}

func newEventWriter(w io.Writer) *eventWriter {
	return &eventWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

func (w *eventWriter) write(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

func (w *eventWriter) begin() { w.write([]byte("<stream>\n")) }

func (w *eventWriter) end() error {
	w.write([]byte("</stream>\n"))
	return w.Flush()
}

// Flush sends the buffered events to stdout; with Err it makes the writer
// a follow.Output, flushed before every checkpoint save.
func (w *eventWriter) Flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// Err returns the first write error.
func (w *eventWriter) Err() error { return w.err }

// eventMeta is what an event carries besides time, source and data; its
// fields are escaped once, when a stanza is set up.
type eventMeta struct {
	head []byte // <event stanza=... unbroken="1">
	tail []byte // <sourcetype>..., <index>..., <host>... then <data>
}

func newEventMeta(stanza, index, host string) eventMeta {
	var m eventMeta
	m.head = append(m.head, `<event stanza="`...)
	m.head = appendXMLEscaped(m.head, stanza, true)
	m.head = append(m.head, `" unbroken="1">`...)
	m.tail = append(m.tail, "<sourcetype>"+Sourcetype+"</sourcetype>"...)
	// "default" is how inputs.conf names the default index, not an index.
	if index != "" && index != "default" {
		m.tail = append(m.tail, "<index>"...)
		m.tail = appendXMLEscaped(m.tail, index, false)
		m.tail = append(m.tail, "</index>"...)
	}
	if host != "" {
		m.tail = append(m.tail, "<host>"...)
		m.tail = appendXMLEscaped(m.tail, host, false)
		m.tail = append(m.tail, "</host>"...)
	}
	m.tail = append(m.tail, "<data>"...)
	return m
}

func sourceElement(path string) []byte {
	b := append([]byte("<source>"), appendXMLEscaped(nil, path, false)...)
	return append(b, "</source>"...)
}

// event writes one complete event; t may be zero (no <time>, splunkd
// assigns one).
func (w *eventWriter) event(m *eventMeta, source []byte, t time.Time, data []byte) {
	b := append(w.buf[:0], m.head...)
	if !t.IsZero() {
		b = append(b, "<time>"...)
		b = appendEpoch(b, t)
		b = append(b, "</time>"...)
	}
	b = append(b, source...)
	b = append(b, m.tail...)
	b = appendXMLEscaped(b, string(data), false)
	b = append(b, "</data><done/></event>\n"...)
	w.buf = b
	w.write(b)
}

// appendXMLEscaped appends s as XML character data (or an attribute value
// with attr): & < > escaped, and " with attr; \r as &#xD; (and \n, \t in
// attributes) so the parser's normalisation keeps them; invalid UTF-8 and
// characters XML 1.0 forbids become U+FFFD.
func appendXMLEscaped(dst []byte, s string, attr bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		size := 1
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				esc = "&amp;"
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c == '"' && attr:
				esc = "&quot;"
			case c == '\r':
				esc = "&#xD;"
			case c == '\n' && attr:
				esc = "&#xA;"
			case c == '\t' && attr:
				esc = "&#x9;"
			case c < 0x20 && c != '\n' && c != '\t':
				esc = "\uFFFD"
			default:
				i++
				continue
			}
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if !(r == utf8.RuneError && size == 1) && r != 0xFFFE && r != 0xFFFF {
				i += size
				continue
			}
			esc = "\uFFFD"
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, esc...)
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

// appendEpoch writes t as epoch seconds with milliseconds, the form
// splunkd reads in <time>.
func appendEpoch(dst []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec, frac = sec-1, frac+1000
	}
	dst = strconv.AppendInt(dst, sec, 10)
	dst = append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return dst
}
