package cli

// Load: many searches at once, and the cost of starting one. splunkd runs
// one process per search (per indexer, per pipeline), so both matter more
// than one process's throughput.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkConcurrent10 runs 10 search processes at once, each over the
// standard stream (200,000 rows) with its output to /dev/null, and reports
// the aggregate rows/s, the largest peak RSS of one process and the CPU
// seconds of all ten per run.
func BenchmarkConcurrent10(b *testing.B) {
	const procs, rows = 10, 200_000
	input := standardStream(b)
	var peak int64
	var cpu time.Duration
	for b.Loop() {
		var wg sync.WaitGroup
		var mu sync.Mutex
		errs := make([]error, procs)
		for p := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := runToNull(input)
				mu.Lock()
				defer mu.Unlock()
				errs[p] = err
				if st != nil {
					peak = max(peak, st.SysUsage().(*syscall.Rusage).Maxrss)
					cpu += st.UserTime() + st.SystemTime()
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(procs*rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB/proc")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// runToNull runs the binary as splunkd would over the file input, its
// stdout to /dev/null.
func runToNull(input string) (*os.ProcessState, error) {
	in, err := os.Open(input)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	cmd := exec.Command(binPath)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, null, &stderr
	if err := cmd.Run(); err != nil {
		return cmd.ProcessState, fmt.Errorf("%v: %s", err, stderr.Bytes())
	}
	return cmd.ProcessState, nil
}

// BenchmarkStartup measures, over 100 starts per iteration, the time from
// starting the process to reading its getinfo reply: what a search waits
// for before its first rows can flow. It reports the median and the 90th
// percentile in milliseconds (ns/op is the time of the 100 starts).
func BenchmarkStartup(b *testing.B) {
	const starts = 100
	req := []byte(getinfo())
	var times []time.Duration
	for b.Loop() {
		for range starts {
			d, err := startOnce(req)
			if err != nil {
				b.Fatal(err)
			}
			times = append(times, d)
		}
	}
	slices.Sort(times)
	ms := func(q float64) float64 {
		return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(ms(0.5), "median-ms")
	b.ReportMetric(ms(0.9), "p90-ms")
}

// startOnce starts the binary, writes the getinfo request, reads the
// reply, then closes stdin and waits for the exit (status 0).
func startOnce(req []byte) (time.Duration, error) {
	cmd := exec.Command(binPath)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	if _, err := stdin.Write(req); err != nil {
		return 0, err
	}
	meta, n, err := readReplyHead(bufio.NewReader(stdout))
	took := time.Since(start)
	stdin.Close()
	io.Copy(io.Discard, stdout)
	werr := cmd.Wait()
	switch {
	case err != nil:
		return 0, fmt.Errorf("getinfo reply: %v (stderr %s)", err, stderr.Bytes())
	case meta["type"] != "streaming" || n != 0:
		return 0, fmt.Errorf("getinfo reply %v", meta)
	case werr != nil:
		return 0, fmt.Errorf("exit: %v (stderr %s)", werr, stderr.Bytes())
	}
	return took, nil
}
