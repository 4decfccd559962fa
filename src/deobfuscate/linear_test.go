package deobfuscate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// worstCases are inputs that made the stage quadratic before it charged
// its work: each is built at a given size n.
var worstCases = []struct {
	name string
	make func(n int) string
}{
	{"percents", func(n int) string { return strings.Repeat("%a", n/2) }},
	{"percent_colons", func(n int) string { return strings.Repeat("%a:", n/3) + "=" }},
	{"bangs", func(n int) string { return `cmd /v:on /c "` + strings.Repeat("!a", n/2) }},
	{"sets", func(n int) string { return `cmd /c "` + strings.Repeat("set a=b&", n/8) }},
	{"quotes", func(n int) string { return strings.Repeat(`"a`, n/2) }},
	{"carets", func(n int) string { return strings.Repeat("^", n) }},
	{"parens", func(n int) string { return strings.Repeat("(", n) }},
	{"if_equals", func(n int) string { return "if " + strings.Repeat("a=", n/2) }},
	{"loop_call", func(n int) string {
		return `cmd /V:ON /C "for /L %i in (1,1,65536) do call x` + strings.Repeat("y", n) + `"`
	}},
	{"loop_echo", func(n int) string {
		return `cmd /V:ON /C "for /L %i in (1,1,65536) do echo !x! ` + strings.Repeat("y", n) + `"`
	}},
	{"cmd_nesting", func(n int) string { return strings.Repeat("cmd /c ", n/7) }},
	{"pipes", func(n int) string { return strings.Repeat("echo x|cmd ", n/11) }},
	{"ps_concat", func(n int) string { return strings.Repeat("'a'+", n/4) + "'a'" }},
	{"ps_parens", func(n int) string { return strings.Repeat("(", n/2) + strings.Repeat("'a'+", n/8) }},
	{"ps_join", func(n int) string { return strings.Repeat("-join ", n/6) + "x" }},
	{"ps_char", func(n int) string { return strings.Repeat("[char]", n/6) + "x" }},
	{"ps_ranges", func(n int) string { return "'ab'" + strings.Repeat("[0..99999]", n/10) }},
	{"ps_index_var", func(n int) string {
		return "$a='" + strings.Repeat("x", n/2) + "';" + strings.Repeat("$a[0]+", n/12)
	}},
	{"ps_array_add", func(n int) string { return "(1,2)" + strings.Repeat("+3", n/2) }},
	{"ps_replace", func(n int) string {
		return "'" + strings.Repeat("a", n/2) + "'" + strings.Repeat(" -replace 'a','b'", n/34)
	}},
	{"ps_format", func(n int) string { return `"` + strings.Repeat("{0}", n/3) + `" -f 'aaaaaaaaaaaaaaaa'` }},
	{"encoded_flags", func(n int) string { return strings.Repeat(" -e AAAAAAAAAAAA", n/16) }},
	{"base64_calls", func(n int) string { return strings.Repeat("frombase64string(", n/17) }},
	{"assignments", func(n int) string { return strings.Repeat("$a=", n/3) }},
}

// TestLinearWork runs each worst case at two sizes and checks that the
// work counted grows no faster than the input, that it stays within the
// stage's budgets, and that the output stays within its limit.
func TestLinearWork(t *testing.T) {
	const n = 2000
	for _, tc := range worstCases {
		t.Run(tc.name, func(t *testing.T) {
			var work [2]int
			for k, size := range []int{n, 8 * n} {
				in := tc.make(size)
				var d Deobfuscator
				r := d.full([]byte(in))
				work[k] = d.work
				maxOut := min(max(MaxGrowth*len(in), MinOutput), MaxOutput)
				if len(r.Text) > maxOut {
					t.Errorf("size %d: output %d > limit %d", size, len(r.Text), maxOut)
				}
				if lim := (MaxLayers + 1) * (maxWorkRatio*maxOut + 2*psBudget(maxOut)); d.work > lim {
					t.Errorf("size %d: work %d > bound %d", size, d.work, lim)
				}
			}
			// Eight times the input, at most about eight times the work
			// (fixed costs aside).
			if work[1] > 10*work[0]+psBudget(0)+maxWorkRatio*MinOutput {
				t.Errorf("work %d at %d bytes, %d at %d: not linear", work[0], n, work[1], 8*n)
			}
		})
	}
}

// TestWriteWorstCorpus writes the worst cases, at fuzzing size, into the
// fuzz corpus when DEOBFUSCATE_WRITE_CORPUS is set.
func TestWriteWorstCorpus(t *testing.T) {
	if os.Getenv("DEOBFUSCATE_WRITE_CORPUS") == "" {
		t.Skip("set DEOBFUSCATE_WRITE_CORPUS=1 to rewrite testdata/fuzz/FuzzDeobfuscate/worst_*")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDeobfuscate")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range worstCases {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", tc.make(4000))
		if err := os.WriteFile(filepath.Join(dir, "worst_"+tc.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
