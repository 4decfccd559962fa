// Package match matches Windows command lines against rule packs (package
// rules). Compile joins packs into a Set, read-only and shared; each
// goroutine matches with its own Matcher:
//
//	set, err := match.Compile(pack)
//	m := set.NewMatcher()
//	for _, i := range m.Match(cmdline, parent) {
//		fmt.Println(set.Rules()[i].Name)
//	}
//
// Matching happens on the normalized command line (package normalize), so
// what cmd.exe undoes (case, carets, quotes inside words, repeated blanks,
// ".exe" and paths on programs) and "/" against "-" on switches do not evade
// a rule. All phrases of all rules are found in one pass over the line by one
// Aho–Corasick automaton (ac.go); a Matcher keeps its buffers, so Match does
// not allocate once warmed up.
//
// Most command lines match no phrase, and most of those lack some word each
// phrase needs: a filter over the raw line (wordFilter, filter.go) finds that
// out first, in a fraction of the cost of normalizing and scanning, and the
// line is normalized only when a phrase may match, a regex needs it, or
// Normalized asks for it. The filter reads the line a word at a time and
// looks each word up in a small hash table of the pack's words, so that a
// line costs what its words cost, whatever the size of the pack; then it
// checks only the phrases anchored on a word the line holds. It knows which
// words a line holds, not where: the phrases whose words are all there (its
// candidates) are verified on the normalized line, each piece a plain
// substring search, before the automaton runs (Matcher.verify). The
// automaton is a DFA in a compact 32-bit table (table.go), which holds for
// packs of a few thousand rules.
//
// The tests hold every fast path to a slow, obvious reference matcher
// (match_test.go) and to the variants without it.
package match
