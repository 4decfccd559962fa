package conf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addSeeds adds the files matching pattern to the corpus, so the fuzzers
// start from real .conf text (the app's own files and the golden inputs).
func addSeeds(f *testing.F, pattern string) {
	paths, _ := filepath.Glob(pattern)
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden") {
			continue
		}
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
}

func FuzzParse(f *testing.F) {
	addSeeds(f, filepath.Join("testdata", "parse", "*"))
	addSeeds(f, filepath.Join("..", "..", "default", "*.conf"))
	for _, tt := range parseErrorTests {
		f.Add([]byte(tt.src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, spec := range []bool{false, true} {
			file, err := parse("f.conf", src, spec)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("untyped error %T: %v", err, err)
				}
				if pe.Line < 0 || pe.Line > bytes.Count(src, []byte("\n"))+1 {
					t.Fatalf("error line %d outside the input", pe.Line)
				}
				continue
			}
			checkFile(t, file)
			// A file saved with CRLF line ends must read the same.
			if !bytes.ContainsRune(src, '\r') {
				crlf, err := parse("f.conf", bytes.ReplaceAll(src, []byte("\n"), []byte("\r\n")), spec)
				if err != nil {
					t.Fatalf("CRLF copy fails: %v", err)
				}
				if !bytes.Equal(dump(crlf), dump(file)) {
					t.Fatalf("CRLF copy parses differently:\n%s\nvs\n%s", dump(crlf), dump(file))
				}
			}
		}
	})
}

func checkFile(t *testing.T, f *File) {
	seen := map[string]bool{}
	last := -1
	for _, s := range f.Stanzas {
		if seen[s.Name] {
			t.Fatalf("stanza %q twice", s.Name)
		}
		seen[s.Name] = true
		if s.Line <= last && s.Line != 0 {
			t.Fatalf("stanza lines out of order")
		}
		last = s.Line
		keys := map[string]bool{}
		for _, st := range s.Settings {
			if st.Key == "" || st.Key != strings.TrimSpace(st.Key) || strings.Contains(st.Key, "=") || keys[st.Key] {
				t.Fatalf("bad or repeated key %q", st.Key)
			}
			keys[st.Key] = true
			if st.Line <= s.Line {
				t.Fatalf("setting %q at line %d before its stanza at %d", st.Key, st.Line, s.Line)
			}
		}
	}
}

func FuzzMacros(f *testing.F) {
	f.Add("| `plain` | `ctime(firstTime)` | `two(a, \"b,c\")`")
	f.Add("`nested` `loop` `double` `ev(x)`")
	f.Add("eval x=\"`\" | `missing(a(b), c)`")
	f.Add("`m(\"a)`")
	addStrings := func(pattern string) {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if src, err := os.ReadFile(p); err == nil {
				f.Add(string(src))
			}
		}
	}
	addStrings(filepath.Join("..", "..", "default", "savedsearches.conf"))
	addStrings(filepath.Join("..", "..", "default", "macros.conf"))
	ms := loadTestMacros(f)
	f.Fuzz(func(t *testing.T, spl string) {
		calls, err := Calls(spl)
		if err != nil {
			var me *MacroError
			if !errors.As(err, &me) || !errors.Is(err, ErrMacroCall) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if me.Offset < 0 || me.Offset >= len(spl) || spl[me.Offset] != '`' {
				t.Fatalf("error offset %d does not point at a backtick", me.Offset)
			}
		}
		prev := 0
		for _, c := range calls {
			if c.Offset < prev || c.End <= c.Offset+1 || spl[c.Offset] != '`' || spl[c.End-1] != '`' {
				t.Fatalf("call %+v has bad offsets", c)
			}
			prev = c.End
		}
		out, err := ms.Expand(spl)
		if err != nil {
			var me *MacroError
			if !errors.As(err, &me) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		if len(out) > MaxExpandSize {
			t.Fatalf("expansion of %d bytes passed the limit", len(out))
		}
		if len(calls) == 0 && out != spl {
			t.Fatalf("text without calls changed: %q", out)
		}
	})
}
