// Package stdstream gives benchmarks the standard benchmark stream of
// ../shared/bench (gen_input.py's defaults: a getinfo chunk and 200,000
// rows in 4 execute chunks of ~300-character command lines). It is
// generated once into the system temp folder and never committed; without
// ../shared the benchmark is skipped.
package stdstream

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
)

// Size is the stream's length in bytes, which identifies a complete file.
const Size = 76613007

// Path returns the stream's file, generating it if need be.
func Path(tb testing.TB) string {
	tb.Helper()
	gen := filepath.Join(Shared(tb), "bench", "gen_input.py")
	dir := filepath.Join(os.TempDir(), "scorecmdline-bench")
	path := filepath.Join(dir, "input_4x50000.chunked")
	if st, err := os.Stat(path); err == nil && st.Size() == Size {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if out, err := exec.Command("python3", gen, "-o", path).CombinedOutput(); err != nil {
		tb.Skipf("cannot generate the standard stream: %v\n%s", err, out)
	}
	return path
}

// Shared returns the ../shared folder beside the repository, skipping tb
// when there is none.
func Shared(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(filepath.Join(shared, "bench")); err != nil {
				tb.Skip("../shared not present: no standard stream")
			}
			return shared
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// Row is one row of the stream: its values by column name.
type Row map[string][]byte

// Rows returns the first n rows of the stream (all of them when n <= 0).
func Rows(tb testing.TB, n int) []Row {
	tb.Helper()
	f, err := os.Open(Path(tb))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := read(bufio.NewReader(f), n)
	if err != nil {
		tb.Fatalf("standard stream: %v", err)
	}
	return rows
}

// read decodes the CSV bodies of the execute chunks.
func read(r *bufio.Reader, n int) ([]Row, error) {
	var rows []Row
	for n <= 0 || len(rows) < n {
		head, err := r.ReadString('\n')
		if err == io.EOF && head == "" {
			break
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
		for _, rec := range recs[1:] {
			row := Row{}
			for i, h := range recs[0] {
				row[h] = []byte(rec[i])
			}
			rows = append(rows, row)
			if n > 0 && len(rows) == n {
				break
			}
		}
	}
	return rows, nil
}
