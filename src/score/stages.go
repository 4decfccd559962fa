package score

import (
	"scorecmdline/src/deobfuscate"
	"scorecmdline/src/event"
	"scorecmdline/src/rules"
)

// Input is what the detectors see of one event.
type Input struct {
	Event *event.Event
	// Deob is the deobfuscation stage's result for the command line; nil
	// with deobfuscate=false.
	Deob *deobfuscate.Result
	// deobfuscated is Deob.Text when it differs from the command line.
	deobfuscated []byte
}

// CommandLine is the event's command line.
func (in *Input) CommandLine() []byte { return in.Event.Get(event.Process) }

// Deobfuscated is the deobfuscated command line when the stage changed
// it, else nil.
func (in *Input) Deobfuscated() []byte { return in.deobfuscated }

// Model is a scoring model, selected with model=NAME.
type Model interface {
	// Needs lists the event fields the model reads.
	Needs() event.Set
	// NewScorer returns the per-goroutine state of scoring.
	NewScorer() ModelScorer
}

// ModelScorer scores events for one goroutine. It must not allocate per
// event outside explain.
type ModelScorer interface {
	// Score scores an event with a command line.
	Score(in *Input) Verdict
	// Explain appends to dst the explain values (score_features) of the
	// last Score, one per feature, calling emit for each; it returns the
	// extended scratch buffer.
	Explain(dst []byte, emit func([]byte)) []byte
}

// Verdict is a model's answer for one event.
type Verdict struct {
	Score float64 // the model's raw score, as the score field prints it
	Alert bool    // the model's own deployed decision (stored in its file)
	Risk  int     // the risk_score share of this verdict (0 without an alert)
}

// RuleSet is a compiled set of rules, selected with rules=PACK,...
type RuleSet interface {
	Needs() event.Set
	// Rules describes the set's rules; Match returns indexes into it.
	Rules() []Rule
	// Prepare builds the matching tables ahead of the first event; safe
	// to call from another goroutine, and more than once.
	Prepare()
	NewMatcher() RuleMatcher
}

// RuleMatcher matches events for one goroutine, without allocating.
type RuleMatcher interface {
	// Match appends to hits the indexes of the rules that match, in rule
	// order.
	Match(in *Input, hits []int) []int
	// Normalized is the command line as the rules read it, for the last
	// Match (explain's normalized_cmdline); nil when the set has no such
	// view.
	Normalized() []byte
	// Detail appends to dst why rule matched in the last Match (explain's
	// rule_explain), e.g. the Sigma selections that held.
	Detail(dst []byte, rule int) []byte
}

// Rule describes one rule of a RuleSet for the output fields.
type Rule struct {
	Name       string      // rule_hits
	Level      rules.Level // rule_level is the highest level of the hits
	Techniques []string    // mitre_technique_id
	Risk       int         // added to risk_score when the rule matches
	Flag       string      // output field set to 1 when it matches, or ""
}
