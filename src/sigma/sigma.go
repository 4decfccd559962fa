// Package sigma evaluates a folder of Sigma rules (Windows process_creation)
// natively on event.Event rows.
//
// Loading parses each YAML document (go.yaml.in/yaml/v3, positions kept for
// problems), checks it against the Sigma specification and compiles it:
// values become lower-cased glob segments, regexes, CIDR prefixes or numbers;
// the condition becomes a small boolean tree over the rule's search
// identifiers. A rule that breaks the specification, or uses what this
// engine does not support (correlations, aggregations, `near`, time
// modifiers, an unknown placeholder, a regex RE2 cannot compile), is listed
// in the Report with file:line and skipped: never evaluated with another
// meaning.
//
// Semantics (the choices the specification leaves open are documented here):
//
//   - Values match case-insensitively (Unicode simple lower-casing of both
//     sides) unless `cased`; `re` is case-sensitive unless `re|i`.
//   - `*` is any run, `?` exactly one character; `\` escapes `*`, `?` and
//     `\`, and is literal before any other character.
//   - An absent field is the empty value (as in package event): `null` and
//     `”` match it, `exists: false` holds, every other value test is false on
//     it unless the value itself matches the empty string (`*`). `neq` and
//     `fieldref` are false when a field they read is absent.
//   - A Sigma field with no mapping (see Config) is absent.
//   - Keywords (a search identifier that is a plain list) are `contains`
//     tests on the command line (process) only.
//   - `windash` treats every `-`, `/`, en dash, em dash and horizontal bar in
//     the value as matching any of the five (all permutations, as the
//     specification says), by comparing dash-folded forms of both sides.
//   - Base64 and UTF-16 encoded values match case-insensitively like others.
//   - Field names are looked up case-insensitively.
//
// Image derivation (the Matcher does it per row, documented on Matcher).
//
// Matching: each rule gets a "req", what any row it matches holds: a few
// clauses, each a set of (field, literal) pairs one of which occurs in the
// lower-cased field (an AND needs every child's clauses, an OR one clause
// per child's pick; literals come from the values, regexes included, cut
// to 8 bytes). One Aho–Corasick pass per field over the rules' cheapest
// clauses finds the candidate rules; a candidate's other clauses are then
// checked against the row's grams (hashed 2- and 4-byte windows and the
// bytes of each field, built once per row), and only rules that pass are
// evaluated. Inside the evaluation, each value is first checked the same
// way against its own needed literals, and a regex against the run of
// characters every match spans ([a-f0-9]{64}), so most failing tests never
// reach a glob or regex. All of these only over-approximate: a rule is
// never dropped by them when it matches (the differential tests compare
// with evaluating every rule without them).
//
// Loading: see Load and Options.CacheDir for the compiled cache.
package sigma

import (
	"fmt"
	"strings"

	"scorecmdline/src/event"
	"scorecmdline/src/rules"
)

// Level is a rule's level, ordered: Informational < Low < ... < Critical.
// It is the rule packs' type, so that Sigma and TOML rules compare; the
// zero value means the rule gave none.
type Level = rules.Level

// The levels of the specification.
const (
	LevelNone     Level = 0
	Informational       = rules.Informational
	Low                 = rules.Low
	Medium              = rules.Medium
	High                = rules.High
	Critical            = rules.Critical
)

// Rule is a loaded rule's metadata.
type Rule struct {
	Title  string
	ID     string
	Status string // stable, test, experimental, deprecated, unsupported or ""
	Level  Level
	// Techniques are the ATT&CK ids of the attack.tNNNN[.NNN] tags, upper
	// case ("T1059.003"), in tag order.
	Techniques []string
	File       string // path in the pack's fs.FS
	Line       int    // line of the rule's document
}

// Ruleset is a compiled set of rules, safe for concurrent use through one
// Matcher per goroutine.
type Ruleset struct {
	rules    []Rule
	compiled []*rule
	needs    event.Set
	prefs    []*prefilter // one per witnessed field
	always   []uint64     // bit set of rules without a witness
	// clauses[c] is a clause some rule needs; primary[c] lists the rules
	// it makes candidates (the clauses the prefilter scans for: bits in
	// scanned). Rule i also needs clauses reqs[reqAt[i]:reqAt[i+1]].
	clauses []clause
	needles gramReq // per clause
	primary [][]int32
	scanned []uint64
	reqs    []int32
	reqAt   []int32
	// views[f] holds the view kinds any rule reads of field f.
	views [event.NumFields]uint8
}

// Len returns the number of loaded rules.
func (rs *Ruleset) Len() int { return len(rs.rules) }

// Rule returns rule i's metadata (i as Match reports it).
func (rs *Ruleset) Rule(i int) *Rule { return &rs.rules[i] }

// Needs returns every event field the rules read, plus the fields the
// Matcher derives them from (the command line for Image, the parent name for
// ParentImage).
func (rs *Ruleset) Needs() event.Set { return rs.needs }

// Unwitnessed returns how many rules are evaluated on every row.
func (rs *Ruleset) Unwitnessed() int {
	n := 0
	for _, w := range rs.always {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	return n
}

// Problem is one reason a rule, filter or file was not (fully) loaded.
type Problem struct {
	File   string
	Line   int    // 1-based; 0 when the problem is not in one place
	Rule   string // the rule's id or title when known
	Reason string
}

// Error formats the problem as file:line: reason.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Rule != "" {
		fmt.Fprintf(&b, "rule %s: ", p.Rule)
	}
	b.WriteString(p.Reason)
	return b.String()
}

// String is Error.
func (p Problem) String() string { return p.Error() }

// Report says what Load did with each document of the pack.
type Report struct {
	Files   int // rule files read
	Rules   int // rules loaded
	Filters int // filter documents applied
	// Skipped counts rules left out on purpose, by reason: "logsource"
	// (not Windows process_creation), "status deprecated", "status
	// unsupported", "level" (below MinLevel).
	Skipped map[string]int
	// Failed counts the rules skipped because of a Problem.
	Failed int
	// Unmapped counts loaded rules that read a field with no mapping (the
	// condition on it sees an absent field); UnmappedFields names them.
	Unmapped       int
	UnmappedFields []string
	// Problems lists every rule, filter or file not (fully) loaded, with
	// the reason; the caller shows them as warnings.
	Problems []Problem
	// Cache says how Options.CacheDir served: "hit", or "miss (why)" and
	// whether the new cache file was written; "" without a CacheDir.
	Cache string
}
