package sigma

import (
	"os"
	"path/filepath"
	"testing"

	"scorecmdline/src/event"
)

var sinkHits []int

// benchRows reads the dev corpus command lines as events with only the
// command line (Image derived), like the standard stream's rows.
func benchRows(b testing.TB) []*event.Event {
	files, _ := filepath.Glob(filepath.Join(sharedDir(b, "corpus/dev"), "*.jsonl"))
	var evs []*event.Event
	for _, f := range files {
		for _, r := range readJSONL[devRow](b, f) {
			ev := &event.Event{}
			ev.Set(event.Process, []byte(r.Cmdline))
			evs = append(evs, ev)
		}
	}
	return evs
}

func BenchmarkMatch(b *testing.B) {
	benchMatch(b, benchRows(b))
}

// BenchmarkMatchStd is BenchmarkMatch over the standard benchmark stream.
func BenchmarkMatchStd(b *testing.B) {
	benchMatch(b, stdRows(b))
}

func benchMatch(b *testing.B, evs []*event.Event) {
	rs := loadShared(b, "rules")
	for _, impl := range []struct {
		name string
		fn   func(*Matcher, *event.Event, []int) []int
	}{{"prefilter", (*Matcher).Match}, {"plain", (*Matcher).matchPlain}} {
		evs := evs
		if impl.name == "plain" {
			evs = evs[:1000] // every rule on every row: slow
		}
		b.Run(impl.name, func(b *testing.B) {
			m := rs.NewMatcher()
			hits := make([]int, 0, 64)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for _, ev := range evs {
					hits = impl.fn(m, ev, hits[:0])
				}
				n += len(evs)
			}
			sinkHits = hits
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/row")
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	fsys := os.DirFS(sharedDir(b, "sigma"))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Load(fsys, "rules", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
