package score

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"

	"scorecmdline/src/event"
	"scorecmdline/src/features"
	"scorecmdline/src/linear"
	"scorecmdline/src/model"
)

// linearModel adapts a trained model (model=cmdline, or any
// lookups/<name>.model.bin that `scorecmdline train` wrote): score is the
// probability that the command line is malicious, and the alert is the
// threshold stored in the file.
type linearModel struct {
	m       *linear.Model
	context bool // the model reads the parent and the image
}

// trainedSuffix names a trained model's file: lookups/<name>.model.bin.
const trainedSuffix = ".model.bin"

// explainTop is how many features score_features lists for a trained model.
const explainTop = 10

func loadLinearModel(fsys fs.FS, name string) (Model, error) {
	m, err := linear.Load(fsys, name+trainedSuffix)
	if err != nil {
		return nil, err
	}
	lm := linearModel{m: m}
	for _, st := range m.Stages {
		lm.context = lm.context || st.Groups.Has(features.Context)
	}
	return lm, nil
}

func (l linearModel) Needs() event.Set {
	s := event.Set(0).Add(event.Process)
	if l.context {
		s = s.Add(event.ParentProcessName).Add(event.ProcessPath)
	}
	return s
}

func (l linearModel) NewScorer() ModelScorer { return &linearScorer{l: l, s: l.m.NewScorer()} }

type linearScorer struct {
	l       linearModel
	s       *linear.Scorer
	in      features.Input
	explain []linear.Contribution
}

func (s *linearScorer) Score(in *Input) Verdict {
	line := in.CommandLine()
	s.in = features.Input{Cmdline: line[:min(len(line), MaxStageInput)]}
	if s.l.m.Deobfuscate && in.Deob != nil {
		s.in.Deobfuscated = in.Deobfuscated()
		s.in.Techniques = uint64(in.Deob.Techniques)
		s.in.Undone = in.Deob.Undone
	}
	if s.l.context {
		ev := in.Event
		s.in.Parent = ev.Get(event.ParentProcessName)
		if s.in.Image = ev.Get(event.ProcessPath); len(s.in.Image) == 0 {
			s.in.Image = ev.Get(event.ProcessName)
		}
	}
	p := s.s.Score(&s.in)
	v := Verdict{Score: p, Alert: s.l.m.Alert(p)}
	if v.Alert {
		v.Risk = confidenceRisk(s.l.m.Risk, p, s.l.m.Threshold)
	}
	return v
}

// confidenceRisk scales a model's risk by how far past its threshold t the
// probability p is: half the risk just past the threshold, all of it at
// p = 1.
func confidenceRisk(risk int, p, t float64) int {
	c := 1.0
	if t < 1 {
		c = (p - t) / (1 - t)
	}
	return int(math.Round(float64(risk) * (0.5 + 0.5*min(max(c, 0), 1))))
}

// Explain gives feature:contribution for the features that moved the logit
// most, largest first.
func (s *linearScorer) Explain(dst []byte, emit func([]byte)) []byte {
	s.explain = s.s.Explain(s.explain[:0], explainTop)
	for _, c := range s.explain {
		dst = append(dst[:0], c.Feature...)
		dst = append(dst, ':')
		dst = strconv.AppendFloat(dst, c.Value, 'g', 6, 64)
		emit(dst)
	}
	return dst
}

// loadModel finds model name among the model files fsys holds: a keyword
// model (<name>.model.toml) or a trained one (<name>.model.bin).
func loadModel(fsys fs.FS, name string) (Model, error) {
	m, err := loadKeywordModel(fsys, name)
	if !errors.Is(err, model.ErrNotFound) {
		return m, err
	}
	m, err = loadLinearModel(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w model %q (available: %s)", ErrUnknownModel, name, available(fsys, false, ".model.toml", trainedSuffix))
	}
	return m, err
}
