package modinput

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"testing"
	"time"

	"scorecmdline/src/winevent"
)

func TestAppendXMLEscaped(t *testing.T) {
	tests := []struct {
		in   string
		attr bool
		want string
	}{
		{`a<b>&c"d'`, false, `a&lt;b&gt;&amp;c"d'`},
		{`a<b>&c"d'`, true, `a&lt;b&gt;&amp;c&quot;d'`},
		{"l1\nl2\tx\ry", false, "l1\nl2\tx&#xD;y"},
		{"l1\nl2\tx\ry", true, "l1&#xA;l2&#x9;x&#xD;y"},
		{"nul\x00bel\x07", false, "nul\uFFFDbel\uFFFD"},
		{"bad\xffutf8 \xed\xa0\x80 \uFFFE ok é😀", false, "bad\uFFFDutf8 \uFFFD\uFFFD\uFFFD \uFFFD ok é😀"},
		{"]]>", false, "]]&gt;"},
	}
	for _, tt := range tests {
		if got := string(appendXMLEscaped(nil, tt.in, tt.attr)); got != tt.want {
			t.Errorf("appendXMLEscaped(%q, %v) = %q, want %q", tt.in, tt.attr, got, tt.want)
		}
	}
}

// TestEventWellFormed writes events with hostile metadata and data, then
// reads the stream back with encoding/xml.
func TestEventWellFormed(t *testing.T) {
	var out bytes.Buffer
	w := newEventWriter(&out)
	w.begin()
	meta := newEventMeta(`scorecmdline://a"<&>`, "idx&1", "h<o>st")
	rec := winevent.Record{Process: "cmd /c \"a & b\" <x> ]]> \x01\xff", ProcessName: "cmd.exe", User: `D\u`}
	data := append([]byte{'{'}, rec.AppendJSON(nil)...)
	data = append(data, '}')
	w.event(&meta, sourceElement("/var/log/a&b<c>.log"), time.UnixMilli(1678786013589), data)
	w.event(&meta, sourceElement("/x"), time.Time{}, []byte(`{"process":""}`))
	if err := w.end(); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Events []struct {
			Stanza     string  `xml:"stanza,attr"`
			Unbroken   string  `xml:"unbroken,attr"`
			Time       string  `xml:"time"`
			Source     string  `xml:"source"`
			Sourcetype string  `xml:"sourcetype"`
			Index      string  `xml:"index"`
			Host       string  `xml:"host"`
			Data       string  `xml:"data"`
			Done       *string `xml:"done"`
		} `xml:"event"`
	}
	if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("stream is not well-formed: %v\n%s", err, out.Bytes())
	}
	if len(doc.Events) != 2 {
		t.Fatalf("%d events", len(doc.Events))
	}
	e := doc.Events[0]
	if e.Stanza != `scorecmdline://a"<&>` || e.Unbroken != "1" || e.Time != "1678786013.589" || e.Source != "/var/log/a&b<c>.log" ||
		e.Sourcetype != Sourcetype || e.Index != "idx&1" || e.Host != "h<o>st" || e.Done == nil {
		t.Errorf("event metadata: %+v", e)
	}
	var payload map[string]any
	if err := json.Unmarshal([]byte(e.Data), &payload); err != nil {
		t.Fatalf("data is not JSON: %v: %q", err, e.Data)
	}
	if payload["process"] != "cmd /c \"a & b\" <x> ]]> \x01\uFFFD" || payload["process_name"] != "cmd.exe" || payload["user"] != `D\u` {
		t.Errorf("payload %v", payload)
	}
	if doc.Events[1].Time != "" {
		t.Errorf("zero time written: %q", doc.Events[1].Time)
	}
}

func TestAppendEpoch(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1372274622, 493_999_999), "1372274622.493"},
		{time.Unix(0, 0), "0.000"},
		{time.Unix(5, 7_000_000), "5.007"},
		{time.Unix(-1, 500_000_000), "-1.500"},
	} {
		if got := string(appendEpoch(nil, tc.t)); got != tc.want {
			t.Errorf("appendEpoch(%v) = %s, want %s", tc.t, got, tc.want)
		}
	}
}
