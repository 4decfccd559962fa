package follow

import (
	"bytes"
	"encoding/csv"
	"io"
	"slices"
	"strings"
	"testing"
)

// splitAll cuts in into records, feeding fr step bytes at a time.
func splitAll(fr Framer, in string, step int) (recs []string, rest string) {
	b := []byte(in)
	start, scanned := 0, 0
	for scanned < len(b) {
		end := min(scanned+step, len(b))
		if e := fr.Next(b[scanned:end]); e >= 0 {
			recs = append(recs, string(b[start:scanned+e]))
			start, scanned = scanned+e, scanned+e
			continue
		}
		scanned = end
	}
	return recs, string(b[start:])
}

func TestFramer(t *testing.T) {
	tests := []struct {
		name string
		csv  bool
		in   string
		recs []string
		rest string
	}{
		{"lines", false, "a\nb\r\n\nc", []string{"a\n", "b\r\n", "\n"}, "c"},
		{"lines ignore quotes", false, "<a b='\"'>\n\"\n", []string{"<a b='\"'>\n", "\"\n"}, ""},
		{"csv plain", true, "a,b\nc,d\n", []string{"a,b\n", "c,d\n"}, ""},
		{"csv quoted newline", true, "a,\"x\ny\"\nc\n", []string{"a,\"x\ny\"\n", "c\n"}, ""},
		{"csv escaped quote then newline", true, "\"a\"\"\n\"\"b\"\nz\n", []string{"\"a\"\"\n\"\"b\"\n", "z\n"}, ""},
		{"csv quote inside unquoted field is literal", true, "a\"b\nc\n", []string{"a\"b\n", "c\n"}, ""},
		{"csv open quote waits", true, "a,\"open\nstill\n", nil, "a,\"open\nstill\n"},
		{"csv crlf", true, "a,\"b\r\nc\"\r\nd\r\n", []string{"a,\"b\r\nc\"\r\n", "d\r\n"}, ""},
		{"csv quote after field start only", true, "x,\"\",\"\"\"\"\n", []string{"x,\"\",\"\"\"\"\n"}, ""},
	}
	for _, tt := range tests {
		for _, step := range []int{1, 2, 3, 1 << 20} {
			fr := Lines()
			if tt.csv {
				fr = CSV()
			}
			recs, rest := splitAll(fr, tt.in, step)
			if !slices.Equal(recs, tt.recs) || rest != tt.rest {
				t.Errorf("%s step %d: got %q rest %q, want %q rest %q", tt.name, step, recs, rest, tt.recs, tt.rest)
			}
		}
	}
}

// FuzzFramer checks that feeding a framer in pieces finds the same records
// as feeding it all at once, and that in CSV every record it cuts from
// valid CSV is one CSV record.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("a,\"b\nc\"\nd\n"), uint8(1), true)
	f.Add([]byte("\"\"\"\n\"\n"), uint8(2), true)
	f.Add([]byte("x\ny\r\n"), uint8(3), false)
	f.Fuzz(func(t *testing.T, in []byte, step uint8, csvMode bool) {
		framer := Lines
		if csvMode {
			framer = CSV
		}
		whole, restW := splitAll(framer(), string(in), len(in)+1)
		pieces, restP := splitAll(framer(), string(in), int(step)%7+1)
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
			cr := csv.NewReader(strings.NewReader(r))
			cr.FieldsPerRecord = -1
			if _, err := cr.Read(); err != nil {
				continue // not valid CSV: nothing to compare
			}
			// encoding/csv ends a record at a bare \r too; the framer does not.
			if _, err := cr.Read(); err != io.EOF && !bytes.Contains([]byte(r), []byte{'\r'}) {
				t.Fatalf("framed record %q holds more than one CSV record", r)
			}
		}
	})
}
