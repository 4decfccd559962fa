package modinput

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"scorecmdline/src/config"
	"scorecmdline/src/score"
	"scorecmdline/src/winevent"
)

// Params are a stanza's own parameters (README/inputs.conf.spec), decoded
// with config.Decode.
type Params struct {
	// Path is a file or a filepath.Match glob; $VARS are expanded.
	Path string `mapstructure:"path"`
	// Format is auto, xml, jsonl or csv.
	Format string `mapstructure:"format"`
	// Emit is all (one event per record) or alerts (only records that hit
	// a rule or that the model alerts on).
	Emit string `mapstructure:"emit"`
	// MinScore, when set, replaces the model's own alert threshold for
	// emit=alerts; empty keeps the model's deployed decision.
	MinScore string `mapstructure:"min_score"`
	Model    string `mapstructure:"model"`
	// Rules lists rule packs, comma-separated, or none.
	Rules []string `mapstructure:"rules"`
	// MinLevel hides rule hits below this level.
	MinLevel string `mapstructure:"min_level"`
	// Start is beginning or end: where a stanza's first run starts in the
	// files it finds.
	Start string `mapstructure:"start"`
	// PollInterval is the seconds between looks at the files.
	PollInterval float64 `mapstructure:"poll_interval"`
	// BatchSize bounds the records consumed between checkpoints, so it
	// bounds what a crash can repeat.
	BatchSize int `mapstructure:"batch_size"`
}

// DefaultParams returns the documented defaults.
func DefaultParams() Params {
	d := score.Defaults()
	return Params{
		Format:       "auto",
		Emit:         "all",
		Model:        d.Model,
		Rules:        d.Rules,
		Start:        "beginning",
		PollInterval: 1,
		BatchSize:    500,
	}
}

// inherited are the parameters splunkd passes for every input (from
// inputs.conf defaults); they are accepted and, except index and host, not
// used. Names starting with "_" (_TCP_ROUTING, _meta...) are routing
// settings and are accepted too.
var inherited = map[string]bool{
	"index": true, "host": true, "interval": true, "sourcetype": true, "source": true,
	"disabled": true, "python.version": true, "start_by_shell": true, "run_introspection": true,
	"queue": true, "queueSize": true, "persistentQueueSize": true, "passAuth": true,
	"send_index_as_argument_for_path": true, "run_only_one": true,
}

// stanzaConfig is a decoded, checked stanza.
type stanzaConfig struct {
	Name   string
	Params Params
	Index  string
	Host   string
	format winevent.Format
	poll   time.Duration
	// minScore replaces the model's threshold for emit=alerts; NaN keeps
	// the model's own decision.
	minScore float64
}

// parseStanza decodes and checks a stanza's parameters. It returns every
// problem it finds, each as a *config.ArgError or *ParamError. Models and
// rule packs are checked by score.New, not here.
func parseStanza(name string, params map[string]string) (*stanzaConfig, []error) {
	sc := &stanzaConfig{Name: name, Params: DefaultParams()}
	var errs []error
	own := map[string]string{}
	for n, v := range params {
		switch {
		case n == "index":
			sc.Index = strings.TrimSpace(v)
		case n == "host":
			sc.Host = strings.TrimSpace(v)
		case inherited[n] || strings.HasPrefix(n, "_"):
		default:
			own[n] = v
		}
	}
	// One name at a time, so every bad parameter is reported, in name order.
	for _, n := range sortedKeys(own) {
		if err := config.Decode(map[string]string{n: own[n]}, &sc.Params); err != nil {
			errs = append(errs, err)
		}
	}
	p := &sc.Params
	bad := func(name, value, hint string) {
		errs = append(errs, &ParamError{Name: name, Value: value, Hint: hint, Err: config.ErrBadValue})
	}
	if _, given := own["path"]; !given || strings.TrimSpace(p.Path) == "" {
		errs = append(errs, &ParamError{Name: "path", Value: p.Path, Hint: "required: a file or glob, e.g. /var/log/sysmon/*.xml", Err: config.ErrBadValue})
	} else {
		p.Path = os.ExpandEnv(strings.TrimSpace(p.Path))
		if !filepath.IsAbs(p.Path) {
			bad("path", own["path"], "must be an absolute path")
		} else if _, err := filepath.Match(p.Path, ""); err != nil {
			bad("path", own["path"], "bad glob pattern")
		}
	}
	if f, ok := winevent.ParseFormat(p.Format); ok {
		sc.format = f
	} else {
		bad("format", p.Format, "use auto, xml, jsonl or csv")
	}
	switch p.Emit = strings.ToLower(strings.TrimSpace(p.Emit)); p.Emit {
	case "all", "alerts":
	default:
		bad("emit", p.Emit, "use all or alerts")
	}
	switch p.Start = strings.ToLower(strings.TrimSpace(p.Start)); p.Start {
	case "beginning", "end":
	default:
		bad("start", p.Start, "use beginning or end")
	}
	sc.minScore = math.NaN()
	if v := strings.TrimSpace(p.MinScore); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			bad("min_score", p.MinScore, "a finite number, or empty for the model's own threshold")
		}
		sc.minScore = f
	}
	if !(p.PollInterval >= 0.01 && p.PollInterval <= 3600) {
		bad("poll_interval", own["poll_interval"], "seconds between 0.01 and 3600")
	} else {
		sc.poll = time.Duration(p.PollInterval * float64(time.Second))
	}
	if p.BatchSize < 1 || p.BatchSize > 1_000_000 {
		bad("batch_size", own["batch_size"], "between 1 and 1000000")
	}
	return sc, errs
}

// scoreOptions are the scoring options the stanza selects.
func (sc *stanzaConfig) scoreOptions() score.Options {
	o := score.Defaults()
	o.Model = strings.TrimSpace(sc.Params.Model)
	o.Rules = sc.Params.Rules
	o.MinLevel = strings.TrimSpace(sc.Params.MinLevel)
	return o
}

// newEngine loads the stanza's model and rule packs from the lookups.
func (sc *stanzaConfig) newEngine() (*score.Engine, error) {
	e, err := score.New(config.Lookups(""), sc.scoreOptions())
	if err != nil {
		name, value := "rules", strings.Join(sc.Params.Rules, ",")
		var oe *score.OptionError
		switch {
		case errors.Is(err, score.ErrUnknownModel) || (errors.As(err, &oe) && oe.Option == "model"):
			name, value = "model", sc.Params.Model
		case errors.As(err, &oe) && oe.Option == "min_level":
			name, value = "min_level", sc.Params.MinLevel
		}
		return nil, &ParamError{Name: name, Value: value, Hint: err.Error(), Err: fmt.Errorf("%w: %w", config.ErrBadValue, err)}
	}
	return e, nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
