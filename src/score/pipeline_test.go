package score

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"scorecmdline/lookups"
	"scorecmdline/src/event"
)

// testFS is the built-in lookups plus a TOML pack and a Sigma pack of its own.
func testFS(t testing.TB) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, name := range []string{"escu.model.toml", "sentinel_cmd.rules.toml"} {
		data, err := lookups.FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: data}
	}
	fsys["sig/proc/netuser.yml"] = &fstest.MapFile{Data: []byte(`title: Net User Add
id: 4d3e3b7c-2d0a-4c55-9b62-6a8b6d1d0c11
status: test
logsource: {category: process_creation, product: windows}
detection:
  selection_img:
    Image|endswith: '\net.exe'
  selection_cli:
    CommandLine|contains|all: [' user ', '/add']
  condition: all of selection_*
level: high
tags: [attack.persistence, attack.t1136.001]
`)}
	fsys["sig/proc/broken.yml"] = &fstest.MapFile{Data: []byte(`title: Broken
logsource: {category: process_creation, product: windows}
detection:
  sel:
    CommandLine|contains: x
  condition: sel and
level: low
`)}
	fsys["sig/other.yml"] = &fstest.MapFile{Data: []byte(`title: DNS
logsource: {category: dns}
detection:
  sel: {query: x}
  condition: sel
`)}
	return fsys
}

func cmdEvent(cmdline string) *event.Event {
	ev := new(event.Event)
	ev.Set(event.Process, []byte(cmdline))
	return ev
}

func TestSigmaPack(t *testing.T) {
	e, err := New(testFS(t), Options{Model: None, Rules: []string{"sentinel_cmd", "sig"}, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if w := e.Warnings(); len(w) != 1 || !strings.Contains(w[0], "broken.yml") {
		t.Errorf("warnings %q, want one for broken.yml", w)
	}
	if n := e.Notes(); len(n) != 1 || !strings.Contains(n[0], "sigma pack sig: 1 rules loaded, 1 skipped, 1 failed") {
		t.Errorf("notes %q", n)
	}
	// Sigma asks for the image path; the command line alone gives it here.
	if !e.Needs().Has(event.ProcessPath) {
		t.Errorf("needs %v, want process_path", e.Needs().Fields())
	}
	got := emit(e, e.NewScorer().Score(cmdEvent(`net.exe user bob P4ss /add`)))
	if h := strings.Join(got["rule_hits"], ","); h != "net_user_add,Net User Add" {
		t.Errorf("rule_hits %q", h)
	}
	if got["rule_level"][0] != "high" || !slices.Contains(got["mitre_technique_id"], "T1136.001") {
		t.Errorf("level %q, techniques %q", got["rule_level"], got["mitre_technique_id"])
	}
	if x := got["rule_explain"]; len(x) != 2 || x[0] != "net_user_add: pack sentinel_cmd" || x[1] != "Net User Add: selection_img,selection_cli" {
		t.Errorf("rule_explain %q", x)
	}
	// sentinel_cmd's net_user_add has risk 60 (high), the Sigma rule's
	// level high gives 50.
	if got["risk_score"][0] != "100" {
		t.Errorf("risk_score %q", got["risk_score"])
	}
}

// A hit that only the deobfuscated command line gives is kept, after the
// others, and says so in rule_explain; the obfuscation field lists what
// was undone and counts in risk_score.
func TestDeobfuscatedHits(t *testing.T) {
	line := `n^e^t u^s^e^r bob pw /a^d^d`
	for _, deob := range []bool{false, true} {
		e, err := New(testFS(t), Options{Model: None, Rules: []string{"sig"}, Deobfuscate: deob, Explain: true})
		if err != nil {
			t.Fatal(err)
		}
		got := emit(e, e.NewScorer().Score(cmdEvent(line)))
		if !deob {
			if got["rule_count"][0] != "0" {
				t.Errorf("without deobfuscation: %v", got)
			}
			continue
		}
		if got["rule_count"][0] != "1" || got["rule_explain"][0] != "Net User Add: selection_img,selection_cli (after deobfuscation)" {
			t.Errorf("hits %q explain %q", got["rule_hits"], got["rule_explain"])
		}
		if o := got["obfuscation"]; !slices.Equal(o, []string{"caret"}) {
			t.Errorf("obfuscation %q", o)
		}
		if d := got["deobfuscated_cmdline"][0]; !strings.Contains(d, "net user bob pw /add") {
			t.Errorf("deobfuscated_cmdline %q", d)
		}
		if got["risk_score"][0] != "70" { // 50 for a high rule + 20 for the obfuscation
			t.Errorf("risk_score %q", got["risk_score"])
		}
	}
}

func TestMinLevel(t *testing.T) {
	fsys := testFS(t)
	fsys["low.rules.toml"] = &fstest.MapFile{Data: []byte("[pack]\ndescription = \"t\"\n[[rule]]\nname = \"whoami_run\"\ndescription = \"d\"\nany = [\"whoami\"]\nlevel = \"low\"\ntechniques = [\"T1033\"]\nrisk = 10\n")}
	line := `net.exe user bob P4ss /add & whoami`
	for _, tt := range []struct{ min, hits string }{
		{"", "net_user_add,whoami_run,Net User Add"},
		{"low", "net_user_add,whoami_run,Net User Add"},
		{"medium", "net_user_add,Net User Add"},
		{"critical", ""},
	} {
		e, err := New(fsys, Options{Model: None, Rules: []string{"sentinel_cmd", "low", "sig"}, MinLevel: tt.min})
		if err != nil {
			t.Fatal(err)
		}
		got := emit(e, e.NewScorer().Score(cmdEvent(line)))
		if h := strings.Join(got["rule_hits"], ","); h != tt.hits {
			t.Errorf("min_level=%s: hits %q, want %q", tt.min, h, tt.hits)
		}
		if tt.hits == "" && (got["rule_level"] != nil || got["risk_score"][0] != "0") {
			t.Errorf("min_level=%s: no hits but level %q risk %q", tt.min, got["rule_level"], got["risk_score"])
		}
	}
}

// A rule flag may not take the name of another output field.
func TestNameCollision(t *testing.T) {
	fsys := testFS(t)
	fsys["flagpack.rules.toml"] = &fstest.MapFile{Data: []byte("[pack]\ndescription = \"t\"\n[[rule]]\nname = \"x\"\ndescription = \"d\"\nany = [\"x\"]\nflag = \"obfuscation\"\ntechniques = [\"T1033\"]\nrisk = 1\n")}
	_, err := New(fsys, Options{Model: None, Rules: []string{"flagpack"}, Deobfuscate: true})
	if err == nil || err.Error() != `output field "obfuscation" would be both flag "obfuscation" of a rule and a field of the command` {
		t.Errorf("error %v", err)
	}
	if _, err := New(fsys, Options{Model: None, Rules: []string{"flagpack"}}); err != nil {
		t.Errorf("without the stage the flag is free: %v", err)
	}
}
