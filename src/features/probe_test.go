package features

import (
	"bufio"
	"os"
	"syscall"
	"testing"
)

var isink int32

func BenchmarkProbe(b *testing.B) {
	f, err := os.Open("/tmp/std_lines.txt")
	if err != nil {
		b.Skip()
	}
	var ins []Input
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ins = append(ins, Input{Cmdline: []byte(sc.Text())})
	}
	for _, gs := range []Groups{0, Set(Word), Set(Word, Bigram), Set(Char), Set(Struct), Full} {
		bits := uint(16)
		b.Run(itoa(int(gs)), func(b *testing.B) {
			x := New(bits)
			w := make([]int16, 1<<bits)
			for i := range w {
				w[i] = int16(i * 7919)
			}
			b.ReportAllocs()
			n := 0
			var r0, r1 syscall.Rusage
			syscall.Getrusage(0, &r0)
			for b.Loop() {
				x.Reset(&ins[n%len(ins)])
				x.Extract(gs)
				var s int32
				for g := Group(0); g < NumGroups; g++ {
					for _, k := range x.Buckets(g) {
						s += int32(w[k])
					}
				}
				isink = s
				n++
			}
			syscall.Getrusage(0, &r1)
			b.ReportMetric(float64((r1.Utime.Nano()+r1.Stime.Nano())-(r0.Utime.Nano()+r0.Stime.Nano()))/float64(n), "cpu-ns/op")
		})
	}
}
