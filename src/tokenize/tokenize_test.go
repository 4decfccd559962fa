package tokenize

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"scorecmdline/src/internal/race"
)

// The examples of docs/escu-model.md §2, from the reference scorer.
var tokenTests = []struct {
	in   string
	want []string
}{
	{"System.Net.WebClient", []string{"system", "net", "webclient"}},
	{"-Value --Value", []string{"-value", "--value"}},
	{"Set-MpPreference -DisableRealtimeMonitoring", []string{"set-mppreference", "-disablerealtimemonitoring"}},
	{`HKLM:\Software http://x.example.com/a https://y`, []string{"hklm", "software", "http", "x", "example", "com", "a", "https", "y"}},
	{`C:\Windows\System32\cmd.exe for /f`, []string{"c", "windows", "system32", "cmd", "exe", "for", "f"}},
	{"my_webclient webclient2", []string{"my_webclient", "webclient2"}},
	{"New-Ob`ject Sys`tem.Net.Web`Client", []string{"new-object", "system", "net", "webclient"}},
	{"` `a``b` `", []string{"ab"}},
	{"", nil},
	{"   ", nil},
	// Non-ASCII letters separate tokens (PCRE \w without UCP); U+0130 is not lowered.
	{"cafémutex İF ǅ", []string{"caf", "mutex", "f"}},
	{"ทtest\x00net\xffhttp", []string{"test", "net", "http"}},
	{"A_B-C9", []string{"a_b-c9"}},
}

func TestTokens(t *testing.T) {
	for _, tt := range tokenTests {
		if got := Tokens(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The Scanner must agree with Tokens, including long tokens.
func TestScannerMatchesTokens(t *testing.T) {
	inputs := []string{strings.Repeat("x", MaxToken) + " " + strings.Repeat("y", MaxToken+1) + "`z a",
		strings.Repeat("a", 64) + " b", strings.Repeat("a", 63) + " " + strings.Repeat("c", 65), strings.Repeat("ab ", 50), strings.Repeat("a", 128)}
	for _, tt := range tokenTests {
		inputs = append(inputs, tt.in)
	}
	for _, in := range inputs {
		checkScanner(t, in)
	}
}

func checkScanner(t *testing.T, in string) {
	t.Helper()
	checkSpans(t, in)
	want := Tokens(in)
	var s Scanner
	s.Reset([]byte(in))
	var got []string
	for s.Next() {
		tok := want[min(len(got), len(want)-1)]
		n, first, last := s.Peek()
		// For a Long token Peek promises only the length.
		if n != len(tok) || n <= MaxToken && (first != tok[0] || last != tok[n-1]) {
			t.Errorf("%q: Peek() = %d, %q, %q for %q", in, n, first, last, tok)
		}
		if s.Long() != (len(tok) > MaxToken) {
			t.Errorf("%q: Long() = %v for %q", in, s.Long(), tok)
		}
		if !s.Long() && !bytes.Equal(s.Token(), []byte(tok)) {
			t.Errorf("%q: Token() = %q, want %q", in, s.Token(), tok)
		}
		got = append(got, tok)
	}
	if len(got) != len(want) {
		t.Errorf("%q: scanner found %d tokens, Tokens %d", in, len(got), len(want))
	}
}

func FuzzScanner(f *testing.F) {
	for _, tt := range tokenTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, tok := range Tokens(in) {
			if tok == "" || strings.ContainsFunc(tok, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
			}) {
				t.Fatalf("bad token %q from %q", tok, in)
			}
		}
		checkScanner(t, in)
	})
}

func TestScannerAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("skipping: the race detector allocates")
	}
	line := []byte(`powershell.exe -nop -w hidden -c "$m=New-Object System.Threading.Mutex($false,'Global\abc')"`)
	var s Scanner
	if n := testing.AllocsPerRun(100, func() {
		s.Reset(line)
		for s.Next() {
		}
	}); n != 0 {
		t.Errorf("Scanner allocates %v times per line", n)
	}
}

func BenchmarkScanner(b *testing.B) {
	line := []byte(strings.Repeat(`powershell.exe -nop -w hidden -c "$wc=New-Object System.Net.WebClient; `, 5))[:300]
	var s Scanner
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		s.Reset(line)
		for s.Next() {
		}
	}
}

// checkSpans: AppendSpans agrees with Tokens on lines without backticks and
// declines the others.
func checkSpans(t *testing.T, in string) {
	t.Helper()
	spans, ok := AppendSpans(nil, []byte(in))
	if ok == strings.Contains(in, "`") {
		t.Fatalf("%q: ok = %v", in, ok)
	}
	if !ok {
		return
	}
	var got []string
	for _, sp := range spans {
		got = append(got, strings.ToLower(in[sp.Start:sp.End]))
	}
	if want := Tokens(in); !slices.Equal(got, want) {
		t.Errorf("AppendSpans(%q) = %q, want %q", in, got, want)
	}
}
