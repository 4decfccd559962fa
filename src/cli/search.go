package cli

import (
	"fmt"
	"io"
	"io/fs"

	"scorecmdline/src/config"
	"scorecmdline/src/score"
	"scorecmdline/src/searchcmd"
)

// searchCommand is `| scorecmdline`: it turns the getinfo arguments into a
// scoring engine and a row function for the protocol runtime.
type searchCommand struct {
	lookups fs.FS
}

func (c *searchCommand) Getinfo(req *searchcmd.Getinfo) (*searchcmd.Plan, error) {
	if len(req.Positional) > 0 {
		return nil, fmt.Errorf("unexpected argument %q: options are written name=value, e.g. field=process", req.Positional[0])
	}
	opts := score.Defaults()
	if err := config.Decode(req.Options, &opts); err != nil {
		return nil, err
	}
	eng, err := score.New(c.lookups, opts)
	if err != nil {
		return nil, err
	}
	return searchPlan(eng), nil
}

func searchPlan(eng *score.Engine) *searchcmd.Plan {
	opts := eng.Options()
	p := &searchcmd.Plan{Inputs: []string{opts.Field}}
	if eng.Rules() != nil && opts.ParentField != "" {
		p.Inputs = append(p.Inputs, opts.ParentField)
	}
	for _, f := range eng.Fields() {
		p.Outputs = append(p.Outputs, searchcmd.Field{Name: f.Name, Multi: f.Multi})
	}
	p.NewWorker = func() searchcmd.RowFunc {
		sc := eng.NewScorer()
		var scratch []byte
		return func(in [][]byte, out *searchcmd.Out) {
			var parent []byte
			if len(in) > 1 {
				parent = in[1]
			}
			scratch = sc.Score(in[0], parent).Emit(out, scratch)
		}
	}
	return p
}

func runSearch(env Env, stdin io.Reader) int {
	cmd := &searchCommand{lookups: config.Lookups("")}
	err := searchcmd.Run(cmd, stdin, env.Stdout, searchcmd.Config{Log: env.Stderr})
	if err != nil {
		// searchcmd has already sent the ERROR message to splunkd and logged it.
		return 1
	}
	return 0
}
