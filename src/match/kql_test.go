package match

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// kqlPhrases are the 22 phrases of the Sentinel rule's has_any, with the
// rule of the pack that stands for each.
var kqlPhrases = []struct{ phrase, rule string }{
	{"certutil -urlcache", "certutil_urlcache"},
	{"certutil -decode", "certutil_decode"},
	{"certutil -encode", "certutil_encode"},
	{"bitsadmin /transfer", "bitsadmin_transfer"},
	{"bitsadmin /create", "bitsadmin_create"},
	{"reg add", "reg_add"},
	{"reg delete", "reg_delete"},
	{"reg save", "reg_save"},
	{"schtasks /create", "schtasks_create"},
	{"schtasks /change", "schtasks_change"},
	{"net user /add", "net_user_add"},
	{"net localgroup administrators", "net_localgroup_administrators"},
	{"wmic process call create", "wmic_process_call_create"},
	{"wmic shadowcopy delete", "wmic_shadowcopy_delete"},
	{"vssadmin delete shadows", "vssadmin_delete_shadows"},
	{"bcdedit /set", "bcdedit_set"},
	{"icacls /grant", "icacls_grant"},
	{"takeown /f", "takeown_f"},
	{"echo | set /p=", "echo_set_p"},
	{"for /f", "for_f"},
	{"ping -n 1 -w", "ping_n_1_w"},
	{`> \\pipe\`, "pipe_redirect"},
}

// kqlHas is the original rule's matching, taken naively: a case-insensitive
// (ASCII) occurrence of the phrase that starts and ends on a term boundary
// where the phrase starts or ends with a letter or digit.
func kqlHas(line, phrase string) bool {
	l, p := []byte(asciiLower(line)), []byte(asciiLower(phrase))
	for off := 0; ; {
		i := bytes.Index(l[off:], p)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(p)
		okStart := !isAlnum(p[0]) || start == 0 || !isAlnum(l[start-1])
		okEnd := !isAlnum(p[len(p)-1]) || end == len(l) || !isAlnum(l[end])
		if okStart && okEnd {
			return true
		}
		off = start + 1
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestKQLHas(t *testing.T) {
	tests := []struct {
		line, phrase string
		want         bool
	}{
		{"REG ADD HKCU", "reg add", true},
		{"reg address", "reg add", false},
		{"xreg add", "reg add", false},
		{"'reg add'", "reg add", true},
		{"reg  add", "reg add", false},
		{"echo | set /p=abc", "echo | set /p=", true},
		{`echo x > \\pipe\y`, `> \\pipe\`, true},
		{"reg address reg add", "reg add", true},
	}
	for _, tt := range tests {
		if got := kqlHas(tt.line, tt.phrase); got != tt.want {
			t.Errorf("kqlHas(%q, %q) = %v, want %v", tt.line, tt.phrase, got, tt.want)
		}
	}
}

// TestKQLDifferential checks, on every line of the development corpus, that
// the pack loses nothing the original KQL has_any catches: where a phrase
// matches, the rule standing for it matches too.
func TestKQLDifferential(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "dev")
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) == 0 {
		t.Skipf("no corpus in %s (../shared is not checked out next to the repository)", dir)
	}
	s := sentinel(t)
	m := s.NewMatcher()
	index := map[string]int{}
	for i, r := range s.Rules() {
		index[r.Name] = i
	}
	cmdRules := map[int]bool{}
	for _, k := range kqlPhrases {
		cmdRules[index[k.rule]] = true
	}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		lines, kqlLines, ruleLines, extra := 0, 0, 0, 0
		for sc.Scan() {
			var rec struct {
				Cmdline string `json:"cmdline"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s:%d: %v", file, lines+1, err)
			}
			lines++
			hits := m.Match([]byte(rec.Cmdline), nil)
			kql := false
			for _, k := range kqlPhrases {
				if kqlHas(rec.Cmdline, k.phrase) {
					kql = true
					if !slices.Contains(hits, index[k.rule]) {
						t.Errorf("%s:%d: KQL has %q but rule %s does not match %q (normalized %q)",
							filepath.Base(file), lines, k.phrase, k.rule, rec.Cmdline, m.Normalized())
					}
				}
			}
			ours := slices.ContainsFunc(hits, func(i int) bool { return cmdRules[i] })
			if kql {
				kqlLines++
			}
			if ours {
				ruleLines++
				if !kql {
					extra++
					if os.Getenv("RULES_SHOW_EXTRA") != "" {
						var names []string
						for _, i := range hits {
							names = append(names, s.Rules()[i].Name)
						}
						t.Logf("extra %s:%d %q %q", filepath.Base(file), lines, names, rec.Cmdline)
					}
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%-20s %5d lines: KQL has_any flags %4d, the pack flags %4d (%d more)",
			filepath.Base(file), lines, kqlLines, ruleLines, extra)
	}
}
