// Package model scores command lines with a linear keyword-count model of the
// kind MLTK's `apply unusual_commandline_detection` runs for the ESCU
// detection "Potentially malicious code on commandline":
//
//	score = Σ count(keyword_i) · weight_i + intercept
//
// over the keywords in byte order (the order MLTK's prepare_features sorts
// the columns into before sklearn's predict), summed left to right with the
// intercept added last, without fused multiply-add. With the shipped
// lookups/escu.model.toml this is bit-identical to the reference scorer.
package model

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"scorecmdline/src/tokenize"
)

// Model is a loaded, validated model. It is read-only and safe for
// concurrent use; per-goroutine state lives in a Scorer.
type Model struct {
	Name        string
	Description string
	Keywords    []string  // in summation (byte) order
	Weights     []float64 // Weights[i] belongs to Keywords[i]
	Intercept   float64
	Threshold   float64 // the deployed alert threshold: score > Threshold
	MinLength   int     // the deployed gate: len(cmdline) > MinLength code points
	Risk        int     // risk score of a model alert, for risk_score

	table [tableSize]slot
	maybe prefilter
}

// file is the TOML layout of lookups/<name>.model.toml.
type file struct {
	Name          string  `toml:"name"`
	Description   string  `toml:"description"`
	Tokenizer     string  `toml:"tokenizer"`
	Intercept     float64 `toml:"intercept"`
	InterceptBits string  `toml:"intercept_bits"`
	Threshold     float64 `toml:"threshold"`
	MinLength     int     `toml:"min_length"`
	Risk          int     `toml:"risk"`
	Weight        []struct {
		Keyword string  `toml:"keyword"`
		Value   float64 `toml:"value"`
		Bits    string  `toml:"bits"`
	} `toml:"weight"`
}

// Error is a problem with a model file.
type Error struct {
	File string
	Line int // 0 when not known
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("model %s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("model %s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotFound is returned by Load for a model name with no file.
var ErrNotFound = errors.New("no such model")

// FileName is the lookup file that holds model name.
func FileName(name string) string { return name + ".model.toml" }

// Load reads and parses the model called name from fsys.
func Load(fsys fs.FS, name string) (*Model, error) {
	if !fs.ValidPath(name) || name == "" || name != pathBase(name) {
		return nil, fmt.Errorf("model %q: %w", name, ErrNotFound)
	}
	data, err := fs.ReadFile(fsys, FileName(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("model %q: %w (looked for lookups/%s)", name, ErrNotFound, FileName(name))
	}
	if err != nil {
		return nil, err
	}
	return Parse(FileName(name), data)
}

// lineOf returns the 1-based line where key is first assigned, or 0. The
// TOML decoder reports positions only for syntax errors, so semantic errors
// find their line this way.
func lineOf(data []byte, key string) int {
	for i, line := range strings.Split(string(data), "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == key {
			return i + 1
		}
	}
	return 0
}

func pathBase(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// Parse parses a model file. Unknown keys, a tokenizer other than "escu",
// duplicate or untokenizable keywords, non-finite numbers and weights that do
// not match their recorded bit patterns are errors.
func Parse(name string, data []byte) (*Model, error) {
	fail := func(line int, format string, args ...any) (*Model, error) {
		return nil, &Error{File: name, Line: line, Err: fmt.Errorf(format, args...)}
	}
	var f file
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fail(pe.Position.Line, "%s", pe.Message)
		}
		return fail(0, "%v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return fail(lineOf(data, k[len(k)-1]), "unknown key %q", k.String())
	}
	if f.Tokenizer != "escu" {
		return fail(lineOf(data, "tokenizer"), "tokenizer %q: only \"escu\" is supported", f.Tokenizer)
	}
	if len(f.Weight) == 0 {
		return fail(0, "no [[weight]] entries")
	}
	if err := checkBits(f.Intercept, f.InterceptBits); err != nil {
		return fail(lineOf(data, "intercept_bits"), "intercept: %v", err)
	}
	m := &Model{
		Name: f.Name, Description: f.Description, Intercept: f.Intercept,
		Threshold: f.Threshold, MinLength: f.MinLength, Risk: f.Risk,
	}
	if m.Name == "" {
		return fail(0, "missing name")
	}
	if math.IsInf(m.Intercept, 0) || math.IsNaN(m.Intercept) || math.IsNaN(m.Threshold) {
		return fail(0, "intercept and threshold must be finite numbers")
	}
	order := make([]int, len(f.Weight))
	for i, w := range f.Weight {
		order[i] = i
		kw := w.Keyword
		if toks := tokenize.Tokens(kw); len(toks) != 1 || toks[0] != kw {
			return fail(0, "weight %d: keyword %q is not a single token in tokenizer form (lower case [a-z0-9_-])", i+1, kw)
		}
		if len(kw) > tokenize.MaxToken {
			return fail(0, "weight %d: keyword %q is longer than %d bytes", i+1, kw, tokenize.MaxToken)
		}
		if math.IsInf(w.Value, 0) || math.IsNaN(w.Value) {
			return fail(0, "weight %d (%s): value must be finite", i+1, kw)
		}
		if err := checkBits(w.Value, w.Bits); err != nil {
			return fail(0, "weight %d (%s): %v", i+1, kw, err)
		}
	}
	// Byte order equals the code-point order pandas sorts column names in.
	slices.SortStableFunc(order, func(a, b int) int {
		switch ka, kb := f.Weight[a].Keyword, f.Weight[b].Keyword; {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	for j, i := range order {
		kw := f.Weight[i].Keyword
		if j > 0 && kw == m.Keywords[j-1] {
			return fail(0, "keyword %q appears twice", kw)
		}
		m.Keywords = append(m.Keywords, kw)
		m.Weights = append(m.Weights, f.Weight[i].Value)
	}
	if len(m.Keywords) >= tableSize/2 {
		return fail(0, "%d keywords; at most %d are supported", len(m.Keywords), tableSize/2-1)
	}
	m.buildTable()
	return m, nil
}

// checkBits verifies an optional IEEE-754 bit pattern (16 hex digits), which
// the shipped model records so that an edit or a lossy tool cannot change a
// weight unnoticed.
func checkBits(v float64, bits string) error {
	if bits == "" {
		return nil
	}
	b, err := strconv.ParseUint(bits, 16, 64)
	if err != nil || len(bits) != 16 {
		return fmt.Errorf("bits %q is not 16 hex digits", bits)
	}
	if got := math.Float64bits(v); got != b {
		return fmt.Errorf("value %v has bits %016x, the file says %s", v, got, bits)
	}
	return nil
}

// Length is len() as Splunk's eval computes it: UTF-8 code points, with each
// invalid byte counted as one (as the reference reads undecodable bytes).
func Length(cmdline []byte) int { return utf8.RuneCount(cmdline) }

// Alert reports the deployed decision: len > MinLength and score > Threshold.
func (m *Model) Alert(cmdline []byte, score float64) bool {
	return score > m.Threshold && Length(cmdline) > m.MinLength
}
