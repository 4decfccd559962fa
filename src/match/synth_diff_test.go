package match

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"scorecmdline/src/internal/testlines"
	"scorecmdline/src/normalize"
)

var synthSets sync.Map // n -> *Set

// synthSet compiles synthPack(n) once per test binary.
func synthSet(t testing.TB, n int) *Set {
	if s, ok := synthSets.Load(n); ok {
		return s.(*Set)
	}
	src, _ := synthPack(n)
	s := compileString(t, fmt.Sprintf("synthetic%d", n), src)
	synthSets.Store(n, s)
	return s
}

// synthLine makes a line of the synthetic vocabulary, so that phrases of
// the synthetic packs are often nearly there, and now and then there.
func synthLine(r *rand.Rand) []byte {
	lists := [][]string{synthTools, synthSwitches, synthArgs, synthRare, testlines.Fragments}
	seps := []string{" ", " ", " ", "  ", " & ", "|", "\n", `"`, "^", ".exe ", "\t"}
	var b []byte
	for range 1 + r.IntN(30) {
		list := lists[r.IntN(len(lists))]
		b = append(b, list[r.IntN(len(list))]...)
		b = append(b, seps[r.IntN(len(seps))]...)
	}
	return b
}

// TestSyntheticFastPaths: at 1,500 rules the filter and the compact
// automaton are still built, the filter rules out the benchmark's benign
// line, and Match agrees with the reference matcher and with its slower
// variants, on generated lines of the pack's own words.
func TestSyntheticFastPaths(t *testing.T) {
	s := synthSet(t, 1500)
	if s.filter == nil || s.ac.next32 == nil {
		t.Fatalf("fast paths off at 1,500 rules: filter %v, compact automaton %v", s.filter != nil, s.ac.next32 != nil)
	}
	if s.filter.mayMatch(new(tokenSeen), append([]byte(benchLine), fillerPad[:]...), len(benchLine)) {
		t.Errorf("the filter lets the benign benchmark line through")
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	_, hit := synthPack(1500)
	lines := append(streamLines(n/10), []byte(hit), []byte(benchLine), []byte(chromeLine))
	r := rand.New(rand.NewPCG(15, 0))
	for range n {
		lines = append(lines, synthLine(r))
	}
	noFilter := *s
	noFilter.filter = nil
	ac := *s.ac
	ac.next32 = nil
	plain := noFilter
	plain.ac = &ac
	m, mf, mp := s.NewMatcher(), noFilter.NewMatcher(), plain.NewMatcher()
	hits := 0
	for _, l := range lines {
		got := m.Match(l, []byte(winword))
		if len(got) > 0 {
			hits++
		}
		if want := reference(s, l, []byte(winword)); !slices.Equal(got, want) {
			t.Fatalf("Match(%q) = %v, reference %v", l, got, want)
		}
		if v := mf.Match(l, []byte(winword)); !slices.Equal(v, got) {
			t.Fatalf("without the filter Match(%q) = %v, with %v", l, v, got)
		}
		if v := mp.Match(l, []byte(winword)); !slices.Equal(v, got) {
			t.Fatalf("with the plain automaton Match(%q) = %v, compact %v", l, v, got)
		}
		checkFilter(t, "synthetic-1500", s, l)
	}
	t.Logf("%d lines, %d match some rule", len(lines), hits)
	if hits < len(lines)/20 {
		t.Errorf("only %d of %d lines match: the differential sees too few hits", hits, len(lines))
	}
}

// TestSyntheticVerify: at 2,000 rules every word of a phrase stands on the
// benign line ("powershell -s": powershell.exe, then "-s 30" far on), so
// the filter lets it through, and verify rules it out before the automaton.
func TestSyntheticVerify(t *testing.T) {
	s := synthSet(t, 2000)
	if s.filter == nil {
		t.Fatal("no filter at 2,000 rules")
	}
	m := s.NewMatcher()
	if hits := m.Match([]byte(benchLine), nil); len(hits) > 0 {
		t.Fatalf("the benign line matches %v", hits)
	}
	if !s.filter.mayMatch(new(tokenSeen), append([]byte(benchLine), fillerPad[:]...), len(benchLine)) {
		t.Fatal("the filter alone rules the benign line out: this test no longer tests verify")
	}
	if len(m.cands) == 0 || m.mayMatch() {
		t.Errorf("verify lets the benign line through (candidates %v)", m.cands)
	}
}

// TestFoldedLine: verify folds the normalized line by replacing "/" alone,
// which holds while normalization lower-cases.
func TestFoldedLine(t *testing.T) {
	for _, l := range testLines(t, 500) {
		for _, c := range normalize.Append(nil, l) {
			if normalize.Fold(c) != c && c != '/' {
				t.Fatalf("normalized %q holds %q, which folds to %q", l, c, normalize.Fold(c))
			}
		}
	}
}

// TestSynthPack: the generator is deterministic and its packs parse with
// the rule counts asked for.
func TestSynthPack(t *testing.T) {
	a, hitA := synthPack(200)
	b, hitB := synthPack(200)
	if a != b || hitA != hitB {
		t.Fatal("synthPack is not deterministic")
	}
	s := compileString(t, "synthetic", a)
	if got := len(s.Rules()); got != 200 {
		t.Errorf("%d rules, want 200", got)
	}
	if !strings.Contains(a, "...") || !strings.Contains(a, "process_name") || !strings.Contains(a, "parent") {
		t.Error("the pack lacks gaps, process_name or parent conditions")
	}
}
