package cli

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"scorecmdline/src/config"
	"scorecmdline/src/event"
	"scorecmdline/src/jsonenc"
	"scorecmdline/src/score"
)

// engineFlags are the scoring options shared by `score` and `eval`; their
// names and defaults are those of the search command.
type engineFlags struct {
	opts    score.Options
	rules   string
	lookups string
}

func (f *engineFlags) register(flags *flag.FlagSet) {
	d := score.Defaults()
	f.opts = d
	flags.StringVar(&f.opts.Model, "model", d.Model, "model name (lookups/NAME.model.toml) or none")
	flags.StringVar(&f.rules, "rules", strings.Join(d.Rules, ","), "rule packs (TOML lookups/NAME.rules.toml, Sigma lookups/NAME/), comma-separated, or none")
	flags.StringVar(&f.opts.MinLevel, "min-level", "", "hide rule hits below this level (informational, low, medium, high, critical)")
	flags.BoolVar(&f.opts.Deobfuscate, "deobfuscate", d.Deobfuscate, "run the deobfuscation stage before the detectors")
	flags.BoolVar(&f.opts.Explain, "explain", false, "add score_features, rule_explain, deobfuscated_cmdline and normalized_cmdline")
	flags.StringVar(&f.opts.Prefix, "prefix", "", "prefix for the output field names")
	flags.StringVar(&f.lookups, "lookups", "", "folder with model and rule files (default: the app's lookups, else built in)")
}

func (f *engineFlags) engine() (*score.Engine, error) {
	f.opts.Rules = config.SplitList(f.rules)
	return score.New(config.Lookups(f.lookups), f.opts)
}

func runScore(env Env, args []string) int {
	flags := flag.NewFlagSet("score", flag.ContinueOnError)
	flags.SetOutput(env.Stderr)
	var ef engineFlags
	ef.register(flags)
	field := flags.String("field", "", "JSON member or CSV column holding the command line (default: cmdline, process, CommandLine, ...)")
	parent := flags.String("parent-field", "", "JSON member or CSV column holding the parent process (default: parent_image, parent_process_name, ...)")
	input := flags.String("input", formatAuto, "input format: auto, lines, jsonl or csv (auto: by file extension, else JSON when a line starts with {)")
	format := flags.String("format", "csv", "output format: csv or json (JSON Lines)")
	flags.Usage = func() {
		fmt.Fprint(env.Stderr, "Usage: scorecmdline score [options] [FILE...]\n\nScores each command line (one per line, JSON Lines, or CSV with a header) read from\nthe files, or stdin when none is given or FILE is -, and prints one result per input.\n\nOptions:\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *format != "csv" && *format != "json" {
		fmt.Fprintf(env.Stderr, "scorecmdline score: unknown output format %q (use csv or json)\n", *format)
		return 2
	}
	eng, err := ef.engine()
	if err != nil {
		fmt.Fprintf(env.Stderr, "scorecmdline score: %v\n", err)
		return 2
	}
	for _, w := range eng.Warnings() {
		fmt.Fprintf(env.Stderr, "scorecmdline score: warning: %s\n", w)
	}
	for _, n := range eng.Notes() {
		fmt.Fprintf(env.Stderr, "scorecmdline score: %s\n", n)
	}
	files := flags.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	out := bufio.NewWriterSize(env.Stdout, 64<<10)
	w := &resultWriter{json: *format == "json", out: out, csv: csv.NewWriter(out), fields: eng.Fields()}
	sc := eng.NewScorer()
	status := 0
	for _, name := range files {
		err := scoreFile(env, name, *input, *field, *parent, sc, w)
		if err != nil {
			fmt.Fprintf(env.Stderr, "scorecmdline score: %v\n", err)
			status = 1
		}
	}
	w.csv.Flush()
	if err := errors.Join(w.csv.Error(), out.Flush()); err != nil {
		fmt.Fprintf(env.Stderr, "scorecmdline score: writing: %v\n", err)
		return 1
	}
	return status
}

// scoreFile scores one input. A record that cannot be read is reported and
// skipped; the error returned says how many were.
func scoreFile(env Env, name, input, field, parent string, sc *score.Scorer, w *resultWriter) error {
	r, closeFn, err := open(env, name)
	if err != nil {
		return err
	}
	defer closeFn()
	rr, err := newRecordReader(name, r, input, field, parent)
	if err != nil {
		return err
	}
	bad := 0
	var ev event.Event
	var evBuf []byte
	for {
		rec, err := rr.Next()
		var ie *inputError
		switch {
		case err == io.EOF:
			if bad > 0 {
				return fmt.Errorf("%s: %d records could not be read", name, bad)
			}
			return nil
		case errors.As(err, &ie):
			fmt.Fprintf(env.Stderr, "scorecmdline score: %v\n", err)
			bad++
			continue
		case err != nil:
			return fmt.Errorf("%s: %w", name, err)
		}
		evBuf = rec.Fill(&ev, evBuf)
		res := sc.Score(&ev)
		if err := w.write(rr, rec, res); err != nil {
			return err
		}
	}
}

func open(env Env, name string) (io.Reader, func(), error) {
	if name == "-" {
		return env.Stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// resultWriter prints results as CSV (input columns, then the output
// fields; multivalue fields joined with "|") or as JSON Lines.
type resultWriter struct {
	json   bool
	out    *bufio.Writer
	csv    *csv.Writer
	fields []score.Field
	header []string // the input columns of the CSV header written, nil before it
	row    []string
	vals   sinkStrings
	buf    []byte
}

func (w *resultWriter) write(rr *recordReader, rec *record, res *score.Result) error {
	if w.json {
		w.buf = append(w.buf[:0], `{"file":`...)
		w.buf = jsonenc.AppendString(w.buf, rr.name)
		w.buf = append(w.buf, `,"line":`...)
		w.buf = fmt.Appendf(w.buf, "%d", rec.Line)
		w.buf = append(w.buf, `,"cmdline":`...)
		w.buf = jsonenc.AppendString(w.buf, rec.Cmdline)
		if m := res.AppendJSON(nil); len(m) > 0 {
			w.buf = append(append(w.buf, ','), m...)
		}
		w.buf = append(w.buf, "}\n"...)
		_, err := w.out.Write(w.buf)
		return err
	}
	in := []string{"cmdline"}
	if rr.header != nil {
		in = rr.header
	}
	if w.header == nil || !slices.Equal(w.header, in) {
		if w.header != nil {
			return fmt.Errorf("%s: its columns differ from the previous file's; score CSV files with different headers separately", rr.name)
		}
		w.header = in
		head := append([]string(nil), in...)
		for _, f := range w.fields {
			head = append(head, f.Name)
		}
		if err := w.csv.Write(head); err != nil {
			return err
		}
	}
	w.row = w.row[:0]
	if rec.Columns != nil {
		w.row = append(w.row, rec.Columns...)
		for len(w.row) < len(in) {
			w.row = append(w.row, "")
		}
	} else {
		w.row = append(w.row, rec.Cmdline)
	}
	w.vals.reset(len(w.fields))
	w.buf = res.Emit(w.vals, w.buf)
	for _, v := range w.vals {
		w.row = append(w.row, strings.Join(v, "|"))
	}
	return w.csv.Write(w.row)
}

// sinkStrings is a score.Sink keeping each field's values as strings.
type sinkStrings [][]string

func (s *sinkStrings) reset(n int) {
	if cap(*s) < n {
		*s = make([][]string, n)
	}
	*s = (*s)[:n]
	for i := range *s {
		(*s)[i] = (*s)[i][:0]
	}
}
func (s sinkStrings) Set(i int, v []byte)    { s[i] = append(s[i][:0], string(v)) }
func (s sinkStrings) Append(i int, v []byte) { s[i] = append(s[i], string(v)) }
