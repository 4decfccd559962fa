package model

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"scorecmdline/lookups"
	"scorecmdline/src/internal/race"
)

func escu(t testing.TB) *Model {
	t.Helper()
	m, err := Load(lookups.FS, "escu")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestParity compares every vector the reference scorer produced
// (testdata/gen_parity.sh) with the Go score, as text, so both the float64
// and its printed form must be identical.
func TestParity(t *testing.T) {
	m := escu(t)
	s := m.NewScorer()
	in := readLines(t, "testdata/parity_input.jsonl")
	want := readLines(t, "testdata/parity_expected.tsv")
	if len(in) != len(want) || len(in) < 400 {
		t.Fatalf("%d inputs, %d expected scores", len(in), len(want))
	}
	for i := range in {
		var cmd string
		if err := json.Unmarshal([]byte(in[i]), &cmd); err != nil {
			t.Fatal(err)
		}
		f := strings.Split(want[i], "\t")
		b := []byte(cmd)
		score := s.Score(b)
		if got := string(AppendFloat(nil, score)); got != f[0] {
			t.Errorf("line %d %.60q: score %s, reference %s", i+1, cmd, got, f[0])
		}
		if got := strconv.Itoa(Length(b)); got != f[1] {
			t.Errorf("line %d: length %s, reference %s", i+1, got, f[1])
		}
		if got := fmt.Sprint(m.Alert(b, score)); !strings.EqualFold(got, f[3]) {
			t.Errorf("line %d: alert %s, reference %s", i+1, got, f[3])
		}
		var feats map[string]int
		if err := json.Unmarshal([]byte(f[4]), &feats); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, c := range s.Contributions(nil) {
			got[c.Keyword] = c.Count
		}
		if fmt.Sprint(got) != fmt.Sprint(feats) {
			t.Errorf("line %d: features %v, reference %v", i+1, got, feats)
		}
	}
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// TestParityCorpus runs the reference scorer itself over every labelled
// command line in ../shared/corpus/dev and compares, when both are present.
func TestParityCorpus(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared")
	ref := filepath.Join(shared, "reference", "escu", "reference_score.py")
	files, _ := filepath.Glob(filepath.Join(shared, "corpus", "dev", "*.jsonl"))
	if _, err := os.Stat(ref); err != nil || len(files) == 0 {
		t.Skip("../shared (reference scorer and corpus) not present; parity is still checked by TestParity")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed; parity is still checked by TestParity")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	var cmds []string
	var in bytes.Buffer
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var rec struct{ Cmdline string }
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			cmds = append(cmds, rec.Cmdline)
			js, _ := json.Marshal(rec.Cmdline)
			in.Write(append(js, '\n'))
		}
		f.Close()
	}
	cmd := exec.Command("python3", ref, "--json")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(want) != len(cmds) {
		t.Fatalf("reference printed %d scores for %d lines", len(want), len(cmds))
	}
	s := escu(t).NewScorer()
	bad := 0
	for i, c := range cmds {
		if got := string(AppendFloat(nil, s.Score([]byte(c)))); got != want[i] {
			if bad++; bad < 10 {
				t.Errorf("%.80q: %s, reference %s", c, got, want[i])
			}
		}
	}
	t.Logf("%d corpus lines compared with the reference scorer, %d differ", len(cmds), bad)
}

func TestAppendFloatMatchesPythonRepr(t *testing.T) {
	for _, line := range readLines(t, "testdata/repr.txt") {
		hex, want, _ := strings.Cut(line, " ")
		f, err := strconv.ParseFloat(hex, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(AppendFloat(nil, f)); got != want {
			t.Errorf("AppendFloat(%v) = %s, Python repr %s", f, got, want)
		}
	}
	for f, want := range map[float64]string{math.NaN(): "nan", math.Inf(1): "inf", math.Inf(-1): "-inf"} {
		if got := string(AppendFloat(nil, f)); got != want {
			t.Errorf("AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// The weights must pair with the sorted keywords (MLTK's apply order), not
// the stored column order: these are the values docs/escu-model.md §3 lists.
func TestSortedPairing(t *testing.T) {
	m := escu(t)
	for kw, w := range map[string]float64{
		"-name": 0.5577594727472052, "function": 1.271470999191752, "new-object": 3.3806116945806597,
		"system32": -3.724998838781757, "set-mppreference": 0, "http": -0.4854491095056796,
	} {
		i := m.Index([]byte(kw))
		if i < 0 || m.Weights[i] != w {
			t.Errorf("weight of %q: index %d, want %v", kw, i, w)
		}
	}
	if len(m.Keywords) != 36 || m.Intercept != -1.2124304031951825 || m.Threshold != 0.5 || m.MinLength != 200 {
		t.Errorf("model header: %d keywords, intercept %v, threshold %v, min_length %d", len(m.Keywords), m.Intercept, m.Threshold, m.MinLength)
	}
	if m.Index([]byte("https")) != -1 || m.Index([]byte("")) != -1 || m.Index([]byte("set-mppreferencex")) != -1 {
		t.Error("non-keywords found in the table")
	}
}

func TestParseErrors(t *testing.T) {
	const head = "name = \"x\"\ntokenizer = \"escu\"\nintercept = 1.0\n"
	tests := []struct{ name, file, want string }{
		{"syntax", "name = \n", "model bad.model.toml:1: "},
		{"unknown key", head + "thresold = 0.5\n[[weight]]\nkeyword = \"a\"\nvalue = 1.0\n", `model bad.model.toml:4: unknown key "thresold"`},
		{"tokenizer", "name = \"x\"\ntokenizer = \"bpe\"\n[[weight]]\nkeyword = \"a\"\nvalue = 1.0\n", `model bad.model.toml:2: tokenizer "bpe"`},
		{"no weights", head, "no [[weight]] entries"},
		{"two tokens", head + "[[weight]]\nkeyword = \"a b\"\nvalue = 1.0\n", `keyword "a b" is not a single token`},
		{"upper case", head + "[[weight]]\nkeyword = \"Net\"\nvalue = 1.0\n", `keyword "Net" is not a single token`},
		{"duplicate", head + "[[weight]]\nkeyword = \"a\"\nvalue = 1.0\n[[weight]]\nkeyword = \"a\"\nvalue = 2.0\n", `keyword "a" appears twice`},
		{"bits", head + "[[weight]]\nkeyword = \"a\"\nvalue = 1.5\nbits = \"3ff0000000000000\"\n", "value 1.5 has bits 3ff8000000000000, the file says 3ff0000000000000"},
		{"nan", head + "[[weight]]\nkeyword = \"a\"\nvalue = nan\n", "value must be finite"},
		{"no name", "tokenizer = \"escu\"\n[[weight]]\nkeyword = \"a\"\nvalue = 1.0\n", "missing name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.model.toml", []byte(tt.file))
			var me *Error
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want *Error containing %q", err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{"tiny.model.toml": {Data: []byte("name = \"tiny\"\ntokenizer = \"escu\"\nintercept = 0.25\n[[weight]]\nkeyword = \"zz\"\nvalue = 2.0\n[[weight]]\nkeyword = \"aa\"\nvalue = 1.0\n")}}
	m, err := Load(fsys, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.NewScorer().Score([]byte("AA zz Z`Z aa-")); got != 0.25+1+4 {
		t.Errorf("score %v", got)
	}
	for _, name := range []string{"nope", "", "../escu", "a/b"} {
		if _, err := Load(fsys, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Load(%q): %v, want ErrNotFound", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	data, _ := lookups.FS.ReadFile("escu.model.toml")
	f.Add(data)
	f.Add([]byte("name = \"x\"\ntokenizer = \"escu\"\n[[weight]]\nkeyword = \"a\"\nvalue = 1e308\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.model.toml", data)
		if err != nil {
			return
		}
		s := m.NewScorer()
		s.Score(data)
	})
}

func TestScoreAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("skipping: the race detector allocates")
	}
	s := escu(t).NewScorer()
	line := []byte(strings.Repeat("New-Object System.Net.WebClient; ", 10))
	if n := testing.AllocsPerRun(100, func() { s.Score(line) }); n != 0 {
		t.Errorf("Score allocates %v times", n)
	}
}

var sink float64

// BenchmarkScore scores one ~300-character PowerShell line (the parity
// vector from the reference test set).
func BenchmarkScore(b *testing.B) {
	s := escu(b).NewScorer()
	data, err := os.ReadFile("testdata/parity_input.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	var str string
	json.Unmarshal(bytes.SplitN(data, []byte("\n"), 2)[0], &str)
	line := []byte(str)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		sink = s.Score(line)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
