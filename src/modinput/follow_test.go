package modinput

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scorecmdline/src/follow"
)

// harness runs one stanza in process, polling by hand.
type harness struct {
	t      *testing.T
	cp     string
	params map[string]string
	s      *stanza
	w      *eventWriter
	out    bytes.Buffer
	logs   bytes.Buffer
	seen   int // bytes of out already returned
}

func newHarness(t *testing.T, params map[string]string) *harness {
	h := &harness{t: t, cp: filepath.Join(t.TempDir(), "cp"), params: params}
	os.MkdirAll(h.cp, 0o700)
	h.w = newEventWriter(&h.out)
	h.start()
	return h
}

func (h *harness) start() {
	cfg, errs := parseStanza("scorecmdline://t", h.params)
	if len(errs) > 0 {
		h.t.Fatal(errs)
	}
	eng, err := cfg.newEngine()
	if err != nil {
		h.t.Fatal(err)
	}
	h.s = newStanza(cfg, eng, h.cp, h.w, logger{&h.logs})
	h.t.Cleanup(h.s.close)
}

// restart simulates a clean restart: a new stanza on the same checkpoints.
func (h *harness) restart() {
	h.s.close()
	h.start()
}

// poll polls n times and returns the ids of the events written.
func (h *harness) poll(n int) []string {
	h.t.Helper()
	for range n {
		if err := h.s.poll(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
	h.w.Flush()
	evs := parseEvents(h.t, h.out.String()[h.seen:])
	h.seen = h.out.Len()
	var got []string
	for _, e := range evs {
		got = append(got, e.id)
	}
	return got
}

func (h *harness) check(got []string, want ...string) {
	h.t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		h.t.Fatalf("events %v, want %v\nlog:\n%s", got, want, h.logs.String())
	}
}

func TestStartEnd(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	partial := jsonRecord("rec-p-0")
	writeFile(t, a, genLines(jsonRecord, ids("a", 0, 5))+partial[:30])
	h := newHarness(t, map[string]string{"path": filepath.Join(dir, "*.log"), "start": "end"})
	h.check(h.poll(1))
	writeFileAppend(t, a, partial[30:]+jsonRecord("rec-a-5"))
	h.check(h.poll(1), "rec-p-0", "rec-a-5")
	// With a checkpoint, start=end no longer applies: a new file is new data.
	h.restart()
	writeFile(t, filepath.Join(dir, "b.log"), jsonRecord("rec-b-0"))
	h.check(h.poll(1), "rec-b-0")
}

func TestStartEndCSV(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "a.csv")
	writeFile(t, c, csvHeader+genLines(csvRecord, ids("c", 0, 3)))
	h := newHarness(t, map[string]string{"path": c, "start": "end"})
	h.check(h.poll(1))
	writeFileAppend(t, c, csvRecord("rec-c-3"))
	h.check(h.poll(1), "rec-c-3")
}

func TestCSVResumeReadsHeader(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "a.csv")
	writeFile(t, c, csvHeader+genLines(csvRecord, ids("c", 0, 3)))
	h := newHarness(t, map[string]string{"path": c})
	h.check(h.poll(1), ids("c", 0, 3)...)
	h.restart()
	writeFileAppend(t, c, csvRecord("rec-c-3"))
	h.check(h.poll(1), "rec-c-3")
	if !strings.Contains(h.out.String(), `"user":"D\\v"`) {
		t.Errorf("fields not mapped after resume: %s", h.out.String())
	}
}

func TestBrokenCSVHeader(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "a.csv")
	writeFile(t, c, "colour,size\nred,1\n")
	h := newHarness(t, map[string]string{"path": c, "format": "csv"})
	h.check(h.poll(3))
	if n := strings.Count(h.logs.String(), "ERROR "); n != 1 {
		t.Errorf("%d ERROR lines, want 1:\n%s", n, h.logs.String())
	}
	// Replaced by a readable file: picked up from its start.
	writeFile(t, c, csvHeader+csvRecord("rec-c-0"))
	h.check(h.poll(1), "rec-c-0")
}

func TestLongRecordSkipped(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	long := `{"EventID":1,"CommandLine":"` + strings.Repeat("A", follow.MaxRecordBytes+10) + `"}` + "\n"
	writeFile(t, a, jsonRecord("rec-a-0")+long[:follow.MaxRecordBytes/2])
	h := newHarness(t, map[string]string{"path": a})
	h.check(h.poll(1), "rec-a-0")
	writeFileAppend(t, a, long[follow.MaxRecordBytes/2:follow.MaxRecordBytes+5])
	h.check(h.poll(1)) // still inside the long record
	writeFileAppend(t, a, long[follow.MaxRecordBytes+5:]+jsonRecord("rec-a-1"))
	h.check(h.poll(1), "rec-a-1")
	if !strings.Contains(h.logs.String(), a+":2 ") || !strings.Contains(h.logs.String(), follow.ErrTooLong.Error()) || h.s.f.Stats().Bad != 1 {
		t.Errorf("long record not reported at line 2 (bad=%d):\n%s", h.s.f.Stats().Bad, h.logs.String())
	}
	// A restart inside no record resumes after it.
	h.restart()
	writeFileAppend(t, a, jsonRecord("rec-a-2"))
	h.check(h.poll(1), "rec-a-2")
}

func TestRotatedFileTail(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	last := jsonRecord("rec-a-1")
	writeFile(t, a, jsonRecord("rec-a-0")+strings.TrimSuffix(last, "\n"))
	h := newHarness(t, map[string]string{"path": filepath.Join(dir, "*.log")})
	h.check(h.poll(1), "rec-a-0")
	if err := os.Rename(a, a+".1"); err != nil {
		t.Fatal(err)
	}
	h.check(h.poll(4)) // idle grace: the writer may still append
	h.check(h.poll(1), "rec-a-1")
	if h.s.f.Files() != 0 {
		t.Errorf("rotated file still followed")
	}
}

func TestRotatedWhileStopped(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, jsonRecord("rec-a-0"))
	h := newHarness(t, map[string]string{"path": filepath.Join(dir, "*.log")})
	h.check(h.poll(1), "rec-a-0")
	h.s.close()
	writeFileAppend(t, a, jsonRecord("rec-a-1"))
	os.Rename(a, a+".1")
	writeFile(t, a, jsonRecord("rec-b-0"))
	h.start()
	h.check(h.poll(1), "rec-b-0", "rec-a-1")
}

func TestCorruptCheckpoint(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, jsonRecord("rec-a-0"))
	h := newHarness(t, map[string]string{"path": a, "start": "end"})
	h.check(h.poll(1))
	h.s.close()
	writeFile(t, h.s.cpPath, `{"version":1,"files":[{"pa`)
	writeFile(t, h.s.cpPath+".tmp-123", "left by a crash")
	h.start()
	// Read again from the start (start=end does not apply: repeats, not losses).
	h.check(h.poll(1), "rec-a-0")
	if _, err := os.Stat(h.s.cpPath + ".bad"); err != nil {
		t.Errorf("corrupt checkpoint not kept aside: %v", err)
	}
	if _, err := os.Stat(h.s.cpPath + ".tmp-123"); err == nil {
		t.Error("stale temp file not removed")
	}
	if !strings.Contains(h.logs.String(), "ERROR scorecmdline://t: checkpoint parse") {
		t.Errorf("log:\n%s", h.logs.String())
	}
}

func TestCheckpointFailurePauses(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, jsonRecord("rec-a-0"))
	h := newHarness(t, map[string]string{"path": a, "batch_size": "2"})
	h.check(h.poll(1), "rec-a-0")
	// The checkpoint directory becomes unusable.
	os.RemoveAll(h.cp)
	writeFile(t, h.cp, "not a directory")
	writeFileAppend(t, a, genLines(jsonRecord, ids("a", 1, 6)))
	got := h.poll(3)
	if len(got) > 2 {
		t.Fatalf("kept consuming without checkpoints: %v", got)
	}
	os.Remove(h.cp)
	os.MkdirAll(h.cp, 0o700)
	got = append(got, h.poll(2)...)
	h.check(got, ids("a", 1, 6)...)
	if !strings.Contains(h.logs.String(), "pausing until the checkpoint can be saved") || !strings.Contains(h.logs.String(), "resuming") {
		t.Errorf("log:\n%s", h.logs.String())
	}
}

func TestBadRecordLogBounded(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, strings.Repeat("{broken\n", 150)+jsonRecord("rec-a-0"))
	h := newHarness(t, map[string]string{"path": a})
	h.check(h.poll(1), "rec-a-0")
	if n := strings.Count(h.logs.String(), "skipping bad record"); n != 100 {
		t.Errorf("%d bad records logged, want 100", n)
	}
	if h.s.f.Stats().Bad != 150 || !strings.Contains(h.logs.String(), "further bad records") {
		t.Errorf("bad=%d", h.s.f.Stats().Bad)
	}
}

func TestEmitAlerts(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	benign := `{"EventID":1,"CommandLine":"C:\\Windows\\System32\\svchost.exe -k netsvcs -p rec-n-0","Image":"C:\\Windows\\System32\\svchost.exe","ParentImage":"C:\\Windows\\System32\\services.exe"}` + "\n"
	writeFile(t, a, benign+jsonRecord("rec-a-0")) // the latter hits certutil -urlcache
	h := newHarness(t, map[string]string{"path": a, "emit": "alerts"})
	h.check(h.poll(1), "rec-a-0")
	if h.s.stats.Records != 2 || h.s.stats.Alerts != 1 {
		t.Errorf("stats %+v", h.s.stats)
	}
}

func TestIndexDefaultOmitted(t *testing.T) {
	m := newEventMeta("s", "default", "")
	if bytes.Contains(m.tail, []byte("<index>")) || bytes.Contains(m.tail, []byte("<host>")) {
		t.Errorf("tail %s", m.tail)
	}
}

// TestEventsGolden runs the hand-made fixtures of every format (package
// winevent's, which the parsers are tested on) through a stanza and
// compares the event stream with testdata/events.xml.golden.
func TestEventsGolden(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"sysmon_eid1.xml", "security_4688.xml", "otrf_style.jsonl", "defender.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "winevent", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f), string(b))
	}
	h := newHarness(t, map[string]string{"path": filepath.Join(dir, "*"), "index": "main", "host": "collector"})
	h.poll(1)
	if h.s.stats != (stats{Records: 8, Events: 8, Alerts: h.s.stats.Alerts, Skipped: 2}) || h.s.f.Stats() != (follow.Stats{}) {
		t.Errorf("stats %+v %+v\n%s", h.s.stats, h.s.f.Stats(), h.logs.String())
	}
	out := strings.ReplaceAll(h.out.String(), dir+"/", "$DIR/")
	checkGolden(t, "events.xml", []byte(out))
}
