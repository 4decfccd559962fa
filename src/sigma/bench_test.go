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

// BenchmarkLoad: cold (parse and compile), warm (decode the cache) and
// warm up to the first match of a row.
func BenchmarkLoad(b *testing.B) {
	fsys := os.DirFS(sharedDir(b, "sigma"))
	dir := b.TempDir()
	if _, rep, err := Load(fsys, "rules", Options{CacheDir: dir}); err != nil || rep.Cache == "hit" {
		b.Fatal(err, rep.Cache)
	}
	ev := &event.Event{}
	ev.Set(event.Process, []byte(`"C:\Windows\System32\cmd.exe" /c whoami /all`))
	for _, bc := range []struct {
		name  string
		opts  Options
		match bool
	}{{"cold", Options{}, false}, {"warm", Options{CacheDir: dir}, false}, {"warm_first_match", Options{CacheDir: dir}, true}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs, rep, err := Load(fsys, "rules", bc.opts)
				if err != nil || bc.opts.CacheDir != "" && rep.Cache != "hit" {
					b.Fatal(err, rep.Cache)
				}
				if bc.match {
					sinkHits = rs.NewMatcher().Match(ev, nil)
				}
			}
		})
	}
}
