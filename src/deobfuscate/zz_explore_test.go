package deobfuscate

import (
	"fmt"
	"testing"
)

func TestZZExplore(t *testing.T) {
	lines := standardLines(t, 10000)
	var d Deobfuscator
	n, sus, tech := 0, 0, 0
	shown := 0
	for _, l := range lines {
		if !suspicious(l) {
			continue
		}
		sus++
		if inert(string(l)) {
			continue
		}
		n++
		r := d.full(l)
		if r.Techniques != 0 {
			tech++
			continue
		}
		if shown < 25 {
			shown++
			fmt.Printf("%q\n", l)
		}
	}
	fmt.Println("lines", len(lines), "suspicious", sus, "not inert", n, "with techniques", tech)
}
