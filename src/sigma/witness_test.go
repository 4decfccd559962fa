package sigma

import (
	"regexp"
	"strings"
	"testing"
)

// holdsOn reports whether every clause of r has a literal in s (the
// lower-cased value of field 0).
func holdsOn(r req, s string) bool {
	low := lowerString(s)
	for _, cl := range r {
		ok := false
		for _, l := range cl {
			ok = ok || strings.Contains(low, l.s)
		}
		if !ok {
			return false
		}
	}
	return true
}

// checkRegexNeeds fails when a match of src lacks what regexReq or
// regexRun say every match holds.
func checkRegexNeeds(t *testing.T, src, s string) {
	t.Helper()
	re, err := regexp.Compile(src)
	if err != nil || !re.MatchString(s) {
		return
	}
	if r := regexReq(src, 0); !holdsOn(r, s) {
		t.Fatalf("regex %q matches %q, which lacks %v", src, s, r)
	}
	if br := regexRun(src); !br.holds([]byte(s)) {
		t.Fatalf("regex %q matches %q, which lacks a run of %d", src, s, br.n)
	}
}

func TestRegexNeeds(t *testing.T) {
	for _, tc := range []struct {
		src, match string
		req        string // the req, formatted
		run        int
	}{
		{`\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}`, " " + strings.Repeat("ab", 32) + " 0123456789abcdef", "[[{0 \t} {0 \n} {0 \f} {0 \r} {0  }]]", 82},
		{`(?i)werfaultsecure\.exe`, `C:\WerFaultSecure.EXE`, "[[{0 werfault}] [{0 cure.exe}]]", 0},
		{`\\[a-z]{1,32}\.[a-z]{1,6}\.[ "']{1}`, `c:\x\a.b." q`, `[[{0 . } {0 ."} {0 .'}] [{0 \}] [{0 .}]]`, 0},
		{`[Rr][Uu][Nn][Dd][Ll][Ll]32`, `RUNdll32`, "[[{0 rundll32}]]", 0},
		{`ipconfig\s+/all|arp\s+-a`, `arp -a`, "[[{0 ipconfig} {0 arp}] [{0 /all} {0 arp}] [{0 ipconfig} {0 -a}] [{0 /all} {0 -a}]]", 0},
		{`a*b?`, `x`, "[]", 0},
		{`(?i)ſ`, `S`, "[]", 0},
		{`[0-9]{8}`, `12345678`, "[]", 8},
	} {
		got := regexReq(tc.src, 0)
		if f := fmtReq(got); f != tc.req {
			t.Errorf("%q: req %s, want %s", tc.src, f, tc.req)
		}
		if br := regexRun(tc.src); br.n != tc.run {
			t.Errorf("%q: run %d, want %d", tc.src, br.n, tc.run)
		}
		checkRegexNeeds(t, tc.src, tc.match)
		if !regexp.MustCompile(tc.src).MatchString(tc.match) {
			t.Errorf("%q does not match %q: the case tests nothing", tc.src, tc.match)
		}
	}
}

func fmtReq(r req) string {
	var b strings.Builder
	b.WriteString("[")
	for i, cl := range r {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("[")
		for j, l := range cl {
			if j > 0 {
				b.WriteString(" ")
			}
			b.WriteString("{0 " + l.s + "}")
		}
		b.WriteString("]")
	}
	b.WriteString("]")
	return b.String()
}

func TestByteRunSkips(t *testing.T) {
	br := regexRun(`[0-9]{4}`)
	for s, want := range map[string]bool{"": false, "123": false, "1234": true, "a123b1234": true, "12a34": false, "x12345": true} {
		if got := br.holds([]byte(s)); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}

// FuzzRegexNeeds: whatever the regex and the text, a match holds the
// regex's needs (the prefilter relies on it).
func FuzzRegexNeeds(f *testing.F) {
	f.Add(`\s[a-f0-9]{4}\s`, " beef ")
	f.Add(`(?i)K[sS]x`, "\u212aſX")
	f.Add(`a(b|cd)+e`, "xxabcde")
	f.Add(`[Ѐ-ӿ]{3}`, "МАЙ")
	f.Add(`\.[ "']`, `a." b`)
	f.Fuzz(func(t *testing.T, src, s string) {
		if len(src) > 200 {
			return
		}
		checkRegexNeeds(t, src, s)
	})
}
