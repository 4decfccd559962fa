package features

import (
	"strings"
	"testing"
)

var line300 = strings.Repeat(`powershell.exe -ExecutionPolicy bypass -WindowStyle hidden -File C:\Windows\Temp\update.ps1 `, 4)[:300]

func benchmarkExtract(b *testing.B, gs Groups) {
	x := New(20)
	in := &Input{Cmdline: []byte(line300)}
	b.ReportAllocs()
	b.SetBytes(int64(len(line300)))
	for b.Loop() {
		x.Reset(in)
		x.Extract(gs)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkExtract(b *testing.B) {
	b.Run("tokens", func(b *testing.B) { benchmarkExtract(b, Set(Word, Bigram)) })
	b.Run("default", func(b *testing.B) { benchmarkExtract(b, Default) })
}
