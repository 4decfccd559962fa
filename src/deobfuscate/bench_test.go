package deobfuscate

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var sink *Result

func BenchmarkRun(b *testing.B) {
	for _, bc := range []struct{ name, line string }{
		{"plain", benignLine300},
		{"caret", `c^m^d /c p^o^w^e^r^s^h^e^l^l -nop -w hidden -c "whoami"`},
		{"reversal", `cmd /V:ON /C "set s=resu ten&&for /L %i in (7,-1,0) do set r=!r!!s:~%i,1!&&if %i==0 call %r:~-8%"`},
		{"encoded", "powershell -enc " + encUTF16(`IEX ('Inv'+'oke-Exp'+"ression") 'whoami'`)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchmarkLines(b, [][]byte{[]byte(bc.line)})
		})
	}
}

// BenchmarkRunStreamSample runs the committed sample of stream-like lines
// (testdata/stream_sample.txt): synthetic 280-320 byte command lines that
// mix paths, %VAR% references, quoting, switches and operators the way the
// standard benchmark stream does, plus a few obfuscated ones.
func BenchmarkRunStreamSample(b *testing.B) {
	benchmarkLines(b, readLines(b, filepath.Join("testdata", "stream_sample.txt")))
}

// BenchmarkRunStandardStream runs the process field of the first rows of
// the standard benchmark stream (shared/bench/gen_input.py, default seed),
// generated into a temporary folder; it skips without ../shared.
//
// Sub-benchmarks split the lines: cleared by the two checks (fast), and
// those that run the stages (staged).
func BenchmarkRunStandardStream(b *testing.B) {
	lines := standardLines(b, 10000)
	var fast, staged [][]byte
	for _, l := range lines {
		if !suspicious(l) || inert(string(l)) {
			fast = append(fast, l)
		} else {
			staged = append(staged, l)
		}
	}
	b.Run("all", func(b *testing.B) { benchmarkLines(b, lines) })
	b.Run("fast", func(b *testing.B) { benchmarkLines(b, fast) })
	b.Run("staged", func(b *testing.B) { benchmarkLines(b, staged) })
}

func benchmarkLines(b *testing.B, lines [][]byte) {
	var d Deobfuscator
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	b.ReportAllocs()
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, l := range lines {
			sink = d.Run(l)
		}
	}
	rows := float64(b.N) * float64(len(lines))
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/row")
}

func readLines(tb testing.TB, path string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(l) > 0 {
			lines = append(lines, l)
		}
	}
	return lines
}

// sharedDir finds dir under the shared folder beside the repository root,
// walking up from the package directory, or skips.
func sharedDir(tb testing.TB, dir string) string {
	tb.Helper()
	d, _ := filepath.Abs(".")
	for {
		p := filepath.Join(d, "..", "shared", dir)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		up := filepath.Dir(d)
		if up == d {
			tb.Skipf("shared/%s (a sibling of the repository) not found", dir)
		}
		d = up
	}
}

// standardLines returns the process field of the first n rows of the
// standard stream. The generator draws rows in order from one seeded
// generator, so one chunk of n rows is the standard stream's first n.
func standardLines(tb testing.TB, n int) [][]byte {
	tb.Helper()
	gen := filepath.Join(sharedDir(tb, "bench"), "gen_input.py")
	out := filepath.Join(tb.TempDir(), "std.chunked")
	cmd := exec.Command("python3", gen, "-o", out, "--chunks", "1", "--rows-per-chunk", fmt.Sprint(n))
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Skipf("cannot generate the standard stream: %v: %s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	lines, err := processColumn(bufio.NewReader(f))
	if err != nil {
		tb.Fatalf("%s: %v", out, err)
	}
	return lines
}

// processColumn reads the process column of every execute chunk's CSV
// body: each chunk is "chunked 1.0,<metalen>,<bodylen>\n", metadata, body.
func processColumn(r *bufio.Reader) ([][]byte, error) {
	var lines [][]byte
	for {
		head, err := r.ReadString('\n')
		if err == io.EOF && head == "" {
			return lines, nil
		}
		if err != nil {
			return nil, err
		}
		var m, n int
		if _, err := fmt.Sscanf(head, "chunked 1.0,%d,%d\n", &m, &n); err != nil {
			return nil, fmt.Errorf("chunk header %q: %v", head, err)
		}
		buf := make([]byte, m+n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		recs, err := csv.NewReader(bytes.NewReader(buf[m:])).ReadAll()
		if err != nil {
			return nil, err
		}
		col := -1
		for i, h := range recs[0] {
			if h == "process" {
				col = i
			}
		}
		if col < 0 {
			return nil, fmt.Errorf("no process column in %s", strings.Join(recs[0], ","))
		}
		for _, rec := range recs[1:] {
			lines = append(lines, []byte(rec[col]))
		}
	}
}

// BenchmarkChecks compares the two checks over the stream sample's lines.
func BenchmarkChecks(b *testing.B) {
	lines := readLines(b, filepath.Join("testdata", "stream_sample.txt"))
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	b.Run("suspicious", func(b *testing.B) {
		b.SetBytes(int64(n))
		for b.Loop() {
			for _, l := range lines {
				sinkBool = suspicious(l)
			}
		}
	})
	b.Run("inert", func(b *testing.B) {
		b.SetBytes(int64(n))
		for b.Loop() {
			for _, l := range lines {
				sinkBool = inert(view(l))
			}
		}
	})
}

var sinkBool bool
