package match

import (
	"fmt"
	"testing"
)

func BenchmarkZZParts(b *testing.B) {
	type bench struct {
		name string
		s    *Set
		hit  string
	}
	sets := []bench{{"sentinel", sentinel(b), hitLine}}
	for _, n := range []int{500, 1500, 2000} {
		_, hit := synthPack(n)
		sets = append(sets, bench{fmt.Sprint(n), synthSet(b, n), hit})
	}
	for _, tt := range sets {
		for _, l := range []struct{ k, line string }{{"miss", benchLine}, {"hit", tt.hit}} {
			buf := append([]byte(l.line), fillerPad[:]...)
			var ts tokenSeen
			b.Run(tt.name+"/"+l.k+"/seen", func(b *testing.B) {
				for b.Loop() {
					tt.s.filter.seen(&ts, buf, len(l.line), false)
				}
			})
			b.Run(tt.name+"/"+l.k+"/possible", func(b *testing.B) {
				for b.Loop() {
					tt.s.filter.candidates(&ts, nil)
				}
			})
			m := tt.s.NewMatcher()
			m.Match([]byte(l.line), nil)
			b.Run(tt.name+"/"+l.k+"/normscan", func(b *testing.B) {
				for b.Loop() {
					m.normDone = false
					m.seen = m.seen[:0]
					m.nextGen()
					m.normalize()
					m.scan()
				}
			})
		}
	}
}
