package modinput

import (
	"slices"
	"testing"
)

// splitAll cuts in into records, feeding the splitter step bytes at a time.
func splitAll(f Format, in string, step int) (recs []string, rest string) {
	sp := newSplitter(f)
	b := []byte(in)
	start, scanned := 0, 0
	for scanned < len(b) {
		end := min(scanned+step, len(b))
		if e := sp.next(b[scanned:end]); e >= 0 {
			recs = append(recs, string(b[start:scanned+e]))
			start, scanned = scanned+e, scanned+e
			continue
		}
		scanned = end
	}
	return recs, string(b[start:])
}

func TestSplitter(t *testing.T) {
	tests := []struct {
		name string
		f    Format
		in   string
		recs []string
		rest string
	}{
		{"lines", FormatJSONL, "a\nb\r\n\nc", []string{"a\n", "b\r\n", "\n"}, "c"},
		{"xml lines ignore quotes", FormatXML, "<a b='\"'>\n\"\n", []string{"<a b='\"'>\n", "\"\n"}, ""},
		{"csv plain", FormatCSV, "a,b\nc,d\n", []string{"a,b\n", "c,d\n"}, ""},
		{"csv quoted newline", FormatCSV, "a,\"x\ny\"\nc\n", []string{"a,\"x\ny\"\n", "c\n"}, ""},
		{"csv escaped quote then newline", FormatCSV, "\"a\"\"\n\"\"b\"\nz\n", []string{"\"a\"\"\n\"\"b\"\n", "z\n"}, ""},
		{"csv quote inside unquoted field is literal", FormatCSV, "a\"b\nc\n", []string{"a\"b\n", "c\n"}, ""},
		{"csv open quote waits", FormatCSV, "a,\"open\nstill\n", nil, "a,\"open\nstill\n"},
		{"csv crlf", FormatCSV, "a,\"b\r\nc\"\r\nd\r\n", []string{"a,\"b\r\nc\"\r\n", "d\r\n"}, ""},
		{"csv quote after field start only", FormatCSV, "x,\"\",\"\"\"\"\n", []string{"x,\"\",\"\"\"\"\n"}, ""},
	}
	for _, tt := range tests {
		for _, step := range []int{1, 2, 3, 1 << 20} {
			recs, rest := splitAll(tt.f, tt.in, step)
			if !slices.Equal(recs, tt.recs) || rest != tt.rest {
				t.Errorf("%s step %d: got %q rest %q, want %q rest %q", tt.name, step, recs, rest, tt.recs, tt.rest)
			}
		}
	}
}
