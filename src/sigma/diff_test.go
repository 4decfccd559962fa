package sigma

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"scorecmdline/src/event"
)

// confPack loads every conformance case as one pack (no shared data
// needed).
func confPack(t testing.TB) *Ruleset {
	files := map[string]string{ConfigFile: "[fields]\nDestinationIp = \"dest\"\n[placeholders]\nAdmins = ['adm_*', 'root']\n"}
	for i, tc := range confCases {
		files[tc.name+".yml"] = ruleDoc(fmt.Sprintf("r%d", i), tc.det)
	}
	rs, rep := loadDocs(t, Options{}, files)
	if len(rep.Problems) > 0 {
		t.Fatal(rep.Problems)
	}
	return rs
}

// vocabulary for random events: pieces of the conformance values, dashes
// in every form, case changes, non-ASCII.
var vocab = []string{"cmd.exe", "\\", "c:\\windows\\", "system32", " /c ", " -enc ", "bypass", "whoami", "x", "zz", "a1", "b1", "c1",
	"q1", "q2", "aaa", "bbb", "hh", "-", "/", "\u2013", "\u2014", "\u2015", "--force", "foo", "bar", "regsvr32", " -n ", "Invoke",
	"SUVY", "aHR0cDovL", "mimikatz", "event::drop", "OabVirtualDirectory", " -ExternalUrl ", "МАЙКРОСОФТ", "ſ", "K", "*", "?",
	"explorer.exe", "\"", " ", "net1.exe", "adm_", "root", "10.1.17.1", "high", "101", "4", "\x00", "\xff"}

func randValue(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(6) {
		w := vocab[r.IntN(len(vocab))]
		if r.IntN(3) == 0 {
			w = strings.ToUpper(w)
		}
		b.WriteString(w)
	}
	return b.String()
}

func randEvent(r *rand.Rand) *event.Event {
	ev := &event.Event{}
	for f := range event.NumFields {
		if r.IntN(3) == 0 {
			ev.Set(f, []byte(randValue(r)))
		}
	}
	return ev
}

// checkSame fails when the prefiltered Match and the plain evaluation
// disagree.
func checkSame(t testing.TB, rs *Ruleset, m *Matcher, ev *event.Event) {
	got := m.Match(ev, nil)
	want := m.matchPlain(ev, nil)
	if !slices.Equal(got, want) {
		t.Fatalf("event %q: Match %v, plain %v", ev, got, want)
	}
}

func TestPrefilterRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	packs := map[string]*Ruleset{"conformance": confPack(t)}
	for name, rs := range packs {
		m := rs.NewMatcher()
		hits := 0
		for range 20000 {
			ev := randEvent(r)
			checkSame(t, rs, m, ev)
			hits += len(m.Match(ev, nil))
		}
		if hits == 0 {
			t.Errorf("%s: random events never match: the test proves nothing", name)
		}
	}
}

// TestPrefilterSigmaHQ: the whole ruleset, on the dev corpus and on random
// events.
func TestPrefilterSigmaHQ(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates every rule on every row: slow")
	}
	rs := loadShared(t, "rules")
	m := rs.NewMatcher()
	files, _ := filepath.Glob(filepath.Join(sharedDir(t, "corpus/dev"), "*.jsonl"))
	rows, hits := 0, 0
	for _, f := range files {
		for _, row := range readJSONL[devRow](t, f) {
			ev := devEvent(row)
			checkSame(t, rs, m, ev)
			hits += len(m.Match(ev, nil))
			rows++
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		checkSame(t, rs, m, randEvent(r))
	}
	t.Logf("%d rows, %d hits", rows, hits)
}

func FuzzPrefilter(f *testing.F) {
	f.Add("cmd.exe /c whoami", "C:\\Windows\\System32\\cmd.exe", "explorer.exe", "x")
	f.Add("p -ENC x -ep Bypass", "", "", "")
	f.Add("x /-force foo\u2014bar", "", "", "МАЙКРОСОФТ")
	rs := confPack(f)
	m := rs.NewMatcher()
	f.Fuzz(func(t *testing.T, cl, img, parent, other string) {
		ev := &event.Event{}
		ev.Set(event.Process, []byte(cl))
		ev.Set(event.ProcessPath, []byte(img))
		ev.Set(event.ParentProcessName, []byte(parent))
		for _, fl := range []event.Field{event.User, event.ParentUser, event.Company, event.OriginalFileName, event.Dest, event.ProcessID} {
			ev.Set(fl, []byte(other))
		}
		checkSame(t, rs, m, ev)
	})
}
