package searchcmd

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

var benchWords = []string{
	"powershell.exe", "-nop", "-w", "hidden", "-enc", "cmd.exe", "/c", "rundll32.exe", "certutil",
	"-urlcache", "-f", "http://198.51.100.7/a.ps1", "C:\\Windows\\System32\\", "bitsadmin", "/transfer",
	"\"C:\\Program Files\\App\\app.exe\"", "--config=\"x y\"", "regsvr32", "/s", "mshta", "vbscript:Close()",
	"Invoke-Expression", "IEX", "(New-Object", "Net.WebClient).DownloadString('http://x')", "whoami",
}

// benchBody returns one request body shaped like the standard bench stream
// (../shared/bench/gen_input.py): six fields, a 280-320 byte command line,
// splunkd quoting, and an empty __mv_ column per field.
func benchBody(rows int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	b.WriteString(`"_time",dest,user,"parent_process_name","process_name",process,"__mv__time","__mv_dest","__mv_user","__mv_parent_process_name","__mv_process_name","__mv_process"` + "\n")
	var cmd strings.Builder
	for i := range rows {
		cmd.Reset()
		target := 280 + rng.IntN(41)
		for cmd.Len() < target {
			if cmd.Len() > 0 {
				cmd.WriteByte(' ')
			}
			cmd.WriteString(benchWords[rng.IntN(len(benchWords))])
		}
		c := cmd.String()[:target]
		fmt.Fprintf(&b, "\"%d.%03d\",\"host-%03d.corp.example\",\"CORP\\user%d\",\"explorer.exe\",\"%s\",\"%s\",,,,,,\n",
			1700000000+i, i%1000, i%500, i%97, "powershell.exe", strings.ReplaceAll(c, `"`, `""`))
	}
	return b.Bytes()
}

// benchStream is getinfo plus chunks execute requests of rows rows each.
func benchStream(chunks, rows int) []byte {
	var s strings.Builder
	s.WriteString(getinfo())
	for i := range chunks {
		s.WriteString(execute(i == chunks-1, string(benchBody(rows, uint64(i)))))
	}
	return []byte(s.String())
}

func BenchmarkRun(b *testing.B) {
	for _, bc := range []struct {
		name         string
		chunks, rows int
		workers      int
		words        bool
	}{
		{"4x50000", 4, 50000, 0, false},
		{"4x50000/workers=1", 4, 50000, 1, false},
		{"4x50000/multivalue", 4, 50000, 0, true},
		{"40x5000", 40, 5000, 0, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := benchStream(bc.chunks, bc.rows)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Run(lenCmd{words: bc.words}, bytes.NewReader(in), io.Discard, Config{Workers: bc.workers, Log: io.Discard}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*bc.chunks*bc.rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
