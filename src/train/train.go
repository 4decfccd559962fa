// Package train builds the `cmdline` model (package linear) from labelled
// command lines: `scorecmdline train`.
//
// From scratch: rows are scrubbed of corpus artefacts (scrub.toml; training
// rows only), near-identical rows share one template's weight, classes are
// balanced, and every hyper-parameter setting of a small grid (learning
// rate, L2, epochs) is fitted on k grouped folds: Atomic rows grouped by
// technique, others by template, so that a held-out fold holds new attacks
// and new command forms, as real data will. Held-out rows are scored by the
// fold's model pruned and quantized as it would ship. The setting with the
// best mean per-file TPR at the target FPR wins; the alert threshold is read
// off its out-of-fold benign scores, quantiles of its out-of-fold malicious
// scores are kept in the model, and a final fit on all rows is the shipped
// model.
//
// Adapting (--from): the shipped model is the warm start and the prior, the
// user's rows are the training set, and the threshold comes from their
// out-of-fold benign scores, so a SOC can ask for at most N alerts per
// 10,000 of its own processes. Three things keep recall on attacks the
// user's rows never show: the bias stays the shipped one, so only weights
// the user's rows touch move; a row already on its side of the shipped
// threshold by a margin is skipped, so the fit silences alerts rather than
// making every user row look more benign; and no weight moves more than
// adaptClip from the shipped one. The threshold never drops below the
// shipped one.
//
// Everything is deterministic for a given --seed.
package train

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"scorecmdline/src/features"
	"scorecmdline/src/linear"
	"scorecmdline/src/metrics"
)

// Result is what a training run measured.
type Result struct {
	Model *linear.Model
	OOF   []float64 // out-of-fold probability of each row
	Rows  []Row
}

// Train builds a model from rows. name, command and corpus go into the
// model file.
func Train(rows []Row, cfg *Config) (*Result, error) {
	if len(rows) == 0 {
		return nil, errors.New("no training rows")
	}
	if cfg.Folds < 2 {
		return nil, errors.New("need at least 2 folds")
	}
	p := prepare(rows, cfg)
	// Adapting, the grid is one documented fixed setting: the user's data
	// is too small to tune on.
	grid := crossValidate(p, cfg)
	chosen := best(grid)
	z := chosen.oof
	var benign, malicious []float64
	for i, r := range rows {
		if r.Malicious {
			malicious = append(malicious, z[i])
		} else {
			benign = append(benign, z[i])
		}
	}
	if len(benign) == 0 {
		return nil, errors.New("no benign rows: the threshold is read off benign scores")
	}
	thr := metrics.ThresholdAtFPR(benign, cfg.TargetFPR)
	m := &linear.Model{Bits: cfg.Bits, Deobfuscate: cfg.Deobfuscate, Malicious: quantiles(malicious)}
	var warm *linear.Stage
	if b := cfg.Base; b != nil {
		// Never below the shipped threshold: where the user's rows are
		// already quiet, recall is not given away. The user's malicious
		// rows, if any, are too few to describe attacks: the shipped
		// model's statistics stay.
		thr = max(thr, linear.Logit(b.Threshold))
		warm, m.Malicious = &b.Stages[0], b.Malicious
	}
	m.Threshold = clamp01(linear.Sigmoid(thr))
	if cfg.Base != nil {
		m.Threshold = max(m.Threshold, cfg.Base.Threshold) // exactly, not through Logit
	}
	all := make([]int, len(rows))
	for i := range all {
		all[i] = i
	}
	f := newFitter(cfg.Bits, chosen.p, warm, cfg.Seed)
	if warm != nil {
		f.focus(linear.Logit(cfg.Base.Threshold))
	}
	for range chosen.p.Epochs {
		f.epoch(p.ex, all)
	}
	m.Stages = []linear.Stage{f.freeze(p.groups, cfg.Prune)}
	res := &Result{Model: m, Rows: rows, OOF: make([]float64, len(z))}
	for i := range z {
		res.OOF[i] = linear.Sigmoid(z[i])
	}
	m.Report = report(p, cfg, chosen, grid, z, thr, m)
	return res, nil
}

// quantiles returns linear.MaliciousQuantiles evenly spaced quantiles of
// xs (nil for none).
func quantiles(xs []float64) []float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Sorted(slices.Values(xs))
	q := make([]float64, linear.MaliciousQuantiles)
	for i := range q {
		q[i] = s[i*(len(s)-1)/(len(q)-1)]
	}
	return q
}

// recallAt estimates from quantiles the share of malicious rows scoring
// above logit t.
func recallAt(q []float64, t float64) float64 {
	n := 0
	for _, x := range q {
		if x > t {
			n++
		}
	}
	return float64(n) / float64(len(q))
}

func clamp01(x float64) float64 { return min(max(x, 0), 1) }

// report is the text stored in the model file and printed by Main. It holds
// no timings, so that the model bytes are reproducible.
func report(p *prepared, cfg *Config, chosen *candidate, grid []*candidate, z []float64, thr float64, m *linear.Model) string {
	var b strings.Builder
	mal, ben := 0, 0
	labels := make([]bool, len(p.rows))
	for i, r := range p.rows {
		labels[i] = r.Malicious
		if r.Malicious {
			mal++
		} else {
			ben++
		}
	}
	fmt.Fprintf(&b, "rows: %d (%d malicious, %d benign); %d-fold CV grouped by technique (Atomic) or template; seed %d\n",
		len(p.rows), mal, ben, cfg.Folds, cfg.Seed)
	fmt.Fprintf(&b, "hash bits %d, prune |w| < %g, target FPR %g, context %v, deobfuscate %v\n",
		cfg.Bits, cfg.Prune, cfg.TargetFPR, cfg.Context, cfg.Deobfuscate)
	fmt.Fprintf(&b, "\nfeatures %s: grid, mean per-file OOF TPR at target FPR / AUC\n", strings.Join(groupList(p.groups), "+"))
	for _, c := range grid {
		mark := " "
		if c == chosen {
			mark = "*"
		}
		fmt.Fprintf(&b, " %s lr=%-5g l2=%-6g epochs=%-2d  %.4f / %.4f\n", mark, c.p.LR, c.p.L2, c.p.Epochs, c.score, c.auc)
	}
	auc, _ := metrics.AUC(labels, z)
	c := metrics.Count(labels, z, thr)
	fmt.Fprintf(&b, "\nthreshold: probability > %.6f (logit %.4f)\n", m.Threshold, thr)
	if base := cfg.Base; base != nil && len(base.Malicious) > 0 {
		t0 := linear.Logit(base.Threshold)
		fmt.Fprintf(&b, "shipped threshold: logit %.4f; the shipped model's OOF malicious rows above it: %.0f%%, above the new one: %.0f%% (before the weight changes)\n",
			t0, 100*recallAt(base.Malicious, t0), 100*recallAt(base.Malicious, thr))
	}
	fmt.Fprintf(&b, "OOF overall: AUC %.4f, TPR %.2f%%, FPR %.2f%%\n", auc, 100*c.TPR(), 100*c.FPR())
	fmt.Fprintf(&b, "\n%-26s %6s %9s %7s %7s\n", "file", "rows", "label", "alerts", "rate")
	files := map[string]*metrics.Confusion{}
	var order []string
	for i, r := range p.rows {
		if files[r.File] == nil {
			files[r.File] = &metrics.Confusion{}
			order = append(order, r.File)
		}
		*files[r.File] = files[r.File].Add(metrics.Count(labels[i:i+1], z[i:i+1], thr))
	}
	slices.Sort(order)
	for _, f := range order {
		fc := files[f]
		n, alerts, lab := fc.TP+fc.FN+fc.FP+fc.TN, fc.TP+fc.FP, "benign"
		if fc.TP+fc.FN > 0 && fc.FP+fc.TN > 0 {
			lab = "mixed"
		} else if fc.TP+fc.FN > 0 {
			lab = "malicious"
		}
		fmt.Fprintf(&b, "%-26s %6d %9s %7d %6.2f%%\n", f, n, lab, alerts, pct(alerts, n))
	}
	b.WriteString(topFeatures(p, cfg, m))
	return b.String()
}

func pct(a, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return 100 * float64(a) / float64(n)
}

func groupList(gs features.Groups) []string {
	var s []string
	for g := features.Group(0); g < features.NumGroups; g++ {
		if gs.Has(g) {
			s = append(s, g.String())
		}
	}
	return s
}

// topFeatures names the strongest weights each way, by re-extracting
// training rows with names until every bucket has one.
func topFeatures(p *prepared, cfg *Config, m *linear.Model) string {
	const n = 15
	st := &m.Stages[0]
	idx := make([]int, 0, len(st.W))
	for i, w := range st.W {
		if w != 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(st.W[b], st.W[a]) })
	var top []int
	top = append(top, idx[:min(n, len(idx))]...)
	for i := len(idx) - 1; i >= max(len(idx)-n, n); i-- {
		top = append(top, idx[i])
	}
	names := map[uint32]string{}
	for _, i := range top {
		names[uint32(i)] = ""
	}
	x := features.New(cfg.Bits)
	x.Names = true
	left := len(names)
	for i := 0; i < len(p.rows) && left > 0; i++ {
		in := features.Input{Cmdline: []byte(cfg.Scrub.Apply(p.rows[i].Cmdline))}
		x.Reset(&in)
		x.Extract(st.Groups)
		for g := features.Group(0); g < features.NumGroups; g++ {
			for k, b := range x.Buckets(g) {
				if v, ok := names[b]; ok && v == "" {
					names[b] = x.Name(g, k)
					left--
				}
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nstrongest weights (%d non-zero of %d):\n", len(idx), len(st.W))
	for k, i := range top {
		if k == n {
			b.WriteString("  --\n")
		}
		fmt.Fprintf(&b, "  %+8.4f  %q\n", st.Weight(uint32(i)), cmp.Or(names[uint32(i)], fmt.Sprintf("bucket %d", i)))
	}
	return b.String()
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func floatList(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v < 0 || math.IsInf(v, 0) {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 || v > 1000 {
			return nil, fmt.Errorf("bad epoch count %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

const usage = `usage: scorecmdline train -o MODEL [flags] FILE...
       scorecmdline train --from NAME -o MODEL --benign FILE... [--malicious FILE...] [flags]

Trains the cmdline model from labelled JSON Lines (cmdline, label, optional
parent_image, image, technique) or CSV with a header. With --from, adapts the
shipped model NAME to the user's rows and recalibrates its threshold on them
(never below the shipped one); adapting defaults to --lr 0.05 --l2 0.01
--epochs 3.
`

// Main is `scorecmdline train`. lookups holds the shipped models (--from).
func Main(args []string, stdout, stderr io.Writer, lookups fs.FS) int {
	fl := flag.NewFlagSet("train", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, usage); fl.PrintDefaults() }
	var (
		out        = fl.String("o", "", "write the model to this file (required)")
		name       = fl.String("name", "cmdline", "model name")
		desc       = fl.String("description", "Hashed logistic regression over command-line tokens, n-grams and structure", "model description")
		risk       = fl.Int("risk", 40, "risk_score contribution of an alert (0-100)")
		bitsF      = fl.Uint("bits", 17, "hash bits (2^bits weights)")
		folds      = fl.Int("folds", 5, "cross-validation folds")
		seed       = fl.Uint64("seed", 1, "random seed")
		fpr        = fl.Float64("target-fpr", 0.01, "false-positive rate the threshold allows on benign OOF scores")
		per10k     = fl.Float64("alerts-per-10k", 0, "alternative to --target-fpr: alerts allowed per 10,000 benign rows")
		prune      = fl.Float64("prune", 0.1, "zero weights with |w| below this")
		lrs        = fl.String("lr", "0.05,0.15", "learning rates to try")
		l2s        = fl.String("l2", "1e-6", "L2 strengths to try (adapting: the pull towards the shipped weights)")
		epochs     = fl.String("epochs", "4,8,12", "epoch counts to try")
		context    = fl.Bool("context", false, "use parent and image names (only when both classes carry them)")
		deob       = fl.Bool("deobfuscate", false, "add features of the deobfuscated text (src/deobfuscate)")
		scrubF     = fl.String("scrub", "", "scrub list (TOML) for training rows; default built in; none to disable")
		oofF       = fl.String("oof", "", "write out-of-fold scores as JSON Lines {file,line,label,score}")
		from       = fl.String("from", "", "adapt the shipped model NAME (lookups/NAME.model.bin)")
		benignF    multi
		maliciousF multi
	)
	fl.Var(&benignF, "benign", "adapting: a file of benign rows (repeatable)")
	fl.Var(&maliciousF, "malicious", "adapting: a file of malicious rows (repeatable)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "train: "+format+"\n", a...)
		return 1
	}
	if *out == "" {
		fmt.Fprint(stderr, "train: -o MODEL is required\n")
		return 2
	}
	cfg := &Config{Bits: *bitsF, Folds: *folds, Seed: *seed, TargetFPR: *fpr, Prune: *prune,
		Context: *context, Deobfuscate: *deob, Workers: workers(), Progress: stderr}
	if *per10k > 0 {
		cfg.TargetFPR = *per10k / 10000
	}
	var err error
	if cfg.LRs, err = floatList(*lrs); err != nil {
		return fail("--lr: %v", err)
	}
	if cfg.L2s, err = floatList(*l2s); err != nil {
		return fail("--l2: %v", err)
	}
	if cfg.Epochs, err = intList(*epochs); err != nil {
		return fail("--epochs: %v", err)
	}
	if cfg.Bits < 10 || cfg.Bits > linear.MaxBits {
		return fail("--bits must be 10..%d", linear.MaxBits)
	}
	if !(cfg.TargetFPR > 0 && cfg.TargetFPR < 1) {
		return fail("--target-fpr must be in (0,1)")
	}
	switch *scrubF {
	case "":
		cfg.Scrub = DefaultScrub()
	case "none":
	default:
		b, err := os.ReadFile(*scrubF)
		if err != nil {
			return fail("%v", err)
		}
		if cfg.Scrub, err = ParseScrub(*scrubF, string(b)); err != nil {
			return fail("%v", err)
		}
	}
	type input struct {
		path  string
		force *bool
	}
	var inputs []input
	yes, no := true, false
	for _, f := range fl.Args() {
		inputs = append(inputs, input{f, nil})
	}
	for _, f := range benignF {
		inputs = append(inputs, input{f, &no})
	}
	for _, f := range maliciousF {
		inputs = append(inputs, input{f, &yes})
	}
	if *from != "" {
		// Adapting: no corpus scrub (the user's rows carry no corpus
		// markers) and the base model fixes bits, groups, deobfuscation.
		base, err := linear.Load(lookups, *from+".model.bin")
		if err != nil {
			return fail("%v", err)
		}
		cfg.Base, cfg.Scrub = base, nil
		cfg.Bits, cfg.Deobfuscate, cfg.Context = base.Bits, base.Deobfuscate, base.Stages[0].Groups.Has(features.Context)
		if !flagSet(fl, "lr") {
			cfg.LRs = []float64{0.05}
		}
		if !flagSet(fl, "l2") {
			cfg.L2s = []float64{0.01}
		}
		if !flagSet(fl, "epochs") {
			cfg.Epochs = []int{3}
		}
		if !flagSet(fl, "name") {
			*name = base.Name
		}
		if !flagSet(fl, "risk") {
			*risk = base.Risk
		}
		if !flagSet(fl, "description") {
			*desc = base.Description + " (adapted)"
		}
	}
	if len(inputs) == 0 {
		fmt.Fprint(stderr, "train: no input files\n")
		return 2
	}
	start := time.Now()
	var rows []Row
	var corpus []linear.CorpusFile
	for _, in := range inputs {
		r, err := ReadFile(in.path, in.force)
		if err != nil {
			return fail("%v", err)
		}
		sum, err := fileSHA256(in.path)
		if err != nil {
			return fail("%v", err)
		}
		rows = append(rows, r...)
		corpus = append(corpus, linear.CorpusFile{File: baseName(in.path), SHA256: sum, Rows: len(r)})
	}
	res, err := Train(rows, cfg)
	if err != nil {
		return fail("%v", err)
	}
	m := res.Model
	m.Name, m.Description, m.Risk, m.Corpus = *name, *desc, *risk, corpus
	m.Command = "scorecmdline train " + quoteArgs(args)
	if *from != "" {
		m.Report = fmt.Sprintf("adapted from %s (sha256 of its corpus: %s)\n%s", *from, corpusSums(cfg.Base.Corpus), m.Report)
	}
	data, err := m.MarshalBinary()
	if err != nil {
		return fail("%v", err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return fail("%v", err)
	}
	if *oofF != "" {
		if err := writeOOF(*oofF, res); err != nil {
			return fail("%v", err)
		}
	}
	fmt.Fprint(stdout, m.Report)
	fmt.Fprintf(stdout, "\nwrote %s: %d bytes\n", *out, len(data))
	fmt.Fprintf(stderr, "train: %.1fs\n", time.Since(start).Seconds())
	return 0
}

func flagSet(fl *flag.FlagSet, name string) bool {
	set := false
	fl.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func corpusSums(c []linear.CorpusFile) string {
	var s []string
	for _, f := range c {
		s = append(s, f.File+"="+f.SHA256[:min(12, len(f.SHA256))])
	}
	return strings.Join(s, " ")
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if a == "" || strings.ContainsAny(a, " \t\"'\\$") {
			q[i] = strconv.Quote(a)
		}
	}
	return strings.Join(q, " ")
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeOOF(path string, res *Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i, r := range res.Rows {
		lab := "benign"
		if r.Malicious {
			lab = "malicious"
		}
		if err := enc.Encode(map[string]any{"file": r.File, "line": r.Line, "label": lab, "score": res.OOF[i]}); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
