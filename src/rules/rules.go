// Package rules matches Windows command lines against rule packs: TOML files
// under lookups/ that detection engineers read, edit and extend. A rule says
// what it matches (phrases on the command line, the program, the parent
// process), the flag it sets, its ATT&CK techniques and a risk score:
//
//	[pack]
//	description = "cmd.exe abuse"
//
//	[[rule]]
//	name        = "net_user_add"
//	description = "A local account is created."
//	any         = ["net user ... /add"]
//	flag        = "user_creation"
//	techniques  = ["T1059.003", "T1136.001"]
//	risk        = 60
//
// Packs are parsed and validated whole (ParsePack, LoadPack); a mistake is a
// *PackError naming the file, line and rule. Compile joins packs into a Set,
// and each goroutine matches with its own Matcher:
//
//	set, err := rules.Compile(pack)
//	m := set.NewMatcher()
//	for _, i := range m.Match(cmdline, parent) {
//		fmt.Println(set.Rules()[i].Name)
//	}
//
// Matching happens on the normalized command line (see Normalize), so what
// cmd.exe undoes (case, carets, quotes inside words, repeated blanks, ".exe"
// and paths on programs) and "/" against "-" on switches do not evade a rule.
// All phrases of all rules are found in one pass over the line by one
// Aho–Corasick automaton; a Matcher keeps its buffers, so Match does not
// allocate once warmed up.
//
// Most command lines match no phrase, and most of those hold none of the
// words the phrases need: a filter over the raw line (wordFilter) finds that
// out first, in a fraction of the cost of normalizing and scanning, and the
// line is normalized only when a phrase may match, a regex needs it, or
// Normalized asks for it.
package rules

// Rule is one rule of a pack as written. Compile turns rules into matchers;
// a Rule itself is plain data.
type Rule struct {
	Name        string
	Description string
	Flag        string   // output field set to 1 when the rule matches, or ""
	Techniques  []string // ATT&CK technique ids, e.g. T1059.003
	Risk        int      // 0 to 100

	// Conditions as written; a rule matches when all the given ones hold.
	Any         []string // phrases: at least one is on the command line
	All         []string // phrases: every one is on the command line
	None        []string // phrases: none is on the command line
	ProcessName []string // the program run is one of these (base names)
	Parent      []string // the parent process is one of these (base names)
	Regex       string   // RE2 expression the normalized command line matches

	Pack string // name of the pack it comes from
	Line int    // line of its [[rule]] header in the pack file
}

// Pack is a parsed and validated rule pack.
type Pack struct {
	Name        string // the file name without ".rules.toml"
	File        string // the file it was read from, as given
	Description string
	Rules       []*Rule
}
