// Package score turns a command line (and its parent process) into the
// output fields of `| scorecmdline`: the model's score, the rule hits with
// their flags and ATT&CK ids, and a combined risk score. The search command,
// the command line face and the modular input all score through this package,
// so they agree field for field.
package score

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strconv"

	"scorecmdline/src/model"
	"scorecmdline/src/rules"
)

// None turns off the model (model=none) or the rules (rules=none).
const None = "none"

// MaxRisk caps risk_score; risk-based alerting in ES sums risk across events,
// so a single event should not dominate beyond this.
const MaxRisk = 100

// Field is one output field. Multi fields may carry several values.
type Field struct {
	Name   string
	Multi  bool
	Number bool // values are JSON numbers (score, counts, flags, risk)
}

// Engine is a loaded model and rule set with the output field layout. It is
// read-only and safe for concurrent use; scoring state lives in a Scorer.
type Engine struct {
	opts   Options
	model  *model.Model // nil with model=none
	rules  *rules.Set   // nil with rules=none
	flags  []string
	flagOf []int // by rule index: the rule's position in flags, or -1
	fields []Field
	idx    fieldIndex
}

// fieldIndex holds each output's position in fields, or -1 when absent.
type fieldIndex struct {
	score, features, hits, count, mitre, risk, normalized int
	flag0                                                 int // first flag field; flags are contiguous
}

// ErrUnknown classifies an unknown model or rule pack name.
var ErrUnknown = errors.New("unknown")

// New loads the model and rule packs opts names from fsys (see
// config.Lookups) and lays out the output fields.
func New(fsys fs.FS, opts Options) (*Engine, error) {
	e := &Engine{opts: opts}
	if opts.Model == "" {
		return nil, fmt.Errorf("model must not be empty (use model=none to turn the model off)")
	}
	if opts.Model != None {
		m, err := model.Load(fsys, opts.Model)
		if errors.Is(err, model.ErrNotFound) {
			return nil, fmt.Errorf("%w model %q (available: %s)", ErrUnknown, opts.Model, available(fsys, ".model.toml"))
		}
		if err != nil {
			return nil, err
		}
		e.model = m
	}
	packs := slices.Clone(opts.Rules)
	if len(packs) == 1 && packs[0] == None {
		packs = nil
	} else if len(packs) == 0 {
		return nil, fmt.Errorf("rules must not be empty (use rules=none to turn the rules off)")
	}
	if len(packs) > 0 {
		var loaded []*rules.Pack
		for _, name := range packs {
			if name == None {
				return nil, fmt.Errorf("rules=none cannot be combined with other packs")
			}
			p, err := rules.LoadPack(fsys, name)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w rule pack %q (available: %s)", ErrUnknown, name, available(fsys, ".rules.toml"))
			}
			if err != nil {
				return nil, err
			}
			loaded = append(loaded, p)
		}
		set, err := rules.Compile(loaded...)
		if err != nil {
			return nil, err
		}
		e.rules = set
		e.flags = set.Flags()
		for _, r := range set.Rules() {
			e.flagOf = append(e.flagOf, slices.Index(e.flags, r.Flag)) // -1 for no flag
		}
	}
	e.layout()
	return e, nil
}

func (e *Engine) layout() {
	e.idx = fieldIndex{-1, -1, -1, -1, -1, -1, -1, -1}
	add := func(p *int, name string, multi, number bool) {
		*p = len(e.fields)
		e.fields = append(e.fields, Field{e.opts.Prefix + name, multi, number})
	}
	if e.model != nil {
		add(&e.idx.score, "score", false, true)
		if e.opts.Explain {
			add(&e.idx.features, "score_features", true, false)
		}
	}
	if e.rules != nil {
		add(&e.idx.hits, "rule_hits", true, false)
		add(&e.idx.count, "rule_count", false, true)
		add(&e.idx.mitre, "mitre_technique_id", true, false)
		e.idx.flag0 = len(e.fields)
		for _, f := range e.flags {
			var unused int
			add(&unused, f, false, true)
		}
	}
	add(&e.idx.risk, "risk_score", false, true)
	if e.opts.Explain {
		add(&e.idx.normalized, "normalized_cmdline", false, false)
	}
}

// Fields returns the output fields in order, names prefixed.
func (e *Engine) Fields() []Field { return e.fields }

// Options returns the options the engine was built with.
func (e *Engine) Options() Options { return e.opts }

// Model returns the model, or nil with model=none.
func (e *Engine) Model() *model.Model { return e.model }

// Rules returns the compiled rules, or nil with rules=none.
func (e *Engine) Rules() *rules.Set { return e.rules }

func available(fsys fs.FS, suffix string) string {
	names, _ := fs.Glob(fsys, "*"+suffix)
	if len(names) == 0 {
		return "none found"
	}
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n[:len(n)-len(suffix)]
	}
	return out
}

// Scorer scores one command line at a time with reused scratch space; use
// one per goroutine.
type Scorer struct {
	e       *Engine
	model   *model.Scorer
	matcher *rules.Matcher
	res     Result
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
	if e.model != nil {
		s.model = e.model.NewScorer()
	}
	if e.rules != nil {
		s.matcher = e.rules.NewMatcher()
	}
	s.res.e = e
	s.res.flags = make([]bool, len(e.flags))
	s.res.floats = new(floatText)
	return s
}

// Result is the outcome of scoring one command line. It is owned by its
// Scorer and valid until the next Score.
type Result struct {
	e          *Engine
	Empty      bool // no command line: every output field is empty
	Score      float64
	ModelAlert bool  // len > model min_length and score > model threshold
	Hits       []int // indexes into Engine.Rules().Rules()
	Risk       int
	flags      []bool
	features   []model.Contribution
	normalized []byte
	cmdline    []byte
	floats     *floatText
}

// Score scores cmdline; parent is the parent process name or path (may be
// empty). An empty command line gives an Empty result.
func (s *Scorer) Score(cmdline, parent []byte) *Result {
	r := &s.res
	e := s.e
	r.Empty = len(cmdline) == 0
	r.Score, r.ModelAlert, r.Hits, r.Risk = 0, false, r.Hits[:0], 0
	r.features, r.normalized, r.cmdline = r.features[:0], r.normalized[:0], cmdline
	clear(r.flags)
	if r.Empty {
		return r
	}
	if s.model != nil {
		r.Score = s.model.Score(cmdline)
		r.ModelAlert = e.model.Alert(cmdline, r.Score)
		if r.ModelAlert {
			r.Risk = e.model.Risk
		}
		if e.opts.Explain {
			r.features = s.model.Contributions(r.features)
		}
	}
	if s.matcher != nil {
		r.Hits = append(r.Hits, s.matcher.Match(cmdline, parent)...)
		all := e.rules.Rules()
		for _, h := range r.Hits {
			r.Risk += all[h].Risk
			if f := e.flagOf[h]; f >= 0 {
				r.flags[f] = true
			}
		}
		if e.opts.Explain {
			r.normalized = append(r.normalized, s.matcher.Normalized()...)
		}
	} else if e.opts.Explain {
		r.normalized = rules.Normalize(r.normalized, cmdline)
	}
	r.Risk = min(r.Risk, MaxRisk)
	return r
}

// Alert reports whether the result is worth an alert: a rule matched, or
// the model score passes minScore with the model's length gate (the
// deployed ESCU decision when minScore is the model threshold).
func (r *Result) Alert(minScore float64) bool {
	if r.Empty {
		return false
	}
	if len(r.Hits) > 0 {
		return true
	}
	m := r.e.model
	return m != nil && r.Score > minScore && model.Length(r.cmdline) > m.MinLength
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
	}
	if ix.features >= 0 {
		for _, c := range r.features {
			scratch = appendFeature(scratch[:0], c)
			sink.Append(ix.features, scratch)
		}
	}
	if ix.hits >= 0 {
		all := e.rules.Rules()
		for _, h := range r.Hits {
			scratch = append(scratch[:0], all[h].Name...)
			sink.Append(ix.hits, scratch)
		}
		scratch = strconv.AppendInt(scratch[:0], int64(len(r.Hits)), 10)
		sink.Set(ix.count, scratch)
		for i, h := range r.Hits {
			for _, t := range all[h].Techniques {
				if !r.seenTechnique(t, i) {
					scratch = append(scratch[:0], t...)
					sink.Append(ix.mitre, scratch)
				}
			}
		}
		for i, on := range r.flags {
			scratch = append(scratch[:0], '0')
			if on {
				scratch[0] = '1'
			}
			sink.Set(ix.flag0+i, scratch)
		}
	}
	scratch = strconv.AppendInt(scratch[:0], int64(r.Risk), 10)
	sink.Set(ix.risk, scratch)
	if ix.normalized >= 0 {
		sink.Set(ix.normalized, r.normalized)
	}
	return scratch
}

// seenTechnique reports whether a hit before Hits[i] already carries the
// ATT&CK id t, so mitre_technique_id lists each id once.
func (r *Result) seenTechnique(t string, i int) bool {
	all := r.e.rules.Rules()
	for _, prev := range r.Hits[:i] {
		if slices.Contains(all[prev].Techniques, t) {
			return true
		}
	}
	return false
}

// appendFeature writes one score_features value: keyword:count:contribution.
func appendFeature(dst []byte, c model.Contribution) []byte {
	dst = append(dst, c.Keyword...)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, int64(c.Count), 10)
	dst = append(dst, ':')
	return model.AppendFloat(dst, c.Value)
}
