package modinput

import (
	"bytes"
	"encoding/xml"
	"errors"
	"path/filepath"
	"testing"

	"scorecmdline/src/winevent"
)

// FuzzDecodeConfig feeds arbitrary bytes as the <input> document.
func FuzzDecodeConfig(f *testing.F) {
	f.Add([]byte(inputXML("/cp", stanzaDoc("a", map[string]string{"path": "/x"}))))
	f.Add(utf16Doc(inputXML("/cp", stanzaDoc("b", map[string]string{"path": "/y", "rules": "a,b"})), false, true))
	f.Add([]byte("\xfe\xff\x00<"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var doc inputDoc
		if err := decodeConfig(bytes.NewReader(in), &doc); err != nil && !errors.Is(err, ErrInputXML) {
			t.Fatalf("untyped error %v", err)
		}
		for i := range doc.Stanzas {
			doc.Stanzas[i].params()
		}
	})
}

// FuzzXMLEscape checks that escaped text parses back to itself, with
// characters XML cannot carry replaced.
func FuzzXMLEscape(f *testing.F) {
	f.Add("a<b>&c\"d'\r\n\t\x00\xff\uFFFE", true)
	f.Fuzz(func(t *testing.T, s string, attr bool) {
		var doc []byte
		if attr {
			doc = append(appendXMLEscaped([]byte(`<a v="`), s, true), `"/>`...)
		} else {
			doc = append(appendXMLEscaped([]byte(`<a>`), s, false), `</a>`...)
		}
		var v struct {
			V    string `xml:"v,attr"`
			Text string `xml:",chardata"`
		}
		if err := xml.Unmarshal(doc, &v); err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		got := v.Text
		if attr {
			got = v.V
		}
		want := []rune(s)
		for i, r := range want {
			if (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
				want[i] = '\uFFFD'
			}
		}
		if got != string(want) {
			t.Fatalf("%q escaped as %q parses to %q", s, doc, got)
		}
	})
}

// FuzzFollow writes arbitrary bytes to a followed file in pieces, polling
// between writes: the input never panics and the stream stays well-formed
// with a JSON payload in every event. The follower's own invariants
// (offsets, record tiling, final drain) are package follow's FuzzFollow.
func FuzzFollow(f *testing.F) {
	f.Add([]byte(jsonRecord("rec-a-1")+"{bad\n"+jsonRecord("rec-a-2")), uint8(10), uint8(0))
	f.Add([]byte(csvHeader+csvRecord("rec-c-1")), uint8(3), uint8(3))
	f.Add([]byte(xmlRecord("rec-x-1")+"<Event>"), uint8(50), uint8(1))
	eng, err := (&stanzaConfig{Params: DefaultParams()}).newEngine()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, step uint8, format uint8) {
		dir := t.TempDir()
		path := filepath.Join(dir, "f.log")
		cfg, errs := parseStanza("scorecmdline://fuzz", map[string]string{"path": path, "format": winevent.Format(format % 4).String(), "batch_size": "3"})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		var out, logs bytes.Buffer
		w := newEventWriter(&out)
		w.begin()
		s := newStanza(cfg, eng, dir, w, logger{&logs})
		ctx := t.Context()
		n := max(int(step)%64+1, len(data)/8+1) // at most 9 polls: each may fsync
		for i := 0; i <= len(data); i += n {
			writeFileAppend(t, path, string(data[i:min(i+n, len(data))]))
			if err := s.poll(ctx); err != nil {
				t.Fatal(err)
			}
		}
		s.close()
		if err := w.end(); err != nil {
			t.Fatal(err)
		}
		if err := xml.Unmarshal(out.Bytes(), new(struct{})); err != nil {
			t.Fatalf("stream not well-formed: %v", err)
		}
		parseEvents(t, out.String())
	})
}
