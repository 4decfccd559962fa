// Package rules is the rule-pack format: TOML files under lookups/ that
// detection engineers read, edit and extend. A rule says what it matches
// (phrases on the command line, the program, the parent process), the flag
// it sets, its ATT&CK techniques, a risk score and a level:
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
//	level       = "high"
//
// Packs are parsed and validated whole (ParsePack, LoadPack); a mistake is a
// *PackError naming the file, line and rule. BurntSushi/toml checks the
// syntax, and a small scanner of this package (layout.go) finds the line of
// every key and array element, which toml does not report.
//
// A phrase is written as the command would be typed; ParsePhrase compiles
// it to the normalized pieces (package normalize) a matcher looks for. The
// matching itself is package match, which compiles packs into a Set.
package rules

// Rule is one rule of a pack as written; a Rule is plain data.
type Rule struct {
	Name        string
	Description string
	Flag        string   // output field set to 1 when the rule matches, or ""
	Techniques  []string // ATT&CK technique ids, e.g. T1059.003
	Risk        int      // 0 to 100
	Level       Level    // set by ParsePack; 0 in a rule built by hand means LevelFor(Risk)

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

// EffectiveLevel returns the rule's level: Level, or LevelFor(Risk) when
// Level is not set.
func (r *Rule) EffectiveLevel() Level {
	if r.Level != 0 {
		return r.Level
	}
	return LevelFor(r.Risk)
}

// Pack is a parsed and validated rule pack.
type Pack struct {
	Name        string // the file name without ".rules.toml"
	File        string // the file it was read from, as given
	Description string
	Rules       []*Rule
}
