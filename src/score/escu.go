package score

import (
	"io/fs"
	"strconv"

	"scorecmdline/src/event"
	"scorecmdline/src/model"
)

// escuModel adapts the ESCU keyword model (model=escu and any other
// lookups/<name>.model.toml): score is the raw linear score, bit for bit
// MLTK's, and the alert is the ESCU search's `len(process) > 200` and
// `score > 0.5`, both read from the model file.
type escuModel struct{ m *model.Model }

func loadKeywordModel(fsys fs.FS, name string) (Model, error) {
	m, err := model.Load(fsys, name)
	if err != nil {
		return nil, err
	}
	return escuModel{m}, nil
}

func (e escuModel) Needs() event.Set { return event.Set(0).Add(event.Process) }

func (e escuModel) NewScorer() ModelScorer { return &escuScorer{m: e.m, s: e.m.NewScorer()} }

type escuScorer struct {
	m        *model.Model
	s        *model.Scorer
	features []model.Contribution
}

func (s *escuScorer) Score(in *Input) Verdict {
	line := in.CommandLine()
	v := Verdict{Score: s.s.Score(line)}
	if s.m.Alert(line, v.Score) {
		v.Alert, v.Risk = true, s.m.Risk
	}
	return v
}

// Explain gives keyword:count:contribution per keyword found, in summation
// order.
func (s *escuScorer) Explain(dst []byte, emit func([]byte)) []byte {
	s.features = s.s.Contributions(s.features[:0])
	for _, c := range s.features {
		dst = append(dst[:0], c.Keyword...)
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, int64(c.Count), 10)
		dst = append(dst, ':')
		dst = model.AppendFloat(dst, c.Value)
		emit(dst)
	}
	return dst
}
