package cli

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// standardStream returns the path of the standard benchmark input of
// ../shared/bench (200,000 rows in 4 chunks of 50,000), generating it once
// into the system temp folder; it is never committed.
func standardStream(b *testing.B) string {
	gen := filepath.Join("..", "..", "..", "shared", "bench", "gen_input.py")
	if _, err := os.Stat(gen); err != nil {
		b.Skip("../shared/bench not present: the standard stream cannot be generated")
	}
	dir := filepath.Join(os.TempDir(), "scorecmdline-bench")
	path := filepath.Join(dir, "input_4x50000.chunked")
	if st, err := os.Stat(path); err == nil && st.Size() == 76613007 {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("python3", gen, "-o", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("gen_input.py: %v\n%s", err, out)
	}
	return path
}

// BenchmarkStandardStream runs the binary over the standard stream exactly
// as splunkd would start it (default options: model escu, pack
// sentinel_cmd), output to /dev/null, and reports rows/s, CPU time per run
// and the process's peak RSS.
func BenchmarkStandardStream(b *testing.B) {
	const rows = 200_000
	input := standardStream(b)
	var cpu time.Duration
	var peak int64
	for b.Loop() {
		in, err := os.Open(input)
		if err != nil {
			b.Fatal(err)
		}
		null, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		cmd := exec.Command(binPath)
		var stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = in, null, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("%v: %s", err, stderr.Bytes())
		}
		in.Close()
		null.Close()
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		peak = max(peak, ru.Maxrss) // KiB on Linux
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkSearchInProcess runs the search command in this process over the
// standard stream held in memory, for CPU profiles of the whole path.
func BenchmarkSearchInProcess(b *testing.B) {
	data, err := os.ReadFile(standardStream(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		env := Env{Stdout: io.Discard, Stderr: os.Stderr}
		if code := runSearch(env, bytes.NewReader(data)); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(200_000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
