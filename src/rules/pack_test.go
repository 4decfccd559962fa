package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"scorecmdline/src/internal/golden"
)

// The pack shipped with the app.
var lookupsDir = filepath.Join("..", "..", "lookups")

// badPacks lists the broken packs of testdata/bad with the cause each must
// report; the full messages are in testdata/bad.golden.
var badPacks = []struct {
	file string
	want error
}{
	{"unknown_key", ErrUnknownKey},
	{"unknown_table", ErrUnknownKey},
	{"case_key", ErrUnknownKey},
	{"subtable", ErrUnknownKey},
	{"pack_key", ErrUnknownKey},
	{"empty_pattern", ErrEmptyPattern},
	{"caret_pattern", ErrEmptyPattern},
	{"empty_list", ErrEmptyPattern},
	{"bad_gap", ErrBadPattern},
	{"control_char", ErrBadPattern},
	{"duplicate_name", ErrDuplicateName},
	{"bad_name", ErrBadValue},
	{"bad_regex", ErrBadRegex},
	{"empty_regex", ErrEmptyPattern},
	{"missing_name", ErrMissing},
	{"missing_description", ErrMissing},
	{"blank_description", ErrMissing},
	{"bad_flag", ErrBadFlag},
	{"bad_technique", ErrBadValue},
	{"missing_techniques", ErrMissing},
	{"risk_range", ErrBadValue},
	{"risk_type", ErrBadValue},
	{"missing_risk", ErrMissing},
	{"bad_level", ErrBadValue},
	{"level_type", ErrBadValue},
	{"element_type", ErrBadValue},
	{"matches_nothing", ErrMissing},
	{"parent_path", ErrBadValue},
	{"syntax", ErrSyntax},
	{"inline_rules", ErrBadValue},
	{"no_pack", ErrMissing},
	{"no_rules", ErrMissing},
	{"empty", ErrMissing},
}

func TestBadPacks(t *testing.T) {
	var got bytes.Buffer
	for _, tt := range badPacks {
		file := tt.file + PackSuffix
		data, err := os.ReadFile(filepath.Join("testdata", "bad", file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParsePack(file, data)
		var pe *PackError
		switch {
		case err == nil:
			t.Errorf("%s: no error", file)
			continue
		case !errors.As(err, &pe):
			t.Errorf("%s: error %T %v is not a *PackError", file, err, err)
		case pe.File != file:
			t.Errorf("%s: error names file %q", file, pe.File)
		case !errors.Is(err, tt.want):
			t.Errorf("%s: error %q is not %v", file, err, tt.want)
		}
		fmt.Fprintf(&got, "%s\n", err)
	}
	golden.Check(t, filepath.Join("testdata", "bad.golden"), got.Bytes())
	entries, _ := os.ReadDir(filepath.Join("testdata", "bad"))
	if len(entries) != len(badPacks) {
		t.Errorf("testdata/bad has %d files, the table %d", len(entries), len(badPacks))
	}
}

// TestBadPackLines checks the line of each error against a marker: the line
// the error must point at says so in the file's own text.
func TestBadPackLines(t *testing.T) {
	tests := []struct {
		file string
		line int
		rule string
	}{
		{"unknown_key", 14, "second"},
		{"unknown_table", 11, ""},
		{"empty_pattern", 17, "second"},
		{"duplicate_name", 12, "ok_rule"},
		{"bad_regex", 14, "second"},
		{"missing_name", 11, "#2"},
		{"bad_flag", 15, "second"},
		{"element_type", 14, "second"},
		{"syntax", 12, ""},
		{"subtable", 18, "second"},
	}
	for _, tt := range tests {
		file := tt.file + PackSuffix
		data, err := os.ReadFile(filepath.Join("testdata", "bad", file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParsePack(file, data)
		var pe *PackError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: %v", file, err)
		}
		if pe.Line != tt.line || pe.Rule != tt.rule {
			lines := strings.Split(string(data), "\n")
			at := ""
			if pe.Line > 0 && pe.Line <= len(lines) {
				at = lines[pe.Line-1]
			}
			t.Errorf("%s: line %d rule %q (%q), want line %d rule %q", file, pe.Line, pe.Rule, at, tt.line, tt.rule)
		}
	}
}

func TestParsePack(t *testing.T) {
	src := `# a small pack
[pack]
description = "demo"

[[rule]]
name = "a"
description = "a rule"
any = "net user ... /add"
all = ["net"]
none = ["/domain"]
process_name = ["net.exe", "NET1"]
parent = "cmd.exe"
regex = "user"
flag = "user_creation"
techniques = ["T1136.001"]
risk = 60

[[rule]]
name = "b"
description = """
multi-line
description"""
parent = ['winword.exe']
techniques = "T1204.002"
risk = 0
level = "medium"
`
	p, err := ParsePack(filepath.Join("x", "demo"+PackSuffix), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "demo" || p.Description != "demo" || len(p.Rules) != 2 {
		t.Fatalf("pack = %+v", p)
	}
	a, b := p.Rules[0], p.Rules[1]
	wantA := Rule{Name: "a", Description: "a rule", Flag: "user_creation", Techniques: []string{"T1136.001"}, Risk: 60,
		Any: []string{"net user ... /add"}, All: []string{"net"}, None: []string{"/domain"},
		ProcessName: []string{"net.exe", "NET1"}, Parent: []string{"cmd.exe"}, Regex: "user", Pack: "demo", Line: 5, Level: High}
	if fmt.Sprintf("%+v", *a) != fmt.Sprintf("%+v", wantA) {
		t.Errorf("rule a =\n%+v\nwant\n%+v", *a, wantA)
	}
	if b.Line != 18 || b.Description != "multi-line\ndescription" || b.Risk != 0 || b.Level != Medium || b.Techniques[0] != "T1204.002" {
		t.Errorf("rule b = %+v", *b)
	}
}

func TestLoadPack(t *testing.T) {
	good := "[pack]\ndescription = \"d\"\n[[rule]]\nname = \"r\"\ndescription = \"d\"\nany = \"reg add\"\ntechniques = [\"T1112\"]\nrisk = 5\n"
	fsys := fstest.MapFS{
		"good" + PackSuffix: {Data: []byte(good)},
		"big" + PackSuffix:  {Data: bytes.Repeat([]byte("#"), MaxPackSize+1)},
	}
	if p, err := LoadPack(fsys, "good"); err != nil || p.Name != "good" || p.File != "good"+PackSuffix || p.Rules[0].Pack != "good" {
		t.Errorf("LoadPack(good) = %+v, %v", p, err)
	}
	tests := []struct {
		name string
		want error
		msg  string
	}{
		{"missing", fs.ErrNotExist, `missing.rules.toml: unknown rule pack "missing": file does not exist`},
		{"big", ErrTooLarge, `big.rules.toml: pack file too large: more than 4194304 bytes`},
		{"../etc/passwd", ErrBadPackName, `../etc/passwd.rules.toml: bad pack name: "../etc/passwd" (use letters, digits, _, . and -)`},
		{"", ErrBadPackName, `.rules.toml: bad pack name: "" (use letters, digits, _, . and -)`},
	}
	for _, tt := range tests {
		_, err := LoadPack(fsys, tt.name)
		var pe *PackError
		if !errors.Is(err, tt.want) || !errors.As(err, &pe) || err.Error() != tt.msg {
			t.Errorf("LoadPack(%q) = %v, want %q (%v)", tt.name, err, tt.msg, tt.want)
		}
	}
}

func TestShippedPacks(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(lookupsDir, "*"+PackSuffix))
	if err != nil || len(files) == 0 {
		t.Fatalf("no packs in %s: %v", lookupsDir, err)
	}
	var packs []*Pack
	for _, f := range files {
		p, err := LoadPack(os.DirFS(lookupsDir), strings.TrimSuffix(filepath.Base(f), PackSuffix))
		if err != nil {
			t.Fatal(err)
		}
		packs = append(packs, p)
	}
	if err := Validate(packs...); err != nil {
		t.Fatal(err)
	}
}

func TestValidateErrors(t *testing.T) {
	sp, err := LoadPack(os.DirFS(lookupsDir), "sentinel_cmd")
	if err != nil {
		t.Fatal(err)
	}
	p := &Pack{Name: "other", File: "other" + PackSuffix, Rules: []*Rule{{Name: "reg_add", Description: "d", Any: []string{"reg add"}, Techniques: []string{"T1112"}, Pack: "other", Line: 7}}}
	err = Validate(sp, p)
	line := 0
	for _, r := range sp.Rules {
		if r.Name == "reg_add" {
			line = r.Line
		}
	}
	want := fmt.Sprintf(`other.rules.toml:7: rule reg_add: name: duplicate rule name: "reg_add" is also a rule of pack sentinel_cmd (line %d)`, line)
	var pe *PackError
	if !errors.Is(err, ErrDuplicateName) || !errors.As(err, &pe) {
		t.Fatalf("Validate = %v, want a duplicate-name error", err)
	}
	if got := err.Error(); got != want || line == 0 {
		t.Errorf("Validate error = %q, want %q", got, want)
	}
	hand := []struct {
		rule Rule
		want error
	}{
		{Rule{Name: "x", Any: []string{""}}, ErrEmptyPattern},
		{Rule{Name: "x", Regex: "("}, ErrBadRegex},
		{Rule{Name: "x", Parent: []string{`a\b.exe`}}, ErrBadValue},
		{Rule{Name: "x", None: []string{"a"}}, ErrMissing},
		{Rule{Name: "X y", Any: []string{"a"}}, ErrBadValue},
		{Rule{Name: "x", Any: []string{"a"}, Flag: "Score!"}, ErrBadFlag},
		{Rule{Name: "x", Any: []string{"a"}, Risk: 101}, ErrBadValue},
		{Rule{Name: "x", Any: []string{"a"}, Level: Critical + 1}, ErrBadValue},
		{Rule{Name: "x", Any: []string{"a ... ..."}}, ErrBadPattern},
	}
	for _, tt := range hand {
		r := tt.rule
		if err := Validate(&Pack{File: "hand", Rules: []*Rule{&r}}); !errors.Is(err, tt.want) || !errors.As(err, &pe) {
			t.Errorf("Validate(%+v) = %v, want a *PackError for %v", tt.rule, err, tt.want)
		}
	}
	if err := Validate(&Pack{File: "hand", Rules: []*Rule{{Name: "x", Any: []string{"a"}, Level: Low}}}); err != nil {
		t.Errorf("Validate(good rule) = %v", err)
	}
	if err := Validate(nil); err == nil {
		t.Error("Validate(nil) succeeded")
	}
	if err := Validate(&Pack{File: "hand", Rules: []*Rule{nil}}); err == nil {
		t.Error("Validate(nil rule) succeeded")
	}
	if err := Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func FuzzParsePack(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "bad", "*"+PackSuffix))
	seeds = append(seeds, filepath.Join(lookupsDir, "sentinel_cmd"+PackSuffix))
	for _, file := range seeds {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePack("fuzz"+PackSuffix, data)
		if err != nil {
			var pe *PackError
			if !errors.As(err, &pe) || pe.File != "fuzz"+PackSuffix {
				t.Fatalf("error %T %v is not a *PackError for the file", err, err)
			}
			if pe.Line < 0 || pe.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("error line %d outside the file: %v", pe.Line, err)
			}
			return
		}
		if err := Validate(p); err != nil {
			t.Fatalf("ParsePack accepted a pack Validate rejects: %v", err)
		}
	})
}

// TestLayout: lines of rules, keys and elements, past the things that could
// fool a line scan (text that looks like TOML inside strings and comments).
func TestLayout(t *testing.T) {
	src := `# [[rule]] in a comment
[pack]
description = """
[[rule]]
name = "fake"
"""

[[rule]]
name = 'a' # [[rule]]
description = "x = \"[[rule]]\""
any = [
  "one",   # 1
  '''two
three''',
  "four", "five",
]

[[ rule ]]
"name" = "b"
parent = [ [ "nested" ], "x" ]
`
	l := scanLayout(src)
	if want := []int{8, 18}; !slices.Equal(l.rules, want) {
		t.Errorf("rules at %v, want %v", l.rules, want)
	}
	tests := []struct {
		table string
		idx   int
		key   string
		elem  int
		want  int
	}{
		{"pack", -1, "description", -1, 3},
		{"rule", 0, "name", -1, 9},
		{"rule", 0, "description", -1, 10},
		{"rule", 0, "any", 0, 12},
		{"rule", 0, "any", 1, 13},
		{"rule", 0, "any", 2, 15},
		{"rule", 0, "any", 3, 15},
		{"rule", 0, "any", 9, 11}, // no such element: the key's line
		{"rule", 1, "name", -1, 19},
		{"rule", 1, "parent", 1, 20},
		{"rule", 1, "risk", -1, 18}, // no such key: the table's header
	}
	for _, tt := range tests {
		if got := l.line(tt.table, tt.idx, tt.key, tt.elem); got != tt.want {
			t.Errorf("line(%s #%d %s[%d]) = %d, want %d", tt.table, tt.idx, tt.key, tt.elem, got, tt.want)
		}
	}
}
