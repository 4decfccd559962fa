package normalize

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"scorecmdline/src/internal/testlines"
)

// programLines are first words of every shape AppendProgram's fast path
// tells apart: bare, quoted, unclosed, with ^ or " inside, cut by
// operators, "/" and "=", after blanks and line breaks.
var programLines = []string{
	"", "   ", "\n\t x", "certutil", "certutil -f", `C:\Windows\System32\certutil.exe -urlcache`,
	`"C:\Program Files\x.exe" -a`, `"C:\Program Files\x.exe"`, `"C:\Program Files\x.exe`, `"C:\x"y.exe z`,
	`"C:\x".exe|z`, `c"er"tutil x`, `cer^tutil x`, `cmd.exe/c dir`, `cmd,/c`, `a;b`, `x=y z`, `net|find`,
	`net&&x`, "a\r\nb", "a\rb c", `\\server\share\tool.EXE.exe x`, `C:/Windows/x.exe`, `"" x`, `"`, `'q.exe' x`,
	"x\x00y z", "\xff.exe", `"C:\a^b\x.exe" y`, `"C:\x^y.exe" z`, `"C:\x^y`, `"C:\x.exe"^ y`, `"C:\x.exe""y`, `"a b"&c`,
}

// TestAppendProgram: the fast path gives what appendProgramSlow gives,
// after an empty prefix and another.
func TestAppendProgram(t *testing.T) {
	lines := testlines.Corpus(t)
	for _, l := range programLines {
		lines = append(lines, []byte(l))
	}
	r := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		lines = append(lines, testlines.Gen(r))
	}
	for _, l := range lines {
		checkProgram(t, l)
	}
}

func checkProgram(t *testing.T, line []byte) {
	for _, pre := range []string{"", "p:"} {
		got := AppendProgram([]byte(pre), line)
		want := appendProgramSlow([]byte(pre), line)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendProgram(%q, %q) = %q, appendProgramSlow %q", pre, line, got, want)
		}
	}
}

func FuzzProgram(f *testing.F) {
	for _, l := range programLines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) { checkProgram(t, line) })
}
