package match

import (
	"fmt"
	"testing"
)

func TestZZAnchor(t *testing.T) {
	for _, n := range []int{1500, 2000} {
		s := synthSet(t, n)
		f := s.filter
		var ts tokenSeen
		buf := append([]byte(benchLine), fillerPad[:]...)
		f.seen(&ts, buf, len(benchLine))
		tot, sigpass := 0, 0
		for _, a := range ts.list {
			tot += len(f.anchor[a])
			for _, ph := range f.anchor[a] {
				if f.sig[ph]&^ts.sig == 0 {
					sigpass++
				}
			}
			fmt.Printf("tok %d anchored %d\n", a, len(f.anchor[a]))
		}
		fmt.Println(n, "anchored total", tot, "sigpass", sigpass)
	}
}
