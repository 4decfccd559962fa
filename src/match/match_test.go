package match

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"scorecmdline/src/normalize"
	"scorecmdline/src/rules"
)

// semanticsPack exercises the phrase syntax and every kind of condition.
const semanticsPack = `[pack]
description = "engine semantics"

[[rule]]
name = "gap"
description = "two pieces with arguments between"
any = "net user ... /add"
techniques = ["T1136.001"]
risk = 1

[[rule]]
name = "three"
description = "three pieces, one repeated"
any = "a ... b ... a"
techniques = ["T1059"]
risk = 1

[[rule]]
name = "pipe_piece"
description = "a piece holding a separator"
any = "echo ... | set /p="
techniques = ["T1059"]
risk = 1

[[rule]]
name = "all_none"
description = "all of, none of"
all = ["powershell", "-enc"]
none = ["-noprofile", "x ... y"]
techniques = ["T1059.001"]
risk = 1

[[rule]]
name = "prog"
description = "program only"
process_name = ["powershell.exe", "pwsh"]
techniques = ["T1059.001"]
risk = 1

[[rule]]
name = "prog_and_phrase"
description = "program and phrase"
process_name = "cmd.exe"
any = "whoami"
techniques = ["T1033"]
risk = 1

[[rule]]
name = "parent_only"
description = "parent only"
parent = ["WINWORD.EXE"]
techniques = ["T1204.002"]
risk = 1

[[rule]]
name = "regex_only"
description = "a regex alone"
regex = 'frombase64string\(.{10,}'
techniques = ["T1027"]
risk = 1

[[rule]]
name = "regex_gated"
description = "a regex behind a phrase"
any = "mshta"
regex = 'https?://'
techniques = ["T1218.005"]
risk = 1

[[rule]]
name = "punct"
description = "pieces that start and end with punctuation"
any = ['> \\pipe\', "=x="]
techniques = ["T1559"]
risk = 1
`

func compileString(t testing.TB, name, src string) *Set {
	t.Helper()
	p, err := rules.ParsePack(name+rules.PackSuffix, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	s.Prepare() // tests look at the tables
	return s
}

func TestMatchSemantics(t *testing.T) {
	s := compileString(t, "semantics", semanticsPack)
	m := s.NewMatcher()
	tests := []struct {
		cmdline, parent string
		want            []string
	}{
		{"net user bob pw /add", "", []string{"gap"}},
		{"net user /add", "", []string{"gap"}},
		{"net user bob pw -ADD", "", []string{"gap"}},
		{"net user bob & echo /add", "", nil},
		{"net user bob | x /add", "", nil},
		{"net user bob\n/add", "", nil},
		{"net user bob x/add", "", nil},
		{"net user bob /added", "", nil},
		{"net users bob /add", "", nil},
		{"net user bob 2>&1 /add", "", []string{"gap"}},       // a redirection does not end the command
		{"x & net user bob /add & y", "", []string{"gap"}},    // the second command holds it
		{"net user & net user bob /add", "", []string{"gap"}}, // a later start is tried
		{"a b a", "", []string{"three"}},
		{"a a b", "", nil},
		{"a x b y a", "", []string{"three"}},
		{"a b & a", "", nil},
		{"b a b a", "", []string{"three"}},
		{"echo|set /p=x", "", []string{"pipe_piece"}},
		{"echo hi | set /p=x", "", []string{"pipe_piece"}},
		{"echo hi & x | set /p=x", "", nil},
		{"powershell -enc AAAA", "", []string{"all_none", "prog"}},
		{"powershell -noprofile -enc AAAA", "", []string{"prog"}},
		{"powershell -enc AAAA x 1 y", "", []string{"prog"}},
		{"powershell -enc AAAA x & y", "", []string{"all_none", "prog"}},
		{`"C:\Program Files\PowerShell\7\pwsh.exe" -c 1`, "", []string{"prog"}},
		{"cmd.exe /c whoami", "", []string{"prog_and_phrase"}},
		{"whoami", "", nil},
		{"cmd /c dir", `c:\program files\microsoft office\winword.exe`, []string{"parent_only"}},
		{"cmd /c dir", `"WINWORD"`, []string{"parent_only"}},
		{"cmd /c dir", `winword.exe.lnk`, nil},
		{"x [convert]::FromBase64String('aGVsbG8gd29ybGQ=')", "", []string{"regex_only"}},
		{"mshta http://x/y.hta", "", []string{"regex_gated"}},
		{"mshta vbscript:close()", "", nil},
		{"echo x>\\\\pipe\\a", "", []string{"punct"}},
		{"a=x=b", "", []string{"punct"}},
		{"", "", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, i := range m.Match([]byte(tt.cmdline), []byte(tt.parent)) {
			got = append(got, s.Rules()[i].Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Match(%q, %q) = %q, want %q (normalized %q)", tt.cmdline, tt.parent, got, tt.want, m.Normalized())
		}
		if ref := refNames(s, tt.cmdline, tt.parent); !slices.Equal(ref, tt.want) {
			t.Errorf("reference(%q, %q) = %q, want %q", tt.cmdline, tt.parent, ref, tt.want)
		}
	}
}

// reference is a slow, obvious matcher: every phrase is searched for at
// every offset and chained by trying every combination. The automaton,
// occurrence lists and candidate indexes of Matcher must agree with it.
func reference(s *Set, cmdline, parent []byte) []int {
	var n normalize.Normalizer
	n.Run(cmdline)
	text := n.Out
	folded := make([]byte, len(text))
	for i, c := range text {
		folded[i] = normalize.Fold(c)
	}
	soft := func(p int) bool { return slices.Contains(n.Soft, int32(p)) }
	// separators, found afresh: line breaks and runs of & and | alone
	var seps []int
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			seps = append(seps, i)
			continue
		}
		if strings.IndexByte("&|<>", text[i]) >= 0 && (i == 0 || strings.IndexByte("&|<>", text[i-1]) < 0) {
			j := i
			for j < len(text) && strings.IndexByte("&|<>", text[j]) >= 0 {
				j++
			}
			if !bytes.ContainsAny(text[i:j], "<>") {
				seps = append(seps, i)
			}
		}
	}
	separated := func(a, b int) bool {
		return slices.ContainsFunc(seps, func(p int) bool { return a <= p && p < b })
	}
	occCache := map[string][][2]int{}
	occurrences := func(piece string) [][2]int {
		if out, ok := occCache[piece]; ok {
			return out
		}
		var out [][2]int
		for off := 0; ; {
			i := bytes.Index(folded[off:], []byte(piece))
			if i < 0 {
				break
			}
			st, en := off+i, off+i+len(piece)
			off = st + 1
			if isAlnum(piece[0]) && st > 0 && isAlnum(text[st-1]) && !soft(st) {
				continue
			}
			if isAlnum(piece[len(piece)-1]) && en < len(text) && isAlnum(text[en]) && !soft(en) {
				continue
			}
			out = append(out, [2]int{st, en})
		}
		occCache[piece] = out
		return out
	}
	var chain func(pieces []string, after int) bool // after < 0: first piece
	chain = func(pieces []string, after int) bool {
		if len(pieces) == 0 {
			return true
		}
		for _, o := range occurrences(pieces[0]) {
			if after >= 0 && (o[0] <= after || text[o[0]-1] != ' ' || separated(after, o[0])) {
				continue
			}
			if len(pieces) > 1 && (o[1] >= len(text) || text[o[1]] != ' ') {
				continue
			}
			if chain(pieces[1:], o[1]) {
				return true
			}
		}
		return false
	}
	has := func(p string) bool {
		ph, ok := refPhrases[p]
		if !ok {
			var err error
			if ph, err = rules.ParsePhrase(p); err != nil {
				panic(err)
			}
			refPhrases[p] = ph
		}
		return chain(ph.Pieces, -1)
	}
	prog := string(normalize.AppendProgram(nil, cmdline))
	par := ""
	if len(parent) > 0 {
		par = string(normalize.AppendName(nil, parent))
	}
	inNames := func(list []string, name string) bool {
		return slices.ContainsFunc(list, func(s string) bool { return normalize.Name(s) == name })
	}
	var hits []int
	for i, r := range s.Rules() {
		ok := len(r.Any) == 0 || slices.ContainsFunc(r.Any, has)
		ok = ok && !slices.ContainsFunc(r.All, func(p string) bool { return !has(p) })
		ok = ok && !slices.ContainsFunc(r.None, has)
		ok = ok && (len(r.ProcessName) == 0 || inNames(r.ProcessName, prog))
		ok = ok && (len(r.Parent) == 0 || inNames(r.Parent, par))
		if ok && r.Regex != "" {
			re, seen := refRegexps[r.Regex]
			if !seen {
				re = regexp.MustCompile(r.Regex)
				refRegexps[r.Regex] = re
			}
			ok = re.Match(text)
		}
		if ok {
			hits = append(hits, i)
		}
	}
	return hits
}

// Caches of the reference, which is not used concurrently.
var (
	refPhrases = map[string]rules.Phrase{}
	refRegexps = map[string]*regexp.Regexp{}
)

func refNames(s *Set, cmdline, parent string) []string {
	var names []string
	for _, i := range reference(s, []byte(cmdline), []byte(parent)) {
		names = append(names, s.Rules()[i].Name)
	}
	return names
}

// TestMatchReference compares Matcher and reference on the corpus (when
// ../shared is there) and on the command lines of this package's tests.
func TestMatchReference(t *testing.T) {
	sets := map[string]*Set{"sentinel": sentinel(t), "semantics": compileString(t, "semantics", semanticsPack)}
	var lines []string
	for _, tt := range sentinelTests {
		lines = append(lines, tt.hit, tt.miss)
	}
	lines = append(lines, normalizeLines...)
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "dev", "*.jsonl"))
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var rec struct{ Cmdline string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && len(rec.Cmdline) < 4096 {
				lines = append(lines, rec.Cmdline)
			}
		}
		f.Close()
	}
	if len(files) == 0 {
		t.Log("no corpus in ../shared/corpus/dev: comparing on the built-in lines only")
	}
	for name, s := range sets {
		m := s.NewMatcher()
		for _, l := range lines {
			got := m.Match([]byte(l), []byte("winword.exe"))
			if want := reference(s, []byte(l), []byte("winword.exe")); !slices.Equal(got, want) {
				t.Errorf("%s: Match(%q) = %v, reference %v", name, l, got, want)
			}
		}
		t.Logf("%s: %d lines agree", name, len(lines))
	}
}

func FuzzMatch(f *testing.F) {
	for _, tt := range sentinelTests {
		f.Add(tt.hit, tt.hitParent)
	}
	for _, l := range []string{"a b a", "net user x & y /add", "echo|set /p=x", "powershell -enc x", "c\"er\"tutil -urlcache", "mshta http://x"} {
		f.Add(l, "winword.exe")
	}
	sets := []*Set{sentinel(f), compileString(f, "semantics", semanticsPack)}
	matchers := []*Matcher{sets[0].NewMatcher(), sets[1].NewMatcher()}
	f.Fuzz(func(t *testing.T, cmdline, parent string) {
		if len(cmdline) > 512 {
			return // the reference is quadratic and more
		}
		for i, s := range sets {
			m := matchers[i]
			got := m.Match([]byte(cmdline), []byte(parent))
			if want := reference(s, []byte(cmdline), []byte(parent)); !slices.Equal(got, want) {
				t.Fatalf("Match(%q, %q) = %v, reference %v", cmdline, parent, got, want)
			}
			if norm := m.Normalized(); !bytes.Equal(normalize.Append(nil, norm), norm) {
				t.Fatalf("Normalized() = %q is not normal", norm)
			}
		}
	})
}

// TestMatchAllocs: a warmed-up Matcher does not allocate.
func TestMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	sets := map[string]*Set{"sentinel": sentinel(t), "semantics": compileString(t, "semantics", semanticsPack)}
	lines := [][]byte{[]byte(benchLine), []byte("cmd.exe /c certutil -urlcache -split -f http://127.0.0.1:8080/x.exe x.exe"),
		[]byte("net user bob pw /add & net localgroup administrators bob /add"), []byte(strings.Repeat("a b ", 500)),
		[]byte("powershell -enc x [convert]::frombase64string('aGVsbG8gd29ybGQ=') mshta http://x"), nil}
	parent := []byte(winword)
	for name, s := range sets {
		m := s.NewMatcher()
		for _, l := range lines {
			m.Match(l, parent) // warm up
		}
		allocs := testing.AllocsPerRun(100, func() {
			for _, l := range lines {
				m.Match(l, parent)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Match allocates %v times per run", name, allocs)
		}
	}
}

// TestMatchGenerationWrap: the per-call marks survive their counter wrapping.
func TestMatchGenerationWrap(t *testing.T) {
	s := sentinel(t)
	m := s.NewMatcher()
	hit := []byte("net user bob pw /add")
	want := fmt.Sprint(m.Match(hit, nil))
	m.gen = ^uint32(0) - 1
	for range 4 {
		if got := fmt.Sprint(m.Match(hit, nil)); got != want {
			t.Fatalf("after wrap Match = %s, want %s", got, want)
		}
		if got := m.Match([]byte("vssadmin list shadows"), nil); len(got) != 0 {
			t.Fatalf("after wrap a stale mark matched: %v", got)
		}
	}
}

// TestMatchHuge: a 1 MiB line of phrase pieces is matched in linear time.
func TestMatchHuge(t *testing.T) {
	s := sentinel(t)
	m := s.NewMatcher()
	line := []byte(strings.Repeat("net user certutil ", 1<<20/18))
	if got := m.Match(line, nil); len(got) != 0 {
		t.Errorf("Match = %v", got)
	}
	line = append(line, " /add"...)
	if got := m.Match(line, nil); len(got) != 1 || s.Rules()[got[0]].Name != "net_user_add" {
		t.Errorf("Match = %v", got)
	}
}

// TestMatchConcurrent: one Set, a Matcher per goroutine (run with -race).
func TestMatchConcurrent(t *testing.T) {
	s := sentinel(t)
	var lines [][]byte
	var want []string
	m := s.NewMatcher()
	for _, tt := range sentinelTests {
		for _, l := range []string{tt.hit, tt.miss} {
			lines = append(lines, []byte(l))
			want = append(want, fmt.Sprint(m.Match([]byte(l), []byte(winword))))
		}
	}
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			m := s.NewMatcher()
			for range 50 {
				for i, l := range lines {
					if got := fmt.Sprint(m.Match(l, []byte(winword))); got != want[i] {
						errs <- fmt.Sprintf("Match(%q) = %s, want %s", l, got, want[i])
						return
					}
				}
			}
			errs <- ""
		}()
	}
	for range 4 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
