package deobfuscate

import (
	"bytes"
	"encoding/base64"
	"path/filepath"
	"testing"
)

var inertTests = []struct {
	in   string
	want bool
}{
	{`copy %TEMP%\report.txt "%USERPROFILE%\Desktop\report.txt"`, true},
	{`powershell -NoProfile -ExecutionPolicy Bypass -File C:\x.ps1`, true},
	{`"C:\Program Files\App\app.exe" /a "quoted arg" value=$HOME`, true},
	{`cmd.exe /c dir C:\ & echo done ; exit`, true},
	{`net use a,b,c; x`, true},
	{`powershell -enc bypass -enc C:\Windows`, true},
	{`%git% log --format="%H %s" -n 5`, true},
	{`c^md /c whoami`, false},
	{`%COMSPEC:~-7,3% /c whoami`, false},
	{`cmd /c "set a=x&&call %a%"`, false},
	{`p"owe"rs"hell`, false},
	{`a@"b" x`, false},
	{`"a">x`, false},
	{`us""er`, false},
	{`cmd /c "x.exe" "a b"`, false},
	{`cmd "/c x" y`, false},
	{`x && ;y`, false},
	{`cmd /c,whoami`, false},
	{`echo x | for /f %a in ('y') do z`, false},
	{"powershell -enc " + encUTF16("whoami"), false},
	{`"{1}{0}" -f 'ex','i'`, false},
	{`'a' -join 'b'`, false},
	{`'x~e'.Replace('~','e')`, false},
	{`$a = 'x'; .$a`, false},
	{`[Convert]::FromBase64String('QUJD')`, false},
	{`frombase64string('QUJD')`, false},
	{`'a'+'b'`, false},
	{"I`EX", false},
	{`cmd cmd cmd cmd cmd cmd cmd cmd`, false},
}

func TestInert(t *testing.T) {
	for _, tt := range inertTests {
		if got := inert(tt.in); got != tt.want {
			t.Errorf("inert(%q) = %v, want %v", tt.in, got, tt.want)
		}
		r := *new(Deobfuscator).full([]byte(tt.in))
		if tt.want && (r.Techniques != 0 || string(r.Text) != tt.in) {
			t.Errorf("%q: inert, yet the stages give %q %v", tt.in, r.Text, r.Techniques)
		}
	}
}

// TestInertAgreesWithRun checks the second level against the stages over
// every line at hand: the tables, the committed stream sample and, when
// ../shared is present, the corpora and the standard stream's lines.
func TestInertAgreesWithRun(t *testing.T) {
	lines := readLines(t, filepath.Join("testdata", "stream_sample.txt"))
	for _, tt := range deobTests {
		lines = append(lines, []byte(tt.in))
	}
	for _, l := range benignLines {
		lines = append(lines, []byte(l))
	}
	if !testing.Short() {
		lines = append(lines, sharedLines(t)...)
	}
	var d Deobfuscator
	n := 0
	for _, l := range lines {
		if !inert(string(l)) {
			continue
		}
		n++
		if r := d.full(l); r.Techniques != 0 || !bytes.Equal(r.Text, l) {
			t.Errorf("inert, yet the stages give %v:\n in  %q\n out %q", r.Techniques, l, r.Text)
		}
	}
	t.Logf("%d lines, %d inert", len(lines), n)
}

// sharedLines returns the corpus lines and the standard stream's first
// lines when ../shared is present, else none.
func sharedLines(t *testing.T) [][]byte {
	var lines [][]byte
	t.Run("corpus", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(corpusDir(t), "*.jsonl"))
		for _, f := range files {
			for _, r := range readRows(t, f) {
				lines = append(lines, []byte(r.Cmdline))
			}
		}
	})
	t.Run("stream", func(t *testing.T) { lines = append(lines, standardLines(t, 20000)...) })
	return lines
}

// FuzzInert checks the second level against the stages: a line it calls
// inert comes back from them unchanged with no technique.
func FuzzInert(f *testing.F) {
	for _, tt := range inertTests {
		f.Add([]byte(tt.in))
	}
	for _, l := range benignLines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !inert(string(in)) {
			return
		}
		if r := new(Deobfuscator).full(in); r.Techniques != 0 || !bytes.Equal(r.Text, in) {
			t.Fatalf("inert, yet the stages give %v:\n in  %q\n out %q", r.Techniques, in, r.Text)
		}
	})
}

// FuzzUTF16Base64 checks the streaming check against decodeUTF16.
func FuzzUTF16Base64(f *testing.F) {
	f.Add(encUTF16("whoami"))
	f.Add("\ufeff" + encUTF16("x"))
	f.Add(base64.StdEncoding.EncodeToString([]byte{0x3d, 0xd8, 0x00, 0xde}))
	f.Add("downloadstring")
	f.Add("AAAAAAAA=")
	f.Fuzz(func(t *testing.T, s string) {
		_, want := decodeUTF16(s)
		if got := utf16Base64(s); got != want {
			t.Fatalf("utf16Base64(%q) = %v, decodeUTF16 says %v", s, got, want)
		}
	})
}

func TestInertAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	var d Deobfuscator
	for _, tt := range inertTests {
		if !tt.want {
			continue
		}
		line := []byte(tt.in)
		if allocs := testing.AllocsPerRun(50, func() { d.Run(line) }); allocs != 0 {
			t.Errorf("%q: %v allocations", tt.in, allocs)
		}
	}
}
