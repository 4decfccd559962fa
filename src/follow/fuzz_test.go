package follow

import (
	"bytes"
	"path/filepath"
	"testing"
)

// FuzzFollow writes arbitrary bytes to a followed file in pieces, polling
// between writes: the follower never panics, its offset never passes the
// file size or goes back, the records it hands over tile the file, and a
// final drain consumes everything. format picks the framing: 0 sniffs like
// the modular input (blank-only data stays undecided), 1 and 2 frame
// lines, 3 frames CSV with a header.
func FuzzFollow(f *testing.F) {
	f.Add([]byte(recs("rec-a-1", "{bad", "rec-a-2")), uint8(10), uint8(0))
	f.Add([]byte("HEADER\n\"rec-c-1\nx\"\n"), uint8(3), uint8(3))
	f.Add([]byte("<Event>\n<Event"), uint8(50), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, step uint8, format uint8) {
		dir := t.TempDir()
		path := filepath.Join(dir, "f.log")
		var (
			out   testOutput
			logs  testLog
			spans [][2]int64 // offset and length of each record handed over
		)
		fl := New(Config{Name: "fuzz", Path: path, Checkpoint: CheckpointPath(dir, "fuzz"), BatchSize: 3,
			NewDecoder: func(string) Decoder { return &fuzzDecoder{format: format % 4, spans: &spans} },
			Output:     &out, Log: &logs})
		defer fl.Close()
		n := max(int(step)%64+1, len(data)/8+1) // at most 9 polls: each may fsync
		var last int64
		for i := 0; i <= len(data); i += n {
			appendFile(t, path, string(data[i:min(i+n, len(data))]))
			if err := fl.Poll(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, tr := range fl.files {
				if tr.off > int64(len(data)) || tr.off < last {
					t.Fatalf("offset %d: past size %d or back from %d", tr.off, len(data), last)
				}
				last = tr.off
			}
		}
		for _, tr := range fl.files {
			if tr.broken == nil && tr.framer != nil {
				fl.consume(tr, 1<<30, true)
				if tr.off != int64(len(data)) {
					t.Fatalf("final drain stopped at %d of %d", tr.off, len(data))
				}
			}
		}
		// Each record starts where the previous one ended; a header replay
		// starts again at 0.
		var next int64
		for _, s := range spans {
			if s[0] != next && s[0] != 0 {
				t.Fatalf("record at %d, want %d (spans %v)", s[0], next, spans)
			}
			next = s[0] + s[1]
		}
	})
}

// fuzzDecoder frames like the modular input and notes every record's span.
type fuzzDecoder struct {
	format uint8
	spans  *[][2]int64
}

func (d *fuzzDecoder) Frame(head []byte) (Framer, bool) {
	b := bytes.TrimLeft(head, " \t\r\n")
	switch {
	case d.format == 1 || d.format == 2:
		return Lines(), false
	case d.format == 3:
		return CSV(), true
	case len(b) == 0:
		return nil, false
	case b[0] == '<' || b[0] == '{':
		return Lines(), false
	}
	return CSV(), true
}

func (d *fuzzDecoder) Record(rec []byte, at Pos) error {
	*d.spans = append(*d.spans, [2]int64{at.Offset, int64(len(rec))})
	if bytes.HasPrefix(rec, []byte("{bad")) {
		return errBadRecord
	}
	return nil
}
