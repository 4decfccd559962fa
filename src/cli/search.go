package cli

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"scorecmdline/src/config"
	"scorecmdline/src/event"
	"scorecmdline/src/score"
	"scorecmdline/src/searchcmd"
)

// searchCommand is `| scorecmdline`: it turns the getinfo arguments into a
// scoring engine and a row function for the protocol runtime.
type searchCommand struct {
	lookups fs.FS
	log     io.Writer
}

func (c *searchCommand) Getinfo(req *searchcmd.Getinfo) (*searchcmd.Plan, error) {
	if len(req.Positional) > 0 {
		return nil, fmt.Errorf("unexpected argument %q: options are written name=value, e.g. field=process", req.Positional[0])
	}
	opts := score.Defaults()
	if err := config.Decode(req.Options, &opts); err != nil {
		return nil, err
	}
	if opts.Field == "" {
		return nil, errors.New("Illegal value: field= (name the field holding the command line, e.g. field=process)")
	}
	eng, err := score.New(c.lookups, opts)
	if err != nil {
		return nil, err
	}
	for _, n := range eng.Notes() {
		fmt.Fprintf(c.log, "INFO %s\n", n)
	}
	// Build the matching tables while splunkd reads the getinfo reply and
	// prepares the first chunk, not before answering it.
	go eng.Prepare()
	p := searchPlan(eng)
	p.Warnings = eng.Warnings()
	return p, nil
}

// searchPlan asks splunkd for the fields the loaded detectors read: the
// command line and parent under the names field= and parent_field= give,
// the others under their CIM names.
func searchPlan(eng *score.Engine) *searchcmd.Plan {
	opts := eng.Options()
	p := &searchcmd.Plan{}
	type source struct {
		f  event.Field
		in int // index into p.Inputs
	}
	var from []source
	for _, f := range eng.Needs().Add(event.Process).Fields() {
		name := f.String()
		switch f {
		case event.Process:
			name = opts.Field
		case event.ParentProcessName:
			if name = opts.ParentField; name == "" {
				continue
			}
		}
		i := slices.Index(p.Inputs, name)
		if i < 0 {
			i = len(p.Inputs)
			p.Inputs = append(p.Inputs, name)
		}
		from = append(from, source{f, i})
	}
	for _, f := range eng.Fields() {
		p.Outputs = append(p.Outputs, searchcmd.Field{Name: f.Name, Multi: f.Multi})
	}
	p.NewWorker = func() searchcmd.RowFunc {
		sc := eng.NewScorer()
		var ev event.Event
		var scratch []byte
		return func(in [][]byte, out *searchcmd.Out) {
			for _, s := range from {
				ev.Set(s.f, in[s.in])
			}
			ev.Complete()
			scratch = sc.Score(&ev).Emit(out, scratch)
		}
	}
	return p
}

// runSearchArgs is `scorecmdline search [flags]`: the search command with
// its limits changed, for commands.conf `command.arg.N` settings such as
// command.arg.1 = search, command.arg.2 = --max-chunk-size=2GiB.
func runSearchArgs(env Env, args []string) int {
	flags := flag.NewFlagSet("search", flag.ContinueOnError)
	flags.SetOutput(env.Stderr)
	var cfg searchcmd.Config
	var chunkSize, fieldSize string
	flags.StringVar(&chunkSize, "max-chunk-size", "1GiB", "largest request chunk (metadata + body) accepted")
	flags.StringVar(&fieldSize, "max-field-size", "64MiB", "largest CSV field accepted")
	flags.IntVar(&cfg.Workers, "workers", 0, "rows scored in parallel per chunk (default: the number of CPUs)")
	lookups := flags.String("lookups", "", "folder with model and rule files (default: the app's lookups, else built in)")
	flags.Usage = func() {
		fmt.Fprint(env.Stderr, "Usage: scorecmdline search [options]\n\nSpeaks the chunked search protocol on stdin/stdout, as without arguments, with other limits.\n\nOptions:\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	var err error
	if cfg.MaxChunkSize, err = parseSize(chunkSize); err != nil {
		fmt.Fprintf(env.Stderr, "ERROR scorecmdline search: --max-chunk-size: %v\n", err)
		return 2
	}
	n, err := parseSize(fieldSize)
	if err != nil || n > math.MaxInt32 {
		fmt.Fprintf(env.Stderr, "ERROR scorecmdline search: --max-field-size: %v\n", cmp.Or(err, errors.New("at most 2GiB")))
		return 2
	}
	cfg.MaxFieldSize = int(n)
	return serveSearch(env, env.Stdin, *lookups, cfg)
}

// parseSize reads a byte count: a whole number with an optional unit
// (KiB, MiB, GiB, or K, M, G, which mean the same powers of 1024).
func parseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "KMGBkmgib")
	unit := strings.ToLower(strings.TrimPrefix(s, num))
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size such as 512MiB", s)
	}
	shift := map[string]int{"": 0, "b": 0, "k": 10, "kib": 10, "m": 20, "mib": 20, "g": 30, "gib": 30}
	sh, ok := shift[unit]
	if !ok || n > math.MaxInt64>>sh {
		return 0, fmt.Errorf("%q is not a positive size such as 512MiB", s)
	}
	return n << sh, nil
}

func runSearch(env Env, stdin io.Reader) int {
	return serveSearch(env, stdin, "", searchcmd.Config{})
}

func serveSearch(env Env, stdin io.Reader, lookups string, cfg searchcmd.Config) int {
	// If splunkd closes our stdout, let the write fail with EPIPE so the
	// error is logged, rather than dying silently of SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	cmd := &searchCommand{lookups: config.Lookups(lookups), log: env.Stderr}
	cfg.Log = env.Stderr
	err := searchcmd.Run(cmd, stdin, env.Stdout, cfg)
	if err != nil {
		// searchcmd has already sent the ERROR message to splunkd and logged it.
		return 1
	}
	return 0
}
