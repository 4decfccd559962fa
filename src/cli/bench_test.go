package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"scorecmdline/src/internal/stdstream"
)

// standardStream returns the path of the standard benchmark input.
func standardStream(b *testing.B) string { return stdstream.Path(b) }

// withArgs returns a copy of the stream at path whose getinfo carries args
// (as if the search said `| scorecmdline ARGS`), written beside it once.
func withArgs(b *testing.B, path string, args ...string) string {
	if len(args) == 0 {
		return path
	}
	out := strings.TrimSuffix(path, ".chunked") + "_" + strings.Join(args, "_") + ".chunked"
	if _, err := os.Stat(out); err == nil {
		return out
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var m, n int
	nl := bytes.IndexByte(data, '\n')
	if _, err := fmt.Sscanf(string(data[:nl]), "chunked 1.0,%d,%d", &m, &n); err != nil {
		b.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(data[nl+1:nl+1+m], &meta); err != nil {
		b.Fatal(err)
	}
	info := meta["searchinfo"].(map[string]any)
	info["args"], info["raw_args"] = args, args
	js, _ := json.Marshal(meta)
	stream := append(fmt.Appendf(nil, "chunked 1.0,%d,0\n%s", len(js), js), data[nl+1+m+n:]...)
	if err := os.WriteFile(out, stream, 0o644); err != nil {
		b.Fatal(err)
	}
	// A child started by os/exec reports this process's peak RSS if it is
	// higher (it shares our memory until exec), so give the copies back.
	debug.FreeOSMemory()
	return out
}

// sigmaLookups returns a lookups folder whose Sigma pack "sigmahq" is
// ../shared/sigma/rules (1,415 Windows process-creation rules), linked.
func sigmaLookups(b *testing.B) string {
	rules, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "sigma", "rules"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(rules); err != nil {
		b.Skip("../shared/sigma not present: no Sigma ruleset to load")
	}
	dir := b.TempDir()
	if err := os.Symlink(rules, filepath.Join(dir, "sigmahq")); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkStandardStream runs the binary over the standard stream exactly
// as splunkd would start it, output to /dev/null, and reports rows/s, CPU
// time per run and the process's peak RSS: with the default options (model
// cmdline, pack sentinel_cmd, deobfuscation), with the ESCU model alone
// (what the ESCU detection's macro runs), with the rules alone, and with
// SigmaHQ's 1,415 process-creation rules alone.
func BenchmarkStandardStream(b *testing.B) {
	const rows = 200_000
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"default", nil},
		{"escu", []string{"model=escu", "rules=none", "deobfuscate=false"}},
		{"rules", []string{"model=none"}},
		{"sigma", []string{"model=none", "rules=sigmahq"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			input := withArgs(b, standardStream(b), bc.args...)
			var lookups string
			if bc.name == "sigma" {
				lookups = sigmaLookups(b)
			}
			var cpu time.Duration
			var peak int64
			for b.Loop() {
				in, err := os.Open(input)
				if err != nil {
					b.Fatal(err)
				}
				null, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
				cmd := exec.Command(binPath)
				cmd.Env = append(os.Environ(), "SCORECMDLINE_LOOKUPS="+lookups)
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
		})
	}
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
