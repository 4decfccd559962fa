package sigma

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"scorecmdline/src/event"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZCPU(t *testing.T) {
	runtime.LockOSThread()
	rs := loadShared(t, "rules")
	for _, set := range []struct {
		name string
		evs  []*event.Event
	}{{"std", stdRows(t)[:50000]}, {"dev", benchRows(t)}} {
		m := rs.NewMatcher()
		var hits []int
		for _, ev := range set.evs[:2000] {
			hits = m.Match(ev, hits[:0])
		}
		t0 := cpuNow()
		w0 := time.Now()
		for _, ev := range set.evs {
			hits = m.Match(ev, hits[:0])
		}
		d := cpuNow() - t0
		fmt.Printf("%s: %d rows, cpu %.0f ns/row, wall %.0f ns/row\n", set.name, len(set.evs), float64(d)/float64(len(set.evs)), float64(time.Since(w0))/float64(len(set.evs)))
	}
}
