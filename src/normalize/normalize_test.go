package normalize

import (
	"bytes"
	"slices"
	"testing"
)

var normalizeTests = []struct{ in, want string }{
	{"", ""},
	{"   ", ""},
	{"CertUtil -URLCache", "certutil -urlcache"},
	{"cer^tu^til", "certutil"},
	{`c"er"tutil`, "certutil"},
	{`"C:\Program Files\x.exe" -a`, `c:\program files\x -a`},
	{"a    b\t\tc", "a b c"},
	{"  lead and trail  ", "lead and trail"},
	{"a \r\n b", "a\nb"},
	{"a\n\n\nb", "a\nb"},
	{"echo|set /p=x", "echo | set /p=x"},
	{"a&&b||c", "a && b || c"},
	{"cmd > nul 2>&1", "cmd > nul 2 >& 1"},
	{"a ^| b", "a | b"},
	{"|a", "| a"},
	{"a|", "a |"},
	{"a |\nb", "a |\nb"},
	{`C:\Windows\System32\certutil.exe -f`, `c:\windows\system32\certutil -f`},
	{"x.exe.exe y", "x y"},
	{"a.EXE|b", "a | b"},
	{`\.exe .exe c:.exe`, `\.exe .exe c:.exe`},
	{"x.exe\"x", "x.exex"},
	{"x.ex^e", "x"},
	{"\u2013a \u2014b \u2010c \u2011d \u2012e \u2015f \u2212g", "-a -b -c -d -e -f -g"},
	{"\u2016 \u2209", "\u2016 \u2209"}, // neighbours of the dashes stay
	{"\xe2^\x80\x93x", "-x"},
	{"\xff\x00Ä", "\xff\x00Ä"},
	{"%COMSPEC%", "%comspec%"},
}

func TestNormalize(t *testing.T) {
	for _, tt := range normalizeTests {
		got := string(Append(nil, []byte(tt.in)))
		if got != tt.want {
			t.Errorf("Append(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := string(Append(nil, []byte(got))); again != got {
			t.Errorf("Append(Append(%q)) = %q, not idempotent", tt.in, again)
		}
		if pre := string(Append([]byte("pre:"), []byte(tt.in))); pre != "pre:"+tt.want {
			t.Errorf("Append(\"pre:\", %q) = %q", tt.in, pre)
		}
	}
}

// TestNormalizeTracking checks the soft boundaries and separators the
// matcher relies on.
func TestNormalizeTracking(t *testing.T) {
	tests := []struct {
		in         string
		soft, seps []int32
	}{
		{`c"er"tutil`, []int32{1, 3}, nil},
		{`a^b`, []int32{1}, nil},
		{`a & b | c && d || e`, nil, []int32{2, 6, 10, 15}},
		{"a\nb", nil, []int32{1}},
		{"a 2>&1 b", nil, nil},
		{`x.ex"e y`, nil, nil}, // the mark went with the ".exe"
	}
	for _, tt := range tests {
		var n Normalizer
		n.Run([]byte(tt.in))
		if !slices.Equal(n.Soft, tt.soft) || !slices.Equal(n.Seps, tt.seps) {
			t.Errorf("normalize(%q) = %q soft %v seps %v, want soft %v seps %v", tt.in, n.Out, n.Soft, n.Seps, tt.soft, tt.seps)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, tt := range normalizeTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got := Append(nil, in)
		if again := Append(nil, got); !bytes.Equal(again, got) {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, got, again)
		}
		if bytes.ContainsAny(got, "^\"\t\r") || bytes.HasPrefix(got, []byte(" ")) || bytes.HasSuffix(got, []byte(" ")) || bytes.Contains(got, []byte("  ")) {
			t.Fatalf("Append(%q) = %q keeps what it removes", in, got)
		}
		var n Normalizer
		n.Run(in)
		if !bytes.Equal(n.Out, got) {
			t.Fatalf("tracking changes the result: %q vs %q", n.Out, got)
		}
		if !slices.IsSorted(n.Soft) || !slices.IsSorted(n.Seps) {
			t.Fatalf("marks out of order: soft %v seps %v", n.Soft, n.Seps)
		}
		for _, p := range n.Soft {
			if p < 0 || int(p) > len(got) {
				t.Fatalf("soft mark %d outside %q", p, got)
			}
		}
		for _, p := range n.Seps {
			if p < 0 || int(p) >= len(got) || (got[p] != '&' && got[p] != '|' && got[p] != '\n') {
				t.Fatalf("separator %d of %q is not one", p, got)
			}
		}
	})
}

func TestNames(t *testing.T) {
	tests := []struct{ in, program string }{
		{`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "program"}, // unquoted: cmd.exe runs C:\Program
		{`winword.exe`, "winword"},
		{`"C:\Windows\System32\cmd.exe" /c dir`, "cmd"},
		{`C:\Windows\System32\cmd.exe /c dir`, "cmd"},
		{`cmd.exe/c dir`, "cmd"},
		{`cmd,/c dir`, "cmd"},
		{`c^m^d /c`, "cmd"},
		{`  powershell.exe.exe -enc x`, "powershell"},
		{`.exe`, ".exe"},
		{``, ""},
		{`cmd|more`, "cmd"},
	}
	for _, tt := range tests {
		if got := string(AppendProgram(nil, []byte(tt.in))); got != tt.program {
			t.Errorf("AppendProgram(%q) = %q, want %q", tt.in, got, tt.program)
		}
		if got := string(AppendProgram([]byte("x"), []byte(tt.in))); got != "x"+tt.program {
			t.Errorf("AppendProgram(x, %q) = %q", tt.in, got)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "winword"},
		{`"C:\x\EXCEL.EXE"`, "excel"},
		{`/usr/bin/python3`, "python3"},
		{`winword`, "winword"},
		{`.exe`, ".exe"},
	} {
		if got := Name(tt.in); got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFold(t *testing.T) {
	for c := range 256 {
		want := byte(c)
		switch {
		case 'A' <= c && c <= 'Z':
			want = byte(c) + 'a' - 'A'
		case c == '/':
			want = '-'
		}
		if got := Fold(byte(c)); got != want {
			t.Errorf("Fold(%q) = %q, want %q", byte(c), got, want)
		}
	}
	for _, tt := range []struct {
		c    byte
		want Kind
	}{{'a', Word}, {'^', Removed}, {'"', Removed}, {'\t', Blank}, {'\n', LineBreak}, {'|', Operator}, {'>', Operator}, {0xe2, Word}} {
		if got := KindOf(tt.c); got != tt.want {
			t.Errorf("KindOf(%q) = %d, want %d", tt.c, got, tt.want)
		}
	}
}
