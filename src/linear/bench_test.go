package linear

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"scorecmdline/src/features"
)

var sink float64

// benchLines imitates the standard bench stream's process field
// (shared/bench/gen_input.py, make_process): a process name, then hot words
// (22 %) among neutral filler, 15 % of them with a number glued on, cut at
// 300 ± 20 bytes.
func benchLines() []string {
	hot := strings.Fields(`-enc -encodedcommand bypass hidden downloadstring invoke-expression iex http:// https:// frombase64string -nop /c urlcache regsvr32 rundll32 schtasks /create certutil bitsadmin mshta wget curl base64`)
	filler := []string{`C:\Windows\System32\`, `C:\Program Files\Vendor\`, `/opt/vendor/bin`, `--config`, `--verbose`,
		`-ExecutionPolicy`, `-WindowStyle`, `-File`, `report.xlsx`, `update.ps1`, `payload.bin`, `/var/cache`, `--retry=3`,
		`-Command`, `Get-Process`, `Start-Sleep`, `%APPDATA%\tmp\`, `user=svc_backup`, `--no-check-certificate`,
		`"quoted arg"`, `a,b,c`, `value=$HOME`, `x64`, `0x7ffe`, `-o`, `out.log`, `2>&1`, `&&`, `|`, `;`}
	procs := strings.Fields(`powershell.exe cmd.exe rundll32.exe regsvr32.exe mshta.exe certutil.exe bitsadmin.exe wscript.exe schtasks.exe net.exe curl wget python3 java`)
	r := rand.New(rand.NewPCG(7, 7))
	lines := make([]string, 1000)
	for i := range lines {
		var b strings.Builder
		b.WriteString(procs[r.IntN(len(procs))])
		for b.Len() < 300 {
			tok := filler[r.IntN(len(filler))]
			if r.Float64() < 0.22 {
				tok = hot[r.IntN(len(hot))]
			}
			b.WriteByte(' ')
			b.WriteString(tok)
			if r.Float64() < 0.15 {
				b.WriteString(strconv.Itoa(r.IntN(100000)))
			}
		}
		lines[i] = b.String()[:min(b.Len(), 280+r.IntN(41))]
	}
	return lines
}

// devLines reads the dev corpus command lines, if the shared folder exists.
func devLines(b *testing.B) []string {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "dev", "*.jsonl"))
	if len(files) == 0 {
		b.Skip("../shared/corpus/dev not found")
	}
	var lines []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var r struct{ Cmdline string }
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				lines = append(lines, r.Cmdline)
			}
		}
		fh.Close()
	}
	return lines
}

func benchScore(b *testing.B, m *Model, lines []string) {
	ins := make([]features.Input, len(lines))
	for i, l := range lines {
		ins[i].Cmdline = []byte(l)
	}
	s := m.NewScorer()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		sink = s.Score(&ins[n%len(ins)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkScore(b *testing.B) {
	m, err := Parse("cmdline.model.bin", shipped(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("bench300", func(b *testing.B) { benchScore(b, m, benchLines()) })
	b.Run("dev", func(b *testing.B) { benchScore(b, m, devLines(b)) })
}

// BenchmarkParse loads the shipped file: the process must answer getinfo
// within about 10 ms, model included.
func BenchmarkParse(b *testing.B) {
	data := shipped(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("cmdline.model.bin", data); err != nil {
			b.Fatal(err)
		}
	}
}
