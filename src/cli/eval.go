package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"scorecmdline/src/config"
	"scorecmdline/src/event"
	"scorecmdline/src/metrics"
	"scorecmdline/src/rules"
	"scorecmdline/src/score"
)

// runEval is `scorecmdline eval`: detection quality on labelled JSON Lines
// ({"cmdline":..., "label":"malicious"|"benign", "parent_image":...}).
func runEval(env Env, args []string) int {
	flags := flag.NewFlagSet("eval", flag.ContinueOnError)
	flags.SetOutput(env.Stderr)
	d := score.Defaults()
	models := flags.String("model", d.Model, "models to measure, comma-separated: names in the lookups or model file paths, or none")
	packs := flags.String("rules", strings.Join(d.Rules, ","), "rule packs to measure, each on its own and combined, or none")
	byLevel := flags.Bool("by-level", false, "also measure each pack at min_level medium and high")
	deob := flags.Bool("deobfuscate", d.Deobfuscate, "run the deobfuscation stage, as the search command does by default")
	lookups := flags.String("lookups", "", "folder with model and rule files (default: the app's lookups, else built in)")
	asJSON := flags.Bool("json", false, "print JSON instead of a table")
	flags.Usage = func() {
		fmt.Fprint(env.Stderr, `Usage: scorecmdline eval [options] FILE...

Reads labelled JSON Lines (cmdline, label "malicious" or "benign", optional
parent_image and image) and prints, per detector, per file and overall: rows,
alerts, TPR and FPR at the deployed decision, and for a model's raw score the
ROC AUC and the TPR at 1% and 0.1% FPR. Detectors: each model alone
(model_alert, the decision stored in its file), each rule pack alone
(rule_count > 0), the deobfuscation stage (a row alerts when it undid a
technique: the obfuscation field is not empty), and all of them together as
the search command runs them (model_alert = 1 or rule_count > 0).

Options:
`)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() == 0 {
		flags.Usage()
		return 2
	}
	ev, err := newEvaluator(*lookups, config.SplitList(*models), config.SplitList(*packs), *byLevel, *deob)
	if err != nil {
		fmt.Fprintf(env.Stderr, "scorecmdline eval: %v\n", err)
		return 2
	}
	status := 0
	for _, name := range flags.Args() {
		if err := ev.file(env, name); err != nil {
			fmt.Fprintf(env.Stderr, "scorecmdline eval: %v\n", err)
			status = 1
		}
	}
	rep := ev.report()
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 1
		}
	} else {
		rep.table(env.Stdout)
	}
	return status
}

// detector is one thing eval measures: an engine and how a row alerts.
type detector struct {
	name        string
	scorer      *score.Scorer
	model       bool        // report the raw score's AUC and TPR at FPR
	level       rules.Level // rule hits count from this level
	obfuscation bool        // the row alerts when the deobfuscation stage undid something
}

func (d *detector) alert(r *score.Result) bool {
	if d.obfuscation {
		return r.Obfuscation != 0
	}
	return r.ModelAlert || (len(r.Hits) > 0 && r.Level >= d.level)
}

// evaluator scores each labelled line with every detector.
type evaluator struct {
	dets  []*detector
	files []*outcomes
}

// outcomes are one file's labels and, per detector, alerts and scores.
type outcomes struct {
	name   string
	labels []bool // true = malicious
	alerts [][]bool
	scores [][]float64
}

// newEvaluator builds the detectors. A model given as a file path is read
// from its folder, ahead of the lookups.
func newEvaluator(lookupsDir string, models, packs []string, byLevel, deob bool) (*evaluator, error) {
	fsys := config.Lookups(lookupsDir)
	if len(models) == 1 && models[0] == score.None {
		models = nil
	}
	if len(packs) == 1 && packs[0] == score.None {
		packs = nil
	}
	for i, m := range models {
		name, dir, ok := modelPath(m)
		if !ok {
			continue
		}
		fsys = config.Overlay(os.DirFS(dir), fsys)
		models[i] = name
	}
	ev := &evaluator{}
	add := func(name string, model string, packs []string, level rules.Level) error {
		opts := score.Options{Model: score.None, Rules: []string{score.None}, Deobfuscate: deob}
		if model != "" {
			opts.Model = model
		}
		if len(packs) > 0 {
			opts.Rules = packs
		}
		eng, err := score.New(fsys, opts)
		if err != nil {
			return err
		}
		ev.dets = append(ev.dets, &detector{name: name, scorer: eng.NewScorer(), model: model != "", level: level})
		return nil
	}
	for _, m := range models {
		if err := add("model="+m, m, nil, 0); err != nil {
			return nil, err
		}
	}
	for _, p := range packs {
		if err := add("rules="+p, "", []string{p}, 0); err != nil {
			return nil, err
		}
		if byLevel {
			for _, l := range []rules.Level{rules.Medium, rules.High} {
				if err := add(fmt.Sprintf("rules=%s min_level=%s", p, l), "", []string{p}, l); err != nil {
					return nil, err
				}
			}
		}
	}
	if deob {
		// Obfuscation as a detector of its own: how often the stage finds
		// something to undo, on attacks and on benign lines.
		if err := add("obfuscation", "", nil, 0); err != nil {
			return nil, err
		}
		ev.dets[len(ev.dets)-1].obfuscation = true
	}
	if len(models)+len(packs) > 1 && len(models) <= 1 {
		model, name := "", "rules="+strings.Join(packs, ",")
		if len(models) == 1 {
			model = models[0]
			name = "model=" + model + " " + name
		}
		if err := add(name, model, packs, 0); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// modelPath splits a model given as a file path (…/NAME.model.toml or
// …/NAME.model.bin) into its name and folder.
func modelPath(s string) (name, dir string, ok bool) {
	if !strings.ContainsAny(s, `/\`) {
		return "", "", false
	}
	base := filepath.Base(s)
	for _, suffix := range []string{".model.toml", ".model.bin"} {
		if strings.HasSuffix(base, suffix) {
			return strings.TrimSuffix(base, suffix), filepath.Dir(s), true
		}
	}
	return "", "", false
}

func (ev *evaluator) file(env Env, name string) error {
	r, closeFn, err := open(env, name)
	if err != nil {
		return err
	}
	defer closeFn()
	rr, err := newRecordReader(name, r, formatJSONL, "cmdline", "")
	if err != nil {
		return err
	}
	o := &outcomes{name: filepath.Base(name), alerts: make([][]bool, len(ev.dets)), scores: make([][]float64, len(ev.dets))}
	ev.files = append(ev.files, o)
	bad := 0
	var e event.Event
	var evBuf []byte
	for {
		rec, err := rr.Next()
		var ie *inputError
		if err == io.EOF {
			break
		}
		if errors.As(err, &ie) {
			fmt.Fprintf(env.Stderr, "scorecmdline eval: %v\n", err)
			bad++
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if rec.Label != "malicious" && rec.Label != "benign" {
			fmt.Fprintf(env.Stderr, "scorecmdline eval: %s:%d: label %q is neither malicious nor benign\n", name, rec.Line, rec.Label)
			bad++
			continue
		}
		evBuf = rec.Fill(&e, evBuf)
		o.labels = append(o.labels, rec.Label == "malicious")
		for i, d := range ev.dets {
			res := d.scorer.Score(&e)
			o.alerts[i] = append(o.alerts[i], d.alert(res))
			o.scores[i] = append(o.scores[i], res.Score)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%s: %d records skipped", name, bad)
	}
	return nil
}

// evalRow is one detector's outcome on one file, or on all ("overall").
type evalRow struct {
	Detector  string   `json:"detector"`
	File      string   `json:"file"`
	Rows      int      `json:"rows"`
	Malicious int      `json:"malicious"`
	Benign    int      `json:"benign"`
	Alerts    int      `json:"alerts"`
	TP        int      `json:"tp"`
	FP        int      `json:"fp"`
	TPR       *float64 `json:"tpr"` // nil without malicious rows
	FPR       *float64 `json:"fpr"` // nil without benign rows
	AUC       *float64 `json:"auc,omitempty"`
	TPRAt1    *float64 `json:"tpr_at_1pct_fpr,omitempty"`
	TPRAt01   *float64 `json:"tpr_at_0.1pct_fpr,omitempty"`
}

// evalReport is what eval prints: per detector, its files then overall.
type evalReport struct {
	Rows []evalRow `json:"rows"`
}

func (ev *evaluator) report() *evalReport {
	rep := &evalReport{}
	for i, d := range ev.dets {
		all := &outcomes{name: "overall", alerts: make([][]bool, len(ev.dets)), scores: make([][]float64, len(ev.dets))}
		for _, o := range ev.files {
			rep.Rows = append(rep.Rows, row(d, o, i))
			all.labels = append(all.labels, o.labels...)
			all.alerts[i] = append(all.alerts[i], o.alerts[i]...)
			all.scores[i] = append(all.scores[i], o.scores[i]...)
		}
		rep.Rows = append(rep.Rows, row(d, all, i))
	}
	return rep
}

func row(d *detector, o *outcomes, i int) evalRow {
	r := evalRow{Detector: d.name, File: o.name, Rows: len(o.labels)}
	// Alerts are booleans: as scores 1 and 0 with threshold 0.5.
	alerts := make([]float64, len(o.labels))
	for j, a := range o.alerts[i] {
		if a {
			alerts[j] = 1
		}
	}
	c := metrics.Count(o.labels, alerts, 0.5)
	r.Malicious, r.Benign = c.TP+c.FN, c.FP+c.TN
	r.Alerts, r.TP, r.FP = c.TP+c.FP, c.TP, c.FP
	r.TPR, r.FPR = number(c.TPR()), number(c.FPR())
	if d.model {
		if auc, ok := metrics.AUC(o.labels, o.scores[i]); ok {
			r.AUC = &auc
		}
		if tpr, _, ok := metrics.TPRAtFPR(o.labels, o.scores[i], 0.01); ok {
			r.TPRAt1 = &tpr
		}
		if tpr, _, ok := metrics.TPRAtFPR(o.labels, o.scores[i], 0.001); ok {
			r.TPRAt01 = &tpr
		}
	}
	return r
}

// number is v, or nil for NaN (a rate without a denominator).
func number(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

func (rep *evalReport) table(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	io.WriteString(tw, "detector\tfile\trows\tmalicious\tbenign\talerts\tTPR\tFPR\tAUC\tTPR@1%FPR\tTPR@0.1%FPR\t\n")
	prev := ""
	for _, r := range rep.Rows {
		name := r.Detector
		if name == prev {
			name = ""
		}
		prev = r.Detector
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", name, r.File, r.Rows, r.Malicious, r.Benign,
			r.Alerts, pct(r.TPR, true), pct(r.FPR, true), pct(r.AUC, false), pct(r.TPRAt1, true), pct(r.TPRAt01, true))
	}
	tw.Flush()
	fmt.Fprint(w, `
alerts: a model's deployed decision (model_alert, e.g. escu: len(cmdline) > 200 and score > 0.5),
rule_count > 0 for packs (from min_level when given), obfuscation not empty for
obfuscation, model_alert or rule_count > 0 for the combination.
AUC and TPR at FPR rank a model's raw score, ungated.
`)
}

func pct(v *float64, percent bool) string {
	switch {
	case v == nil:
		return "-"
	case percent:
		return fmt.Sprintf("%.1f%%", *v*100)
	}
	return fmt.Sprintf("%.3f", *v)
}
