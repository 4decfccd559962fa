package cli

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"scorecmdline/src/event"
	"scorecmdline/src/winevent"
)

// MaxLine bounds one input line (or CSV record) of the command line tools.
const MaxLine = 64 << 20

// record is one command line read by `score` or `eval`, with the process
// fields package winevent found when the record has a shape it knows (a
// Sysmon, 4688 or Defender record in JSON, a CSV with Windows, Defender or
// CIM column names).
type record struct {
	Line    int // 1-based line where the record starts
	Cmdline string
	Parent  string
	Label   string   // eval: "malicious" or "benign"
	Columns []string // csv: every column, for pass-through
	fields  winevent.Record
}

// Fill sets ev to every field of the record: winevent's, with the command
// line and parent the options picked over them (the parent as a path when
// it holds a separator, else as a name, as event.SetNameOrPath decides),
// then completed. buf is reused as winevent.Record.Fill does.
func (r *record) Fill(ev *event.Event, buf []byte) []byte {
	f := r.fields
	f.Process = r.Cmdline
	if r.Parent != "" {
		f.ParentProcessName, f.ParentProcessPath = r.Parent, ""
	}
	buf = f.Fill(ev, buf)
	if r.Parent != "" {
		v := ev.Get(event.ParentProcessName)
		ev.Set(event.ParentProcessName, nil)
		ev.SetNameOrPath(event.ParentProcessName, event.ParentProcessPath, v)
	}
	ev.Complete()
	return buf
}

// recordReader yields records from one input in one of three formats.
type recordReader struct {
	name   string
	format string // lines, jsonl or csv
	field  string
	parent string
	br     *bufio.Reader
	cr     *csv.Reader
	header []string
	win    *winevent.CSVHeader // nil when no column is one winevent knows
	fi, pi int                 // csv column indexes; either may be -1
	line   int
}

// Input formats of the command line tools.
const (
	formatAuto  = "auto"
	formatLines = "lines"
	formatJSONL = "jsonl"
	formatCSV   = "csv"
)

// Default field names, in order of preference, when --field or
// --parent-field is not given: the corpus names, then CIM names.
var (
	cmdlineFields = []string{"cmdline", "process", "CommandLine", "command_line", "ProcessCommandLine"}
	parentFields  = []string{"parent_image", "parent_process_name", "parent_process", "ParentImage", "InitiatingProcessFileName"}
)

func newRecordReader(name string, r io.Reader, format, field, parent string) (*recordReader, error) {
	rr := &recordReader{name: name, field: field, parent: parent, br: bufio.NewReaderSize(r, 64<<10)}
	if format == formatAuto {
		format = rr.detect()
	}
	rr.format = format
	switch format {
	case formatLines, formatJSONL:
	case formatCSV:
		rr.cr = csv.NewReader(rr.br)
		h, err := rr.cr.Read()
		if err != nil {
			return nil, fmt.Errorf("%s: reading the CSV header: %w", name, err)
		}
		if len(h) > 0 {
			h[0] = strings.TrimPrefix(h[0], "\ufeff")
		}
		rr.header = h
		rr.win, _ = winevent.NewCSVHeader(h)
		// Without --field, a header winevent maps (Processes.process as
		// tstats writes it) gives the command line even if no default
		// column name matches.
		if rr.fi = pick(h, field, cmdlineFields); rr.fi < 0 && (field != "" || rr.win == nil) {
			return nil, fmt.Errorf("%s: no column %s in the CSV header %q", name, orList(field, cmdlineFields), h)
		}
		rr.pi = pick(h, parent, parentFields)
	default:
		return nil, fmt.Errorf("unknown input format %q (use auto, lines, jsonl or csv)", format)
	}
	return rr, nil
}

func pick(header []string, want string, defaults []string) int {
	if want != "" {
		return slices.Index(header, want)
	}
	for _, d := range defaults {
		if i := slices.Index(header, d); i >= 0 {
			return i
		}
	}
	return -1
}

func orList(want string, defaults []string) string {
	if want != "" {
		return fmt.Sprintf("%q", want)
	}
	return fmt.Sprintf("named any of %q", defaults)
}

// detect picks the format from the file name, else from the first byte.
func (rr *recordReader) detect() string {
	switch strings.ToLower(filepath.Ext(rr.name)) {
	case ".jsonl", ".ndjson", ".json":
		return formatJSONL
	case ".csv":
		return formatCSV
	}
	head, _ := rr.br.Peek(1)
	if len(head) == 1 && head[0] == '{' {
		return formatJSONL
	}
	return formatLines
}

// ErrLineTooLong reports an input line over MaxLine bytes.
var ErrLineTooLong = errors.New("line too long")

// readLine returns the next line without its terminator (LF or CRLF).
func (rr *recordReader) readLine() ([]byte, error) {
	var buf []byte
	for {
		part, err := rr.br.ReadSlice('\n')
		buf = append(buf, part...)
		if len(buf) > MaxLine {
			// Skip the rest so the next record starts on a line boundary.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = rr.br.ReadSlice('\n')
			}
			return nil, ErrLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF && len(buf) > 0 {
			err = nil
		}
		if err != nil {
			return nil, err
		}
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		return bytes.TrimSuffix(buf, []byte("\r")), nil
	}
}

// Next returns the next record, io.EOF at the end, or an *inputError for a
// record that cannot be read (the reader can go on after it).
func (rr *recordReader) Next() (*record, error) {
	if rr.cr != nil {
		row, err := rr.cr.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		line, _ := rr.cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount) {
				return nil, err // the CSV stream is broken beyond this point
			}
			return nil, &inputError{rr.name, line, err}
		}
		rec := &record{Line: line, Columns: row}
		if rr.win != nil {
			rec.fields, _ = rr.win.Record(row) // not a process creation: no fields
		}
		if rr.fi >= 0 {
			rec.Cmdline = row[rr.fi]
		} else {
			rec.Cmdline = rec.fields.Process
		}
		if rr.pi >= 0 {
			rec.Parent = row[rr.pi]
		}
		return rec, nil
	}
	for {
		raw, err := rr.readLine()
		rr.line++
		if errors.Is(err, ErrLineTooLong) {
			return nil, &inputError{rr.name, rr.line, fmt.Errorf("%w (over %d bytes)", err, MaxLine)}
		}
		if err != nil {
			return nil, err
		}
		if rr.format == formatLines {
			return &record{Line: rr.line, Cmdline: string(raw)}, nil
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue // blank lines between JSON records are not records
		}
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, &inputError{rr.name, rr.line, fmt.Errorf("invalid JSON: %w", err)}
		}
		rec := &record{Line: rr.line}
		fields, werr := winevent.ParseJSON(raw)
		if werr == nil {
			rec.fields = fields
		}
		var ok bool
		if rec.Cmdline, ok = lookupString(obj, rr.field, cmdlineFields); !ok {
			// Without --field, a process creation winevent reads (Winlogbeat,
			// Azure, Defender streaming shapes nest their fields) gives it.
			if rr.field != "" || werr != nil {
				return nil, &inputError{rr.name, rr.line, fmt.Errorf("no string member %s", orList(rr.field, cmdlineFields))}
			}
			rec.Cmdline = fields.Process
		}
		rec.Parent, _ = lookupString(obj, rr.parent, parentFields)
		rec.Label, _ = obj["label"].(string)
		return rec, nil
	}
}

func lookupString(obj map[string]any, want string, defaults []string) (string, bool) {
	if want != "" {
		s, ok := obj[want].(string)
		return s, ok
	}
	for _, d := range defaults {
		if s, ok := obj[d].(string); ok {
			return s, true
		}
	}
	return "", false
}

// inputError is a record that could not be read; reading goes on.
type inputError struct {
	File string
	Line int
	Err  error
}

func (e *inputError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *inputError) Unwrap() error { return e.Err }
