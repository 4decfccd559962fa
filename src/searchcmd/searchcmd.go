// Package searchcmd runs a streaming Splunk search command over the chunked
// protocol (SCP v2): one getinfo exchange, then one reply per execute
// request, each reply carrying every input row unchanged plus the columns
// the command adds. It knows nothing about what the command computes.
//
// A request body such as
//
//	process,"_chunked_idx","__mv_process"
//	"cmd /c whoami",0,
//
// answered by a command with the output "len" becomes
//
//	process,"_chunked_idx","__mv_process",len
//	"cmd /c whoami",0,,13
//
// Input rows are copied through byte for byte (multivalue and hidden
// columns included); only the columns the command reads are decoded, and
// only the added columns are encoded. The rows of a chunk are split into
// contiguous ranges processed by concurrent workers; the reply is written
// once the whole request has been processed.
//
// Memory is bounded by the current chunk: the input buffer (reused across
// chunks) plus the encoded added columns, with no allocation per row in
// steady state. Run does not change GC settings; a caller that wants a hard
// ceiling sets GOMEMLIMIT (or debug.SetMemoryLimit).
//
// CSV follows RFC 4180 with "," and `"`: LF or CRLF line ends, quoted
// newlines, doubled quotes, a UTF-8 BOM before the header (dropped from the
// reply). A carriage return that does not end a line is an error, so
// CR-only line ends are reported rather than misread. Invalid UTF-8 and NUL
// bytes are data like any other.
package searchcmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"scorecmdline/src/chunk"
)

// Field is an output field the command adds.
type Field struct {
	Name  string
	Multi bool // also emit the __mv_<Name> companion column
}

// Plan is what a command answers to getinfo.
type Plan struct {
	// Inputs are the fields the command reads, in the order RowFunc receives
	// them; they are declared to splunkd as required_fields.
	Inputs []string
	// Outputs are the fields the command adds, in output order.
	Outputs []Field
	// Warnings are shown in the Search UI (inspector WARN messages) without
	// stopping the search: a rule file that was skipped, say.
	Warnings []string
	// NewWorker returns the row function of one worker. Workers run
	// concurrently, each calling its own RowFunc from one goroutine.
	NewWorker func() RowFunc
}

// RowFunc computes one row's outputs. in[i] is the CSV-unquoted value of
// Plan.Inputs[i]: nil when the column is absent from the chunk, empty when
// the value is empty. A multivalue field arrives as its plain column, the
// values joined by "\n"; the __mv_ column is not decoded. in and its
// values are valid only during the call and must not be modified.
type RowFunc func(in [][]byte, out *Out)

// Command is implemented by the search command.
type Command interface {
	// Getinfo validates the arguments and returns the plan. Its error text
	// is shown to the user as is (e.g. "Unrecognized option: n=v").
	Getinfo(req *Getinfo) (*Plan, error)
}

// Getinfo is the getinfo request.
type Getinfo struct {
	Action                      string     `mapstructure:"action"`
	Preview                     bool       `mapstructure:"preview"`
	StreamingCommandWillRestart bool       `mapstructure:"streaming_command_will_restart"`
	SearchInfo                  SearchInfo `mapstructure:"searchinfo"`
	// Options holds the searchinfo.args items containing "=", split at the
	// first "=" (splunkd has already removed the quotes).
	Options map[string]string `mapstructure:"-"`
	// Positional holds the other args, in order.
	Positional []string `mapstructure:"-"`
}

// SearchInfo is the getinfo request's searchinfo. Numbers and times are
// accepted as JSON strings or numbers, as splunkd versions differ; unknown
// keys are ignored.
type SearchInfo struct {
	Args          []string `mapstructure:"args"`
	RawArgs       []string `mapstructure:"raw_args"`
	DispatchDir   string   `mapstructure:"dispatch_dir"`
	SID           string   `mapstructure:"sid"`
	App           string   `mapstructure:"app"`
	Owner         string   `mapstructure:"owner"`
	Username      string   `mapstructure:"username"`
	SessionKey    string   `mapstructure:"session_key"`
	SplunkdURI    string   `mapstructure:"splunkd_uri"`
	SplunkVersion string   `mapstructure:"splunk_version"`
	Search        string   `mapstructure:"search"` // percent-decoded
	Command       string   `mapstructure:"command"`
	MaxResultRows int      `mapstructure:"maxresultrows"`
	EarliestTime  float64  `mapstructure:"earliest_time"`
	LatestTime    float64  `mapstructure:"latest_time"`
}

// Config tunes Run. Zero values mean the defaults.
type Config struct {
	MaxChunkSize int64     // input chunk limit (metadata+body); default 1 GiB
	MaxFieldSize int       // longest CSV field; default 64 MiB
	Workers      int       // concurrent workers; default runtime.GOMAXPROCS(0)
	Log          io.Writer // error log; default os.Stderr
}

func (c Config) withDefaults() Config {
	if c.MaxChunkSize <= 0 {
		c.MaxChunkSize = chunk.DefaultMaxSize
	}
	if c.MaxFieldSize <= 0 {
		c.MaxFieldSize = 64 << 20
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Log == nil {
		c.Log = os.Stderr
	}
	return c
}

// minWorkerBytes is the least body a worker gets: below it the cost of a
// goroutine outweighs the parallelism. A variable so tests can force splits.
var minWorkerBytes = 64 << 10

var (
	metaFinished    = []byte(`{"finished":true}`)
	metaNotFinished = []byte(`{"finished":false}`)
)

// session is the state of one Run.
type session struct {
	cfg     Config
	r       *chunk.Reader
	w       *chunk.Writer
	plan    *Plan
	workers []*worker
	body    *bodyState
}

// Run answers the getinfo request on stdin, then every execute request,
// until EOF at a chunk boundary, when it returns nil. Only protocol bytes go
// to stdout. On a fatal error it writes one reply carrying an ERROR message
// (with finished:true), logs "ERROR <text>" to cfg.Log and returns the
// error; the caller should exit 1.
func Run(cmd Command, stdin io.Reader, stdout io.Writer, cfg Config) error {
	s := &session{cfg: cfg.withDefaults(), r: chunk.NewReader(stdin), w: chunk.NewWriter(stdout)}
	s.r.MaxSize = s.cfg.MaxChunkSize
	s.body = &bodyState{}
	if err := s.getinfo(cmd); err != nil {
		return err
	}
	for {
		meta, body, err := s.r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return s.fail(err, false)
		}
		n, off := s.r.Chunk()
		req, err := decodeExecute(meta)
		if err == nil && req.Action != "execute" {
			err = fmt.Errorf("%w %q, expected \"execute\"", ErrAction, req.Action)
		}
		if err == nil {
			err = s.process(body)
		}
		if err != nil {
			return s.fail(&Error{Chunk: n, Offset: off, Err: err}, false)
		}
		meta = metaNotFinished
		if req.Finished {
			meta = metaFinished
		}
		if err := s.reply(meta, body); err != nil {
			return s.writeFailed(err)
		}
	}
}

// getinfo performs the getinfo exchange.
func (s *session) getinfo(cmd Command) error {
	meta, body, err := s.r.Next()
	n, off := s.r.Chunk()
	if err == io.EOF {
		return s.fail(&Error{Chunk: 1, Offset: 0, Err: ErrNoRequest}, true)
	}
	if err != nil {
		return s.fail(err, true)
	}
	req, err := decodeGetinfo(meta)
	switch {
	case err != nil:
	case req.Action != "getinfo":
		err = fmt.Errorf("%w %q, expected \"getinfo\"", ErrAction, req.Action)
	case len(body) > 0:
		err = fmt.Errorf("%w (%d bytes)", ErrGetinfoBody, len(body))
	}
	if err != nil {
		return s.fail(&Error{Chunk: n, Offset: off, Err: err}, true)
	}
	// Errors from here on are about the user's arguments or the command:
	// shown without a chunk position.
	if err := splitArgs(req); err != nil {
		return s.fail(err, true)
	}
	plan, err := callGetinfo(cmd, req)
	if err == nil {
		err = checkPlan(plan)
	}
	if err != nil {
		return s.fail(err, true)
	}
	s.plan = plan
	if err := s.w.Write(getinfoReply(plan), nil); err != nil {
		return s.writeFailed(err)
	}
	return nil
}

func callGetinfo(cmd Command, req *Getinfo) (plan *Plan, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: getinfo: panic: %v", ErrCommand, r)
		}
	}()
	return cmd.Getinfo(req)
}

func checkPlan(p *Plan) error {
	if p == nil || p.NewWorker == nil {
		return fmt.Errorf("%w: no plan or no NewWorker", ErrPlan)
	}
	seen := map[string]bool{}
	for _, in := range p.Inputs {
		if in == "" {
			return fmt.Errorf("%w: empty input name", ErrPlan)
		}
	}
	for _, o := range p.Outputs {
		switch {
		case o.Name == "":
			return fmt.Errorf("%w: empty output name", ErrPlan)
		case strings.HasPrefix(o.Name, "__mv_"):
			return fmt.Errorf("%w: output name %q uses the reserved __mv_ prefix", ErrPlan, o.Name)
		case seen[o.Name]:
			return fmt.Errorf("%w: output %q declared twice", ErrPlan, o.Name)
		}
		seen[o.Name] = true
	}
	return nil
}

// fail reports a fatal error: one ERROR reply, a log line, the error back.
func (s *session) fail(err error, duringGetinfo bool) error {
	text := err.Error()
	fmt.Fprintf(s.cfg.Log, "ERROR %s\n", text)
	if werr := s.w.Write(errorReply(text, duringGetinfo), nil); werr != nil {
		fmt.Fprintf(s.cfg.Log, "ERROR writing the error reply: %v\n", werr)
	}
	return err
}

// writeFailed reports that stdout is gone: no reply can be sent.
func (s *session) writeFailed(err error) error {
	err = fmt.Errorf("writing reply: %w", err)
	fmt.Fprintf(s.cfg.Log, "ERROR %v\n", err)
	return err
}

// process parses the request body and runs the command over its rows.
func (s *session) process(body []byte) error {
	b := s.body
	b.reset()
	if len(body) == 0 || bytes.Equal(body, bom) { // no header: no rows
		return nil
	}
	if err := b.parseHeader(body, s.plan, s.cfg.MaxFieldSize); err != nil {
		return err
	}
	start, end := b.rowsStart, len(body)
	n := min(s.cfg.Workers, (end-start)/minWorkerBytes+1)
	for len(s.workers) < n {
		w, err := newWorker(s.plan)
		if err != nil {
			return err
		}
		s.workers = append(s.workers, w)
	}
	bounds := splitRows(body, start, end, n, b.bounds[:0])
	b.bounds = bounds
	var wg sync.WaitGroup
	for k := 1; k < n; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.workers[k].run(body, bounds[k], bounds[k+1], &b.lay)
		}()
	}
	s.workers[0].run(body, bounds[0], bounds[1], &b.lay)
	wg.Wait()
	b.active = n
	rows := 0
	for _, w := range s.workers[:n] {
		if w.err != nil {
			var re *RowError
			if errors.As(w.err, &re) {
				re.Row += rows
			}
			return w.err
		}
		rows += len(w.rows)
	}
	return nil
}

func newWorker(p *Plan) (w *worker, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: NewWorker: panic: %v", ErrCommand, r)
		}
	}()
	fn := p.NewWorker()
	if fn == nil {
		return nil, fmt.Errorf("%w: NewWorker returned nil", ErrPlan)
	}
	return &worker{
		fn:      fn,
		in:      make([][]byte, len(p.Inputs)),
		scratch: make([][]byte, len(p.Inputs)),
		out:     Out{vals: make([][]valSpan, len(p.Outputs))},
	}, nil
}

// reply writes the reply to the request just processed.
func (s *session) reply(meta, body []byte) error {
	b := s.body
	if b.active == 0 {
		if len(b.hdr) == 0 {
			return s.w.Write(meta, nil)
		}
		return s.w.Write(meta, b.hdr)
	}
	size := int64(len(b.hdr))
	for _, w := range s.workers[:b.active] {
		size += w.size
	}
	return s.w.WriteBody(meta, size, func(bw io.Writer) error {
		if _, err := bw.Write(b.hdr); err != nil {
			return err
		}
		for _, w := range s.workers[:b.active] {
			if err := w.writeRows(bw, body); err != nil {
				return err
			}
		}
		return nil
	})
}

// splitRows divides body[start:end] into n ranges that begin at row
// boundaries. A newline ends a row when an even number of quotes precede
// it: in valid CSV every quote opens, closes or is doubled. Counting quotes
// is far faster than parsing, so the ranges can then be parsed in parallel.
// If quoting is broken the first range that contains the damage still
// starts right, and its error is reported first.
func splitRows(body []byte, start, end, n int, bounds []int) []int {
	bounds = append(bounds, start)
	pos, odd := start, 0
	for k := 1; k < n; k++ {
		target := max(start+(end-start)/n*k, pos)
		odd ^= bytes.Count(body[pos:target], quote) & 1
		pos = target
		for pos < end {
			i := bytes.IndexByte(body[pos:end], '\n')
			if i < 0 {
				odd ^= bytes.Count(body[pos:end], quote) & 1
				pos = end
				break
			}
			odd ^= bytes.Count(body[pos:pos+i], quote) & 1
			pos += i + 1
			if odd == 0 {
				break
			}
		}
		bounds = append(bounds, pos)
	}
	return append(bounds, end)
}

var quote = []byte{'"'}
