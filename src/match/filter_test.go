package match

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"scorecmdline/src/internal/testlines"
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
	lines := testlines.Corpus(t)
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
		lines = append(lines, testlines.Gen(r))
	}
	return lines
}

// checkFilter checks the filter of s on one line: unless it gives up, it
// finds every token that stands in the normalized line (refTokens), the
// candidates are the phrases whose tokens were all found, each once, a
// phrase that matches needs only tokens found, and a line the filter and
// verify rule out matches no phrase.
func checkFilter(t *testing.T, name string, s *Set, line []byte) {
	f := s.filter
	if f == nil {
		return
	}
	buf := append(append([]byte(nil), line...), fillerPad[:]...)
	var all tokenSeen
	f.seen(&all, buf, len(line))
	gaveUp := all.has(int32(f.ntok))
	if !gaveUp {
		for _, v := range refTokens(f, line) {
			if !all.has(v) {
				t.Fatalf("%s: %q: token %d %+v stands in the normalized line %q, the filter found %v",
					name, line, v, f.tokens[v], normalize.Append(nil, line), all.list)
			}
		}
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

// refTokens returns, the slow and obvious way, the tokens of f that stand
// in the normalized line: the word as a whole word (bounded by a byte
// other than a letter or digit, a removed ^ or ", or an end), after a space
// or a dash when its left side asks for one, before a space when its right
// side does.
func refTokens(f *wordFilter, line []byte) []int32 {
	var n normalize.Normalizer
	n.Run(line)
	text := slices.Clone(n.Out)
	for i, c := range text {
		text[i] = normalize.Fold(c)
	}
	bound := func(i int) bool {
		return i == 0 || i == len(text) || !isAlnum(text[i-1]) || !isAlnum(text[i]) || slices.Contains(n.Soft, int32(i))
	}
	var out []int32
	for v, tok := range f.tokens {
		for i := 0; ; i++ {
			k := bytes.Index(text[i:], []byte(tok.word))
			if k < 0 {
				break
			}
			i += k
			st, en := i, i+len(tok.word)
			left := tok.left == sideAny || st > 0 && text[st-1] == " -"[tok.left-1]
			right := tok.right == sideAny || en < len(text) && text[en] == ' '
			if bound(st) && bound(en) && left && right {
				out = append(out, int32(v))
				break
			}
		}
	}
	return out
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
		f.Add(testlines.Gen(r))
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

// TestWordBits: the bitmaps of word starts and ends agree with isAlnum on
// every byte value at every offset of a block, and across blocks.
func TestWordBits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var lines [][]byte
	for c := range 256 {
		for _, at := range []int{0, 7, 8, 63, 64, 100} {
			l := bytes.Repeat([]byte{'.'}, 130)
			l[at], l[at+1] = byte(c), 'a'
			lines = append(lines, l)
		}
	}
	for range 200 {
		l := make([]byte, r.IntN(300))
		for i := range l {
			const pick = "a.Z9 \x80\xff^"
			l[i] = pick[r.IntN(len(pick))]
		}
		lines = append(lines, l)
	}
	var ts tokenSeen
	for _, l := range lines {
		starts, ends := ts.wordBits(append(slices.Clone(l), fillerPad[:]...), len(l))
		for i := 0; i <= len(l); i++ {
			in := func(j int) bool { return j >= 0 && j < len(l) && isAlnum(l[j]) }
			bit := func(b []uint64) bool { return b[i/64]>>(i%64)&1 == 1 }
			if bit(starts) != (in(i) && !in(i-1)) || bit(ends) != (!in(i) && in(i-1)) {
				t.Fatalf("%q: byte %d: start %v, end %v", l, i, bit(starts), bit(ends))
			}
		}
	}
}

// TestFilterLookup: every word of a pack is found, whatever its case, and
// no word that differs from all of them by a byte, a byte more or less.
func TestFilterLookup(t *testing.T) {
	for name, s := range map[string]*Set{"sentinel": sentinel(t), "synthetic-1500": synthSet(t, 1500)} {
		f := s.filter
		words := map[string]bool{}
		for _, tok := range f.tokens {
			words[tok.word] = true
		}
		find := func(w string) int32 {
			return f.lookup(append([]byte(w), fillerPad[:]...), len(w))
		}
		for w := range words {
			got := find(w)
			if got < 0 || find(strings.ToUpper(w)) != got {
				t.Fatalf("%s: %q not found (%d) or not in upper case", name, w, got)
			}
			for _, v := range []string{w + "x", w[1:], w[:len(w)-1], "q" + w, w[:len(w)-1] + "0"} {
				if v != "" && !words[v] && find(v) >= 0 {
					t.Fatalf("%s: %q found, not a word of the pack", name, v)
				}
			}
		}
	}
	long := compileString(t, "long", `[pack]
description = "long words"

[[rule]]
name = "long"
description = "words beyond sixteen bytes"
any = ["abcdefghijklmnopqrstuvwxyz0123456789 x", "abcdefghijklmnopqrstuvwxyz0123456780"]
techniques = ["T1059"]
risk = 1
`)
	var ts tokenSeen
	for _, tt := range []struct {
		line string
		want int
	}{
		{"abcdefghijklmnopqrstuvwxyz0123456789 x", 2},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456780", 1},
		{"abcdefghijklmnopqrstuvwxyz0123456781 x", 1},
		{"abcdefghijklmnopqrstuvwxyz012345678 x", 1},
	} {
		long.filter.seen(&ts, append([]byte(tt.line), fillerPad[:]...), len(tt.line))
		if len(ts.list) != tt.want {
			t.Errorf("%q: tokens %v, want %d", tt.line, ts.list, tt.want)
		}
	}
}

// TestFilterSides: the sides a word takes from the raw line, where
// normalization would put a blank or a dash next to it, or a join.
func TestFilterSides(t *testing.T) {
	s := compileString(t, "contexts", contextsPack)
	f := s.filter
	id := func(left uint8, word string, right uint8) int32 {
		for v, tok := range f.tokens {
			if tok == (filterToken{left, word, right}) {
				return int32(v)
			}
		}
		t.Fatalf("no token %d %q %d", left, word, right)
		return -1
	}
	net, user, add := id(sideAny, "net1", sideBlank), id(sideBlank, "user", sideBlank), id(sideDash, "add", sideAny)
	giveUp := int32(f.ntok)
	for _, tt := range []struct {
		line string
		want []int32
	}{
		{"net1 user /add", []int32{net, user, add}},
		{`NET1.EXE|user "-add"`, []int32{net, user, add}},
		{"net1.exe.exe\tuser \u2013add", []int32{net, user, add}},
		{`net1."exe" user ^-^add`, []int32{net, user, add}},
		{"net1.exe-x user.add", nil},
		{"net1.exex user x", []int32{user}},
		{"net1", nil},
		{"x net1^ user", []int32{net}},
		{"net^1 user", []int32{giveUp}},
		{`"net1"user`, []int32{giveUp}},
	} {
		var ts tokenSeen
		f.seen(&ts, append([]byte(tt.line), fillerPad[:]...), len(tt.line))
		got := slices.DeleteFunc(slices.Clone(ts.list), func(v int32) bool { return v != net && v != user && v != add && v != giveUp })
		if ts.has(giveUp) {
			got = []int32{giveUp}
		}
		slices.Sort(got)
		if want := slices.Sorted(slices.Values(tt.want)); !slices.Equal(got, want) {
			t.Errorf("%q: tokens %v, want %v (net1 %d, user %d, add %d)", tt.line, got, want, net, user, add)
		}
	}
}
