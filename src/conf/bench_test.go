package conf

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// benchConf is a synthetic macros.conf of n stanzas with continued values,
// about the shape of a large app's configuration.
func benchConf(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "# macro %d\n[m%d(1)]\nargs = f\ndefinition = eval x=1 \\\n| convert ctime($f$) \\\n| `m%d(f)`\ndescription = macro number %d\n\n", i, i, i+1, i)
	}
	return b.Bytes()
}

// BenchmarkParse reports lines parsed per second as rows/s.
func BenchmarkParse(b *testing.B) {
	src := benchConf(2000)
	lines := bytes.Count(src, []byte("\n"))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench.conf", src); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkExpand expands a search that calls a 31-deep chain of macros;
// rows/s counts searches expanded per second.
func BenchmarkExpand(b *testing.B) {
	f, err := Parse("bench.conf", benchConf(30))
	if err != nil {
		b.Fatal(err)
	}
	ms, err := LoadMacros(f)
	if err != nil {
		b.Fatal(err)
	}
	ms["m30(1)"] = Macro{Name: "m30", Args: []string{"f"}, Definition: "search $f$=*"}
	spl := "| tstats count by Processes.process | `m0(process)` | " + strings.Repeat("where x > 1 | ", 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ms.Expand(spl); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
