package sigma

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"scorecmdline/src/event"
)

func TestLoadProblems(t *testing.T) {
	det := "sel:\n  CommandLine|contains: x\ncondition: sel"
	files := map[string]string{
		"ok.yml":         ruleDoc("ok", det),
		"multi.yaml":     ruleDoc("m1", det) + "---\n" + ruleDoc("m2", det),
		"sub/deep.yml":   ruleDoc("deep", det),
		"other.yml":      strings.Replace(ruleDoc("net", det), "process_creation", "network_connection", 1),
		"old.yml":        strings.Replace(ruleDoc("old", det), "status: test", "status: deprecated", 1),
		"low.yml":        strings.Replace(ruleDoc("low", det), "level: medium", "level: low", 1),
		"badmod.yml":     ruleDoc("badmod", "sel:\n  CommandLine|bogus: x\ncondition: sel"),
		"badcond.yml":    ruleDoc("badcond", "sel:\n  CommandLine: x\ncondition: sel and nope"),
		"agg.yml":        ruleDoc("agg", "sel:\n  CommandLine: x\ncondition: sel | count() > 5"),
		"near.yml":       ruleDoc("near", "sel:\n  CommandLine|near: x\ncondition: sel"),
		"re2.yml":        ruleDoc("re2", "sel:\n  CommandLine|re: '(?<=a)b'\ncondition: sel"),
		"corr.yml":       "title: c\ncorrelation:\n  type: event_count\n",
		"syntax.yml":     "title: [unclosed\n",
		"notes.txt":      "not a rule",
		"filter_ok.yml":  "title: f\nlogsource:\n  category: process_creation\n  product: windows\nfilter:\n  rules:\n    - ok\n    - missing-rule\n  selection:\n    User|startswith: adm_\n  condition: selection\n",
		"allsingle.yml":  ruleDoc("allsingle", "sel:\n  CommandLine|contains|all: x\ncondition: sel"),
		"nolevel.yml":    strings.Replace(ruleDoc("nolevel", det), "level: medium\n", "", 1),
		"badlevel.yml":   strings.Replace(ruleDoc("badlevel", det), "level: medium", "level: severe", 1),
		"nulllist.yml":   ruleDoc("nulllist", "sel:\n  CommandLine:\n    - ''\n    - null\ncondition: sel"),
		"unmapped.yml":   ruleDoc("unmapped", "sel:\n  GrandParentImage|endswith: x\ncondition: sel"),
		"placehold.yml":  ruleDoc("placehold", "sel:\n  User|expand: '%Admins%'\ncondition: sel"),
		"timemod.yml":    ruleDoc("timemod", "sel:\n  UtcTime|hour: 3\ncondition: sel"),
		"anchor.yml":     ruleDoc("anchor", "sel: &a\n  CommandLine: x\ncondition: sel"),
		"deepcond.yml":   ruleDoc("deepcond", "sel:\n  CommandLine: x\ncondition: "+strings.Repeat("(", 100)+"sel"+strings.Repeat(")", 100)),
		"wildb64.yml":    ruleDoc("wildb64", "sel:\n  CommandLine|base64: 'a*'\ncondition: sel"),
		"conflict.yml":   ruleDoc("conflict", "sel:\n  CommandLine|contains|startswith: x\ncondition: sel"),
		"keywordsre.yml": ruleDoc("kwre", "kw:\n  - foo\n  - bar\ncondition: kw"),
	}
	rs, rep := loadDocs(t, Options{MinLevel: Medium}, files)
	got := map[string]bool{}
	for i := range rs.Len() {
		got[rs.Rule(i).ID] = true
	}
	for _, id := range []string{"ok", "m1", "m2", "deep", "unmapped", "kwre"} {
		if !got[id] {
			t.Errorf("rule %s not loaded", id)
		}
	}
	if rs.Len() != 6 {
		t.Errorf("%d rules loaded, want 6", rs.Len())
	}
	wantSkipped := map[string]int{"logsource": 1, "status deprecated": 1, "level": 2}
	for k, v := range wantSkipped {
		if rep.Skipped[k] != v {
			t.Errorf("skipped %s = %d, want %d (%v)", k, rep.Skipped[k], v, rep.Skipped)
		}
	}
	if rep.Filters != 1 || rep.Unmapped != 1 || rep.Files != 26 {
		t.Errorf("filters %d unmapped %d files %d", rep.Filters, rep.Unmapped, rep.Files)
	}
	wantProblems := map[string]string{
		"badmod.yml":    `badmod.yml:10: rule badmod: CommandLine|bogus: unknown modifier "bogus"`,
		"badcond.yml":   `badcond.yml:11: rule badcond: condition column 9: unknown search identifier "nope"`,
		"agg.yml":       "agg.yml:11: rule agg: condition column 5: unsupported: aggregation",
		"near.yml":      "unsupported: modifier near",
		"re2.yml":       "unsupported: regex",
		"corr.yml":      "corr.yml:1: rule c: unsupported: correlation rule",
		"syntax.yml":    "syntax.yml:1: yaml:",
		"filter_ok.yml": `filter_ok.yml:1: rule f: filter names rule "missing-rule", which is not loaded`,
		"allsingle.yml": "all needs a list",
		"badlevel.yml":  `badlevel.yml:4: rule badlevel: unknown level "severe"`,
		"nulllist.yml":  "null must be",
		"placehold.yml": "unsupported: placeholder %Admins% has no values",
		"timemod.yml":   "unsupported: time modifier hour",
		"anchor.yml":    "aliases are not supported",
		"deepcond.yml":  "nested too deeply",
		"wildb64.yml":   "base64 of a value with wildcards",
		"conflict.yml":  "conflict",
	}
	for file, want := range wantProblems {
		found := false
		for _, p := range rep.Problems {
			if strings.HasSuffix(p.File, "/"+file) && strings.Contains(p.Error(), want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem for %s containing %q", file, want)
		}
	}
	if len(rep.Problems) != len(wantProblems) {
		for _, p := range rep.Problems {
			t.Log(p.String())
		}
		t.Errorf("%d problems, want %d", len(rep.Problems), len(wantProblems))
	}
	// Check lists the same problems, deprecated rules included.
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys["pack/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	if n := len(Check(fsys, "pack")); n != len(wantProblems) {
		t.Errorf("Check: %d problems, want %d", n, len(wantProblems))
	}
}

func TestMetadataAndFilter(t *testing.T) {
	doc := ruleDoc("r1", "selection_img:\n  Image|endswith: '\\cmd.exe'\nselection_cli:\n  CommandLine|contains: whoami\ncondition: all of selection_*")
	doc = strings.Replace(doc, "level: medium", "level: high\ntags:\n  - attack.execution\n  - attack.t1059.003\n  - attack.t1033", 1)
	filter := "title: admins\nlogsource:\n  category: process_creation\n  product: windows\nfilter:\n  rules: r1\n  selection:\n    User|startswith: adm_\n  condition: selection\n"
	rs, rep := loadDocs(t, Options{}, map[string]string{"r.yml": doc, "mf_admins.yml": filter})
	if len(rep.Problems) > 0 || rs.Len() != 1 {
		t.Fatal(rep.Problems)
	}
	r := rs.Rule(0)
	if r.Level != High || r.Title != "t r1" || r.Status != "test" || strings.Join(r.Techniques, ",") != "T1059.003,T1033" || r.File != "pack/r.yml" || r.Line != 1 {
		t.Errorf("metadata %+v", r)
	}
	if !(High > Medium && Medium > Low && Low > Informational && Critical > High) || High.String() != "high" {
		t.Error("levels out of order")
	}
	need := rs.Needs()
	for _, f := range []event.Field{event.Process, event.ProcessPath, event.User} {
		if !need.Has(f) {
			t.Errorf("Needs lacks %v: %v", f, need.Fields())
		}
	}
	m := rs.NewMatcher()
	ev := &event.Event{}
	ev.Set(event.Process, []byte("cmd.exe /c whoami"))
	if hits := m.Match(ev, nil); len(hits) != 1 {
		t.Fatalf("hits %v", hits)
	}
	if got := m.Explain(0); got != "selection_img,selection_cli" {
		t.Errorf("Explain = %q", got)
	}
	ev.Set(event.User, []byte("ADM_bob"))
	if hits := m.Match(ev, nil); len(hits) != 0 {
		t.Errorf("filter ignored: %v", hits)
	}
	if got := m.Explain(0); got != "selection_img,selection_cli,filter:admins" {
		t.Errorf("Explain = %q", got)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{"[fields]\nCommandLine = \"parent_process\"\n", ""},
		{"[fields]\nCommandLine = \"nope\"\n", "unknown event field"},
		{"[field]\nx = \"y\"\n", "unknown key"},
		{"[fields\n", "toml"},
	} {
		c, err := ParseConfig(strings.NewReader(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if f, _ := c.Field("commandline"); f != event.ParentProcess {
			t.Errorf("override ignored: %v", f)
		}
	}
	_, _, err := Load(fstest.MapFS{"p/" + ConfigFile: {Data: []byte("bad = 1")}}, "p", Options{})
	if err == nil || !strings.Contains(err.Error(), ConfigFile) {
		t.Errorf("bad config: %v", err)
	}
}

func TestMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations differ under the race detector")
	}
	rs := confPack(t)
	m := rs.NewMatcher()
	ev := &event.Event{}
	ev.Set(event.Process, []byte("cmd.exe /c whoami -ENC x bypass \u2013force regsvr32 /n SUVY"))
	ev.Set(event.Company, []byte("МАЙКРОСОФТ"))
	ev.Set(event.ParentProcessName, []byte("explorer.exe"))
	hits := make([]int, 0, 64)
	if n := testing.AllocsPerRun(100, func() { hits = m.Match(ev, hits[:0]) }); n != 0 {
		t.Errorf("%v allocations per Match", n)
	}
	if len(hits) == 0 {
		t.Error("no hits: the event exercises nothing")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(ruleDoc("a", "sel:\n  CommandLine|contains|windash: ' -x'\ncondition: sel")))
	f.Add([]byte(ruleDoc("b", "kw:\n  - a*b?\\*\ncondition: 1 of them")))
	f.Add([]byte("title: f\nlogsource:\n  category: process_creation\n  product: windows\nfilter:\n  rules: [a]\n  s:\n    User: x\n  condition: s\n"))
	f.Add([]byte("---\n- a\n---\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, rep, err := Load(fstest.MapFS{"p/r.yml": {Data: data}}, "p", Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range rep.Problems {
			if p.Reason == "" {
				t.Fatal("problem without reason")
			}
		}
		m := rs.NewMatcher()
		ev := &event.Event{}
		ev.Set(event.Process, data)
		checkSame(t, rs, m, ev)
	})
}

func FuzzCondition(f *testing.F) {
	for _, s := range []string{"a and not (b or 1 of c*)", "all of them", "not not a", "a | count() > 1", "(((a)", "1 of x_1_*"} {
		f.Add(s)
	}
	names := []string{"a", "b", "c1", "c2", "x_1_y", "_u"}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := parseCond(src, names)
		var ce *CondError
		switch {
		case err != nil && !errors.As(err, &ce):
			t.Fatalf("untyped error %T", err)
		case err != nil && (ce.Col < 1 || ce.Col > len(src)+1):
			t.Fatalf("column %d outside %q", ce.Col, src)
		case err == nil && c == nil:
			t.Fatal("nil condition")
		}
	})
}
