package train

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"scorecmdline/src/deobfuscate"
	"scorecmdline/src/features"
	"scorecmdline/src/linear"
	"scorecmdline/src/metrics"
)

// Config drives one training run.
type Config struct {
	Bits        uint
	Folds       int
	Seed        uint64
	TargetFPR   float64
	Prune       float64 // zero weights with |w| below it, in CV and in the final model
	LRs, L2s    []float64
	Epochs      []int // checkpoints evaluated in one fit
	Context     bool  // use parent and image names (only if both classes have them)
	Deobfuscate bool  // fill Input.Deobfuscated with src/deobfuscate
	Scrub       Scrub // applied to training rows
	Workers     int
	Progress    io.Writer
	Base        *linear.Model // adapting: warm start and prior
}

// prepared is the training set with its CV structure.
type prepared struct {
	rows   []Row
	ex     []example
	groups features.Groups
	fold   []int // fold of each row
	folds  int
}

// featureGroups is the feature set for a config.
func featureGroups(cfg *Config) features.Groups {
	if cfg.Base != nil {
		return cfg.Base.Stages[0].Groups
	}
	if cfg.Context {
		return features.Default | features.Set(features.Context)
	}
	return features.Default
}

// prepare scrubs, weighs, featurizes and folds the rows.
func prepare(rows []Row, cfg *Config) *prepared {
	p := &prepared{rows: rows, ex: make([]example, len(rows)), groups: featureGroups(cfg), fold: make([]int, len(rows)), folds: cfg.Folds}
	texts := make([]string, len(rows))
	tmplN := map[string]int{}
	tmpl := make([]string, len(rows))
	for i := range rows {
		texts[i] = cfg.Scrub.Apply(rows[i].Cmdline)
		tmpl[i] = Template(texts[i])
		tmplN[tmpl[i]]++
	}
	// Sample weights: a template's rows share sqrt(n) of weight, then the
	// classes are balanced (N / (2·N_class), weighted).
	var wc [2]float64
	for i := range rows {
		w := 1 / math.Sqrt(float64(tmplN[tmpl[i]]))
		p.ex[i].weight = w
		if rows[i].Malicious {
			p.ex[i].y = 1
		}
		wc[int(p.ex[i].y)] += w
	}
	if wc[0] > 0 && wc[1] > 0 {
		total := wc[0] + wc[1]
		for i := range p.ex {
			p.ex[i].weight *= total / (2 * wc[int(p.ex[i].y)])
		}
	}
	// Features, in parallel: each worker has its own extractor.
	var wg sync.WaitGroup
	n := max(cfg.Workers, 1)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := features.New(cfg.Bits)
			var d deobfuscate.Deobfuscator
			for i := w; i < len(rows); i += n {
				in := features.Input{Cmdline: []byte(texts[i])}
				if cfg.Context {
					in.Parent, in.Image = []byte(rows[i].Parent), []byte(rows[i].Image)
				}
				if cfg.Deobfuscate {
					r := d.Run(in.Cmdline)
					in.Deobfuscated = append([]byte(nil), r.Text...)
					in.Techniques, in.Undone = uint64(r.Techniques), r.Undone
				}
				x.Reset(&in)
				p.ex[i].x = x.AppendVector(nil, p.groups)
			}
		}()
	}
	wg.Wait()
	p.assignFolds(tmpl, cfg.Seed)
	return p
}

// groupKey is a row's CV group: its ATT&CK technique where a file holds
// several (Atomic: a held-out technique is a new attack), else its template
// (a held-out command is new in form, not just in its arguments).
func groupKeys(rows []Row, tmpl []string) []string {
	techs := map[string]map[string]bool{}
	for _, r := range rows {
		if techs[r.File] == nil {
			techs[r.File] = map[string]bool{}
		}
		techs[r.File][r.Technique] = true
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		if r.Technique != "" && len(techs[r.File]) > 1 {
			keys[i] = "t\x00" + r.Technique
		} else {
			keys[i] = "k\x00" + tmpl[i]
		}
	}
	return keys
}

// assignFolds puts whole groups in folds: groups in a seeded order, each to
// the fold with the fewest rows so far, so folds stay balanced.
func (p *prepared) assignFolds(tmpl []string, seed uint64) {
	keys := groupKeys(p.rows, tmpl)
	size := map[string]int{}
	for _, k := range keys {
		size[k]++
	}
	type grp struct {
		key  string
		hash uint64
	}
	gs := make([]grp, 0, len(size))
	for k := range size {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d\x00%s", seed, k)
		gs = append(gs, grp{k, h.Sum64()})
	}
	slices.SortFunc(gs, func(a, b grp) int { return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.key, b.key)) })
	load := make([]int, p.folds)
	of := map[string]int{}
	for _, g := range gs {
		f := 0
		for i := range load {
			if load[i] < load[f] {
				f = i
			}
		}
		of[g.key] = f
		load[f] += size[g.key]
	}
	for i, k := range keys {
		p.fold[i] = of[k]
	}
}

// candidate is one hyper-parameter setting with its out-of-fold logits.
type candidate struct {
	p     Params
	oof   []float64
	score float64 // selection metric: mean per-file TPR at the target FPR
	auc   float64
}

// crossValidate fits every grid point on every fold and returns the
// candidates with their OOF logits, scored as the shipped model scores:
// pruned and quantized.
func crossValidate(p *prepared, cfg *Config) []*candidate {
	var cands []*candidate
	maxEpochs := slices.Max(cfg.Epochs)
	type job struct{ lr, l2 float64 }
	idx := map[[2]float64]int{}
	for _, lr := range cfg.LRs {
		for _, l2 := range cfg.L2s {
			idx[[2]float64{lr, l2}] = len(cands)
			for _, e := range cfg.Epochs {
				cands = append(cands, &candidate{p: Params{lr, l2, e}, oof: make([]float64, len(p.rows))})
			}
		}
	}
	var warm *linear.Stage
	if cfg.Base != nil {
		warm = &cfg.Base.Stages[0]
	}
	for fold := 0; fold < p.folds; fold++ {
		start := time.Now()
		var train, held []int
		for i, f := range p.fold {
			if f == fold {
				held = append(held, i)
			} else {
				train = append(train, i)
			}
		}
		jobs := make(chan job)
		var wg sync.WaitGroup
		for w := 0; w < max(cfg.Workers, 1); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					f := newFitter(cfg.Bits, Params{j.lr, j.l2, maxEpochs}, warm, cfg.Seed^uint64(fold+1)<<32)
					if warm != nil {
						f.focus(linear.Logit(cfg.Base.Threshold))
					}
					base := idx[[2]float64{j.lr, j.l2}]
					for e := 1; e <= maxEpochs; e++ {
						f.epoch(p.ex, train)
						if k := slices.Index(cfg.Epochs, e); k >= 0 {
							st := f.freeze(p.groups, cfg.Prune)
							for _, i := range held {
								cands[base+k].oof[i] = st.Logit(p.ex[i].x)
							}
						}
					}
				}
			}()
		}
		for _, lr := range cfg.LRs {
			for _, l2 := range cfg.L2s {
				jobs <- job{lr, l2}
			}
		}
		close(jobs)
		wg.Wait()
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "fold %d/%d: %d train, %d held-out rows, %d fits (%.1fs)\n",
				fold+1, p.folds, len(train), len(held), len(cfg.LRs)*len(cfg.L2s), time.Since(start).Seconds())
		}
	}
	for _, c := range cands {
		c.score, c.auc = selectionScore(p, c.oof, cfg.TargetFPR)
	}
	return cands
}

// selectionScore is the mean, over files with malicious rows, of their TPR
// at the threshold giving the target FPR on all benign rows, and the AUC.
// Averaging files keeps the 2,800 DOSfuscation rows from outvoting Atomic.
func selectionScore(p *prepared, scores []float64, fpr float64) (float64, float64) {
	labels := make([]bool, len(p.rows))
	var benign []float64
	for i, r := range p.rows {
		labels[i] = r.Malicious
		if !r.Malicious {
			benign = append(benign, scores[i])
		}
	}
	auc, _ := metrics.AUC(labels, scores)
	t := metrics.ThresholdAtFPR(benign, fpr)
	hit, tot := map[string]int{}, map[string]int{}
	for i, r := range p.rows {
		if r.Malicious {
			tot[r.File]++
			if scores[i] > t {
				hit[r.File]++
			}
		}
	}
	if len(tot) == 0 {
		return auc, auc
	}
	sum := 0.0
	for f, n := range tot {
		sum += float64(hit[f]) / float64(n)
	}
	return sum / float64(len(tot)), auc
}

// best picks the candidate with the highest selection score, then AUC, then
// the earliest in the grid (deterministic).
func best(cands []*candidate) *candidate {
	b := cands[0]
	for _, c := range cands[1:] {
		if c.score > b.score+1e-12 || math.Abs(c.score-b.score) <= 1e-12 && c.auc > b.auc+1e-12 {
			b = c
		}
	}
	return b
}

// workers is the default parallelism.
func workers() int { return runtime.GOMAXPROCS(0) }
