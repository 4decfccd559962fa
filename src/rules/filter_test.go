package rules

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// contextsPack has phrases whose words stand next to blanks, dashes, dots,
// digits and ".exe", for the filter's sides and ".exe" handling.
const contextsPack = `[pack]
description = "filter contexts"

[[rule]]
name = "blank_both"
description = "words with blanks on both sides"
any = ["net1 user ... /add", "foo bar baz"]
techniques = ["T1059"]
risk = 1

[[rule]]
name = "dashes"
description = "a word after a dash, words joined by dashes"
any = ["tool ... -opt", "ab-cd", "x ... -y"]
techniques = ["T1059"]
risk = 1

[[rule]]
name = "dots"
description = "dots and .exe inside a piece"
any = ["a.b c", "foo.exe.bar", "c:\\w ... zed"]
techniques = ["T1059"]
risk = 1

[[rule]]
name = "ops"
description = "operators next to words"
any = ["echo ... | set /p=", "q=r", "2>&1 end"]
techniques = ["T1059"]
risk = 1

[[rule]]
name = "short"
description = "short words only"
any = ["e x", "ex ... 9"]
techniques = ["T1059"]
risk = 1
`

// filterSets are the sets the filter is tested on.
func filterSets(t testing.TB) map[string]*Set {
	return map[string]*Set{
		"sentinel":  sentinel(t),
		"semantics": compileString(t, "semantics", semanticsPack),
		"contexts":  compileString(t, "contexts", contextsPack),
	}
}

// fragments are what generated lines are made of: the words of the packs
// above in several cases, and everything normalization and the filter treat
// specially.
var fragments = strings.Fields(`certutil CertUtil -urlcache /urlcache urlcache -decode net NET net1 user USER
	/add -add add localgroup administrators wmic process call create shadowcopy delete vssadmin shadows
	bcdedit /set icacls /grant takeown /f echo set /p= for ping -n 1 -w \\pipe\ \\.\pipe\ reg schtasks
	/create bitsadmin /transfer tool -opt ab cd foo bar baz a.b c foo.exe.bar c:\w zed q=r 2>&1 end e x ex 9
	.exe .EXE .ex exe . .. - / : \ = , ; % $ ( ) ' 0 7 z Q xyz`)

// genLine makes a line of random fragments joined by random separators.
func genLine(r *rand.Rand) []byte {
	seps := []string{" ", " ", " ", "", "  ", "\t", "\n", "\r\n", "&", " && ", "|", " | ", "<", ">", "^", `"`, `" "`,
		"\u2013", "\u2212", "\xe2^\x80\x93", "-", "/", ".", ":", "\\", "=", "\x00", "\xff"}
	var b []byte
	n := r.IntN(60)
	for range n {
		b = append(b, fragments[r.IntN(len(fragments))]...)
		b = append(b, seps[r.IntN(len(seps))]...)
		if r.IntN(8) == 0 {
			b = append(b, "^\""[r.IntN(2)]) // inside a word
		}
	}
	return b
}

// corpusLines returns the command lines of ../shared/corpus/dev, if there.
func corpusLines(t testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "dev", "*.jsonl"))
	if len(files) == 0 {
		t.Log("no corpus in ../shared/corpus/dev: generated and built-in lines only")
	}
	var lines [][]byte
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var rec struct{ Cmdline string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				lines = append(lines, []byte(rec.Cmdline))
			}
		}
		f.Close()
	}
	return lines
}

// testLines are the lines the filter and normalizer tests run on.
func testLines(t testing.TB, generated int) [][]byte {
	lines := corpusLines(t)
	for _, tt := range sentinelTests {
		lines = append(lines, []byte(tt.hit), []byte(tt.miss))
	}
	for _, tt := range normalizeTests {
		lines = append(lines, []byte(tt.in))
	}
	lines = append(lines, []byte(benchLine), []byte(chromeLine),
		// long lines with few or no separators, where the filter cannot cut
		[]byte(strings.Repeat("x", 300)), []byte(strings.Repeat("certutil", 40)),
		[]byte("net user "+strings.Repeat("a^", 100)+" /add"), []byte(strings.Repeat("b", 200)+" certutil -urlcache"),
		[]byte("certutil -urlcache "+strings.Repeat("c", 200)), []byte(strings.Repeat("-add ", 60)))
	r := rand.New(rand.NewPCG(1, 2))
	for range generated {
		lines = append(lines, genLine(r))
	}
	return lines
}

// checkFilter checks the filter of s on one line: the lock step finds what a
// plain scan finds, every phrase that matches needs only tokens found, and
// a line ruled out matches no phrase.
func checkFilter(t *testing.T, name string, s *Set, line []byte) {
	f := s.filter
	if f == nil {
		return
	}
	buf := append(append([]byte(nil), line...), fillerPad[:]...)
	full := *f
	full.byBit = [64][]uint64{} // no stopping early
	all := full.seen(buf, len(line))
	if plain := f.scan(f.start[sideAny], line, true); plain != all {
		t.Fatalf("%s: %q: lock step found %x, a plain scan %x", name, line, all, plain)
	}
	may := f.mayMatch(buf, len(line))
	if may != f.possible(all) {
		t.Fatalf("%s: %q: mayMatch %v, tokens %x say %v", name, line, may, all, f.possible(all))
	}
	unf := *s
	unf.filter = nil
	m := unf.NewMatcher()
	m.Match(line, nil)
	for ph := range s.phrases {
		if m.phrase(int32(ph)) && f.phraseMask[ph]&^all != 0 {
			t.Fatalf("%s: %q: phrase %d matches, but the filter found tokens %x of %x", name, line, ph, all, f.phraseMask[ph])
		}
	}
}

// TestFilterSound runs checkFilter on the corpus, the tests' lines and
// generated ones.
func TestFilterSound(t *testing.T) {
	lines := testLines(t, 20000)
	for name, s := range filterSets(t) {
		if s.filter == nil {
			t.Fatalf("%s: no filter", name)
		}
		for _, l := range lines {
			checkFilter(t, name, s, l)
		}
	}
}

func FuzzFilter(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		f.Add(genLine(r))
	}
	f.Add([]byte(benchLine))
	f.Add([]byte(`cmd /c c"er"tu^til -url^cache x^certutil -urlcache net.exe user x /add`))
	sets := filterSets(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		for name, s := range sets {
			checkFilter(t, name, s, line)
		}
	})
}

// chromeLine is a benign command line of the common kind: a browser child
// process with long switches.
const chromeLine = `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --field-trial-handle=1712,i,12207845962436471823,4815162342108,262144 --lang=en-US --device-scale-factor=1 --num-raster-threads=4 --renderer-client-id=7 --launch-time-ticks=5236123 --mojo-platform-channel-handle=3412 /prefetch:1`

// TestFilterRejects: the filter does its job on ordinary lines, and lets
// through what the pack matches.
func TestFilterRejects(t *testing.T) {
	s := sentinel(t)
	for _, l := range []string{benchLine, chromeLine,
		`C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`,
		`"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE" /n "C:\Users\bob\Documents\report.docx" /o ""`,
		`powershell.exe -NoProfile -Command "$c = New-Object System.Net.WebClient; $c.Headers.Add('User-Agent','x')"`,
	} {
		buf := append([]byte(l), fillerPad[:]...)
		if s.filter.mayMatch(buf, len(l)) {
			t.Errorf("the filter lets through %q", l)
		}
	}
	for _, tt := range sentinelTests {
		buf := append([]byte(tt.hit), fillerPad[:]...)
		if tt.hitParent == "" && !s.filter.mayMatch(buf, len(tt.hit)) {
			t.Errorf("the filter rules out %q, which %s matches", tt.hit, tt.rule)
		}
	}
}

// TestNormalizeRef compares the normalizer with refNormalizer, alone and
// after a prefix.
func TestNormalizeRef(t *testing.T) {
	for _, l := range testLines(t, 20000) {
		checkNormalize(t, l)
	}
}

func FuzzNormalizeRef(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		f.Add(genLine(r))
	}
	for _, tt := range normalizeTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(checkNormalize)
}

func checkNormalize(t *testing.T, in []byte) {
	for _, pre := range []string{"", "pre: "} {
		n := normalizer{track: true, out: []byte(pre)}
		ref := refNormalizer{track: true, out: []byte(pre)}
		n.run(in)
		ref.run(in)
		if !bytes.Equal(n.out, ref.out) || !slices.Equal(n.soft, ref.soft) || !slices.Equal(n.seps, ref.seps) {
			t.Fatalf("normalize(%q) = %q soft %v seps %v, want %q soft %v seps %v",
				in, n.out, n.soft, n.seps, ref.out, ref.soft, ref.seps)
		}
	}
}

// TestMatchLazyNormalized: Normalized gives the line of the last Match
// whether or not matching needed it, and does not read the caller's buffer
// after Match.
func TestMatchLazyNormalized(t *testing.T) {
	for name, s := range filterSets(t) {
		m := s.NewMatcher()
		for _, l := range testLines(t, 200) {
			buf := append([]byte(nil), l...)
			m.Match(buf, nil)
			clear(buf)
			if got, want := m.Normalized(), Normalize(nil, l); !bytes.Equal(got, want) {
				t.Fatalf("%s: Normalized() after Match(%q) = %q, want %q", name, l, got, want)
			}
		}
	}
}
