package normalize

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fragments are what generated lines are made of: words of the rule packs
// in several cases, and everything normalization treats specially.
var fragments = strings.Fields(`certutil CertUtil -urlcache /urlcache urlcache -decode net NET net1 user USER
	/add -add add localgroup administrators wmic process call create shadowcopy delete vssadmin shadows
	bcdedit /set icacls /grant takeown /f echo set /p= for ping -n 1 -w \\pipe\ \\.\pipe\ reg schtasks
	/create bitsadmin /transfer tool -opt ab cd foo bar baz a.b c foo.exe.bar c:\w zed q=r 2>&1 end e x ex 9
	.exe .EXE .ex exe . .. - / : \ = , ; % $ ( ) ' 0 7 z Q xyz`)

// genLine makes a line of random fragments joined by random separators.
func genLine(r *rand.Rand) []byte {
	seps := []string{" ", " ", " ", "", "  ", "\t", "\n", "\r\n", "&", " && ", "|", " | ", "<", ">", "^", `"`, `" "`,
		"\u2013", "\u2212", "\xe2^\x80\x93", "-", "/", ".", ":", "\\", "=", "\x00", "\xff"}
	var b []byte
	n := r.IntN(60)
	for range n {
		b = append(b, fragments[r.IntN(len(fragments))]...)
		b = append(b, seps[r.IntN(len(seps))]...)
		if r.IntN(8) == 0 {
			b = append(b, "^\""[r.IntN(2)]) // inside a word
		}
	}
	return b
}

// corpusLines returns the command lines of ../shared/corpus/dev, if there.
func corpusLines(t testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "dev", "*.jsonl"))
	if len(files) == 0 {
		t.Log("no corpus in ../shared/corpus/dev: generated and built-in lines only")
	}
	var lines [][]byte
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var rec struct{ Cmdline string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				lines = append(lines, []byte(rec.Cmdline))
			}
		}
		f.Close()
	}
	return lines
}

// TestNormalizeRef compares the Normalizer with refNormalizer, alone and
// after a prefix, on the corpus, the tests' lines and generated ones.
func TestNormalizeRef(t *testing.T) {
	lines := corpusLines(t)
	for _, tt := range normalizeTests {
		lines = append(lines, []byte(tt.in))
	}
	lines = append(lines, []byte(benchLine), []byte(strings.Repeat("x", 300)), []byte(strings.Repeat("certutil", 40)),
		[]byte("net user "+strings.Repeat("a^", 100)+" /add"), []byte(strings.Repeat("-add ", 60)))
	generated := 20000
	if testing.Short() {
		generated = 2000
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range generated {
		lines = append(lines, genLine(r))
	}
	for _, l := range lines {
		checkNormalize(t, l)
	}
}

func FuzzNormalizeRef(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		f.Add(genLine(r))
	}
	for _, tt := range normalizeTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(checkNormalize)
}

func checkNormalize(t *testing.T, in []byte) {
	for _, pre := range []string{"", "pre: "} {
		n := Normalizer{Out: []byte(pre)}
		ref := refNormalizer{Out: []byte(pre)}
		n.Run(in)
		ref.run(in)
		if !bytes.Equal(n.Out, ref.Out) || !slices.Equal(n.Soft, ref.Soft) || !slices.Equal(n.Seps, ref.Seps) {
			t.Fatalf("normalize(%q) = %q soft %v seps %v, want %q soft %v seps %v",
				in, n.Out, n.Soft, n.Seps, ref.Out, ref.Soft, ref.Seps)
		}
		if plain := Append([]byte(pre), in); !bytes.Equal(plain, ref.Out) {
			t.Fatalf("Append(%q) = %q, want %q", in, plain, ref.Out)
		}
	}
}
