package conf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scorecmdline/src/internal/golden"
)

// dump renders a parsed file one line per stanza, setting and doc line, so a
// golden file shows exactly what the parser saw.
func dump(f *File) []byte {
	var b bytes.Buffer
	for _, s := range f.Stanzas {
		fmt.Fprintf(&b, "[%s] line %d\n", s.Name, s.Line)
		for _, d := range s.Doc {
			fmt.Fprintf(&b, "  * %q\n", d)
		}
		for _, st := range s.Settings {
			fmt.Fprintf(&b, "  %q = %q (line %d)\n", st.Key, st.Value, st.Line)
			for _, d := range st.Doc {
				fmt.Fprintf(&b, "    * %q\n", d)
			}
		}
	}
	return b.Bytes()
}

func TestParseGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "parse", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden") {
			continue
		}
		n++
		t.Run(filepath.Base(in), func(t *testing.T) {
			f, err := ReadFile(os.DirFS(filepath.Dir(in)), filepath.Base(in))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, in+".golden", dump(f))
		})
	}
	if n == 0 {
		t.Fatal("no inputs in testdata/parse")
	}
}

var parseErrorTests = []struct {
	name string
	src  string
	spec bool
	err  error
	line int
}{
	{"no equals", "[a]\nkey value\n", false, ErrSyntax, 2},
	{"unterminated header", "[a]\nk = v\n[b\n", false, ErrHeader, 3},
	{"text after header", "[a] trailing\n", false, ErrHeader, 1},
	{"empty key", "[a]\n = v\n", false, ErrEmptyKey, 2},
	{"duplicate stanza", "[a]\nk = 1\n\n[a]\nk = 2\n", false, ErrDuplicateStanza, 4},
	{"duplicate key", "[a]\nk = 1\nk = 2\n", false, ErrDuplicateKey, 3},
	{"duplicate global key", "k = 1\nk = 2\n[a]\n", false, ErrDuplicateKey, 2},
	{"duplicate continued key", "[a]\nk = 1\nk = 2 \\\n3\n", false, ErrDuplicateKey, 3},
	{"continuation at EOF", "[a]\nk = 1 \\\n", false, ErrContinuation, 2},
	{"continuation at EOF without newline", "[a]\nk = 1 \\", false, ErrContinuation, 2},
	{"NUL byte", "[a]\nk = \x00\n", false, ErrEncoding, 2},
	{"invalid UTF-8", "[a]\n\nk = \xff\n", false, ErrEncoding, 3},
	{"star line in conf", "[a]\n* doc\n", false, ErrSyntax, 2},
	{"spec doc before stanza", "* doc\n[a]\n", true, ErrSpecDoc, 1},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parse("x.conf", []byte(tt.src), tt.spec)
			if err == nil {
				t.Fatalf("no error; parsed %s", dump(f))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %q is not %q", err, tt.err)
			}
			if pe.Line != tt.line || pe.File != "x.conf" {
				t.Errorf("position %s:%d, want x.conf:%d", pe.File, pe.Line, tt.line)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("x.conf:%d: ", tt.line)) {
				t.Errorf("message %q lacks its position", err)
			}
		})
	}
}

func TestStanzaAccess(t *testing.T) {
	f, err := Parse("a.conf", []byte("[a]\nk1 = v1\nk2 = v2\n[b]\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := f.Stanza("a")
	if a == nil || f.Stanza("b") == nil || f.Stanza("c") != nil {
		t.Fatalf("Stanza lookups wrong: a=%v", a)
	}
	if v, ok := a.Get("k2"); !ok || v != "v2" {
		t.Errorf("Get(k2) = %q, %v", v, ok)
	}
	if _, ok := a.Get("k3"); ok {
		t.Error("Get(k3) found a missing key")
	}
	if got := strings.Join(a.Keys(), ","); got != "k1,k2" {
		t.Errorf("Keys() = %s", got)
	}
	if st := a.Setting("k1"); st == nil || st.Line != 2 {
		t.Errorf("Setting(k1) = %+v", st)
	}
}

// TestLineEndings checks that CRLF files and a leading BOM parse exactly like
// LF files: the app's files may be edited on Windows.
func TestLineEndings(t *testing.T) {
	src := "# c\n[a]\nk = v \\\nw\n[b]\nx=y\n"
	want, err := Parse("f", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, variant := range []string{
		strings.ReplaceAll(src, "\n", "\r\n"),
		"\ufeff" + src,
	} {
		got, err := Parse("f", []byte(variant))
		if err != nil {
			t.Fatalf("%q: %v", variant, err)
		}
		if !bytes.Equal(dump(got), dump(want)) {
			t.Errorf("%q parsed as\n%s\nwant\n%s", variant, dump(got), dump(want))
		}
	}
}
