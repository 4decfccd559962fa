// Package testlines gives the command-line matchers' differential tests
// their inputs: random lines built from rule-pack words and the separators
// normalization treats specially, and the dev corpus when it is there.
package testlines

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fragments are what generated lines are made of: words of the rule packs
// in several cases, and everything normalization treats specially.
var Fragments = strings.Fields(`certutil CertUtil -urlcache /urlcache urlcache -decode net NET net1 user USER
	/add -add add localgroup administrators wmic process call create shadowcopy delete vssadmin shadows
	bcdedit /set icacls /grant takeown /f echo set /p= for ping -n 1 -w \\pipe\ \\.\pipe\ reg schtasks
	/create bitsadmin /transfer tool -opt ab cd foo bar baz a.b c foo.exe.bar c:\w zed q=r 2>&1 end e x ex 9
	.exe .EXE .ex exe . .. - / : \ = , ; % $ ( ) ' 0 7 z Q xyz`)

var seps = []string{" ", " ", " ", "", "  ", "\t", "\n", "\r\n", "&", " && ", "|", " | ", "<", ">", "^", `"`, `" "`,
	"\u2013", "\u2212", "\xe2^\x80\x93", "-", "/", ".", ":", "\\", "=", "\x00", "\xff"}

// Gen makes a line of random Fragments joined by random separators, with
// carets and quotes dropped inside words now and then.
func Gen(r *rand.Rand) []byte {
	var b []byte
	n := r.IntN(60)
	for range n {
		b = append(b, Fragments[r.IntN(len(Fragments))]...)
		b = append(b, seps[r.IntN(len(seps))]...)
		if r.IntN(8) == 0 {
			b = append(b, "^\""[r.IntN(2)]) // inside a word
		}
	}
	return b
}

// Corpus returns the command lines of ../shared/corpus/dev, seen from a
// package folder under src/; none, with a log line, when it is absent.
func Corpus(t testing.TB) [][]byte {
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
