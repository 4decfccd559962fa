package score

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"

	"scorecmdline/src/deobfuscate"
	"scorecmdline/src/event"
	"scorecmdline/src/model"
	"scorecmdline/src/normalize"
	"scorecmdline/src/rules"
)

// None turns off the model (model=none) or the rules (rules=none).
const None = "none"

// MaxStageInput bounds what the deobfuscation stage and a trained model read
// of a command line. Windows caps a command line at 32,767 UTF-16 code
// units, so a longer value is not one; its first MaxStageInput bytes are
// read, the stage reports limit_size, and memory stays bounded whatever the
// field holds. (The ESCU model and the rules read it all, in linear time
// and constant memory.)
const MaxStageInput = 128 << 10

// MaxRisk caps risk_score; risk-based alerting in ES sums risk across events,
// so a single event should not dominate beyond this.
const MaxRisk = 100

// Field is one output field. Multi fields may carry several values.
type Field struct {
	Name   string
	Multi  bool
	Number bool // values are JSON numbers (score, counts, flags, risk)
}

// ErrUnknown classifies an unknown model or rule pack name; ErrUnknownModel
// and ErrUnknownPack tell the two apart.
var (
	ErrUnknown      = errors.New("unknown")
	ErrUnknownModel = fmt.Errorf("%w", ErrUnknown)
	ErrUnknownPack  = fmt.Errorf("%w", ErrUnknown)
)

// OptionError is a problem with one option given to New: the option's name
// ("model", "rules", ...) and the cause, whose text it prints.
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string { return e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// Engine is a loaded model and rule sets with the output field layout. It is
// read-only and safe for concurrent use; scoring state lives in a Scorer.
type Engine struct {
	opts     Options
	minLevel rules.Level
	model    Model     // nil with model=none
	sets     []RuleSet // the rule sets, in the order of rules=
	rules    []Rule    // every set's rules, one index space: set i starts at base[i]
	base     []int
	flags    []string
	flag     []int // by rule: its position in flags, or -1
	needs    event.Set
	warnings []string
	notes    []string

	fields []Field
	idx    fieldIndex
}

// fieldIndex holds each output's position in fields, or -1 when absent.
type fieldIndex struct {
	score, modelAlert, features           int
	hits, count, level, mitre, flag0      int // flags are contiguous from flag0
	obfuscation, risk                     int
	ruleExplain, deobfuscated, normalized int
}

// New loads the model and rule packs opts names from fsys (see
// config.Lookups) and lays out the output fields. Errors about one option
// are *OptionError.
func New(fsys fs.FS, opts Options) (*Engine, error) {
	e := &Engine{opts: opts}
	if opts.MinLevel != "" {
		l, err := rules.ParseLevel(opts.MinLevel)
		if err != nil {
			return nil, &OptionError{"min_level", fmt.Errorf("Illegal value: min_level=%s (use informational, low, medium, high or critical)", opts.MinLevel)}
		}
		e.minLevel = l
	}
	if err := e.loadModel(fsys); err != nil {
		return nil, &OptionError{"model", err}
	}
	if err := e.loadRules(fsys); err != nil {
		return nil, &OptionError{"rules", err}
	}
	if err := e.layout(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Engine) loadModel(fsys fs.FS) error {
	switch e.opts.Model {
	case "":
		return errors.New("model must not be empty (use model=none to turn the model off)")
	case None:
		return nil
	}
	m, err := loadModel(fsys, e.opts.Model)
	if err != nil {
		return err
	}
	e.model = m
	e.needs |= m.Needs()
	return nil
}

// loadRules loads the packs of rules=: every TOML pack into one set, and
// each Sigma pack into a set of its own, in the order given.
func (e *Engine) loadRules(fsys fs.FS) error {
	packs := e.opts.Rules
	switch {
	case len(packs) == 0:
		return errors.New("rules must not be empty (use rules=none to turn the rules off)")
	case len(packs) == 1 && packs[0] == None:
		return nil
	case slices.Contains(packs, None):
		return errors.New("rules=none cannot be combined with other packs")
	}
	var toml []string
	for _, name := range packs {
		if !isSigmaPack(fsys, name) {
			toml = append(toml, name)
		}
	}
	if len(toml) > 0 {
		set, err := loadTOMLPacks(fsys, toml)
		if err != nil {
			return err
		}
		e.addSet(set)
	}
	for _, name := range packs {
		if isSigmaPack(fsys, name) {
			set, warn, note, err := loadSigmaPack(fsys, name, e.minLevel)
			if err != nil {
				return err
			}
			e.warnings = append(e.warnings, warn...)
			e.notes = append(e.notes, note)
			e.addSet(set)
		}
	}
	return nil
}

func (e *Engine) addSet(s RuleSet) {
	e.sets = append(e.sets, s)
	e.base = append(e.base, len(e.rules))
	e.rules = append(e.rules, s.Rules()...)
	e.needs |= s.Needs()
	for _, r := range s.Rules() {
		i := -1
		if r.Flag != "" {
			if i = slices.Index(e.flags, r.Flag); i < 0 {
				i = len(e.flags)
				e.flags = append(e.flags, r.Flag)
			}
		}
		e.flag = append(e.flag, i)
	}
}

// layout derives the output fields from what is loaded. Every name is
// checked once here: a rule flag may not take the name of another output.
func (e *Engine) layout() error {
	e.idx = fieldIndex{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}
	owner := map[string]string{}
	var err error
	add := func(p *int, name, by string, multi, number bool) {
		if prev, dup := owner[name]; dup && err == nil {
			err = &OptionError{"rules", fmt.Errorf("output field %q would be both %s and %s", name, prev, by)}
		}
		owner[name] = by
		*p = len(e.fields)
		e.fields = append(e.fields, Field{e.opts.Prefix + name, multi, number})
	}
	const builtin = "a field of the command"
	explain := e.opts.Explain
	if e.model != nil {
		add(&e.idx.score, "score", builtin, false, true)
		add(&e.idx.modelAlert, "model_alert", builtin, false, true)
		if explain {
			add(&e.idx.features, "score_features", builtin, true, false)
		}
	}
	if len(e.sets) > 0 {
		add(&e.idx.hits, "rule_hits", builtin, true, false)
		add(&e.idx.count, "rule_count", builtin, false, true)
		add(&e.idx.level, "rule_level", builtin, false, false)
		add(&e.idx.mitre, "mitre_technique_id", builtin, true, false)
		e.idx.flag0 = len(e.fields)
		for _, f := range e.flags {
			var unused int
			add(&unused, f, fmt.Sprintf("flag %q of a rule", f), false, true)
		}
	}
	if e.opts.Deobfuscate {
		add(&e.idx.obfuscation, "obfuscation", builtin, true, false)
	}
	add(&e.idx.risk, "risk_score", builtin, false, true)
	if explain && len(e.sets) > 0 {
		add(&e.idx.ruleExplain, "rule_explain", builtin, true, false)
	}
	if explain && e.opts.Deobfuscate {
		add(&e.idx.deobfuscated, "deobfuscated_cmdline", builtin, false, false)
	}
	if explain {
		add(&e.idx.normalized, "normalized_cmdline", builtin, false, false)
	}
	return err
}

// Fields returns the output fields in order, names prefixed.
func (e *Engine) Fields() []Field { return e.fields }

// Options returns the options the engine was built with.
func (e *Engine) Options() Options { return e.opts }

// Needs lists the event fields the loaded detectors read.
func (e *Engine) Needs() event.Set { return e.needs }

// Warnings are problems that did not stop loading, such as Sigma rules that
// were skipped: the search command shows them in the Search UI.
func (e *Engine) Warnings() []string { return e.warnings }

// Notes are lines for the log about what was loaded (counts, load times).
func (e *Engine) Notes() []string { return e.notes }

// Rules describes every loaded rule; Result.Hits indexes it.
func (e *Engine) Rules() []Rule { return e.rules }

// Prepare builds the rule sets' matching tables ahead of the first event.
// The search command calls it in the background after answering getinfo.
func (e *Engine) Prepare() {
	for _, s := range e.sets {
		s.Prepare()
	}
}

// available lists, for an error message, the lookup files with one of the
// suffixes (names without the suffix), and with dirs the folders too.
func available(fsys fs.FS, dirs bool, suffixes ...string) string {
	var names []string
	for _, suffix := range suffixes {
		found, _ := fs.Glob(fsys, "*"+suffix)
		for _, f := range found {
			names = append(names, strings.TrimSuffix(f, suffix))
		}
	}
	if dirs {
		entries, _ := fs.ReadDir(fsys, ".")
		for _, d := range entries {
			if d.IsDir() {
				names = append(names, d.Name())
			}
		}
	}
	if len(names) == 0 {
		return "none found"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// Scorer scores one event at a time with reused scratch space; use one per
// goroutine.
type Scorer struct {
	e        *Engine
	deob     *deobfuscate.Deobfuscator // nil with deobfuscate=false
	model    ModelScorer
	matchers []RuleMatcher
	in       Input
	alt      event.Event // the event with the deobfuscated command line
	altIn    Input
	more     []int // hits on the deobfuscated command line
	res      Result
}

// floatText remembers the printed form of recent scores. Printing a float64
// in shortest form costs more than scoring a short line, and a stream's
// scores repeat: the same keywords give the same score.
type floatText struct {
	key  [1024]uint64
	text [1024][24]byte // Python repr needs at most 24 bytes
	n    [1024]uint8    // 0: empty slot
}

func (c *floatText) append(dst []byte, f float64) []byte {
	bits := math.Float64bits(f)
	i := (bits ^ bits>>23 ^ bits>>41) & 1023
	if c.n[i] != 0 && c.key[i] == bits {
		return append(dst, c.text[i][:c.n[i]]...)
	}
	start := len(dst)
	dst = model.AppendFloat(dst, f)
	if n := len(dst) - start; n <= len(c.text[i]) {
		c.key[i], c.n[i] = bits, uint8(copy(c.text[i][:], dst[start:]))
	}
	return dst
}

// NewScorer returns a Scorer for e.
func (e *Engine) NewScorer() *Scorer {
	s := &Scorer{e: e}
	if e.opts.Deobfuscate {
		s.deob = new(deobfuscate.Deobfuscator)
	}
	if e.model != nil {
		s.model = e.model.NewScorer()
	}
	for _, set := range e.sets {
		s.matchers = append(s.matchers, set.NewMatcher())
	}
	s.res.e = e
	s.res.s = s
	s.res.flags = make([]bool, len(e.flags))
	s.res.floats = new(floatText)
	return s
}

// Result is the outcome of scoring one event. It is owned by its Scorer
// and valid until the next Score.
type Result struct {
	e          *Engine
	s          *Scorer
	Empty      bool // no command line: every output field is empty
	Score      float64
	ModelAlert bool  // the model's deployed decision (escu: len > 200 and score > 0.5)
	Hits       []int // indexes into Engine.Rules(): hits on the command line, then those only its deobfuscated text gave
	Level      rules.Level
	Risk       int
	// Obfuscation is what the deobfuscation stage undid (Neutral ones
	// left out): the obfuscation field.
	Obfuscation deobfuscate.Techniques
	flags       []bool
	details     []byte   // explain: rule_explain values, back to back
	detailEnd   []int    // by position in Hits: end of its value in details
	techniques  []string // names of Obfuscation, for Emit
	normalized  []byte
	floats      *floatText
}

// Score scores ev. An event without a command line gives an Empty result.
func (s *Scorer) Score(ev *event.Event) *Result {
	r := &s.res
	e := s.e
	s.in = Input{Event: ev}
	r.Empty = len(ev.CommandLine()) == 0
	r.Score, r.ModelAlert, r.Level, r.Risk, r.Obfuscation = 0, false, 0, 0, 0
	r.Hits, r.details, r.detailEnd = r.Hits[:0], r.details[:0], r.detailEnd[:0]
	r.normalized = r.normalized[:0]
	clear(r.flags)
	if r.Empty {
		return r
	}
	if s.deob != nil {
		line := ev.CommandLine()
		read := line[:min(len(line), MaxStageInput)]
		d := s.deob.Run(read)
		if d.Techniques != 0 && !bytes.Equal(d.Text, read) {
			s.in.deobfuscated = d.Text
		}
		if len(line) > MaxStageInput {
			d.Techniques |= 1 << deobfuscate.LimitSize
		}
		s.in.Deob = d
		r.Obfuscation = d.Techniques &^ deobfuscate.Neutral
	}
	if s.model != nil {
		v := s.model.Score(&s.in)
		r.Score, r.ModelAlert, r.Risk = v.Score, v.Alert, v.Risk
	}
	s.match()
	for _, h := range r.Hits {
		rule := &e.rules[h]
		r.Risk += rule.Risk
		r.Level = max(r.Level, rule.Level)
		if f := e.flag[h]; f >= 0 {
			r.flags[f] = true
		}
	}
	r.Risk += obfuscationRisk(r.Obfuscation)
	if e.opts.Explain {
		r.normalized = s.normalized(r.normalized)
	}
	r.Risk = min(r.Risk, MaxRisk)
	return r
}

// match runs every rule set on the command line and, when the stage undid
// something, on the deobfuscated command line too. Hits below min_level
// are dropped.
func (s *Scorer) match() {
	r, e := &s.res, s.e
	alt := s.in.Deobfuscated()
	if alt != nil {
		s.alt = *s.in.Event
		s.alt.Set(event.Process, alt)
		s.altIn = Input{Event: &s.alt, Deob: s.in.Deob}
	}
	for i, m := range s.matchers {
		from := len(r.Hits)
		r.Hits = m.Match(&s.in, r.Hits)
		s.keep(m, i, from, false)
		if alt == nil {
			continue
		}
		s.more = m.Match(&s.altIn, s.more[:0])
		end := len(r.Hits)
		for _, h := range s.more {
			if !slices.Contains(r.Hits[from:end], h+e.base[i]) {
				r.Hits = append(r.Hits, h)
			}
		}
		s.keep(m, i, end, true)
	}
}

// keep turns the set-local hits Hits[from:] of matcher i into engine
// indexes, drops those below min_level and records how they were found.
func (s *Scorer) keep(m RuleMatcher, i, from int, deobOnly bool) {
	r, e := &s.res, s.e
	kept := from
	for _, h := range r.Hits[from:] {
		g := h + e.base[i]
		if e.rules[g].Level < e.minLevel {
			continue
		}
		r.Hits[kept] = g
		kept++
		if e.opts.Explain {
			r.details = append(r.details, e.rules[g].Name...)
			r.details = m.Detail(append(r.details, ": "...), h)
			if deobOnly {
				r.details = append(r.details, " (after deobfuscation)"...)
			}
			r.detailEnd = append(r.detailEnd, len(r.details))
		}
	}
	r.Hits = r.Hits[:kept]
}

// obfuscationRisk is the risk_score share of obfuscation, which benign
// software rarely uses: 20 when the deobfuscation stage undid a technique
// that is not neutral, 30 when it undid three or more, or hit one of its
// limits (itself a strong signal).
func obfuscationRisk(t deobfuscate.Techniques) int {
	switch {
	case t == 0:
		return 0
	case t.Len() >= 3 || t&deobfuscate.Limits != 0:
		return 30
	}
	return 20
}

// normalized appends the command line as the rules read it: the first rule
// set's view, else the shared normalization.
func (s *Scorer) normalized(dst []byte) []byte {
	for _, m := range s.matchers {
		if n := m.Normalized(); n != nil {
			return append(dst, n...)
		}
	}
	return normalize.Append(dst, s.in.CommandLine())
}

// Alert reports whether the result is worth an alert: a rule matched, or
// the model alerts. minScore, when not NaN, replaces the model's own
// threshold (with the ESCU model's length gate kept).
func (r *Result) Alert(minScore float64) bool {
	switch {
	case r.Empty:
		return false
	case len(r.Hits) > 0:
		return true
	case r.e.model == nil:
		return false
	case math.IsNaN(minScore):
		return r.ModelAlert
	}
	if m, ok := r.e.model.(escuModel); ok {
		return r.Score > minScore && model.Length(r.s.in.CommandLine()) > m.m.MinLength
	}
	return r.Score > minScore
}

// Sink receives output values by field index (Engine.Fields order).
type Sink interface {
	Set(i int, v []byte)    // the single value of field i
	Append(i int, v []byte) // one more value of multivalue field i
}

// Emit writes the result's output values to sink. Fields of an Empty result
// are left unset.
func (r *Result) Emit(sink Sink, scratch []byte) []byte {
	if r.Empty {
		return scratch
	}
	e, ix := r.e, r.e.idx
	if ix.score >= 0 {
		scratch = r.floats.append(scratch[:0], r.Score)
		sink.Set(ix.score, scratch)
		sink.Set(ix.modelAlert, bit(scratch[:0], r.ModelAlert))
	}
	if ix.features >= 0 {
		scratch = r.s.model.Explain(scratch, func(v []byte) { sink.Append(ix.features, v) })
	}
	if ix.hits >= 0 {
		for _, h := range r.Hits {
			scratch = append(scratch[:0], e.rules[h].Name...)
			sink.Append(ix.hits, scratch)
		}
		scratch = strconv.AppendInt(scratch[:0], int64(len(r.Hits)), 10)
		sink.Set(ix.count, scratch)
		if r.Level > 0 {
			sink.Set(ix.level, append(scratch[:0], r.Level.String()...))
		}
		for i, h := range r.Hits {
			for _, t := range e.rules[h].Techniques {
				if !r.seenTechnique(t, i) {
					scratch = append(scratch[:0], t...)
					sink.Append(ix.mitre, scratch)
				}
			}
		}
		for i, on := range r.flags {
			sink.Set(ix.flag0+i, bit(scratch[:0], on))
		}
	}
	if ix.obfuscation >= 0 {
		r.techniques = r.Obfuscation.AppendNames(r.techniques[:0])
		for _, t := range r.techniques {
			sink.Append(ix.obfuscation, append(scratch[:0], t...))
		}
	}
	scratch = strconv.AppendInt(scratch[:0], int64(r.Risk), 10)
	sink.Set(ix.risk, scratch)
	if ix.ruleExplain >= 0 {
		start := 0
		for _, end := range r.detailEnd {
			sink.Append(ix.ruleExplain, r.details[start:end])
			start = end
		}
	}
	if ix.deobfuscated >= 0 {
		sink.Set(ix.deobfuscated, r.s.in.Deobfuscated())
	}
	if ix.normalized >= 0 {
		sink.Set(ix.normalized, r.normalized)
	}
	return scratch
}

// bit is a 0/1 flag value.
func bit(dst []byte, on bool) []byte {
	if on {
		return append(dst, '1')
	}
	return append(dst, '0')
}

// seenTechnique reports whether a hit before Hits[i] already carries the
// ATT&CK id t, so mitre_technique_id lists each id once.
func (r *Result) seenTechnique(t string, i int) bool {
	for _, prev := range r.Hits[:i] {
		if slices.Contains(r.e.rules[prev].Techniques, t) {
			return true
		}
	}
	return false
}
