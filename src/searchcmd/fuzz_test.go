package searchcmd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// refRow is one row as the reference parser sees it.
type refRow struct {
	raw    []byte // the row's bytes without its terminator
	fields [][]byte
}

// refParse is a deliberately naive byte-at-a-time CSV parser, the oracle
// for the fast one: same dialect (",", `"`, LF or CRLF, BOM skipped, a CR
// that does not end a line is an error, every row as wide as the header).
func refParse(body []byte) (rows []refRow, header []string, err error) {
	body = bytes.TrimPrefix(body, bom)
	i := 0
	ncols := -1
	for i < len(body) {
		start := i
		var fields [][]byte
		for {
			var f []byte
			if i < len(body) && body[i] == '"' {
				i++
				for {
					if i >= len(body) {
						return nil, nil, errors.New("unterminated quote")
					}
					if body[i] == '"' {
						if i+1 < len(body) && body[i+1] == '"' {
							f = append(f, '"')
							i += 2
							continue
						}
						i++
						break
					}
					f = append(f, body[i])
					i++
				}
			} else {
				for i < len(body) && body[i] != ',' && body[i] != '\n' && body[i] != '\r' {
					if body[i] == '"' {
						return nil, nil, errors.New("bare quote")
					}
					f = append(f, body[i])
					i++
				}
			}
			if f == nil {
				f = []byte{}
			}
			fields = append(fields, f)
			if i >= len(body) {
				break
			}
			if body[i] == ',' {
				i++
				continue
			}
			if body[i] == '\n' || (body[i] == '\r' && i+1 < len(body) && body[i+1] == '\n') {
				break
			}
			return nil, nil, fmt.Errorf("bad byte %q after field", body[i])
		}
		end := i
		if i < len(body) && body[i] == '\r' {
			i++
		}
		if i < len(body) && body[i] == '\n' {
			i++
		}
		if ncols < 0 {
			ncols = len(fields)
			for _, f := range fields {
				header = append(header, string(f))
			}
			continue
		}
		if len(fields) != ncols {
			return nil, nil, errors.New("ragged row")
		}
		rows = append(rows, refRow{raw: body[start:end], fields: fields})
	}
	return rows, header, nil
}

// echoCmd echoes field "process" as "echo" and splits it at spaces into
// the Multi output "parts".
type echoCmd struct{}

func (echoCmd) Getinfo(*Getinfo) (*Plan, error) {
	return &Plan{
		Inputs:  []string{"process"},
		Outputs: []Field{{Name: "echo"}, {Name: "parts", Multi: true}},
		NewWorker: func() RowFunc {
			return func(in [][]byte, out *Out) {
				if in[0] == nil {
					out.SetString(0, "absent")
					return
				}
				out.Set(0, in[0])
				for _, p := range bytes.Split(in[0], []byte(" ")) {
					out.Append(1, p)
				}
			}
		},
	}, nil
}

func FuzzCSVBody(f *testing.F) {
	for _, c := range goldenCases {
		for _, r := range c.reqs {
			_, body, _ := strings.Cut(r, "}")
			f.Add([]byte(body))
		}
	}
	f.Add([]byte("process,echo,\"__mv_parts\"\n\"a b\",x,y\n"))
	f.Add([]byte("a,process\n1,\"x\r\ny\"\r\n2,\"\"\"\"\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		in := getinfo() + execute(true, string(body))
		defer func(old int) { minWorkerBytes = old }(minWorkerBytes)
		minWorkerBytes = 1
		one, _, err1 := run(t, echoCmd{}, in, Config{Workers: 1})
		many, _, errN := run(t, echoCmd{}, in, Config{Workers: 3})
		if one != many || fmt.Sprint(err1) != fmt.Sprint(errN) {
			t.Fatalf("1 worker: %v\n%q\n3 workers: %v\n%q", err1, one, errN, many)
		}
		rows, header, refErr := refParse(body)
		if (err1 == nil) != (refErr == nil) {
			t.Fatalf("Run: %v, reference parser: %v", err1, refErr)
		}
		if err1 != nil {
			var re *RowError
			if !errors.As(err1, &re) {
				t.Fatalf("untyped error %T %v", err1, err1)
			}
			checkErrorReply(t, one, err1)
			return
		}
		replies := readReplies(t, one)
		if len(replies) != 2 {
			t.Fatalf("%d replies", len(replies))
		}
		out := replies[1].body
		if len(bytes.TrimPrefix(body, bom)) == 0 {
			if len(out) != 0 {
				t.Fatalf("empty body answered with %q", out)
			}
			return
		}
		outRows, outHeader, err := refParse(out)
		if err != nil {
			t.Fatalf("reply is not valid CSV: %v\n%q", err, out)
		}
		if len(outRows) != len(rows) {
			t.Fatalf("%d rows out, %d in", len(outRows), len(rows))
		}
		collide := slices.ContainsFunc(header, func(h string) bool {
			return h == "echo" || h == "parts" || h == "__mv_echo" || h == "__mv_parts"
		})
		src, dst := slices.Index(header, "process"), slices.Index(outHeader, "echo")
		if !collide && !slices.Equal(outHeader, append(slices.Clone(header), "echo", "parts", "__mv_parts")) {
			t.Fatalf("header %q from %q", outHeader, header)
		}
		for i := range rows {
			if !collide && !bytes.HasPrefix(outRows[i].raw, append(bytes.Clone(rows[i].raw), ',')) {
				t.Fatalf("row %d: %q does not start with %q", i+1, outRows[i].raw, rows[i].raw)
			}
			want := []byte("absent")
			if src >= 0 {
				want = rows[i].fields[src]
			}
			if got := outRows[i].fields[dst]; !bytes.Equal(got, want) {
				t.Fatalf("row %d: echo %q, want %q", i+1, got, want)
			}
		}
	})
}

// decodeMV decodes a __mv_ value the way splunklib does: $v$ items joined
// by ";", "$$" inside an item is "$".
func decodeMV(s []byte) ([][]byte, bool) {
	var vals [][]byte
	for len(s) > 0 {
		if s[0] != '$' {
			return nil, false
		}
		v := []byte{}
		i := 1
		for {
			if i >= len(s) {
				return nil, false
			}
			if s[i] == '$' {
				if i+1 < len(s) && s[i+1] == '$' {
					v = append(v, '$')
					i += 2
					continue
				}
				i++
				break
			}
			v = append(v, s[i])
			i++
		}
		vals = append(vals, v)
		s = s[i:]
		if len(s) > 0 {
			if s[0] != ';' || len(s) == 1 {
				return nil, false
			}
			s = s[1:]
		}
	}
	return vals, true
}

func FuzzMVDecode(f *testing.F) {
	f.Add("a\x1fb$c")
	f.Add("\x1f$\x1f$$;$")
	f.Add("")
	f.Fuzz(func(t *testing.T, joined string) {
		var vals [][]byte
		for _, v := range strings.Split(joined, "\x1f") {
			vals = append(vals, []byte(v))
		}
		var enc []byte
		for i, v := range vals {
			if i > 0 {
				enc = append(enc, ';')
			}
			enc = appendMV(enc, v)
		}
		got, ok := decodeMV(enc)
		if !ok || len(got) != len(vals) {
			t.Fatalf("%q: decoded %q (ok %v) from %q", vals, got, ok, enc)
		}
		for i := range vals {
			if !bytes.Equal(got[i], vals[i]) {
				t.Fatalf("%q: value %d decoded as %q from %q", vals, i, got[i], enc)
			}
		}
	})
}

// The seed corpora under testdata/fuzz exist (kept in version control).
func TestFuzzCorpusPresent(t *testing.T) {
	for _, name := range []string{"FuzzCSVBody", "FuzzMVDecode"} {
		if _, err := os.Stat(filepath.Join("testdata", "fuzz", name)); err != nil {
			t.Errorf("seed corpus for %s: %v", name, err)
		}
	}
}

func TestMultiOutputEncoding(t *testing.T) {
	tests := []struct {
		vals      []string
		plain, mv string
	}{
		{nil, "", ""},
		{[]string{""}, "", ""},
		{[]string{"a"}, "a", ""},
		{[]string{"a", "b$c"}, "\"a\nb$c\"", "$a$;$b$$c$"},
		{[]string{"x,y", "\"q\""}, "\"x,y\n\"\"q\"\"\"", "\"$x,y$;$\"\"q\"\"$\""},
		{[]string{" lead", "trail "}, "\" lead\ntrail \"", "$ lead$;$trail $"},
	}
	for _, tt := range tests {
		w := &worker{out: Out{vals: make([][]valSpan, 1)}}
		for _, v := range tt.vals {
			w.out.AppendString(0, v)
		}
		plain, mv := string(w.appendValue(nil, 0, false)), string(w.appendValue(nil, 0, true))
		if plain != tt.plain || mv != tt.mv {
			t.Errorf("%q: plain %q mv %q, want %q %q", tt.vals, plain, mv, tt.plain, tt.mv)
		}
		if len(tt.vals) >= 2 {
			raw := bytes.ReplaceAll(bytes.Trim([]byte(tt.mv), `"`), []byte(`""`), []byte(`"`))
			got, ok := decodeMV(raw)
			if !ok || len(got) != len(tt.vals) {
				t.Errorf("%q does not decode back: %q", tt.mv, got)
			}
		}
	}
}
