// Package linear is the trained `cmdline` model: logistic regression over
// the hashed features of package features, in one or two stages.
//
// A two-stage model is a cascade: stage 0 scores cheap features (tokens,
// bigrams, structure); only when its logit reaches Cut does stage 1 score
// the full set (adding char n-grams). Training picks Cut by cross-validation
// so that almost no malicious row is cut, and picks Threshold on the cascaded
// out-of-fold scores, so the shipped decision is the one measured.
//
// The model stores its deployed decision: alert when the probability is
// > Threshold, contributing Risk to risk_score. The file format is in
// format.go.
package linear

import (
	"cmp"
	"io/fs"
	"math"
	"slices"

	"scorecmdline/src/features"
)

// Model is a loaded or freshly trained model. Treat it as read-only once
// scorers exist.
type Model struct {
	Name        string
	Description string
	Bits        uint    // hash bits: each stage has 2^Bits weights
	Threshold   float64 // alert when probability > Threshold
	Risk        int     // risk_score contribution of an alert, 0-100
	Cut         float64 // stage 1 runs when the stage-0 logit >= Cut (two stages only)
	// Deobfuscate says the model was trained with Input.Deobfuscated,
	// Techniques and Undone filled by src/deobfuscate; scoring must do the
	// same for its features to mean what they meant in training.
	Deobfuscate bool
	Command     string       // the command that trained it
	Corpus      []CorpusFile // the training files
	Report      string       // the training report
	Stages      []Stage
}

// CorpusFile identifies one training file.
type CorpusFile struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
}

// Stage is one logistic regression: logit = Bias + Σ value·W[bucket].
type Stage struct {
	Groups features.Groups
	Bias   float64
	W      []float32 // 2^Bits weights
}

// Logit scores a feature vector built by features.Extractor.AppendVector.
func (st *Stage) Logit(v []features.Entry) float64 {
	z := st.Bias
	for _, e := range v {
		z += float64(e.Value) * float64(st.W[e.Bucket])
	}
	return z
}

// Sigmoid maps a logit to a probability.
func Sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Logit is the inverse of Sigmoid.
func Logit(p float64) float64 { return math.Log(p / (1 - p)) }

// Alert is the model's deployed decision for probability p.
func (m *Model) Alert(p float64) bool { return p > m.Threshold }

// Load reads and validates file from fsys.
func Load(fsys fs.FS, file string) (*Model, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

// Scorer scores rows with a model. Not safe for concurrent use: one per
// goroutine.
type Scorer struct {
	m     *Model
	x     *features.Extractor
	in    *features.Input
	stage int
	logit float64
	named *features.Extractor // explain path, made on first use
}

// NewScorer returns a scorer with its own scratch.
func (m *Model) NewScorer() *Scorer {
	return &Scorer{m: m, x: features.New(m.Bits)}
}

// Score returns the probability that in is malicious. in must stay unchanged
// until Explain, if Explain is called.
func (s *Scorer) Score(in *features.Input) float64 {
	s.in = in
	s.x.Reset(in)
	s.stage = 0
	s.logit = s.stageLogit(0)
	if len(s.m.Stages) > 1 && s.logit >= s.m.Cut {
		s.stage = 1
		s.logit = s.stageLogit(1)
	}
	return Sigmoid(s.logit)
}

func (s *Scorer) stageLogit(i int) float64 {
	st := &s.m.Stages[i]
	s.x.Extract(st.Groups)
	z := st.Bias
	for g := features.Group(0); g < features.NumGroups; g++ {
		if !st.Groups.Has(g) {
			continue
		}
		sum := 0.0
		for _, b := range s.x.Buckets(g) {
			sum += float64(st.W[b])
		}
		z += float64(s.x.Value(g)) * sum
	}
	return z
}

// Logit is the last score's logit.
func (s *Scorer) Logit() float64 { return s.logit }

// Stage is the stage that gave the last score (0 when the cascade cut it).
func (s *Scorer) Stage() int { return s.stage }

// Contribution is one feature's share of a logit.
type Contribution struct {
	Feature string
	Value   float64
}

// Explain appends to dst the n contributions to the last score's logit with
// the largest magnitude, largest first; the intercept is "bias". Features
// that share a bucket are reported under the first one's text. It allocates.
func (s *Scorer) Explain(dst []Contribution, n int) []Contribution {
	if s.in == nil || n <= 0 {
		return dst
	}
	if s.named == nil {
		s.named = features.New(s.m.Bits)
		s.named.Names = true
	}
	st := &s.m.Stages[s.stage]
	x := s.named
	x.Reset(s.in)
	x.Extract(st.Groups)
	all := []Contribution{{"bias", st.Bias}}
	for g := features.Group(0); g < features.NumGroups; g++ {
		if !st.Groups.Has(g) {
			continue
		}
		v := float64(x.Value(g))
		for i, b := range x.Buckets(g) {
			if w := st.W[b]; w != 0 {
				all = append(all, Contribution{x.Name(g, i), v * float64(w)})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b Contribution) int {
		return cmp.Compare(math.Abs(b.Value), math.Abs(a.Value))
	})
	return append(dst, all[:min(n, len(all))]...)
}
