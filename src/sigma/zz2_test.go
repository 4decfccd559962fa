package sigma

import (
	"fmt"
	"testing"
)

func TestZZCount(t *testing.T) {
	rs := loadShared(t, "rules")
	lits := map[lit]bool{}
	nv, nb := 0, 0
	for _, r := range rs.compiled {
		walkConds(r, func(c *fieldCond) {
			for _, rq := range c.reqs {
				nv++
				for _, cl := range rq {
					for _, l := range cl {
						if !lits[l] {
							nb += len(l.s)
						}
						lits[l] = true
					}
				}
			}
		})
	}
	fmt.Println("values", nv, "lits", len(lits), "bytes", nb, "clauses", len(rs.clauses))
	for _, p := range rs.prefs {
		fmt.Println("field", p.field, "states", len(p.next)>>p.shift, "shift", p.shift)
	}
}
