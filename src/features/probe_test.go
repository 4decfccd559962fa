package features

import (
	"bufio"
	"os"
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
	for _, bits := range []uint{16, 17, 18, 20} {
		b.Run(itoa(int(bits)), func(b *testing.B) {
			x := New(bits)
			w := make([]int16, 1<<bits)
			for i := range w {
				w[i] = int16(i * 7919)
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				x.Reset(&ins[n%len(ins)])
				x.Extract(Full)
				var s int32
				for g := Group(0); g < NumGroups; g++ {
					for _, k := range x.Buckets(g) {
						s += int32(w[k])
					}
				}
				isink = s
				n++
			}
		})
	}
}
