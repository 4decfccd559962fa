package deobfuscate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// corpusDir finds the shared dev corpus: ../shared next to the repository
// root, walking up from the package directory.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(".")
	for {
		p := filepath.Join(dir, "..", "shared", "corpus", "dev")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Skip("shared corpus (../shared/corpus/dev next to the repository) not found")
		}
		dir = up
	}
}

type corpusRow struct {
	Cmdline string `json:"cmdline"`
	Label   string `json:"label"`
	Source  string `json:"source"`
}

func readRows(t *testing.T, path string) []corpusRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []corpusRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var r corpusRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// dosPayloads are the payload commands of Invoke-DOSfuscation's STATIC
// samples. The rows carry no payload field, so the expected payload is
// derived this way: the tool's samples hide these short commands (the ones
// docs/deobfuscation.md names, net user, netstat -ano, dir
// c:\windows\system32\calc.exe and echo, plus the sample files' own variants:
// a ca*c.exe wildcard, notepad.exe and net.exe listings, echoing %TEMP%, and
// Write-Host/Write-Output text). A sample counts as recovered when its
// deobfuscated text, read as the rules read it (lower case, no ^ or quotes,
// blanks collapsed), holds one of them and the raw sample, read the same
// way, does not: the stage, not the reading, revealed it.
var dosPayloads = regexp.MustCompile(`net user|netstat -ano|dir c:\\windows\\system32\\(calc|ca\*c|notepad|net)\.exe|` +
	`echo (%temp%|c:\\users\\user\\appdata\\local\\temp)|write-(host|output) `)

var readAsRules = strings.NewReplacer("^", "", `\"`, "", `"`, "", "\t", " ")

func rulesView(s string) string {
	s = strings.ToLower(readAsRules.Replace(s))
	return strings.Join(strings.Fields(s), " ")
}

func TestDOSfuscationCorpus(t *testing.T) {
	rows := readRows(t, filepath.Join(corpusDir(t), "dosfuscation.jsonl"))
	// Floors per family, a little below what the stage reaches, so that a
	// regression fails.
	floors := map[string]float64{
		"Out-DosConcatenatedCommand": 0.80,
		"Out-DosReversedCommand":     0.97,
		"Out-DosFORcodedCommand":     0.97,
		"Out-DosFINcodedCommand":     0.80,
	}
	type stat struct{ n, ok, visible int }
	stats := map[string]*stat{}
	causes := map[string]int{}
	var d Deobfuscator
	for _, r := range rows {
		fam := strings.TrimSuffix(r.Source[strings.LastIndexByte(r.Source, '_')+1:], ".txt")
		st := stats[fam]
		if st == nil {
			st = &stat{}
			stats[fam] = st
		}
		st.n++
		if dosPayloads.MatchString(rulesView(r.Cmdline)) {
			st.visible++ // not counted: nothing to recover
			continue
		}
		res := d.Run([]byte(r.Cmdline))
		if dosPayloads.MatchString(rulesView(string(res.Text))) {
			st.ok++
			continue
		}
		causes[failureCause(res)]++
	}
	var fams []string
	for f := range stats {
		fams = append(fams, f)
	}
	sort.Strings(fams)
	t.Logf("%-28s %6s %9s %8s", "family", "rows", "recovered", "rate")
	for _, f := range fams {
		st := stats[f]
		rate := float64(st.ok) / float64(st.n-st.visible)
		t.Logf("%-28s %6d %9d %7.1f%% (payload visible before: %d)", f, st.n, st.ok, 100*rate, st.visible)
		if floor, ok := floors[f]; !ok {
			t.Errorf("unknown family %q", f)
		} else if rate < floor {
			t.Errorf("%s: recovery %.3f below floor %.2f", f, rate, floor)
		}
	}
	var cs []string
	for c, n := range causes {
		cs = append(cs, fmt.Sprintf("%5d %s", n, c))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(cs)))
	t.Logf("failures by cause:\n%s", strings.Join(cs, "\n"))
}

// failureCause names why a sample's payload was not recovered.
func failureCause(r *Result) string {
	switch {
	case r.Techniques&Limits != 0:
		return "limit: " + (r.Techniques & Limits).String()
	case r.Techniques.Has(ForFUnresolved):
		return "for /f over an unknown command"
	case r.Layers == 0:
		return "nothing undone"
	case strings.Contains(strings.ToLower(string(r.Text)), "-f'") || strings.Contains(string(r.Text), "{0}"):
		return "payload is itself obfuscated PowerShell (format, -join) split by cmd parsing"
	}
	return "other (text differs from every known payload)"
}

// TestBenignCorpus runs the benign dev files: ordinary lines must rarely be
// flagged and more rarely rewritten.
func TestBenignCorpus(t *testing.T) {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	var n, flagged, changed, neutralOnly int
	byTech := map[string]int{}
	var d Deobfuscator
	for _, f := range files {
		for _, r := range readRows(t, f) {
			if r.Label != "benign" {
				continue
			}
			n++
			res := d.Run([]byte(r.Cmdline))
			if res.Techniques&^Neutral != 0 {
				flagged++
				for _, name := range (res.Techniques &^ Neutral).AppendNames(nil) {
					byTech[name]++
				}
			} else if res.Techniques != 0 {
				neutralOnly++
			}
			if rulesView(string(res.Text)) != rulesView(r.Cmdline) {
				changed++
			}
		}
	}
	if n == 0 {
		t.Skip("no benign rows")
	}
	t.Logf("benign rows %d: flagged %d (%.2f%%), text changed materially %d (%.2f%%), neutral only %d",
		n, flagged, 100*float64(flagged)/float64(n), changed, 100*float64(changed)/float64(n), neutralOnly)
	t.Logf("flagged by technique: %v", byTech)
	if float64(flagged)/float64(n) > 0.03 {
		t.Errorf("%.2f%% of benign lines flagged, ceiling 3%%", 100*float64(flagged)/float64(n))
	}
	if float64(changed)/float64(n) > 0.02 {
		t.Errorf("%.2f%% of benign lines changed, ceiling 2%%", 100*float64(changed)/float64(n))
	}
}
