package train

import (
	"math"
	"math/rand/v2"

	"scorecmdline/src/features"
	"scorecmdline/src/linear"
)

// example is a row ready for training.
type example struct {
	x      []features.Entry
	y      float64 // 1 malicious, 0 benign
	weight float64 // sample weight: template down-weighting × class balance
}

// Params are the hyper-parameters of one fit.
type Params struct {
	LR     float64 // AdaGrad base learning rate
	L2     float64 // pull of touched weights towards the prior (0 or the warm start)
	Epochs int
}

// fitter is per-example AdaGrad on weighted log-loss with lazy L2: the
// penalty λ(w-prior) joins the gradient of a weight only when a row touches
// it, which is what makes a pass cost O(non-zeros) rather than O(2^bits).
type fitter struct {
	w, g2     []float64
	prior     []float64 // nil: pull towards 0
	bias, gb  float64
	fixedBias bool // adapting: the user's rows move only the weights they touch
	// Adapting, a row already on its side of the shipped threshold by
	// more than adaptMargin teaches nothing: the aim is to silence the
	// user's alerts, not to make every user row look more benign, which
	// would drag down the weights attacks share with it.
	lo, hi float64
	p      Params
	rng    *rand.Rand
	order  []int
}

func newFitter(bits uint, p Params, warm *linear.Stage, seed uint64) *fitter {
	f := &fitter{
		w: make([]float64, 1<<bits), g2: make([]float64, 1<<bits), p: p,
		rng: rand.New(rand.NewPCG(seed, 1)), lo: math.Inf(-1), hi: math.Inf(1),
	}
	if warm != nil {
		f.prior = make([]float64, len(warm.W))
		for i := range warm.W {
			f.prior[i] = warm.Weight(uint32(i))
		}
		copy(f.w, f.prior)
		f.bias, f.fixedBias = warm.Bias, true
	}
	return f
}

// adaptMargin is how far (in logits) past the shipped threshold a user's
// row must be for adapting to leave it alone.
const adaptMargin = 1.0

// adaptClip bounds how far adapting moves a weight from the shipped one: a
// row's logit then moves by at most adaptClip·Σ values, so attacks sharing
// a few features with the user's rows keep most of their score. (On the
// OTRF test, with an earlier feature hash, it took the recall lost from 12
// to 6.5 points at the same FPR.)
const adaptClip = 0.25

// focus makes the fitter skip rows already on their side of threshold
// logit t by adaptMargin.
func (f *fitter) focus(t float64) { f.lo, f.hi = t-adaptMargin, t+adaptMargin }

// epoch makes one pass over rows idx of ex in a fresh random order.
func (f *fitter) epoch(ex []example, idx []int) {
	f.order = append(f.order[:0], idx...)
	f.rng.Shuffle(len(f.order), func(i, j int) { f.order[i], f.order[j] = f.order[j], f.order[i] })
	const eps = 1e-8
	lr, l2 := f.p.LR, f.p.L2
	for _, i := range f.order {
		e := &ex[i]
		z := f.logit(e.x)
		if e.y == 0 && z < f.lo || e.y == 1 && z > f.hi {
			continue
		}
		g := (sigmoid(z) - e.y) * e.weight
		if !f.fixedBias {
			f.gb += g * g
			f.bias -= lr * g / math.Sqrt(f.gb+eps)
		}
		for _, en := range e.x {
			b := en.Bucket
			prior := 0.0
			if f.prior != nil {
				prior = f.prior[b]
			}
			gi := g*float64(en.Value) + l2*(f.w[b]-prior)
			f.g2[b] += gi * gi
			f.w[b] -= lr * gi / math.Sqrt(f.g2[b]+eps)
			if f.prior != nil {
				f.w[b] = min(max(f.w[b], prior-adaptClip), prior+adaptClip)
			}
		}
	}
}

func (f *fitter) logit(x []features.Entry) float64 {
	z := f.bias
	for _, en := range x {
		z += float64(en.Value) * f.w[en.Bucket]
	}
	return z
}

// freeze quantizes the weights to the model's int16, zeroing |w| < prune.
func (f *fitter) freeze(groups features.Groups, prune float64) linear.Stage {
	w := make([]float64, len(f.w))
	for i, x := range f.w {
		if math.Abs(x) >= prune {
			w[i] = x
		}
	}
	st := linear.Stage{Groups: groups, Bias: f.bias, W: make([]int16, len(w))}
	st.Scale = linear.Quantize(w, st.W)
	return st
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
