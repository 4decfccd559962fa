// Package linear is the trained `cmdline` model: logistic regression over
// the hashed features of package features.
//
// One stage scores every row: logit = Bias + Σ value·W[bucket]·Scale. The
// weights are int16 with one scale per stage, so that a table of 2^16-2^17
// buckets takes 128-256 KiB and stays in L2 while a search streams rows
// through it; a row is a few hundred table reads summed as integers per
// feature group. (An earlier version cascaded a cheap stage into a full
// one; on the standard stream almost every line reached the full stage, so
// one fast stage replaced it.)
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
	Bits        uint    // hash bits: the stage has 2^Bits weights
	Threshold   float64 // alert when probability > Threshold
	Risk        int     // risk_score contribution of an alert, 0-100
	// Deobfuscate says the model was trained with Input.Deobfuscated,
	// Techniques and Undone filled by src/deobfuscate; scoring must do the
	// same for its features to mean what they meant in training.
	Deobfuscate bool
	// Malicious holds quantiles of the out-of-fold logits of the malicious
	// training rows (MaliciousQuantiles of them, lowest first): what recall
	// a threshold gives, known without the corpus when adapting.
	Malicious []float64
	Command   string       // the command that trained it
	Corpus    []CorpusFile // the training files
	Report    string       // the training report
	// Stages holds exactly one stage. (A slice because callers iterate it
	// and file version 1 had two.)
	Stages []Stage
}

// MaliciousQuantiles is the number of quantiles in Model.Malicious.
const MaliciousQuantiles = 101

// CorpusFile identifies one training file.
type CorpusFile struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
}

// Stage is one logistic regression: logit = Bias + Σ value·W[bucket]·Scale.
type Stage struct {
	Groups features.Groups
	Bias   float64
	Scale  float64 // weight of one int16 step
	W      []int16 // 2^Bits weights
}

// Weight is the real value of weight i.
func (st *Stage) Weight(i uint32) float64 { return float64(st.W[i]) * st.Scale }

// Logit scores a feature vector built by features.Extractor.AppendVector.
func (st *Stage) Logit(v []features.Entry) float64 {
	z := 0.0
	for _, e := range v {
		z += float64(e.Value) * float64(st.W[e.Bucket])
	}
	return st.Bias + z*st.Scale
}

// Quantize converts weights to int16 with one scale, the largest magnitude
// mapping to ±32767; it returns the scale (1 when all are zero).
func Quantize(w []float64, q []int16) float64 {
	m := 0.0
	for _, x := range w {
		m = max(m, math.Abs(x))
	}
	if m == 0 {
		clear(q)
		return 1
	}
	scale := m / math.MaxInt16
	for i, x := range w {
		q[i] = int16(math.Round(x / scale))
	}
	return scale
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
	st := &s.m.Stages[0]
	s.x.Reset(in)
	s.x.Extract(st.Groups)
	z := 0.0
	for g := features.Group(0); g < features.NumGroups; g++ {
		bs := s.x.Buckets(g)
		if len(bs) == 0 {
			continue
		}
		// Integer sums: a group holds at most a few thousand reads of
		// |w| <= 32767, far from overflowing int64.
		var sum int64
		for _, b := range bs {
			sum += int64(st.W[b])
		}
		z += float64(s.x.Value(g)) * float64(sum)
	}
	s.logit = st.Bias + z*st.Scale
	return Sigmoid(s.logit)
}

// Logit is the last score's logit.
func (s *Scorer) Logit() float64 { return s.logit }

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
	st := &s.m.Stages[0]
	x := s.named
	x.Reset(s.in)
	x.Extract(st.Groups)
	all := []Contribution{{"bias", st.Bias}}
	for g := features.Group(0); g < features.NumGroups; g++ {
		if !st.Groups.Has(g) {
			continue
		}
		// Occurrences of one bucket add up under the first one's text.
		v := float64(x.Value(g)) * st.Scale
		at := map[uint32]int{}
		for i, b := range x.Buckets(g) {
			if st.W[b] == 0 {
				continue
			}
			if k, ok := at[b]; ok {
				all[k].Value += v * float64(st.W[b])
				continue
			}
			at[b] = len(all)
			all = append(all, Contribution{x.Name(g, i), v * float64(st.W[b])})
		}
	}
	slices.SortStableFunc(all, func(a, b Contribution) int {
		return cmp.Compare(math.Abs(b.Value), math.Abs(a.Value))
	})
	return append(dst, all[:min(n, len(all))]...)
}
