package deobfuscate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"scorecmdline/src/internal/stdstream"
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

// standardLines returns the process field of the first n rows of the
// standard stream.
func standardLines(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var lines [][]byte
	for _, row := range stdstream.Rows(tb, n) {
		lines = append(lines, row["process"])
	}
	return lines
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
