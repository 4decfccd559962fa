package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scorecmdline/src/internal/golden"
)

// runMain runs Main in this process with the given stdin.
func runMain(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Version: "1.2.3"})
	return out.String(), errb.String(), code
}

// checkGolden compares got with testdata/<name>.golden.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	golden.Check(t, path, []byte(got))
}

func TestScoreGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"score_lines_csv", []string{"score", "testdata/sample_cmdlines.txt"}},
		{"score_lines_json_explain", []string{"score", "--format", "json", "--explain", "testdata/sample_cmdlines.txt"}},
		{"score_jsonl_rules_only", []string{"score", "--model", "none", "testdata/labelled.jsonl"}},
		{"score_csv_passthrough", []string{"score", "--rules", "none", "--prefix", "x_", "testdata/processes.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := runMain(t, "", tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			checkGolden(t, tt.name, out)
		})
	}
}

func TestScoreStdinAndErrors(t *testing.T) {
	out, _, code := runMain(t, "net user bob pw /add\r\n", "score", "--format", "json")
	var rec map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rec) != nil || rec["user_creation"] != 1.0 || rec["cmdline"] != "net user bob pw /add" {
		t.Errorf("stdin: exit %d, %s", code, out)
	}
	// A broken JSON line is reported with file and line; the others are scored.
	out, stderr, code := runMain(t, "{\"cmdline\":\"a\"}\n{oops\n{\"cmdline\":\"b\"}\n", "score", "--input", "jsonl")
	if code != 1 || !strings.Contains(stderr, "-:2: invalid JSON") || strings.Count(out, "\n") != 3 {
		t.Errorf("bad line: exit %d, stderr %q, out %q", code, stderr, out)
	}
	for _, args := range [][]string{
		{"score", "--model", "nope"}, {"score", "--format", "xml"}, {"score", "--bogus"}, {"nonsense"},
	} {
		if _, stderr, code := runMain(t, "", args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if _, _, code := runMain(t, "", "score", "no/such/file"); code != 1 {
		t.Errorf("missing file: exit %d", code)
	}
}

func TestVersionAndSniff(t *testing.T) {
	if out, _, code := runMain(t, "", "version"); out != "scorecmdline 1.2.3\n" || code != 0 {
		t.Errorf("version: %q %d", out, code)
	}
	if out, stderr, code := runMain(t, "hello"); code != 2 || out != "" || !strings.Contains(stderr, "neither") {
		t.Errorf("unknown stdin: %q %q %d", out, stderr, code)
	}
	if out, _, code := runMain(t, ""); code != 0 || out != "" {
		t.Errorf("empty stdin: %q %d", out, code)
	}
	for in, want := range map[string]face{
		"chunked 1.0,2,0\n{}": faceSearch, "<input>": faceModinput, "\ufeff<input>": faceModinput,
		"\xff\xfe<\x00": faceModinput, "  \n<input>": faceModinput, "{": faceUnknown, "": faceEmpty,
	} {
		if got := sniff(bufioReader(in)); got != want {
			t.Errorf("sniff(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestEval checks eval's counts on a fixture whose answers are known: rules
// catch certutil and vssadmin (with a wscript parent), the ESCU model catches
// the PowerShell loader, nothing catches whoami; reg add fires on a benign line.
func TestEval(t *testing.T) {
	out, stderr, code := runMain(t, "", "eval", "--json", "--model", "escu", "testdata/labelled.jsonl")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	rows := map[string]evalRow{}
	for _, r := range rep.Rows {
		rows[r.Detector+" "+r.File] = r
	}
	if len(rep.Rows) != 8 {
		t.Fatalf("%d rows, want 4 detectors × (1 file + overall): %+v", len(rep.Rows), rep.Rows)
	}
	if o := rows["obfuscation overall"]; o.Alerts != 0 || o.Rows != 8 {
		t.Errorf("obfuscation %+v: no line of the fixture is obfuscated", o)
	}
	m, p, c := rows["model=escu overall"], rows["rules=sentinel_cmd overall"], rows["model=escu rules=sentinel_cmd overall"]
	if m.Rows != 8 || m.Malicious != 4 || m.Benign != 4 {
		t.Fatalf("counts %+v", m)
	}
	if m.Alerts != 1 || m.TP != 1 || *m.TPR != 0.25 || *m.FPR != 0 {
		t.Errorf("model %+v", m)
	}
	if p.Alerts != 3 || p.TP != 2 || p.FP != 1 || *p.TPR != 0.5 || *p.FPR != 0.25 || p.AUC != nil {
		t.Errorf("pack %+v", p)
	}
	if c.TP != 3 || c.FP != 1 {
		t.Errorf("combined %+v", c)
	}
	// Every benign line and two malicious ones score the bare intercept; the
	// loader scores above it and certutil (http: -0.49) below: AUC
	// (0 + 0.5 + 1 + 0.5) / 4, and at 1% FPR only the loader passes.
	if m.AUC == nil || *m.AUC != 0.5 || m.TPRAt1 == nil || *m.TPRAt1 != 0.25 {
		t.Errorf("AUC %v TPR@1%%FPR %v", m.AUC, m.TPRAt1)
	}
	table, _, _ := runMain(t, "", "eval", "--model", "escu", "--rules", "sentinel_cmd", "--by-level", "testdata/labelled.jsonl")
	checkGolden(t, "eval_table", table)
}

// A model given as a file path is measured from that file.
func TestEvalModelFile(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("../../lookups/escu.model.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mine.model.toml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runMain(t, "", "eval", "--json", "--rules", "none", "--model", filepath.Join(dir, "mine.model.toml"), "testdata/labelled.jsonl")
	if code != 0 || !strings.Contains(out, `"detector": "model=mine"`) {
		t.Errorf("exit %d, stderr %s, out %s", code, stderr, out)
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "512MiB": 512 << 20, "2GiB": 2 << 30, "64k": 64 << 10, "3G": 3 << 30, "10b": 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "1TiB", "MiB", "1.5GiB", "99999999999999GiB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

// The search face with a smaller chunk limit refuses a larger chunk with a
// message that names the limit's chunk and offset.
func TestSearchLimits(t *testing.T) {
	stream := getinfo() + execute(true, "process\n"+strings.Repeat("x", 2000)+"\n")
	out, stderr, code := runMain(t, stream, "search", "--max-chunk-size=1KiB")
	if code != 1 || !strings.Contains(out, "ERROR") || !strings.Contains(stderr, "chunk 2") {
		t.Errorf("exit %d, out %q, stderr %q", code, out, stderr)
	}
	out, stderr, code = runMain(t, stream, "search", "--max-field-size=100")
	if code != 1 || !strings.Contains(out, "ERROR") {
		t.Errorf("field limit: exit %d, out %q, stderr %q", code, out, stderr)
	}
	if _, _, code := runMain(t, stream, "search", "--max-chunk-size=lots"); code != 2 {
		t.Errorf("bad size accepted: exit %d", code)
	}
	out, _, code = runMain(t, stream, "search", "--workers=1")
	if code != 0 || !strings.Contains(out, `{"finished":true}`) {
		t.Errorf("workers=1: exit %d %q", code, out)
	}
}
