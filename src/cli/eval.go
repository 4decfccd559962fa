package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"scorecmdline/src/config"
	"scorecmdline/src/event"
	"scorecmdline/src/score"
)

// runEval is `scorecmdline eval`: detection quality on labelled JSON Lines
// ({"cmdline":..., "label":"malicious"|"benign", "parent_image":...}).
func runEval(env Env, args []string) int {
	flags := flag.NewFlagSet("eval", flag.ContinueOnError)
	flags.SetOutput(env.Stderr)
	modelName := flags.String("model", "escu", "model to measure, or none")
	rulesFlag := flags.String("rules", "sentinel_cmd", "rule packs to measure, each on its own and combined, or none")
	lookups := flags.String("lookups", "", "folder with model and rule files (default: built in)")
	asJSON := flags.Bool("json", false, "print JSON instead of a table")
	flags.Usage = func() {
		fmt.Fprint(env.Stderr, `Usage: scorecmdline eval [options] FILE...

Reads labelled JSON Lines (cmdline, label "malicious" or "benign", optional
parent_image) and prints per file and overall: rows, alerts and rates for the
model at its deployed gate and threshold (len > min_length and score >
threshold: 200 and 0.5 for escu), for each rule pack (rule_count > 0), and for
both combined; for the raw score, ROC AUC and the TPR at 1% FPR.

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
	ev, err := newEvaluator(config.Lookups(*lookups), *modelName, config.SplitList(*rulesFlag))
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

// evaluator scores each labelled line with the model alone and with each
// pack alone, so every detector is measured on its own.
type evaluator struct {
	model     *score.Scorer // nil with model=none
	modelName string
	packs     []string
	packScore []*score.Scorer
	sets      []*set // per file, in order; overall is computed from them
}

type set struct {
	name   string
	labels []bool    // true = malicious
	scores []float64 // raw model scores
	model  []bool    // deployed model alert
	packs  [][]bool  // per pack: rule_count > 0
}

func newEvaluator(lookups fs.FS, modelName string, packs []string) (*evaluator, error) {
	ev := &evaluator{modelName: modelName}
	if modelName != score.None {
		eng, err := score.New(lookups, score.Options{Model: modelName, Rules: []string{score.None}})
		if err != nil {
			return nil, err
		}
		ev.model = eng.NewScorer()
	}
	if !(len(packs) == 1 && packs[0] == score.None) {
		for _, p := range packs {
			eng, err := score.New(lookups, score.Options{Model: score.None, Rules: []string{p}})
			if err != nil {
				return nil, err
			}
			ev.packs = append(ev.packs, p)
			ev.packScore = append(ev.packScore, eng.NewScorer())
		}
	}
	return ev, nil
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
	s := &set{name: filepath.Base(name), packs: make([][]bool, len(ev.packs))}
	ev.sets = append(ev.sets, s)
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
		s.labels = append(s.labels, rec.Label == "malicious")
		if ev.model != nil {
			res := ev.model.Score(&e)
			s.scores = append(s.scores, res.Score)
			s.model = append(s.model, res.ModelAlert)
		}
		for i, ps := range ev.packScore {
			s.packs[i] = append(s.packs[i], len(ps.Score(&e).Hits) > 0)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%s: %d records skipped", name, bad)
	}
	return nil
}

// Rates is one detector's outcome on one set.
type Rates struct {
	Alerts int      `json:"alerts"`
	TP     int      `json:"tp"`
	FP     int      `json:"fp"`
	TPR    *float64 `json:"tpr"` // nil when the set has no malicious rows
	FPR    *float64 `json:"fpr"` // nil when the set has no benign rows
}

// Row is the report for one file, or for all files ("overall").
type Row struct {
	Name      string           `json:"name"`
	Rows      int              `json:"rows"`
	Malicious int              `json:"malicious"`
	Benign    int              `json:"benign"`
	Model     *Rates           `json:"model,omitempty"`
	Packs     map[string]Rates `json:"packs,omitempty"`
	Combined  Rates            `json:"combined"`
	AUC       *float64         `json:"score_auc,omitempty"`
	TPRAt1FPR *float64         `json:"score_tpr_at_1pct_fpr,omitempty"`
}

// Report is what eval prints.
type Report struct {
	Model string   `json:"model"`
	Packs []string `json:"packs"`
	Files []Row    `json:"files"`
	All   Row      `json:"overall"`
}

func (ev *evaluator) report() *Report {
	rep := &Report{Model: ev.modelName, Packs: ev.packs}
	all := &set{name: "overall", packs: make([][]bool, len(ev.packs))}
	for _, s := range ev.sets {
		rep.Files = append(rep.Files, ev.row(s))
		all.labels = append(all.labels, s.labels...)
		all.scores = append(all.scores, s.scores...)
		all.model = append(all.model, s.model...)
		for i := range s.packs {
			all.packs[i] = append(all.packs[i], s.packs[i]...)
		}
	}
	rep.All = ev.row(all)
	return rep
}

func (ev *evaluator) row(s *set) Row {
	r := Row{Name: s.name, Rows: len(s.labels)}
	for _, l := range s.labels {
		if l {
			r.Malicious++
		} else {
			r.Benign++
		}
	}
	combined := make([]bool, len(s.labels))
	if ev.model != nil {
		m := rates(s.labels, s.model)
		r.Model = &m
		copy(combined, s.model)
		r.AUC, r.TPRAt1FPR = auc(s.labels, s.scores), tprAtFPR(s.labels, s.scores, 0.01)
	}
	if len(ev.packs) > 0 {
		r.Packs = map[string]Rates{}
	}
	for i, p := range ev.packs {
		r.Packs[p] = rates(s.labels, s.packs[i])
		for j, a := range s.packs[i] {
			combined[j] = combined[j] || a
		}
	}
	r.Combined = rates(s.labels, combined)
	return r
}

func rates(labels, alerts []bool) Rates {
	var r Rates
	pos, neg := 0, 0
	for i, l := range labels {
		if l {
			pos++
		} else {
			neg++
		}
		if alerts[i] {
			r.Alerts++
			if l {
				r.TP++
			} else {
				r.FP++
			}
		}
	}
	r.TPR, r.FPR = ratio(r.TP, pos), ratio(r.FP, neg)
	return r
}

func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	v := float64(a) / float64(b)
	return &v
}

// auc is the ROC AUC of scores for labels: the probability that a random
// malicious row outscores a random benign one, ties counting one half.
func auc(labels []bool, scores []float64) *float64 {
	type pt struct {
		s   float64
		pos bool
	}
	pts := make([]pt, len(scores))
	pos := 0
	for i := range scores {
		pts[i] = pt{scores[i], labels[i]}
		if labels[i] {
			pos++
		}
	}
	neg := len(pts) - pos
	if pos == 0 || neg == 0 {
		return nil
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].s < pts[j].s })
	// Sum of the positives' ranks, ties getting their average rank.
	rankSum := 0.0
	for i := 0; i < len(pts); {
		j := i
		for j < len(pts) && pts[j].s == pts[i].s {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1 .. j
		for k := i; k < j; k++ {
			if pts[k].pos {
				rankSum += avg
			}
		}
		i = j
	}
	v := (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
	return &v
}

// tprAtFPR is the highest TPR of a rule "score > t" whose FPR is at most
// maxFPR.
func tprAtFPR(labels []bool, scores []float64, maxFPR float64) *float64 {
	var negs, poss []float64
	for i, s := range scores {
		if labels[i] {
			poss = append(poss, s)
		} else {
			negs = append(negs, s)
		}
	}
	if len(negs) == 0 || len(poss) == 0 {
		return nil
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(negs)))
	k := int(math.Floor(maxFPR * float64(len(negs)))) // false positives allowed
	// The lowest threshold with at most k benign scores above it is the
	// (k+1)-th highest benign score.
	t := negs[min(k, len(negs)-1)]
	tp := 0
	for _, s := range poss {
		if s > t {
			tp++
		}
	}
	return ratio(tp, len(poss))
}

func (rep *Report) table(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "file\trows\tmalicious\tbenign\t"
	if rep.Model != score.None {
		head += rep.Model + " alerts\tTPR\tFPR\t"
	}
	for _, p := range rep.Packs {
		head += p + " alerts\tTPR\tFPR\t"
	}
	head += "combined alerts\tTPR\tFPR\t"
	if rep.Model != score.None {
		head += "score AUC\tTPR@1%FPR\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range append(rep.Files, rep.All) {
		line := fmt.Sprintf("%s\t%d\t%d\t%d\t", r.Name, r.Rows, r.Malicious, r.Benign)
		if r.Model != nil {
			line += cells(*r.Model)
		}
		for _, p := range rep.Packs {
			line += cells(r.Packs[p])
		}
		line += cells(r.Combined)
		if rep.Model != score.None {
			line += pct(r.AUC, false) + "\t" + pct(r.TPRAt1FPR, true) + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nmodel alert: the model's deployed gate and threshold (escu: len(cmdline) > 200 and score > 0.5);")
	fmt.Fprint(w, "pack alert: rule_count > 0; combined: either. AUC and TPR@1% FPR rank the raw score, ungated.\n")
}

func cells(r Rates) string {
	return fmt.Sprintf("%d\t%s\t%s\t", r.Alerts, pct(r.TPR, true), pct(r.FPR, true))
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
