package match

import (
	"fmt"
	"testing"
)

func TestZZDebug(t *testing.T) {
	for _, n := range []int{0, 500, 1500, 2000} {
		var s *Set
		if n == 0 {
			s = sentinel(t)
		} else {
			s = synthSet(t, n)
		}
		f := s.filter
		if f == nil {
			fmt.Println(n, "no filter")
			continue
		}
		var ts tokenSeen
		buf := append([]byte(benchLine), fillerPad[:]...)
		f.seen(&ts, buf, len(benchLine))
		var words []string
		for _, v := range ts.list {
			if int(v) < f.ntok {
				words = append(words, fmt.Sprint(v))
			} else {
				words = append(words, "GIVEUP")
			}
		}
		fmt.Printf("n=%d ntok=%d ncol=%d table=%d acc=%d phrases=%d pieces=%d acstates=%d acTable=%d seen=%v possible=%v\n", n, f.ntok, f.ncol, len(f.next), f.acc, len(s.phrases), len(s.pieces), len(s.ac.next)/int(s.ac.nclass), len(s.ac.next32), words, f.possible(&ts))
	}
}
