package searchcmd

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"scorecmdline/src/chunk"
	"scorecmdline/src/internal/golden"
	"scorecmdline/src/internal/race"
)

// lenCmd is the fake command of these tests. It reads one field (option
// field=, default "process") and adds "len", the value's byte length
// ("absent" when the column is missing), and, with words set, the Multi
// output "words": the value split at spaces.
type lenCmd struct {
	words bool
}

func (c lenCmd) Getinfo(req *Getinfo) (*Plan, error) {
	field := "process"
	for n, v := range req.Options {
		if n != "field" {
			return nil, fmt.Errorf("Unrecognized option: %s=%s", n, v)
		}
		field = v
	}
	if len(req.Positional) > 0 {
		return nil, fmt.Errorf("Unexpected argument: %s", req.Positional[0])
	}
	outs := []Field{{Name: "len"}}
	if c.words {
		outs = append(outs, Field{Name: "words", Multi: true})
	}
	return &Plan{
		Inputs:  []string{field},
		Outputs: outs,
		NewWorker: func() RowFunc {
			var num []byte
			return func(in [][]byte, out *Out) {
				v := in[0]
				if v == nil {
					out.SetString(0, "absent")
					return
				}
				num = strconv.AppendInt(num[:0], int64(len(v)), 10)
				out.Set(0, num)
				if !c.words {
					return
				}
				for len(v) > 0 {
					i := bytes.IndexByte(v, ' ')
					if i < 0 {
						out.Append(1, v)
						break
					}
					if i > 0 {
						out.Append(1, v[:i])
					}
					v = v[i+1:]
				}
			}
		},
	}, nil
}

// frame returns one chunk's bytes.
func frame(meta, body string) string {
	return fmt.Sprintf("chunked 1.0,%d,%d\n%s%s", len(meta), len(body), meta, body)
}

// getinfo returns a getinfo request in splunkd 8.x shape.
func getinfo(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	list := "[" + strings.Join(q, ",") + "]"
	return frame(`{"action":"getinfo","preview":false,"streaming_command_will_restart":false,"searchinfo":{"args":`+list+
		`,"raw_args":`+list+`,"dispatch_dir":"/tmp/dispatch/1","sid":"1","app":"search","owner":"admin","username":"admin",`+
		`"session_key":"k","splunkd_uri":"https://127.0.0.1:8089","splunk_version":"9.1.0","search":"search%20x%20%7C%20scorecmdline",`+
		`"command":"scorecmdline","maxresultrows":50000,"earliest_time":"0","latest_time":"0"}}`, "")
}

func execute(finished bool, body string) string {
	return frame(fmt.Sprintf(`{"action":"execute","finished":%v}`, finished), body)
}

func run(t testing.TB, cmd Command, in string, cfg Config) (stdout, stderr string, err error) {
	t.Helper()
	var out, log bytes.Buffer
	cfg.Log = &log
	err = Run(cmd, strings.NewReader(in), &out, cfg)
	return out.String(), log.String(), err
}

type goldenCase struct {
	name  string
	words bool
	args  []string
	reqs  []string // execute chunks
}

var goldenCases = []goldenCase{
	{name: "multibyte", words: true, reqs: []string{
		execute(false, "\"_time\",process,\"__mv__time\",\"__mv_process\"\n\"1599171244.277\",\"\u0e17t \u0e17\u0e17\",,\n\"1599171244.278\",\"日本語 テキスト 😀\",,\n"),
		execute(true, "\"_time\",process,\"__mv__time\",\"__mv_process\"\n\"1599171244.279\",\"\u0e17t\",,\n"),
	}},
	{name: "multivalue_input", words: true, reqs: []string{
		execute(true, "process,\"__mv_process\"\n\"a b\nc\",\"$a b$;$c$\"\n\"x$y\nz\",\"$x$$y$;$z$\"\nsingle,\n"),
	}},
	{name: "quoted_newlines", words: true, reqs: []string{
		execute(true, "process,other\n\"line one\nline two\",\"o\"\"q\"\"\"\n\"\",\"\n\"\n,plain\n"),
	}},
	{name: "crlf", words: true, reqs: []string{
		execute(true, "process,other\r\n\"cmd.exe /c \"\"dir\"\"\",x\r\n\"a\r\nb\",\"\"\r\nlast,y\r\n"),
	}},
	{name: "header_only", reqs: []string{
		execute(false, "process,\"__mv_process\"\n"),
		execute(true, "process,\"__mv_process\""),
	}},
	{name: "empty_body", reqs: []string{
		execute(false, ""),
		execute(false, "process\nabc\n"),
		execute(true, ""),
	}},
	{name: "final_empty", reqs: []string{
		execute(false, "process\nwhoami\nnet user\n"),
		execute(true, ""),
	}},
	{name: "chunked_idx", words: true, reqs: []string{
		execute(false, "process,\"_chunked_idx\",\"__mv_process\",\"__mv__chunked_idx\"\n\"powershell -enc AAA=\",0,,\nnotepad,1,,\n"),
		execute(true, "process,\"_chunked_idx\",\"__mv_process\",\"__mv__chunked_idx\"\n"),
	}},
	{name: "missing_field", words: true, args: []string{"field=CommandLine"}, reqs: []string{
		execute(true, "process,user\nwhoami,bob\n"),
	}},
	{name: "collision", words: true, reqs: []string{
		execute(true, "len,process,\"__mv_len\",\"__mv_process\",\"__mv_words\"\n99,\"a b c\",,,\"$stale$;$x$\"\n\"9,9\",\"one\",\"$9$;$9$\",,\n"),
	}},
	{name: "output_quoting", words: true, reqs: []string{
		execute(true, "process\n\"a,b \"\"q\"\" $d$ x\"\n\" lead\"\n"),
	}},
	{name: "bom", reqs: []string{
		execute(true, "\ufeffprocess,x\nabc,1\n"),
	}},
	{name: "no_trailing_newline", reqs: []string{
		execute(true, "process,x\nabc,1\n\"de\",2"),
	}},
}

func (c goldenCase) input() string {
	var b strings.Builder
	b.WriteString(getinfo(c.args...))
	for _, r := range c.reqs {
		b.WriteString(r)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			inFile := filepath.Join("testdata", c.name+".in")
			goldFile := filepath.Join("testdata", c.name+".golden")
			in := c.input()
			if golden.Updating() {
				if err := os.WriteFile(inFile, []byte(in), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if disk, err := os.ReadFile(inFile); err != nil || string(disk) != in {
				t.Fatalf("%s is missing or differs from the table (run with -update): %v", inFile, err)
			}
			got, log, err := run(t, lenCmd{words: c.words}, in, Config{Workers: 2})
			if err != nil || log != "" {
				t.Fatalf("Run: %v; log %q", err, log)
			}
			// The same result however the rows are split among workers.
			defer func(old int) { minWorkerBytes = old }(minWorkerBytes)
			minWorkerBytes = 1
			for _, workers := range []int{2, 3, 7} {
				split, _, err := run(t, lenCmd{words: c.words}, in, Config{Workers: workers})
				if err != nil || split != got {
					t.Fatalf("%d workers: err %v, output differs:\n%q\nvs\n%q", workers, err, split, got)
				}
			}
			golden.Check(t, goldFile, []byte(got))
		})
	}
}

func TestBadInput(t *testing.T) {
	okGetinfo := frame(`{"type":"streaming","required_fields":["process"]}`, "")
	execErr := func(text string) string {
		return okGetinfo + frame(`{"finished":true,"inspector":{"messages":[["ERROR",`+strconv.Quote(text)+`]]}}`, "")
	}
	getinfoErr := func(text string) string {
		return frame(`{"type":"streaming","inspector":{"messages":[["ERROR",`+strconv.Quote(text)+`]]},"finished":true}`, "")
	}
	gi := getinfo()
	at := fmt.Sprintf("chunk 2 at byte %d: ", len(gi))
	body := "process\nwhoami\n"
	tests := []struct {
		name string
		in   string
		cfg  Config
		out  string // the whole stdout
		is   error
	}{
		{"empty input", "", Config{}, getinfoErr("chunk 1 at byte 0: input ended before the getinfo request"), ErrNoRequest},
		{"truncated getinfo", gi[:40], Config{}, getinfoErr("chunk 1 at byte 0: unexpected EOF"), io.ErrUnexpectedEOF},
		{"getinfo bad json", frame(`{"action":"getinfo"`, ""), Config{}, getinfoErr("chunk 1 at byte 0: invalid metadata: unexpected end of JSON input"), ErrMetadata},
		{"getinfo json array", frame(`[]`, ""), Config{}, getinfoErr("chunk 1 at byte 0: invalid metadata: not a JSON object"), ErrMetadata},
		{"getinfo with body", frame(`{"action":"getinfo"}`, "a\n1\n"), Config{}, getinfoErr("chunk 1 at byte 0: getinfo request carries a body (4 bytes)"), ErrGetinfoBody},
		{"execute before getinfo", execute(true, body), Config{}, getinfoErr(`chunk 1 at byte 0: unexpected action "execute", expected "getinfo"`), ErrAction},
		{"garbage header", "chunked 1.0,x,0\n{}", Config{}, getinfoErr(`chunk 1 at byte 0: chunk: invalid header "chunked 1.0,x,0\n"`), chunk.ErrHeader},
		{"searchinfo wrong type", frame(`{"action":"getinfo","searchinfo":{"maxresultrows":"many"}}`, ""), Config{}, "", ErrMetadata},
		{"getinfo error", getinfo("field=process", "bogus=1"), Config{}, getinfoErr("Unrecognized option: bogus=1"), nil},
		{"duplicate option", getinfo("field=a", "field=b"), Config{}, getinfoErr("duplicate option: field"), ErrDuplicateOption},
		{"getinfo twice", gi + gi, Config{}, execErr(at + `unexpected action "getinfo", expected "execute"`), ErrAction},
		{"unknown action", gi + frame(`{"action":"cancel","finished":true}`, ""), Config{}, execErr(at + `unexpected action "cancel", expected "execute"`), ErrAction},
		{"invalid json", gi + frame(`{"action":"execute",}`, ""), Config{}, execErr(at + "invalid metadata: invalid character '}' looking for beginning of object key string"), ErrMetadata},
		{"truncated chunk", gi + execute(true, body)[:60], Config{}, execErr(at + "unexpected EOF"), io.ErrUnexpectedEOF},
		{"garbage lengths", gi + "chunked 1.0,37,1e3\n", Config{}, execErr(at + `chunk: invalid header "chunked 1.0,37,1e3\n"`), chunk.ErrHeader},
		{"chunk too large", gi + execute(true, "process\n"+strings.Repeat("x", 500)+"\n"), Config{MaxChunkSize: 500}, execErr(at + "chunk: too large: 545 bytes declared, limit 500"), chunk.ErrTooLarge},
		{"ragged short", gi + execute(true, "process,b,c\nx,1,2\ny,1\n"), Config{}, execErr(at + `row 2, column 3 ("c"): wrong number of fields: the row has 2, the header 3`), ErrFieldCount},
		{"ragged long", gi + execute(true, "process,b\nx,1\ny,1\nz,1,2\n"), Config{}, execErr(at + `row 3, column 3: wrong number of fields: the row has 3, the header 2`), ErrFieldCount},
		{"unterminated quote", gi + execute(true, "process,b\nx,1\n\"y,1\n"), Config{}, execErr(at + `row 2, column 1 ("process"): unterminated quoted field`), ErrQuote},
		{"bare quote", gi + execute(true, "process,b\nx\"y,1\n"), Config{}, execErr(at + `row 1, column 1 ("process"): bare " in unquoted field`), ErrBareQuote},
		{"after quote", gi + execute(true, "process,b\n\"x\"y,1\n"), Config{}, execErr(at + `row 1, column 1 ("process"): unexpected character after closing "`), ErrAfterQuote},
		{"cr only", gi + execute(true, "process,b\rx,1\r"), Config{}, execErr(at + `header, column 2: carriage return not followed by newline (CR-only line ends are not supported)`), ErrBareCR},
		{"bad header quote", gi + execute(true, "\"process,b\n"), Config{}, execErr(at + `header, column 1: unterminated quoted field`), ErrQuote},
		{"field too large", gi + execute(true, "process\n"+strings.Repeat("x", 101)+"\n"), Config{MaxFieldSize: 100}, execErr(at + `row 1, column 1 ("process"): field too large: 101 bytes, limit 100`), ErrFieldTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, log, err := run(t, lenCmd{}, tt.in, tt.cfg)
			if err == nil {
				t.Fatalf("no error; stdout %q", out)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if tt.out != "" && out != tt.out {
				t.Errorf("stdout\n%q\nwant\n%q", out, tt.out)
			}
			checkErrorReply(t, out, err)
			if log != "ERROR "+err.Error()+"\n" {
				t.Errorf("log %q, want ERROR and %q", log, err)
			}
		})
	}
}

// checkErrorReply asserts that the last reply is the ERROR reply for err
// and that every chunk is well framed.
func checkErrorReply(t *testing.T, out string, err error) {
	t.Helper()
	r := chunk.NewReader(strings.NewReader(out))
	var last []byte
	for {
		meta, body, rerr := r.Next()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			t.Fatalf("stdout is not well framed: %v", rerr)
		}
		if len(body) != 0 {
			t.Errorf("unexpected body %q", body)
		}
		last = bytes.Clone(meta)
	}
	want := strconv.Quote(err.Error())
	if !bytes.Contains(last, []byte(`"finished":true`)) || !bytes.Contains(last, []byte(`[["ERROR",`+want+`]]`)) {
		t.Errorf("last reply %s does not carry ERROR %s", last, want)
	}
}

// Rows are copied byte for byte, whatever they hold.
func TestPassThrough(t *testing.T) {
	tests := []struct {
		name, rows string
	}{
		{"malformed mv", "\"a\nb\",\"$a$;$b\"\nc,\"$$$\"\nd,\"no dollars\"\n"},
		{"invalid utf8 and nul", "\"\xff\xfe\x00x\",\"\x00\"\nab\x00c,\xc3\x28\n"},
		{"one MiB field", "\"" + strings.Repeat("A \"\"B\"\" ", 1<<17) + "\",x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "process,\"__mv_process\"\n" + tt.rows
			out, log, err := run(t, lenCmd{words: true}, getinfo()+execute(true, body), Config{})
			if err != nil || log != "" {
				t.Fatalf("Run: %v, log %q", err, log)
			}
			replies := readReplies(t, out)
			if len(replies) != 2 {
				t.Fatalf("%d replies", len(replies))
			}
			got := replies[1].body
			inRows := splitRawRows(t, []byte(tt.rows))
			outRows := splitRawRows(t, got[bytes.IndexByte(got, '\n')+1:])
			if len(outRows) != len(inRows) {
				t.Fatalf("%d rows out, %d in", len(outRows), len(inRows))
			}
			for i := range inRows {
				if !bytes.HasPrefix(outRows[i], append(bytes.Clone(inRows[i]), ',')) {
					t.Errorf("row %d: %q does not start with %q", i+1, clip(outRows[i]), clip(inRows[i]))
				}
			}
		})
	}
}

func clip(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

type reply struct{ meta, body []byte }

func readReplies(t testing.TB, out string) []reply {
	t.Helper()
	var rs []reply
	r := chunk.NewReader(strings.NewReader(out))
	for {
		meta, body, err := r.Next()
		if err == io.EOF {
			return rs
		}
		if err != nil {
			t.Fatalf("reading replies: %v", err)
		}
		rs = append(rs, reply{bytes.Clone(meta), bytes.Clone(body)})
	}
}

// splitRawRows splits a CSV body into raw rows without terminators, with a
// reference parser independent of the one under test.
func splitRawRows(t testing.TB, body []byte) [][]byte {
	t.Helper()
	rows, _, err := refParse(body)
	if err != nil {
		t.Fatalf("reference parser: %v", err)
	}
	raw := make([][]byte, len(rows))
	for i, r := range rows {
		raw[i] = r.raw
	}
	return raw
}

func TestCommandFailures(t *testing.T) {
	gi := getinfo()
	at := fmt.Sprintf("chunk 2 at byte %d: ", len(gi))
	tests := []struct {
		name string
		cmd  Command
		in   string
		text string
		is   error
	}{
		{"bad output index", rowCmd(func(in [][]byte, out *Out) { out.SetString(3, "x") }), gi + execute(true, "process\na\n"),
			at + "row 1: command failed: output index out of range: 3, the plan has 1 outputs", ErrOutputIndex},
		{"row panic", rowCmd(func(in [][]byte, out *Out) {
			if string(in[0]) == "b" {
				panic("boom")
			}
		}), gi + execute(true, "process\na\nb\n"), at + "row 2: command failed: panic: boom", ErrCommand},
		{"nil plan", planCmd{nil}, gi, "invalid plan: no plan or no NewWorker", ErrPlan},
		{"reserved output", planCmd{&Plan{Outputs: []Field{{Name: "__mv_x"}}, NewWorker: func() RowFunc { return nil }}}, gi,
			`invalid plan: output name "__mv_x" uses the reserved __mv_ prefix`, ErrPlan},
		{"duplicate output", planCmd{&Plan{Outputs: []Field{{Name: "a"}, {Name: "a"}}, NewWorker: func() RowFunc { return nil }}}, gi,
			`invalid plan: output "a" declared twice`, ErrPlan},
		{"nil worker", planCmd{&Plan{NewWorker: func() RowFunc { return nil }}}, gi + execute(true, "a\n1\n"),
			at + "invalid plan: NewWorker returned nil", ErrPlan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := run(t, tt.cmd, tt.in, Config{})
			if err == nil || err.Error() != tt.text || !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want %q (is %v)", err, tt.text, tt.is)
			}
			checkErrorReply(t, out, err)
		})
	}
}

type rowCmd RowFunc

func (f rowCmd) Getinfo(*Getinfo) (*Plan, error) {
	return &Plan{Inputs: []string{"process"}, Outputs: []Field{{Name: "x"}}, NewWorker: func() RowFunc { return RowFunc(f) }}, nil
}

type planCmd struct{ p *Plan }

func (c planCmd) Getinfo(*Getinfo) (*Plan, error) { return c.p, nil }

// recordCmd keeps the getinfo request it was given.
type recordCmd struct{ got **Getinfo }

func (c recordCmd) Getinfo(req *Getinfo) (*Plan, error) {
	*c.got = req
	return &Plan{NewWorker: func() RowFunc { return func([][]byte, *Out) {} }}, nil
}

func TestSearchInfo(t *testing.T) {
	tests := []struct {
		name string
		meta string
		want Getinfo
	}{
		{"splunkd 8.2 strings", `{"action":"getinfo","preview":false,"streaming_command_will_restart":true,"searchinfo":{"args":["field=process","explain=t","x"],` +
			`"raw_args":["field=\"process\"","explain=t","x"],"dispatch_dir":"/d","sid":"1629786023.114","app":"A","owner":"o","username":"u","session_key":"s",` +
			`"splunkd_uri":"https://127.0.0.1:8089","splunk_version":"8.2.1","search":"litsearch%20index%3Dbeetles%20%7C%20doubleage%20%25x%zz+","command":"doubleage",` +
			`"maxresultrows":"50000","earliest_time":"1627333200","latest_time":"1627354345.934","unknown_key":{"a":1}}}`,
			Getinfo{Action: "getinfo", StreamingCommandWillRestart: true, SearchInfo: SearchInfo{
				Args: []string{"field=process", "explain=t", "x"}, RawArgs: []string{`field="process"`, "explain=t", "x"}, DispatchDir: "/d", SID: "1629786023.114",
				App: "A", Owner: "o", Username: "u", SessionKey: "s", SplunkdURI: "https://127.0.0.1:8089", SplunkVersion: "8.2.1",
				Search: "litsearch index=beetles | doubleage %x%zz+", Command: "doubleage", MaxResultRows: 50000,
				EarliestTime: 1627333200, LatestTime: 1627354345.934},
				Options: map[string]string{"field": "process", "explain": "t"}, Positional: []string{"x"}}},
		{"splunklib recording numbers", `{"preview":true,"action":"getinfo","searchinfo":{"args":["a=b=c"],"latest_time":1599172248.0,"earliest_time":1599084000.0,"maxresultrows":50000,` +
			`"search":"search index=_internal | eval x=\"\u00e0\u00b8\u0097t\""}}`,
			Getinfo{Action: "getinfo", Preview: true, SearchInfo: SearchInfo{Args: []string{"a=b=c"}, MaxResultRows: 50000,
				EarliestTime: 1599084000, LatestTime: 1599172248, Search: "search index=_internal | eval x=\"\u00e0\u00b8\u0097t\""},
				Options: map[string]string{"a": "b=c"}}},
		{"empty strings", `{"action":"getinfo","searchinfo":{"maxresultrows":"","earliest_time":"","latest_time":""}}`,
			Getinfo{Action: "getinfo", Options: map[string]string{}}},
		{"no searchinfo", `{"action":"getinfo"}`, Getinfo{Action: "getinfo", Options: map[string]string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Getinfo
			_, log, err := run(t, recordCmd{&got}, frame(tt.meta, ""), Config{})
			if err != nil {
				t.Fatalf("Run: %v %s", err, log)
			}
			if g, w := fmt.Sprintf("%#v", *got), fmt.Sprintf("%#v", tt.want); g != w {
				t.Errorf("got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestGetinfoReply(t *testing.T) {
	tests := []struct {
		inputs, warnings []string
		want             string
	}{
		{nil, nil, `{"type":"streaming"}`},
		{[]string{"process", "a<b&\"c\""}, nil, `{"type":"streaming","required_fields":["process","a<b&\"c\""]}`},
		{[]string{"process"}, []string{"x.yml:3: bad", "y"}, `{"type":"streaming","required_fields":["process"],"inspector":{"messages":[["WARN","x.yml:3: bad"],["WARN","y"]]}}`},
	}
	for _, tt := range tests {
		if got := string(getinfoReply(&Plan{Inputs: tt.inputs, Warnings: tt.warnings})); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
}

// The work per chunk does not depend on the number of rows.
func TestNoAllocPerRow(t *testing.T) {
	if race.Enabled {
		t.Skip("skipping: the race detector allocates")
	}
	cmd := lenCmd{words: true}
	for _, workers := range []int{1, 2} {
		allocs := func(rows int) float64 {
			body := benchBody(rows, 1)
			s := &session{cfg: Config{Workers: workers}.withDefaults(), body: &bodyState{}, w: chunk.NewWriter(io.Discard)}
			s.plan, _ = cmd.Getinfo(&Getinfo{})
			defer func(old int) { minWorkerBytes = old }(minWorkerBytes)
			minWorkerBytes = 1
			step := func() {
				if err := s.process(body); err != nil {
					t.Fatal(err)
				}
				if err := s.reply(metaFinished, body); err != nil {
					t.Fatal(err)
				}
			}
			step() // buffers grow on the first chunk
			return testing.AllocsPerRun(10, step)
		}
		small, large := allocs(10), allocs(5000)
		t.Logf("%d workers: %v allocations per chunk of 10 rows, %v of 5000", workers, small, large)
		if large > small || large > 40 {
			t.Errorf("%d workers: %v allocations for 10 rows, %v for 5000", workers, small, large)
		}
	}
}

// sharedDir is ../shared relative to the repository root (two levels up).
var sharedDir = filepath.Join("..", "..", "..", "shared")

// Replay the real splunkd 8.0.3 recording with our own getinfo request.
func TestReplayMultibyte(t *testing.T) {
	path := filepath.Join(sharedDir, "chunked-protocol", "recordings", "custom_search", "multibyte_input.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("the shared recordings are not available (%v); ../shared is needed for this test", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the recorded getinfo: splunklib re-serialised it.
	r := chunk.NewReader(bytes.NewReader(raw))
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	var reqs []reply
	for {
		meta, body, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, reply{bytes.Clone(meta), bytes.Clone(body)})
	}
	in := getinfo("field=teststring")
	for _, q := range reqs {
		in += frame(string(q.meta), string(q.body))
	}
	out, log, err := run(t, lenCmd{words: true}, in, Config{Workers: 2})
	if err != nil {
		t.Fatalf("Run: %v %s", err, log)
	}
	replies := readReplies(t, out)
	if len(replies) != 10 || string(replies[0].meta) != `{"type":"streaming","required_fields":["teststring"]}` {
		t.Fatalf("%d replies, getinfo reply %s", len(replies), replies[0].meta)
	}
	wantRows := []int{6638, 5861, 1, 6574, 5926, 6412, 6088, 1741, 1441}
	for i, rep := range replies[1:] {
		wantMeta := `{"finished":false}`
		if i == 8 {
			wantMeta = `{"finished":true}`
		}
		if string(rep.meta) != wantMeta {
			t.Errorf("reply %d: meta %s, want %s", i+1, rep.meta, wantMeta)
		}
		inRows := bytes.SplitAfter(reqs[i].body, []byte("\n"))
		outRows := bytes.SplitAfter(rep.body, []byte("\n"))
		if string(outRows[0]) != strings.TrimSuffix(string(inRows[0]), "\n")+",len,words,__mv_words\n" {
			t.Errorf("reply %d: header %q", i+1, outRows[0])
		}
		inRows, outRows = trimEmpty(inRows[1:]), trimEmpty(outRows[1:])
		if len(inRows) != wantRows[i] || len(outRows) != wantRows[i] {
			t.Errorf("reply %d: %d rows in, %d out, want %d", i+1, len(inRows), len(outRows), wantRows[i])
			continue
		}
		for j := range inRows {
			// "ทt" is 4 bytes and one word.
			want := strings.TrimSuffix(string(inRows[j]), "\n") + ",4,\u0e17t,\n"
			if string(outRows[j]) != want {
				t.Fatalf("reply %d row %d: %q, want %q", i+1, j+1, outRows[j], want)
			}
		}
	}
}

func trimEmpty(rows [][]byte) [][]byte {
	if n := len(rows); n > 0 && len(rows[n-1]) == 0 {
		return rows[:n-1]
	}
	return rows
}
