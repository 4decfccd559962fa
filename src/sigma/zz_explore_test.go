package sigma

import (
	"fmt"
	"math/bits"
	"sort"
	"testing"
	"time"
	"os"
)

func TestZZExplore(t *testing.T) {
	rs := loadShared(t, "rules")
	evs := stdRows(t)[:20000]
	if os.Getenv("ZZDEV") != "" {
		evs = benchRows(t)
	}
	m := rs.NewMatcher()
	type st struct {
		cand, hit int
		ns        time.Duration
	}
	stats := make([]st, len(rs.compiled))
	totc := 0
	for _, ev := range evs {
		m.load(ev)
		copy(m.cand, rs.always)
		clear(m.hit)
		for _, p := range rs.prefs {
			p.scan(m.view(p.field, vLower), m.hit, m.cand, rs.primary)
		}
		for wi, w := range m.cand {
			for ; w != 0; w &= w - 1 {
				i := wi<<6 | bits.TrailingZeros64(w)
				if !m.reqsHold(i) {
					continue
				}
				t0 := time.Now()
				ok := rs.compiled[i].eval(m)
				stats[i].ns += time.Since(t0)
				stats[i].cand++
				totc++
				if ok {
					stats[i].hit++
				}
			}
		}
	}
	idx := make([]int, len(stats))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return stats[idx[a]].ns > stats[idx[b]].ns })
	fmt.Printf("rows %d cand/row %.1f unwitnessed %d\n", len(evs), float64(totc)/float64(len(evs)), rs.Unwitnessed())
	for _, i := range idx[:40] {
		s := stats[i]
		fmt.Printf("%8.0fns/row cand %6d hit %5d  %s %s\n", float64(s.ns)/float64(len(evs)), s.cand, s.hit, rs.rules[i].File, fmtWitness(rs, i))
	}
}

func fmtWitness(rs *Ruleset, i int) string {
	w := rs.compiled[i].cond.req(rs.compiled[i].searches)
	return fmt.Sprint(w)
}
