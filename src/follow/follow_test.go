package follow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHalfLineWaits(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, recs("rec-a-0")+"rec-a")
	h := newHarness(t, filepath.Join(dir, "*.log"), false, false, 500)
	h.check(h.poll(2), "rec-a-0")
	appendFile(t, a, "-1\n")
	h.check(h.poll(1), "rec-a-1")
	if p := h.positions[len(h.positions)-1]; p != (Pos{Path: a, Offset: 8, Line: 2}) {
		t.Errorf("position %+v", p)
	}
}

func TestStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, recs(ids("a", 0, 5)...)+"rec-p")
	h := newHarness(t, filepath.Join(dir, "*.log"), false, true, 500)
	h.check(h.poll(1))
	appendFile(t, a, "-0\nrec-a-5\n")
	h.check(h.poll(1), "rec-p-0", "rec-a-5")
	// With a checkpoint, StartAtEnd no longer applies: a new file is new data.
	h.restart()
	writeFile(t, filepath.Join(dir, "b.log"), recs("rec-b-0"))
	h.check(h.poll(1), "rec-b-0")
}

// TestHeaderOnResume resumes a file with a header past its start: the
// decoder sees the header again first; with StartAtEnd too.
func TestHeaderOnResume(t *testing.T) {
	for _, atEnd := range []bool{false, true} {
		dir := t.TempDir()
		c := filepath.Join(dir, "a.csv")
		writeFile(t, c, "HEADER\n"+recs(ids("c", 0, 3)...))
		h := newHarness(t, c, true, atEnd, 500)
		if atEnd {
			h.check(h.poll(1))
		} else {
			h.check(h.poll(1), ids("c", 0, 3)...)
		}
		h.restart()
		appendFile(t, c, "\"rec-c-3\"\n")
		h.check(h.poll(1), `"rec-c-3"`)
	}
}

func TestBrokenHeader(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "a.csv")
	writeFile(t, c, "colour,size\nred,1\n")
	h := newHarness(t, c, true, false, 500)
	h.check(h.poll(3))
	if n := strings.Count(h.logs.String(), "ERROR "); n != 1 || !strings.Contains(h.logs.String(), c+":1 (byte 0): header") {
		t.Errorf("%d ERROR lines, want 1 placing the header:\n%s", n, h.logs.String())
	}
	// Replaced by a readable file: picked up from its start.
	writeFile(t, c, "HEADER\nrec-c-0\n")
	h.check(h.poll(1), "rec-c-0")
}

func TestLongRecordSkipped(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	long := strings.Repeat("A", MaxRecordBytes+10) + "\n"
	writeFile(t, a, recs("rec-a-0")+long[:MaxRecordBytes/2])
	h := newHarness(t, a, false, false, 500)
	h.check(h.poll(1), "rec-a-0")
	appendFile(t, a, long[MaxRecordBytes/2:MaxRecordBytes+5])
	h.check(h.poll(1)) // still inside the long record
	appendFile(t, a, long[MaxRecordBytes+5:]+recs("rec-a-1"))
	h.check(h.poll(1), "rec-a-1")
	if !strings.Contains(h.logs.String(), a+":2 ") || !strings.Contains(h.logs.String(), ErrTooLong.Error()) || h.f.Stats().Bad != 1 {
		t.Errorf("long record not reported at line 2 (bad=%d):\n%s", h.f.Stats().Bad, h.logs.String())
	}
	if cap(h.f.buf) > 3*MaxRecordBytes {
		t.Errorf("buffer grew to %d", cap(h.f.buf))
	}
	// A restart inside no record resumes after it.
	h.restart()
	appendFile(t, a, recs("rec-a-2"))
	h.check(h.poll(1), "rec-a-2")
}

func TestRotatedFileTail(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, recs("rec-a-0")+"rec-a-1")
	h := newHarness(t, filepath.Join(dir, "*.log"), false, false, 500)
	h.check(h.poll(1), "rec-a-0")
	if err := os.Rename(a, a+".1"); err != nil {
		t.Fatal(err)
	}
	h.check(h.poll(rotateGrace - 1)) // idle grace: the writer may still append
	h.check(h.poll(1), "rec-a-1")
	if h.f.Files() != 0 || h.f.Stats().Rotated != 1 {
		t.Errorf("rotated file still followed (%d files, stats %+v)", h.f.Files(), h.f.Stats())
	}
}

func TestRotatedWhileStopped(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, recs("rec-a-0"))
	h := newHarness(t, filepath.Join(dir, "*.log"), false, false, 500)
	h.check(h.poll(1), "rec-a-0")
	h.f.Close()
	appendFile(t, a, recs("rec-a-1"))
	os.Rename(a, a+".1")
	writeFile(t, a, recs("rec-b-0"))
	h.start()
	h.check(h.poll(1), "rec-b-0", "rec-a-1")
}

func TestTruncation(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, recs(ids("a", 0, 3)...))
	h := newHarness(t, a, false, false, 500)
	h.check(h.poll(1), ids("a", 0, 3)...)
	// Truncated to empty, then new records.
	writeFile(t, a, "")
	h.check(h.poll(1))
	appendFile(t, a, recs("rec-t-0"))
	h.check(h.poll(1), "rec-t-0")
	// Rewritten past the old offset before a poll sees it: the fingerprint
	// tells.
	writeFile(t, a, recs(ids("y", 0, 5)...))
	h.check(h.poll(1), ids("y", 0, 5)...)
	if !strings.Contains(h.logs.String(), "was truncated") || !strings.Contains(h.logs.String(), "was rewritten") || h.f.Stats().Truncated != 2 {
		t.Errorf("stats %+v, log:\n%s", h.f.Stats(), h.logs.String())
	}
}

func TestCorruptCheckpoint(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, recs("rec-a-0"))
	h := newHarness(t, a, false, true, 500)
	h.check(h.poll(1))
	h.f.Close()
	writeFile(t, h.cfg.Checkpoint, `{"version":1,"files":[{"pa`)
	writeFile(t, h.cfg.Checkpoint+".tmp-123", "left by a crash")
	h.start()
	// Read again from the start (StartAtEnd does not apply: repeats, not losses).
	h.check(h.poll(1), "rec-a-0")
	if _, err := os.Stat(h.cfg.Checkpoint + ".bad"); err != nil {
		t.Errorf("corrupt checkpoint not kept aside: %v", err)
	}
	if _, err := os.Stat(h.cfg.Checkpoint + ".tmp-123"); err == nil {
		t.Error("stale temp file not removed")
	}
	if !strings.Contains(h.logs.String(), "ERROR t: checkpoint parse") {
		t.Errorf("log:\n%s", h.logs.String())
	}
}

func TestCheckpointFailurePauses(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, recs("rec-a-0"))
	h := newHarness(t, a, false, false, 2)
	h.check(h.poll(1), "rec-a-0")
	// The checkpoint directory becomes unusable.
	cp := filepath.Dir(h.cfg.Checkpoint)
	os.RemoveAll(cp)
	writeFile(t, cp, "not a directory")
	appendFile(t, a, recs(ids("a", 1, 6)...))
	got := h.poll(3)
	if len(got) > 2 || !h.f.Paused() {
		t.Fatalf("kept consuming without checkpoints: %v (paused %v)", got, h.f.Paused())
	}
	os.Remove(cp)
	os.MkdirAll(cp, 0o700)
	got = append(got, h.poll(2)...)
	h.check(got, ids("a", 1, 6)...)
	if !strings.Contains(h.logs.String(), "pausing until the checkpoint can be saved") || !strings.Contains(h.logs.String(), "resuming") {
		t.Errorf("log:\n%s", h.logs.String())
	}
}

// TestFlushBeforeSave checks that every checkpoint save follows a flush of
// the output, and that an output error stops the poll.
func TestFlushBeforeSave(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, recs(ids("a", 0, 5)...))
	h := newHarness(t, a, false, false, 2)
	h.check(h.poll(1), ids("a", 0, 5)...)
	if h.out.flushes < 3 {
		t.Errorf("%d flushes for 5 records in batches of 2", h.out.flushes)
	}
	h.out.err = os.ErrClosed
	appendFile(t, a, recs("rec-a-5"))
	if err := h.f.Poll(t.Context()); err != os.ErrClosed {
		t.Errorf("Poll = %v, want the output's error", err)
	}
}

func TestBadRecordLogBounded(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, strings.Repeat("{bad\n", 150)+recs("rec-a-0"))
	h := newHarness(t, a, false, false, 500)
	h.check(h.poll(1), "rec-a-0")
	if n := strings.Count(h.logs.String(), "skipping bad record"); n != maxRecordLogs {
		t.Errorf("%d bad records logged, want %d", n, maxRecordLogs)
	}
	if h.f.Stats().Bad != 150 || !strings.Contains(h.logs.String(), "further bad records") || !strings.Contains(h.logs.String(), a+":1 (byte 0): bad record") {
		t.Errorf("bad=%d, log:\n%s", h.f.Stats().Bad, h.logs.String())
	}
}
