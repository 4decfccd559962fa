package apptest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scorecmdline/src/conf"
)

const appID = "SA-scorecmdline"

// repoRoot is the repository root, three levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from the test's folder: %v", err)
	}
	return root
}

// sharedDir is ../shared next to the repository, or skips the test when it
// is absent (a fresh clone has only the repository).
func sharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: the shared reference folder %s is absent", dir)
	}
	return dir
}

// readConf parses a file of the repository, given relative to its root.
func readConf(t testing.TB, rel string) *conf.File {
	t.Helper()
	f, err := conf.ReadFile(os.DirFS(repoRoot(t)), filepath.ToSlash(rel))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stanza returns the named stanza or fails the test.
func stanza(t testing.TB, f *conf.File, name string) *conf.Stanza {
	t.Helper()
	s := f.Stanza(name)
	if s == nil {
		t.Fatalf("%s has no [%s] stanza", f.Name, name)
	}
	return s
}

// value returns a setting's value or fails the test.
func value(t testing.TB, s *conf.Stanza, key string) string {
	t.Helper()
	v, ok := s.Get(key)
	if !ok {
		t.Fatalf("[%s] lacks %s", s.Name, key)
	}
	return v
}

func appMacros(t testing.TB) conf.Macros {
	t.Helper()
	ms, err := conf.LoadMacros(readConf(t, "default/macros.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// pipeline splits SPL into its commands at the pipes that are outside double
// quotes, backticks (macro calls) and brackets (subsearches), with white
// space collapsed so that layout does not matter. The text before the first
// pipe is the first element, "" for a search that starts with "|".
func pipeline(spl string) []string {
	var stages []string
	inQuote, inTick, depth, start := false, false, 0, 0
	for i := 0; i < len(spl); i++ {
		switch c := spl[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"' && !inTick:
			inQuote = !inQuote
		case inQuote:
		case c == '`':
			inTick = !inTick
		case inTick:
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case c == '|' && depth == 0:
			stages = append(stages, squeeze(spl[start:i]))
			start = i + 1
		}
	}
	return append(stages, squeeze(spl[start:]))
}

// squeeze collapses runs of white space outside double quotes to one space
// and trims the ends.
func squeeze(s string) string {
	var b strings.Builder
	inQuote, space := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !inQuote && (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if inQuote && c == '\\' && i+1 < len(s) {
			b.WriteByte(c)
			i++
			c = s[i]
		} else if c == '"' {
			inQuote = !inQuote
		}
		b.WriteByte(c)
	}
	return b.String()
}

// commandArgs returns the name=value options of an SPL command such as
// `scorecmdline field=process model=escu` (nil, false if stage runs another
// command). Values may be double-quoted.
func commandArgs(stage, command string) (map[string]string, bool) {
	fields := strings.Fields(stage)
	if len(fields) == 0 || fields[0] != command {
		return nil, false
	}
	args := map[string]string{}
	for _, f := range fields[1:] {
		name, val, ok := strings.Cut(f, "=")
		if !ok {
			args[f] = "" // not an option: Decode reports it
			continue
		}
		args[name] = strings.Trim(val, `"`)
	}
	return args, true
}
