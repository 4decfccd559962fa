package rules

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s := sentinel(t)
	m := s.NewMatcher()
	line := []byte(benchLine)
	par := []byte(`C:\Windows\explorer.exe`)
	var out []byte
	for _, name := range []string{"normalize", "match"} {
		best := time.Hour
		for rep := 0; rep < 5; rep++ {
			const N = 200000
			st := cpuNow()
			for i := 0; i < N; i++ {
				if name == "match" {
					m.Match(line, par)
				} else {
					out = Normalize(out[:0], line)
				}
			}
			if d := (cpuNow() - st) / N; d < best {
				best = d
			}
		}
		t.Logf("%s: %v/op (cpu)", name, best)
	}
}
