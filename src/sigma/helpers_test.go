package sigma

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"scorecmdline/src/event"
)

// sharedDir returns the project's shared data folder, or skips the test.
func sharedDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared data absent (%s): %v", dir, err)
	}
	return dir
}

// ruleDoc wraps a detection section into a process_creation rule.
func ruleDoc(id, detection string) string {
	return "title: t " + id + "\nid: " + id + "\nstatus: test\nlevel: medium\n" +
		"logsource:\n  category: process_creation\n  product: windows\n" +
		"detection:\n" + indent(detection, "  ")
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// loadDocs loads files (name -> YAML) as a pack.
func loadDocs(t testing.TB, opts Options, files map[string]string) (*Ruleset, *Report) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys["pack/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	rs, rep, err := Load(fsys, "pack", opts)
	if err != nil {
		t.Fatal(err)
	}
	return rs, rep
}

// sigmaEvent builds an event from Sigma field names; names without a
// mapping are dropped.
func sigmaEvent(cfg *Config, fields map[string]string) *event.Event {
	ev := &event.Event{}
	for k, v := range fields {
		if f, ok := cfg.Field(k); ok {
			ev.Set(f, []byte(v))
		}
	}
	return ev
}

// readJSONL decodes every line of a JSON Lines file into a new T.
func readJSONL[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ids returns the ids of the rules at idx.
func ids(rs *Ruleset, idx []int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, rs.Rule(i).ID)
	}
	return out
}
