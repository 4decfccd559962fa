package apptest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"scorecmdline/src/conf"
	"scorecmdline/src/config"
	"scorecmdline/src/score"
)

const (
	escuSearch     = "SA-scorecmdline - Potentially malicious code on commandline - Rule"
	sentinelSearch = "SA-scorecmdline - Detect Windows Command Shell - Rule"
	nativeSearch   = "SA-scorecmdline - Malicious command line (native model) - Rule"
	sigmaSearch    = "SA-scorecmdline - Sigma rules over process creation - Rule"
	// userSigmaPack is the Sigma pack the Sigma search reads: installed by
	// the admin, not shipped.
	userSigmaPack = "sigma"
	// escuRiskMessage is the ESCU detection's RBA message (design.md §4).
	escuRiskMessage = "Unusual command-line execution with hallmarks of malicious activity run by $user$ found on $dest$ with commandline $process$"
)

// spl is a search string the app ships, with where it comes from.
type spl struct{ where, text string }

// appSearches collects every SPL the app ships: saved searches, their
// drilldown searches, macro definitions and the searchbnf examples.
func appSearches(t *testing.T) []spl {
	t.Helper()
	var out []spl
	for _, s := range readConf(t, "default/savedsearches.conf").Stanzas {
		out = append(out, spl{"[" + s.Name + "] search", value(t, s, "search")})
		if v, ok := s.Get("action.notable.param.drilldown_searches"); ok {
			var ds []struct{ Name, Search string }
			if err := json.Unmarshal([]byte(v), &ds); err != nil {
				t.Fatalf("[%s] drilldown_searches: %v", s.Name, err)
			}
			for _, d := range ds {
				out = append(out, spl{"[" + s.Name + "] drilldown " + d.Name, d.Search})
			}
		}
	}
	for key, m := range appMacros(t) {
		call := "`" + key + "`"
		if len(m.Args) > 0 {
			vals := make([]string, len(m.Args))
			for i := range vals {
				vals[i] = fmt.Sprintf("arg%d", i+1)
			}
			call = "`" + m.Name + "(" + strings.Join(vals, ", ") + ")`"
		}
		out = append(out, spl{"macro " + key, call})
	}
	for _, st := range stanza(t, readConf(t, "default/searchbnf.conf"), "scorecmdline-command").Settings {
		if strings.HasPrefix(st.Key, "example") {
			out = append(out, spl{"searchbnf " + st.Key, st.Value})
		}
	}
	return out
}

// TestMacrosResolve: every macro any shipped search uses is defined by the
// app itself with that number of arguments, so the app works without ESCU or
// the CIM add-on, and everything expands.
func TestMacrosResolve(t *testing.T) {
	ms := appMacros(t)
	for _, s := range appSearches(t) {
		calls, err := conf.Calls(s.text)
		if err != nil {
			t.Errorf("%s: %v", s.where, err)
			continue
		}
		for _, c := range calls {
			if _, ok := ms[c.Key()]; !ok {
				t.Errorf("%s calls `%s` with %d arguments: no macro %s in macros.conf", s.where, c.Name, len(c.Args), c.Key())
			}
		}
		if _, err := ms.Expand(s.text); err != nil {
			t.Errorf("%s: %v", s.where, err)
		}
	}
}

// TestCommandOptions: every scorecmdline invocation the app ships (after
// macro expansion) uses only options the binary accepts, with valid values,
// and names models and rule packs that the app ships.
func TestCommandOptions(t *testing.T) {
	ms := appMacros(t)
	root := repoRoot(t)
	n := 0
	for _, s := range appSearches(t) {
		expanded, err := ms.Expand(s.text)
		if err != nil {
			continue // TestMacrosResolve reports it
		}
		for _, stage := range pipeline(expanded) {
			args, ok := commandArgs(stage, "scorecmdline")
			if !ok {
				continue
			}
			n++
			opts := score.Defaults()
			if err := config.Decode(args, &opts); err != nil {
				t.Errorf("%s: %q: %v", s.where, stage, err)
				continue
			}
			// The Sigma search names a pack the admin installs (the app
			// ships none), so only that name may be missing.
			opts.Rules = slices.DeleteFunc(opts.Rules, func(p string) bool { return p == userSigmaPack })
			if len(opts.Rules) == 0 {
				opts.Rules = []string{"none"}
			}
			if _, err := score.New(os.DirFS(filepath.Join(root, "lookups")), opts); err != nil {
				t.Errorf("%s: %q: %v", s.where, stage, err)
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d scorecmdline invocations, expected the tokenize macro, the Sentinel search and the examples", n)
	}
}

// escuOriginals pairs the app's helper macros with the ESCU/CIM originals.
var escuOriginals = []struct {
	ours, theirs string
	args         []string
}{
	{"scorecmdline_summariesonly", "security_content_summariesonly", nil},
	{"scorecmdline_drop_dm_object_name", "drop_dm_object_name", []string{"Processes"}},
	{"scorecmdline_ctime", "security_content_ctime", []string{"firstTime"}},
}

func callText(name string, args []string) string {
	if len(args) == 0 {
		return "`" + name + "`"
	}
	return "`" + name + "(" + strings.Join(args, ", ") + ")`"
}

// TestHelperMacrosMatchESCU: each scorecmdline_* helper expands to the same
// SPL as its ESCU original (testdata/escu_macros.conf, with sources), and
// takes arguments of the same names.
func TestHelperMacrosMatchESCU(t *testing.T) {
	ours := appMacros(t)
	f, err := conf.ReadFile(os.DirFS("testdata"), "escu_macros.conf")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := conf.LoadMacros(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range escuOriginals {
		got, err := ours.Expand(callText(p.ours, p.args))
		if err != nil {
			t.Errorf("%s: %v", p.ours, err)
			continue
		}
		want, err := theirs.Expand(callText(p.theirs, p.args))
		if err != nil {
			t.Fatalf("%s: %v", p.theirs, err)
		}
		if got != want {
			t.Errorf("%s expands to\n  %q\nESCU's %s to\n  %q", p.ours, got, p.theirs, want)
		}
		key := callKey(p.ours, len(p.args))
		if m := ours[key]; !slices.Equal(m.Args, theirs[callKey(p.theirs, len(p.args))].Args) {
			t.Errorf("%s args %q differ from ESCU's", key, m.Args)
		}
	}
}

func callKey(name string, n int) string {
	return conf.Call{Name: name, Args: make([]string, n)}.Key()
}

// nativeDetection is design.md §4's native detection, one pipeline command
// per element.
var nativeDetection = []string{
	"",
	"tstats `scorecmdline_summariesonly` count min(_time) as firstTime max(_time) as lastTime from datamodel=\"Endpoint.Processes\" by Processes.parent_process_name Processes.process_name Processes.process Processes.user Processes.dest",
	"`scorecmdline_drop_dm_object_name(Processes)`",
	"where len(process) > 200",
	"`potentially_malicious_code_on_cmdline_tokenize_score`",
	"where score > 0.5",
	"`scorecmdline_ctime(firstTime)`",
	"`scorecmdline_ctime(lastTime)`",
	"`potentially_malicious_code_on_commandline_filter`",
}

func savedSearch(t *testing.T, name string) string {
	t.Helper()
	return value(t, stanza(t, readConf(t, "default/savedsearches.conf"), name), "search")
}

func TestNativeDetectionShape(t *testing.T) {
	if d := stageDiff(pipeline(savedSearch(t, escuSearch)), nativeDetection); d != "" {
		t.Errorf("native detection differs from design.md §4: %s", d)
	}
}

// stageDiff describes the first difference between two pipelines, or "".
func stageDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if i >= len(got) || i >= len(want) || g != w {
			return fmt.Sprintf("command %d (of %d, want %d)\n got %q\nwant %q", i, len(got), len(want), g, w)
		}
	}
	return ""
}

// mltkStages are the ESCU search's MLTK commands that the native tokenize
// macro replaces.
var mltkStages = []string{
	"apply unusual_commandline_detection",
	"eval score='predicted(unusual_cmdline_logits)', process=orig_process",
	"fields - unusual_cmdline* predicted(unusual_cmdline_logits) orig_process",
}

// TestNativeDetectionMatchesESCU derives the native search from ESCU's v3
// detection: rename the helper macros to their scorecmdline_ twins, drop the
// MLTK commands, and the result must be the shipped search.
func TestNativeDetectionMatchesESCU(t *testing.T) {
	path := filepath.Join(sharedDir(t), "reference", "escu", "potentially_malicious_code_on_commandline.v3.yml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	search, err := yamlScalar(string(src), "search")
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rename := map[string]string{}
	for _, p := range escuOriginals {
		rename[p.theirs] = p.ours
	}
	var derived []string
	dropped := 0
	for _, stage := range pipeline(search) {
		if slices.Contains(mltkStages, stage) {
			dropped++
			continue
		}
		calls, err := conf.Calls(stage)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(calls) - 1; i >= 0; i-- {
			c := calls[i]
			if to, ok := rename[c.Name]; ok {
				stage = stage[:c.Offset] + callText(to, c.Args) + stage[c.End:]
			}
		}
		derived = append(derived, stage)
	}
	if dropped != len(mltkStages) {
		t.Fatalf("ESCU search has %d of the %d MLTK commands; has it changed?\n%s", dropped, len(mltkStages), search)
	}
	if d := stageDiff(pipeline(savedSearch(t, escuSearch)), derived); d != "" {
		t.Errorf("native detection differs from the one derived from %s: %s", path, d)
	}
}

// yamlScalar reads a top-level "key: value" of a YAML file when the value
// is on one line, plain or single-quoted (a quote inside doubled), which is
// how security_content writes its searches.
func yamlScalar(src, key string) (string, error) {
	for _, line := range strings.Split(src, "\n") {
		v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), key+":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "'") {
			if len(v) < 2 || !strings.HasSuffix(v, "'") {
				return "", fmt.Errorf("%s: multi-line quoted value not supported", key)
			}
			return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), nil
		}
		if v == "" || strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">") {
			return "", fmt.Errorf("%s: value form %q not supported", key, clip(v))
		}
		return v, nil
	}
	return "", fmt.Errorf("no top-level %q", key)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// TestTokenizeMacro: the ESCU macro name now runs the native command with
// the ESCU model on the process field.
func TestTokenizeMacro(t *testing.T) {
	m, ok := appMacros(t)["potentially_malicious_code_on_cmdline_tokenize_score"]
	if !ok {
		t.Fatal("no potentially_malicious_code_on_cmdline_tokenize_score macro")
	}
	stages := pipeline(m.Definition)
	args, ok := commandArgs(stages[0], "scorecmdline")
	if len(stages) != 1 || !ok {
		t.Fatalf("definition %q is not a scorecmdline command", m.Definition)
	}
	opts := score.Defaults()
	if err := config.Decode(args, &opts); err != nil {
		t.Fatal(err)
	}
	if opts.Field != "process" || opts.Model != "escu" || opts.Prefix != "" {
		t.Errorf("tokenize macro scores field %q with model %q prefix %q; want process, escu, no prefix", opts.Field, opts.Model, opts.Prefix)
	}
}

// TestCorrelationSearches checks the ES correlation searches against the
// contentctl template: disabled, scheduled, annotated with their ATT&CK
// technique, risk on user and dest, notable settings, and an allowlist
// filter macro last.
func TestCorrelationSearches(t *testing.T) {
	f := readConf(t, "default/savedsearches.conf")
	technique := map[string]string{escuSearch: "T1059.003", sentinelSearch: "T1059.003", nativeSearch: "T1059", sigmaSearch: "T1059"}
	if len(f.Stanzas) != len(technique) {
		t.Errorf("%d saved searches, want %d", len(f.Stanzas), len(technique))
	}
	ms := appMacros(t)
	cron := regexp.MustCompile(`^(\S+\s+){4}\S+$`)
	for name, tech := range technique {
		t.Run(name, func(t *testing.T) {
			s := stanza(t, f, name)
			get := func(key string) string { return value(t, s, key) }
			isTrue := func(key string) bool {
				b, err := config.ParseBool(get(key))
				if err != nil {
					t.Errorf("%s: %v", key, err)
				}
				return b
			}
			if !isTrue("disabled") {
				t.Error("must be disabled until an admin enables it")
			}
			if !isTrue("enableSched") || !isTrue("action.correlationsearch.enabled") || !isTrue("action.risk") {
				t.Error("enableSched, action.correlationsearch.enabled and action.risk must be on")
			}
			if !cron.MatchString(get("cron_schedule")) {
				t.Errorf("cron_schedule %q is not five fields", get("cron_schedule"))
			}
			if get("dispatch.earliest_time") == "" || get("dispatch.latest_time") == "" {
				t.Error("no dispatch window")
			}
			if len(name) > 99 {
				t.Errorf("name is %d characters; ES allows 99", len(name))
			}
			if get("action.correlationsearch.label") != name {
				t.Errorf("label %q differs from the stanza name", get("action.correlationsearch.label"))
			}
			var ann struct {
				MitreAttack []string `json:"mitre_attack"`
			}
			if err := json.Unmarshal([]byte(get("action.correlationsearch.annotations")), &ann); err != nil {
				t.Errorf("annotations: %v", err)
			}
			if !slices.Contains(ann.MitreAttack, tech) {
				t.Errorf("annotations mitre_attack %q lacks %s", ann.MitreAttack, tech)
			}
			var risk []map[string]any
			if err := json.Unmarshal([]byte(get("action.risk.param._risk")), &risk); err != nil {
				t.Fatalf("_risk: %v", err)
			}
			objects := map[string]float64{}
			for _, r := range risk {
				if field, ok := r["risk_object_field"].(string); ok {
					score, _ := r["risk_score"].(float64)
					objects[field] = score
				}
			}
			for _, obj := range []string{"user", "dest"} {
				if score, ok := objects[obj]; !ok || score < 1 || score > 100 {
					t.Errorf("no risk object %s with a score in 1..100 (%v)", obj, objects)
				}
			}
			msg := get("action.risk.param._risk_message")
			for _, tok := range []string{"$user$", "$dest$", "$process$"} {
				if !strings.Contains(msg, tok) {
					t.Errorf("risk message %q lacks %s", msg, tok)
				}
			}
			if name == escuSearch {
				if msg != escuRiskMessage {
					t.Errorf("risk message %q, want ESCU's %q", msg, escuRiskMessage)
				}
				if objects["user"] != 12 || objects["dest"] != 12 {
					t.Errorf("risk scores %v, want ESCU's 12 on user and dest", objects)
				}
			}
			for _, key := range []string{"rule_title", "rule_description", "security_domain", "severity", "drilldown_searches"} {
				get("action.notable.param." + key)
			}
			isTrue("action.notable") // present and boolean

			// The last command is this detection's allowlist filter.
			stages := pipeline(get("search"))
			calls, err := conf.Calls(stages[len(stages)-1])
			if err != nil || len(calls) != 1 || !strings.HasSuffix(calls[0].Name, "_filter") || len(calls[0].Args) != 0 {
				t.Fatalf("last command %q is not a *_filter macro", stages[len(stages)-1])
			}
			filter := ms[calls[0].Key()]
			detection := strings.TrimSuffix(calls[0].Name, "_filter")
			def := squeeze(filter.Definition)
			if !strings.Contains(def, "lookup scorecmdline_allowlist ") || !strings.Contains(def, `"`+detection+`"`) {
				t.Errorf("%s does not look %q up in scorecmdline_allowlist: %q", calls[0].Name, detection, def)
			}
		})
	}
}

// TestSentinelSearch: cmd.exe processes from Endpoint.Processes, scored by
// the sentinel_cmd pack alone, kept on a rule hit or a suspicious parent.
func TestSentinelSearch(t *testing.T) {
	stages := pipeline(savedSearch(t, sentinelSearch))
	joined := strings.Join(stages, " | ")
	for _, want := range []string{
		`from datamodel="Endpoint.Processes" where Processes.process_name="cmd.exe"`,
		"`scorecmdline_drop_dm_object_name(Processes)`",
		"where rule_count > 0 OR suspicious_parent=1",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("Sentinel search lacks %q:\n%s", want, joined)
		}
	}
	found := false
	for _, st := range stages {
		if args, ok := commandArgs(st, "scorecmdline"); ok {
			found = true
			opts := score.Defaults()
			if err := config.Decode(args, &opts); err != nil {
				t.Fatal(err)
			}
			if opts.Model != "none" || !slices.Equal(opts.Rules, []string{"sentinel_cmd"}) ||
				opts.Field != "process" || opts.ParentField != "parent_process_name" {
				t.Errorf("Sentinel search runs %q; want field=process parent_field=parent_process_name model=none rules=sentinel_cmd", st)
			}
		}
	}
	if !found {
		t.Error("Sentinel search does not run scorecmdline")
	}
}

// TestNativeAndSigmaSearches: the native model's search keeps the model's
// own decision; the Sigma search asks Endpoint.Processes for every field the
// Sigma engine maps and runs the pack of its macro from level high.
func TestNativeAndSigmaSearches(t *testing.T) {
	ms := appMacros(t)
	for _, tt := range []struct {
		name, where, model, rules, minLevel string
		fields                              []string
	}{
		{nativeSearch, "where model_alert=1", "cmdline", "sentinel_cmd", "", []string{"process", "parent_process_name"}},
		{sigmaSearch, "where rule_count > 0", "none", userSigmaPack, "high", []string{"process", "process_path", "original_file_name", "parent_process", "parent_process_path", "process_integrity_level", "process_current_directory", "process_hash", "user"}},
	} {
		expanded, err := ms.Expand(savedSearch(t, tt.name))
		if err != nil {
			t.Fatal(err)
		}
		stages := pipeline(expanded)
		if !strings.Contains(strings.Join(stages, " | "), tt.where) {
			t.Errorf("%s lacks %q", tt.name, tt.where)
		}
		for _, f := range tt.fields {
			if !strings.Contains(stages[1], "Processes."+f+" ") {
				t.Errorf("%s: tstats does not group by Processes.%s", tt.name, f)
			}
		}
		found := false
		for _, st := range stages {
			if args, ok := commandArgs(st, "scorecmdline"); ok {
				found = true
				opts := score.Defaults()
				if err := config.Decode(args, &opts); err != nil {
					t.Fatal(err)
				}
				if opts.Model != tt.model || strings.Join(opts.Rules, ",") != tt.rules || opts.MinLevel != tt.minLevel {
					t.Errorf("%s runs %q", tt.name, st)
				}
			}
		}
		if !found {
			t.Errorf("%s does not run scorecmdline", tt.name)
		}
	}
}

func TestPipeline(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"| a  b\n| c", []string{"", "a b", "c"}},
		{`search x="a | b" | c`, []string{`search x="a | b"`, "c"}},
		{"a | `m(x|y)` | [search q | head 1] | d", []string{"a", "`m(x|y)`", "[search q | head 1]", "d"}},
		{`eval x="a\"|b" | c`, []string{`eval x="a\"|b"`, "c"}},
		{`eval x="two  spaces"`, []string{`eval x="two  spaces"`}},
	} {
		if got := pipeline(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("pipeline(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzPipeline: splitting never loses non-space text outside the pipes.
func FuzzPipeline(f *testing.F) {
	f.Add("| a  b\n| c")
	f.Add("a | `m(x|y)` | [search q | head 1] | d")
	f.Add(`eval x="a\"|b" | c`)
	f.Fuzz(func(t *testing.T, s string) {
		stages := pipeline(s)
		if len(stages) == 0 {
			t.Fatal("no stages")
		}
		strip := func(s string) string { // bytewise: s need not be UTF-8
			var b []byte
			for i := 0; i < len(s); i++ {
				if c := s[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '|' {
					b = append(b, c)
				}
			}
			return string(b)
		}
		if got, want := strip(strings.Join(stages, "")), strip(s); got != want {
			t.Fatalf("text lost: %q vs %q", got, want)
		}
	})
}
