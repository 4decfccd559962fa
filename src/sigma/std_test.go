package sigma

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"scorecmdline/src/event"
)

// stdRows reads the standard benchmark stream (shared/bench/gen_input.py
// defaults: 200,000 rows) as events of process, process_name and
// parent_process_name. The stream is generated once into the folder
// bench.py uses (scp_bench in the system temp folder) and reused.
func stdRows(b testing.TB) []*event.Event {
	b.Helper()
	gen := filepath.Join(sharedDir(b, "bench"), "gen_input.py")
	dir := filepath.Join(os.TempDir(), "scp_bench")
	file := filepath.Join(dir, "input_4x50000.chunked")
	if _, err := os.Stat(file); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		out, err := exec.Command("python3", gen, "-o", file).CombinedOutput()
		if err != nil {
			b.Skipf("cannot generate the standard stream: %v: %s", err, out)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	evs, err := readChunked(bufio.NewReader(f))
	if err != nil {
		b.Fatalf("%s: %v", file, err)
	}
	return evs
}

// readChunked decodes the execute chunks' CSV bodies of a chunked stream.
func readChunked(r *bufio.Reader) ([]*event.Event, error) {
	var evs []*event.Event
	for {
		head, err := r.ReadString('\n')
		if err == io.EOF && head == "" {
			return evs, nil
		}
		if err != nil {
			return nil, err
		}
		var meta, body int
		if _, err := fmt.Sscanf(head, "chunked 1.0,%d,%d\n", &meta, &body); err != nil {
			return nil, fmt.Errorf("chunk header %q: %v", head, err)
		}
		buf := make([]byte, meta+body)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if body == 0 {
			continue
		}
		recs, err := csv.NewReader(bytes.NewReader(buf[meta:])).ReadAll()
		if err != nil {
			return nil, err
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for _, rec := range recs[1:] {
			ev := &event.Event{}
			ev.Set(event.Process, []byte(rec[col["process"]]))
			ev.Set(event.ProcessName, []byte(rec[col["process_name"]]))
			ev.Set(event.ParentProcessName, []byte(rec[col["parent_process_name"]]))
			evs = append(evs, ev)
		}
	}
}
