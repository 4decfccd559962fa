package modinput

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkParsed asserts the parser contract: a Record whose JSON decodes, or
// ErrSkipped, or a *SyntaxError.
func checkParsed(t *testing.T, rec Record, err error) {
	t.Helper()
	if err != nil {
		var se *SyntaxError
		if !errors.Is(err, ErrSkipped) && !errors.As(err, &se) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		return
	}
	js := append([]byte{'{'}, rec.AppendJSON(nil)...)
	js = append(js, '}')
	var m map[string]string
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatalf("record JSON %q does not decode: %v", js, err)
	}
	if m["process"] != strings.ToValidUTF8(rec.Process, "\uFFFD") && m["process"] != string([]rune(rec.Process)) {
		t.Fatalf("process %q round-trips as %q", rec.Process, m["process"])
	}
}

func seedLines(f *testing.F, paths ...string) {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for l := range bytes.Lines(b) {
			f.Add(bytes.TrimRight(l, "\n"))
		}
	}
}

func FuzzParseXML(f *testing.F) {
	seedLines(f, "testdata/sysmon_eid1.xml", "testdata/security_4688.xml")
	f.Add([]byte(`<Event><System><EventID>1</EventID></System><EventData><Data Name='CommandLine'>a &amp; b</Data></EventData></Event>`))
	f.Add([]byte(`<Event><EventData><Data Name='Image'><x/></Data></EventData></Event>`))
	f.Add([]byte(`<?xml version="1.0"?><Event/>`))
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := ParseXML(line)
		checkParsed(t, rec, err)
	})
}

func FuzzParseJSON(f *testing.F) {
	seedLines(f, "testdata/otrf_style.jsonl")
	f.Add([]byte(`{"winlog":{"event_id":1,"event_data":{"CommandLine":"x"}}}`))
	f.Add([]byte(`{"properties":{"ActionType":"ProcessCreated","ProcessCommandLine":"a"}}`))
	f.Add([]byte(`{"EventID":1,"EventData":"{\"CommandLine\":\"\\u0000\"}"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := ParseJSON(line)
		checkParsed(t, rec, err)
	})
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("EventID,CommandLine,Image\n"), []byte("1,\"a,\"\"b\"\"\nc\",x.exe\n"))
	f.Add([]byte("process,dest,_time\n"), []byte("whoami,h,12.5\n"))
	f.Add([]byte("ProcessCommandLine,ActionType\n"), []byte("x,ProcessCreated\n"))
	f.Add([]byte("\"a\nb\",CommandLine\n"), []byte("\"\n"))
	f.Fuzz(func(t *testing.T, header, rec []byte) {
		h, err := ParseCSVHeader(header)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("untyped header error %T: %v", err, err)
			}
			return
		}
		r, err := h.Parse(rec)
		checkParsed(t, r, err)
	})
}

// FuzzSplitter checks that feeding the splitter in pieces finds the same
// records as feeding it all at once, and that in CSV every record it cuts
// from valid CSV is one CSV record.
func FuzzSplitter(f *testing.F) {
	f.Add([]byte("a,\"b\nc\"\nd\n"), uint8(1), true)
	f.Add([]byte("\"\"\"\n\"\n"), uint8(2), true)
	f.Add([]byte("x\ny\r\n"), uint8(3), false)
	f.Fuzz(func(t *testing.T, in []byte, step uint8, csvMode bool) {
		format := FormatJSONL
		if csvMode {
			format = FormatCSV
		}
		whole, restW := splitAll(format, string(in), len(in)+1)
		pieces, restP := splitAll(format, string(in), int(step)%7+1)
		if strings.Join(whole, "") != strings.Join(pieces, "") || restW != restP || len(whole) != len(pieces) {
			t.Fatalf("whole %q rest %q, pieces %q rest %q", whole, restW, pieces, restP)
		}
		if strings.Join(whole, "")+restW != string(in) {
			t.Fatal("records and rest do not add up to the input")
		}
		if !csvMode {
			return
		}
		for _, r := range whole {
			fields, err := readCSV([]byte(r))
			if err == nil && len(fields) == 0 {
				t.Fatalf("record %q parsed to nothing", r)
			}
			var se *SyntaxError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("untyped error %v", err)
			}
			if err != nil && strings.Contains(err.Error(), "more than one record") && !bytes.Contains([]byte(r), []byte{'\r'}) {
				t.Fatalf("splitter record %q holds more than one CSV record", r)
			}
		}
	})
}

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
// between writes: the input never panics, its offset never passes the file
// size or goes back, the stream stays well-formed, and a final drain
// consumes everything.
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
		cfg, errs := parseStanza("scorecmdline://fuzz", map[string]string{"path": path, "format": formatNames[format%4], "batch_size": "3"})
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
			for _, tr := range s.files {
				if tr.off > int64(len(data)) || tr.off < 0 {
					t.Fatalf("offset %d past size %d", tr.off, len(data))
				}
			}
		}
		for _, tr := range s.files {
			if tr.broken == nil && tr.format != FormatAuto { // auto stays undecided on blank-only data
				s.consume(tr, 1<<30, true)
				if tr.off != int64(len(data)) {
					t.Fatalf("final drain stopped at %d of %d", tr.off, len(data))
				}
			}
		}
		s.close()
		if err := w.end(); err != nil {
			t.Fatal(err)
		}
		if err := xml.Unmarshal(out.Bytes(), new(struct{})); err != nil {
			t.Fatalf("stream not well-formed: %v", err)
		}
	})
}
