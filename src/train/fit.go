package train

import (
	"math"
	"math/rand/v2"

	"scorecmdline/src/features"
	"scorecmdline/src/linear"
)

// example is a row ready for training: one feature vector per stage.
type example struct {
	x      [2][]features.Entry
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
	w, g2      []float64
	prior      []float32 // nil: pull towards 0
	bias, gb   float64
	priorBias  float64
	p          Params
	stage      int
	rng        *rand.Rand
	order      []int
	seenEpochs int
}

func newFitter(bits uint, stage int, p Params, warm *linear.Stage, seed uint64) *fitter {
	f := &fitter{
		w: make([]float64, 1<<bits), g2: make([]float64, 1<<bits), p: p, stage: stage,
		rng: rand.New(rand.NewPCG(seed, uint64(stage)+1)),
	}
	if warm != nil {
		f.prior = warm.W
		for i, w := range warm.W {
			f.w[i] = float64(w)
		}
		f.bias, f.priorBias = warm.Bias, warm.Bias
	}
	return f
}

// epoch makes one pass over rows idx of ex in a fresh random order.
func (f *fitter) epoch(ex []example, idx []int) {
	f.order = append(f.order[:0], idx...)
	f.rng.Shuffle(len(f.order), func(i, j int) { f.order[i], f.order[j] = f.order[j], f.order[i] })
	const eps = 1e-8
	lr, l2 := f.p.LR, f.p.L2
	for _, i := range f.order {
		e := &ex[i]
		x := e.x[f.stage]
		z := f.bias
		for _, en := range x {
			z += float64(en.Value) * f.w[en.Bucket]
		}
		g := (sigmoid(z) - e.y) * e.weight
		f.gb += g * g
		f.bias -= lr * g / math.Sqrt(f.gb+eps)
		for _, en := range x {
			b := en.Bucket
			prior := 0.0
			if f.prior != nil {
				prior = float64(f.prior[b])
			}
			gi := g*float64(en.Value) + l2*(f.w[b]-prior)
			f.g2[b] += gi * gi
			f.w[b] -= lr * gi / math.Sqrt(f.g2[b]+eps)
		}
	}
	f.seenEpochs++
}

func (f *fitter) logit(x []features.Entry) float64 {
	z := f.bias
	for _, en := range x {
		z += float64(en.Value) * f.w[en.Bucket]
	}
	return z
}

// stage freezes the weights as float32, zeroing |w| < prune.
func (f *fitter) freeze(groups features.Groups, prune float64) linear.Stage {
	st := linear.Stage{Groups: groups, Bias: f.bias, W: make([]float32, len(f.w))}
	for i, w := range f.w {
		if math.Abs(w) >= prune {
			st.W[i] = float32(w)
		}
	}
	return st
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
