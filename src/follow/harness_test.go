package follow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testDecoder takes records that are ids ("rec-a-1") one per line, or CSV
// when header is set (first record "HEADER"). A record starting with
// "{bad" is rejected.
type testDecoder struct {
	h          *harness
	header     bool
	headerSeen bool
}

func (d *testDecoder) Frame(head []byte) (Framer, bool) {
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, false
	}
	if d.header {
		return CSV(), true
	}
	return Lines(), false
}

var errBadRecord = errors.New("bad record")

func (d *testDecoder) Record(rec []byte, at Pos) error {
	d.h.positions = append(d.h.positions, at)
	s := strings.TrimRight(string(rec), "\r\n")
	switch {
	case s == "":
		return nil
	case d.header && !d.headerSeen:
		if s != "HEADER" {
			return Broken(fmt.Errorf("header %q names nothing known", s))
		}
		d.headerSeen = true
		return nil
	case strings.HasPrefix(s, "{bad"):
		return errBadRecord
	}
	d.h.got = append(d.h.got, s)
	return nil
}

// testOutput counts flushes and can fail.
type testOutput struct {
	flushes int
	err     error
}

func (o *testOutput) Flush() error { o.flushes++; return o.err }
func (o *testOutput) Err() error   { return o.err }

type testLog struct{ bytes.Buffer }

func (l *testLog) Infof(format string, args ...any)  { fmt.Fprintf(l, "INFO "+format+"\n", args...) }
func (l *testLog) Warnf(format string, args ...any)  { fmt.Fprintf(l, "WARN "+format+"\n", args...) }
func (l *testLog) Errorf(format string, args ...any) { fmt.Fprintf(l, "ERROR "+format+"\n", args...) }

// harness runs one follower, polling by hand.
type harness struct {
	t         *testing.T
	cfg       Config
	f         *Follower
	out       testOutput
	logs      testLog
	got       []string // records handled since the last poll call
	positions []Pos
}

func newHarness(t *testing.T, path string, header, startAtEnd bool, batch int) *harness {
	h := &harness{t: t}
	cp := filepath.Join(t.TempDir(), "cp")
	if err := os.MkdirAll(cp, 0o700); err != nil {
		t.Fatal(err)
	}
	h.cfg = Config{
		Name: "t", Path: path, Checkpoint: CheckpointPath(cp, "t"), StartAtEnd: startAtEnd, BatchSize: batch,
		NewDecoder: func(string) Decoder { return &testDecoder{h: h, header: header} },
		Output:     &h.out, Log: &h.logs,
	}
	h.start()
	return h
}

func (h *harness) start() {
	h.f = New(h.cfg)
	h.t.Cleanup(h.f.Close)
}

// restart simulates a clean restart: a new follower on the same checkpoint.
func (h *harness) restart() {
	h.f.Close()
	h.start()
}

// poll polls n times and returns the records handled.
func (h *harness) poll(n int) []string {
	h.t.Helper()
	for range n {
		if err := h.f.Poll(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
	got := h.got
	h.got = nil
	return got
}

func (h *harness) check(got []string, want ...string) {
	h.t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		h.t.Fatalf("records %v, want %v\nlog:\n%s", got, want, h.logs.String())
	}
}

func recs(ids ...string) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(id + "\n")
	}
	return b.String()
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("rec-%s-%d", prefix, i))
	}
	return out
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}
