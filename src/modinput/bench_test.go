package modinput

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchLines returns process-creation JSON lines: the OTRF samples when
// ../shared is present, else generated records.
func benchLines(b *testing.B) [][]byte {
	dir := filepath.Join("..", "..", "..", "shared", "samples", "otrf")
	var lines [][]byte
	for _, name := range []string{"sysmon_eid1.jsonl", "security_4688.jsonl"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			break
		}
		for l := range bytes.Lines(data) {
			lines = append(lines, bytes.TrimRight(l, "\n"))
		}
	}
	if len(lines) == 0 {
		b.Log("../shared absent: generated records")
		for _, id := range ids("g", 0, 3000) {
			lines = append(lines, bytes.TrimRight([]byte(jsonRecord(id)), "\n"))
		}
	}
	return lines
}

// BenchmarkPipeline runs a stanza over a file of records: read, split,
// parse, score (model escu + sentinel_cmd), write XML events, checkpoint
// every batch_size (default 500) records.
func BenchmarkPipeline(b *testing.B) {
	lines := benchLines(b)
	dir := b.TempDir()
	path := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(path, append(bytes.Join(lines, []byte{'\n'}), '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, errs := parseStanza("scorecmdline://bench", map[string]string{"path": path})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	eng, err := cfg.newEngine()
	if err != nil {
		b.Fatal(err)
	}
	var records int64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		cp := b.TempDir()
		w := newEventWriter(io.Discard)
		s := newStanza(cfg, eng, cp, w, logger{io.Discard})
		b.StartTimer()
		if err := s.poll(b.Context()); err != nil {
			b.Fatal(err)
		}
		if s.stats.Records != int64(len(lines)) {
			b.Fatalf("%d records, want %d", s.stats.Records, len(lines))
		}
		records += s.stats.Records
		s.close()
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "rows/s")
}
