package winevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"scorecmdline/src/event"
)

// checkParsed asserts the parser contract: a Record whose JSON decodes and
// whose event carries its command line, or ErrSkipped, or a *SyntaxError.
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
	var ev event.Event
	rec.Fill(&ev, nil)
	if string(ev.CommandLine()) != rec.Process {
		t.Fatalf("event command line %q, record %q", ev.CommandLine(), rec.Process)
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
