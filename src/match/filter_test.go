package match

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

	"scorecmdline/src/normalize"
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

// normalizeLines are the inputs of the normalize package's table test:
// every case normalization treats specially.
var normalizeLines = []string{
	"",
	"   ",
	"CertUtil -URLCache",
	"cer^tu^til",
	`c"er"tutil`,
	`"C:\Program Files\x.exe" -a`,
	"a    b\t\tc",
	"  lead and trail  ",
	"a \r\n b",
	"a\n\n\nb",
	"echo|set /p=x",
	"a&&b||c",
	"cmd > nul 2>&1",
	"a ^| b",
	"|a",
	"a|",
	"a |\nb",
	`C:\Windows\System32\certutil.exe -f`,
	"x.exe.exe y",
	"a.EXE|b",
	`\.exe .exe c:.exe`,
	"x.exe\"x",
	"x.ex^e",
	"\u2013a \u2014b \u2010c \u2011d \u2012e \u2015f \u2212g",
	"\u2016 \u2209",
	"\xe2^\x80\x93x",
	"\xff\x00Ä",
	"%COMSPEC%",
}

// testLines are the lines the filter and normalizer tests run on.
func testLines(t testing.TB, generated int) [][]byte {
	lines := corpusLines(t)
	for _, tt := range sentinelTests {
		lines = append(lines, []byte(tt.hit), []byte(tt.miss))
	}
	for _, l := range normalizeLines {
		lines = append(lines, []byte(l))
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
// plain scan finds, the candidates are the phrases whose tokens were all
// found, each once, a scan that stops early stops on a possible phrase, a
// phrase that matches needs only tokens found, and a line the filter and
// verify rule out matches no phrase.
func checkFilter(t *testing.T, name string, s *Set, line []byte) {
	f := s.filter
	if f == nil {
		return
	}
	buf := append(append([]byte(nil), line...), fillerPad[:]...)
	var all, plain, early tokenSeen
	if f.seen(&all, buf, len(line), false) {
		t.Fatalf("%s: %q: the scan stopped early without being asked to", name, line)
	}
	plain.reset(f.ntok + 1)
	f.scan(&plain, f.start[sideAny], line, true)
	gaveUp := all.has(int32(f.ntok))
	a, p := slices.Sorted(slices.Values(all.list)), slices.Sorted(slices.Values(plain.list))
	if gaveUp != plain.has(int32(f.ntok)) || !gaveUp && !slices.Equal(a, p) {
		t.Fatalf("%s: %q: lock step found tokens %v, a plain scan %v", name, line, a, p) // giving up stands for all
	}
	var complete []int32
	for ph := range f.need {
		if f.complete(&all, int32(ph)) {
			complete = append(complete, int32(ph))
		}
	}
	if !gaveUp {
		if c := slices.Sorted(slices.Values(f.candidates(&all, nil))); !slices.Equal(c, complete) {
			t.Fatalf("%s: %q: candidates %v, phrases with all tokens found %v", name, line, c, complete)
		}
	}
	if may := f.mayMatch(new(tokenSeen), buf, len(line)); may != (gaveUp || len(complete) > 0) {
		t.Fatalf("%s: %q: mayMatch %v, tokens %v say %v", name, line, may, all.list, !may)
	}
	if f.seen(&early, buf, len(line), true) {
		for _, v := range early.list {
			if !all.has(v) {
				t.Fatalf("%s: %q: the early stop found token %d, the whole scan not", name, line, v)
			}
		}
		if !f.completes(&early, 0) {
			t.Fatalf("%s: %q: the scan stopped early on tokens %v, which complete no phrase", name, line, early.list)
		}
	} else if e := slices.Sorted(slices.Values(early.list)); !slices.Equal(e, a) {
		t.Fatalf("%s: %q: the scan that may stop found %v, the other %v", name, line, e, a)
	}
	unf := *s
	unf.filter = nil
	m := unf.NewMatcher()
	m.Match(line, nil)
	mf := s.NewMatcher()
	mf.Match(line, nil)
	for ph := range s.phrases {
		if !m.phrase(int32(ph)) {
			continue
		}
		if !gaveUp && !f.complete(&all, int32(ph)) {
			t.Fatalf("%s: %q: phrase %d matches, but the filter found tokens %v of %v", name, line, ph, all.list, f.need[ph])
		}
		if !mf.mayMatch() {
			t.Fatalf("%s: %q: phrase %d matches, but the filter and verify rule the line out (candidates %v)", name, line, ph, mf.cands)
		}
	}
}

// TestFilterSound runs checkFilter on the corpus, the tests' lines and
// generated ones.
func TestFilterSound(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	lines := testLines(t, n)
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
		if s.filter.mayMatch(new(tokenSeen), buf, len(l)) {
			t.Errorf("the filter lets through %q", l)
		}
	}
	for _, tt := range sentinelTests {
		buf := append([]byte(tt.hit), fillerPad[:]...)
		if tt.hitParent == "" && !s.filter.mayMatch(new(tokenSeen), buf, len(tt.hit)) {
			t.Errorf("the filter rules out %q, which %s matches", tt.hit, tt.rule)
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
			if got, want := m.Normalized(), normalize.Append(nil, l); !bytes.Equal(got, want) {
				t.Fatalf("%s: Normalized() after Match(%q) = %q, want %q", name, l, got, want)
			}
		}
	}
}
