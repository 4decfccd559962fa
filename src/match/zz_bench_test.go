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
	for _, n := range []int{1500, 2000} {
		_, hit := synthPack(n)
		sets = append(sets, bench{fmt.Sprint(n), synthSet(b, n), hit})
	}
	for _, tt := range sets {
		for _, l := range []struct{ k, line string }{{"miss", benchLine}} {
			buf := append([]byte(l.line), fillerPad[:]...)
			var ts tokenSeen
			b.Run(tt.name+"/"+l.k+"/seen", func(b *testing.B) {
				for b.Loop() {
					tt.s.filter.seen(&ts, buf, len(l.line), false)
				}
			})
			m := tt.s.NewMatcher()
			m.Match([]byte(l.line), nil)
			b.Run(tt.name+"/"+l.k+"/cands", func(b *testing.B) {
				for b.Loop() {
					m.cands = tt.s.filter.candidates(&ts, m.cands[:0])
				}
			})
			b.Run(tt.name+"/"+l.k+"/norm", func(b *testing.B) {
				for b.Loop() {
					m.normDone = false
					m.normalize()
				}
			})
			b.Run(tt.name+"/"+l.k+"/verify", func(b *testing.B) {
				for b.Loop() {
					m.foldDone = false
					m.verify()
				}
			})
			b.Run(tt.name+"/"+l.k+"/prog", func(b *testing.B) {
				for b.Loop() {
					m.Match(nil, nil)
				}
			})
		}
	}
}
