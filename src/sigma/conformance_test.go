package sigma

import (
	"strings"
	"testing"
)

type ev = map[string]string

type confCase struct {
	name   string
	det    string
	config string // sigma.toml, optional
	yes    []ev   // events the rule matches
	no     []ev   // events it does not
}

// confCases covers each modifier and condition form, positive and
// negative, including where sigma-go is known to be wrong (windash,
// base64offset, wildcards and escapes, re|i, null).
var confCases = []confCase{
	{name: "eq_case_insensitive", det: "sel:\n  OriginalFileName: Cmd.Exe\ncondition: sel",
		yes: []ev{{"OriginalFileName": "CMD.EXE"}, {"OriginalFileName": "cmd.exe"}},
		no:  []ev{{"OriginalFileName": "cmd.exe2"}, {"OriginalFileName": "xcmd.exe"}, {}}},
	{name: "contains", det: "sel:\n  CommandLine|contains: whoami\ncondition: sel",
		yes: []ev{{"CommandLine": "c:\\x\\WhoAmI.exe /all"}},
		no:  []ev{{"CommandLine": "who ami"}, {}}},
	{name: "startswith_endswith", det: "a:\n  Image|startswith: 'C:\\Windows\\'\nb:\n  Image|endswith: '\\cmd.exe'\ncondition: a and b",
		yes: []ev{{"Image": "c:\\windows\\system32\\cmd.exe"}},
		no:  []ev{{"Image": "d:\\windows\\cmd.exe"}, {"Image": "c:\\windows\\cmd.exe.bak"}}},
	{name: "list_or_map_and", det: "sel:\n  Image|endswith:\n    - '\\a.exe'\n    - '\\b.exe'\n  CommandLine|contains: x\ncondition: sel",
		yes: []ev{{"Image": "c:\\b.exe", "CommandLine": "x"}},
		no:  []ev{{"Image": "c:\\b.exe", "CommandLine": "y"}, {"Image": "c:\\c.exe", "CommandLine": "x"}}},
	{name: "list_of_maps", det: "sel:\n  - Image|endswith: '\\a.exe'\n  - CommandLine|contains: zz\ncondition: sel",
		yes: []ev{{"Image": "c:\\a.exe"}, {"CommandLine": "zz"}},
		no:  []ev{{"Image": "c:\\b.exe", "CommandLine": "z"}}},
	{name: "contains_all", det: "sel:\n  CommandLine|contains|all:\n    - '-enc'\n    - bypass\ncondition: sel",
		yes: []ev{{"CommandLine": "p -ENC x -ep Bypass"}},
		no:  []ev{{"CommandLine": "p -enc x"}}},
	{name: "wildcards", det: "sel:\n  Image: 'C:\\Windows\\\\*\\net?.exe'\ncondition: sel",
		yes: []ev{{"Image": "C:\\Windows\\System32\\net1.exe"}, {"Image": "C:\\Windows\\a\\b\\netü.exe"}},
		no:  []ev{{"Image": "C:\\Windows\\System32\\net.exe"}, {"Image": "C:\\Windows\\net1.exe"}}},
	{name: "escape_star", det: "sel:\n  CommandLine|contains: 'a\\*b'\ncondition: sel",
		yes: []ev{{"CommandLine": "xa*bx"}},
		no:  []ev{{"CommandLine": "axxb"}}},
	{name: "escape_qmark", det: "sel:\n  CommandLine|endswith: 'what\\?'\ncondition: sel",
		yes: []ev{{"CommandLine": "so what?"}},
		no:  []ev{{"CommandLine": "so whatx"}}},
	{name: "escape_trap", det: "sel:\n  Image: 'C:\\Windows\\*\\cmd.exe'\ncondition: sel",
		yes: []ev{{"Image": "C:\\Windows*\\cmd.exe"}},
		no:  []ev{{"Image": "C:\\Windows\\System32\\cmd.exe"}}},
	{name: "escape_backslash_then_wildcard", det: "sel:\n  CommandLine: 'C:\\\\*'\ncondition: sel",
		yes: []ev{{"CommandLine": "C:\\anything"}, {"CommandLine": "c:\\"}},
		no:  []ev{{"CommandLine": "C:\\\\*x"[:0] + "D:\\x"}}},
	{name: "escape_triple", det: "sel:\n  CommandLine|endswith: 'x\\\\\\*'\ncondition: sel",
		yes: []ev{{"CommandLine": "ax\\*"}},
		no:  []ev{{"CommandLine": "ax\\yz"}}},
	{name: "escape_double_backslash", det: "sel:\n  CommandLine|contains: ' \\\\\\\\'\ncondition: sel",
		yes: []ev{{"CommandLine": "net use \\\\srv"}},
		no:  []ev{{"CommandLine": "net use \\srv"}}},
	{name: "windash_all_permutations", det: "sel:\n  CommandLine|contains|windash: ' --force'\ncondition: sel",
		yes: []ev{{"CommandLine": "x --force"}, {"CommandLine": "x /-force"}, {"CommandLine": "x \u2013\u2015force"}, {"CommandLine": "x //force"}},
		no:  []ev{{"CommandLine": "x -force"}, {"CommandLine": "x --forc"}}},
	{name: "windash_inner", det: "sel:\n  CommandLine|contains|windash: 'foo-bar'\ncondition: sel",
		yes: []ev{{"CommandLine": "foo/bar"}, {"CommandLine": "FOO\u2014BAR"}},
		no:  []ev{{"CommandLine": "foo_bar"}}},
	{name: "not_windash", det: "a:\n  CommandLine|contains: regsvr32\nf:\n  CommandLine|contains|windash: ' -n '\ncondition: a and not f",
		yes: []ev{{"CommandLine": "regsvr32 /s a.dll"}},
		no:  []ev{{"CommandLine": "regsvr32 /n /i:x a.dll"}}},
	{name: "base64", det: "sel:\n  CommandLine|base64|contains: IEX\ncondition: sel",
		yes: []ev{{"CommandLine": "-e SUVY"}},
		no:  []ev{{"CommandLine": "-e IEX"}}},
	{name: "base64offset", det: "sel:\n  CommandLine|base64offset|contains: 'http://'\ncondition: sel",
		yes: []ev{{"CommandLine": "-e aHR0cDovL2V2aWw="}, {"CommandLine": "-e IGh0dHA6Ly9l"}, {"CommandLine": "-e ICBodHRwOi8vZQ=="}},
		no:  []ev{{"CommandLine": "-e aHR0cHM6Ly9l"}}},
	{name: "wide_base64offset", det: "sel:\n  CommandLine|wide|base64offset|contains: 'iex'\ncondition: sel",
		// base64 of UTF-16LE "iex (" and of " iex": PowerShell -enc.
		yes: []ev{{"CommandLine": "-enc aQBlAHgAIAAoAA=="}, {"CommandLine": "-enc IABpAGUAeAA="}},
		no:  []ev{{"CommandLine": "-enc aWV4"}}},
	{name: "utf16", det: "a:\n  CommandLine|utf16le|contains: 'ab'\nb:\n  ParentCommandLine|utf16be|contains: 'ab'\nc:\n  CurrentDirectory|utf16|startswith: 'ab'\ncondition: a or b or c",
		yes: []ev{{"CommandLine": "xa\x00b\x00"}, {"ParentCommandLine": "\x00a\x00b"}, {"CurrentDirectory": "\xff\xfea\x00b\x00"}},
		no:  []ev{{"CommandLine": "ab"}, {"CurrentDirectory": "a\x00b\x00"}}},
	{name: "re", det: "sel:\n  CommandLine|re: '\\s-[eE]nc\\s'\ncondition: sel",
		yes: []ev{{"CommandLine": "p -Enc x"}},
		no:  []ev{{"CommandLine": "p -ENC x"}}},
	{name: "re_i", det: "sel:\n  CommandLine|re|i: 'mimi[k]atz'\ncondition: sel",
		yes: []ev{{"CommandLine": "MimiKatz.exe"}},
		no:  []ev{{"CommandLine": "mimi-katz"}}},
	{name: "re_m_s", det: "m:\n  CommandLine|re|m: '^second$'\ns:\n  CommandLine|re|s: 'a.b'\ncondition: m or s",
		yes: []ev{{"CommandLine": "first\nsecond\nthird"}, {"CommandLine": "a\nb"}},
		no:  []ev{{"CommandLine": "first second"}}},
	{name: "re_no_m_s", det: "m:\n  CommandLine|re: '^second$'\ns:\n  CommandLine|re: 'a.b'\ncondition: m or s",
		yes: []ev{{"CommandLine": "second"}},
		no:  []ev{{"CommandLine": "first\nsecond"}, {"CommandLine": "a\nb"}}},
	{name: "cased", det: "sel:\n  CommandLine|cased|contains: Invoke\ncondition: sel",
		yes: []ev{{"CommandLine": "Invoke-X"}},
		no:  []ev{{"CommandLine": "invoke-x"}}},
	{name: "cidr", det: "sel:\n  DestinationIp|cidr:\n    - 10.1.16.0/20\n    - '2001:db8::/32'\ncondition: sel", config: "[fields]\nDestinationIp = \"dest\"\n",
		yes: []ev{{"DestinationIp": "10.1.17.1"}, {"DestinationIp": "2001:0db8:0000::1"}},
		no:  []ev{{"DestinationIp": "10.1.32.1"}, {"DestinationIp": "10.1.16.300"}, {}}},
	{name: "exists", det: "t:\n  User|exists: true\nf:\n  ParentUser|exists: false\ncondition: t and f",
		yes: []ev{{"User": "bob"}},
		no:  []ev{{"User": "bob", "ParentUser": "x"}, {}}},
	{name: "null", det: "a:\n  CommandLine|contains: x\nn:\n  ParentImage: null\ncondition: a and n",
		yes: []ev{{"CommandLine": "x"}, {"CommandLine": "x", "ParentImage": ""}},
		no:  []ev{{"CommandLine": "x", "ParentImage": "c:\\p.exe"}}},
	{name: "not_null", det: "a:\n  CommandLine|contains: x\nn:\n  ParentImage: null\ncondition: a and not n",
		yes: []ev{{"CommandLine": "x", "ParentImage": "c:\\p.exe"}},
		no:  []ev{{"CommandLine": "x"}}},
	{name: "empty_value", det: "sel:\n  ParentCommandLine: ''\ncondition: sel",
		yes: []ev{{}, {"ParentCommandLine": ""}},
		no:  []ev{{"ParentCommandLine": "x"}}},
	{name: "neq", det: "a:\n  CommandLine|contains: x\nb:\n  IntegrityLevel|neq:\n    - System\n    - High\ncondition: a and b",
		yes: []ev{{"CommandLine": "x", "IntegrityLevel": "Medium"}},
		no:  []ev{{"CommandLine": "x", "IntegrityLevel": "high"}, {"CommandLine": "x"}}},
	{name: "fieldref", det: "sel:\n  User|fieldref: ParentUser\ncondition: sel",
		yes: []ev{{"User": "A\\bob", "ParentUser": "a\\BOB"}},
		no:  []ev{{"User": "a", "ParentUser": "b"}, {}}},
	{name: "fieldref_startswith_not", det: "a:\n  CommandLine|contains: x\nf:\n  CommandLine|fieldref|startswith: Image\ncondition: a and not f",
		yes: []ev{{"CommandLine": "other.exe x", "Image": "C:\\a.exe"}, {"CommandLine": "x"}},
		no:  []ev{{"CommandLine": "C:\\a.exe /x", "Image": "C:\\a.exe"}}},
	{name: "numeric", det: "sel:\n  ProcessId|gt: 100\n  ParentProcessId|lte: 4\ncondition: sel",
		yes: []ev{{"ProcessId": "101", "ParentProcessId": "4"}},
		no:  []ev{{"ProcessId": "100", "ParentProcessId": "4"}, {"ProcessId": "x", "ParentProcessId": "1"}}},
	{name: "expand", det: "sel:\n  User|expand: '%Admins%'\ncondition: sel", config: "[placeholders]\nAdmins = ['adm_*', 'root']\n",
		yes: []ev{{"User": "ADM_bob"}, {"User": "root"}},
		no:  []ev{{"User": "%Admins%"}, {"User": "bob"}}},
	{name: "keywords", det: "kw:\n  - 'event::clear'\n  - 'event::drop'\ncondition: kw",
		yes: []ev{{"CommandLine": "mimikatz Event::Drop exit"}},
		no:  []ev{{"Image": "event::clear"}}},
	{name: "keywords_all", det: "kw:\n  '|all':\n    - OabVirtualDirectory\n    - ' -ExternalUrl '\ncondition: kw",
		yes: []ev{{"CommandLine": "Set-OabVirtualDirectory -ExternalUrl http://x"}},
		no:  []ev{{"CommandLine": "Set-OabVirtualDirectory"}}},
	{name: "nonascii", det: "sel:\n  Company: Майкрософт\ncondition: sel",
		yes: []ev{{"Company": "МАЙКРОСОФТ"}},
		no:  []ev{{"Company": "Microsoft"}}},
	{name: "of_forms", det: "selection_1_a:\n  CommandLine|contains: q1\nselection_1_b:\n  CommandLine|contains: q2\nselection_2:\n  CommandLine|contains: zz\n_hidden:\n  CommandLine|contains: hh\ncondition: all of selection_1_* or (1 of them and not all of them)",
		yes: []ev{{"CommandLine": "q1 q2"}, {"CommandLine": "zz"}},
		no:  []ev{{"CommandLine": "q1"[:0] + "hh"}, {"CommandLine": "nothing"}}},
	{name: "all_of_them_ignores_underscore", det: "a:\n  CommandLine|contains: aaa\nb:\n  CommandLine|contains: bbb\n_c:\n  CommandLine|contains: ccc\ncondition: all of them",
		yes: []ev{{"CommandLine": "aaa bbb"}},
		no:  []ev{{"CommandLine": "aaa"}}},
	{name: "precedence", det: "a:\n  CommandLine|contains: a1\nb:\n  CommandLine|contains: b1\nc:\n  CommandLine|contains: c1\ncondition: a or b and not c",
		yes: []ev{{"CommandLine": "a1 c1"}, {"CommandLine": "b1"}},
		no:  []ev{{"CommandLine": "b1 c1"}}},
	{name: "parentheses", det: "a:\n  CommandLine|contains: a1\nb:\n  CommandLine|contains: b1\nc:\n  CommandLine|contains: c1\ncondition: (a or b) and not c",
		yes: []ev{{"CommandLine": "b1"}},
		no:  []ev{{"CommandLine": "a1 c1"}}},
	{name: "condition_list", det: "a:\n  CommandLine|contains: a1\nb:\n  CommandLine|contains: b1\ncondition:\n  - a\n  - b",
		yes: []ev{{"CommandLine": "b1"}},
		no:  []ev{{"CommandLine": "c1"}}},
	{name: "not_absent_field", det: "a:\n  CommandLine|contains: x\nf:\n  ParentImage|endswith: '\\explorer.exe'\n  User|contains: SYSTEM\ncondition: a and not f",
		yes: []ev{{"CommandLine": "x"}},
		no:  []ev{{"CommandLine": "x", "ParentImage": "c:\\windows\\explorer.exe", "User": "NT AUTHORITY\\SYSTEM"}}},
	{name: "unmapped_field", det: "a:\n  CommandLine|contains: x\nb:\n  GrandParentImage|endswith: '\\a.exe'\nn:\n  GrandParentImage: null\ncondition: a and n and not b",
		yes: []ev{{"CommandLine": "x", "GrandParentImage": "c:\\a.exe"}},
		no:  []ev{{"CommandLine": "y"}}},
	{name: "field_name_case", det: "sel:\n  commandline|contains: qq\ncondition: sel",
		yes: []ev{{"CommandLine": "qq"}}},
	{name: "image_derived", det: "sel:\n  Image|endswith: '\\cmd.exe'\n  ParentImage|endswith: '\\explorer.exe'\ncondition: sel",
		yes: []ev{{"CommandLine": "cmd.exe /c dir", "parent_process_name": "explorer.exe"}, {"CommandLine": "\"C:\\Windows\\System32\\cmd.exe\" /c", "ParentImage": "C:\\Windows\\explorer.exe"}},
		no:  []ev{{"CommandLine": "C:\\x\\cmd.exe.exe /c", "parent_process_name": "explorer.exe"}, {"CommandLine": "cmd.exe /c dir"}}},
}

func TestConformance(t *testing.T) {
	for _, tc := range confCases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"r.yml": ruleDoc("r1", tc.det)}
			if tc.config != "" {
				files[ConfigFile] = tc.config
			}
			rs, rep := loadDocs(t, Options{}, files)
			if len(rep.Problems) > 0 || rs.Len() != 1 {
				t.Fatalf("load: %d rules, problems %v", rs.Len(), rep.Problems)
			}
			cfg, err := ParseConfig(strings.NewReader(tc.config))
			if err != nil {
				t.Fatal(err)
			}
			m := rs.NewMatcher()
			for _, want := range []bool{true, false} {
				evs := tc.yes
				if !want {
					evs = tc.no
				}
				for _, e := range evs {
					ev := sigmaEvent(cfg, e)
					got := len(m.Match(ev, nil)) == 1
					plain := len(m.matchPlain(ev, nil)) == 1
					if got != want || plain != want {
						t.Errorf("%q: got %v (plain %v), want %v", e, got, plain, want)
					}
				}
			}
		})
	}
}
