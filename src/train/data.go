package train

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// Row is one labelled command line.
type Row struct {
	File      string // base name of the file it came from
	Line      int    // 1-based line (JSONL) or record (CSV) number
	Cmdline   string
	Malicious bool
	Parent    string
	Image     string
	Technique string
}

// InputError is a bad row in a training file.
type InputError struct {
	File string
	Line int
	Err  error
}

func (e *InputError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// ErrLabel is a label other than malicious or benign.
var ErrLabel = errors.New(`label must be "malicious" or "benign"`)

// maxLine bounds one JSON line (command lines reach 32 KiB; docs rows more).
const maxLine = 16 << 20

// ReadFile reads labelled rows from JSON Lines (.jsonl, .json) or CSV with a
// header (anything else). force, when not nil, labels every row (and a label
// column may then be absent).
func ReadFile(path string, force *bool) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	name := baseName(path)
	if strings.HasSuffix(path, ".jsonl") || strings.HasSuffix(path, ".json") {
		return readJSONL(f, name, force)
	}
	return readCSV(f, name, force)
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func readJSONL(r io.Reader, name string, force *bool) ([]Row, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var rows []Row
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		var long []byte
		for err == bufio.ErrBufferFull {
			long = append(long, b...)
			if len(long) > maxLine {
				return nil, &InputError{name, line, errors.New("line too long")}
			}
			b, err = br.ReadSlice('\n')
		}
		if long != nil {
			b = append(long, b...)
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			var rec struct {
				Cmdline   *string `json:"cmdline"`
				Label     string  `json:"label"`
				Parent    string  `json:"parent_image"`
				Image     string  `json:"image"`
				Technique string  `json:"technique"`
			}
			if e := json.Unmarshal(t, &rec); e != nil {
				return nil, &InputError{name, line, e}
			}
			var e error
			if rec.Cmdline == nil {
				return nil, &InputError{name, line, errors.New("no cmdline field")}
			}
			row := Row{File: name, Line: line, Cmdline: *rec.Cmdline, Parent: rec.Parent, Image: rec.Image, Technique: rec.Technique}
			if row.Malicious, e = label(rec.Label, force); e != nil {
				return nil, &InputError{name, line, e}
			}
			rows = append(rows, row)
		}
		if err == io.EOF {
			return rows, nil
		}
	}
}

func label(s string, force *bool) (bool, error) {
	if force != nil {
		return *force, nil
	}
	switch s {
	case "malicious":
		return true, nil
	case "benign":
		return false, nil
	}
	return false, fmt.Errorf("%w, got %q", ErrLabel, s)
}

// csvColumns maps accepted header names to fields; the CIM and Sysmon names
// let a SOC export its own data unchanged.
var csvColumns = map[string]string{
	"cmdline": "cmdline", "process": "cmdline", "commandline": "cmdline", "command_line": "cmdline",
	"label":        "label",
	"parent_image": "parent", "parent_process_name": "parent", "parent_process": "parent", "parentimage": "parent",
	"image": "image", "process_name": "image", "process_path": "image",
	"technique": "technique",
}

func readCSV(r io.Reader, name string, force *bool) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, &InputError{name, 1, fmt.Errorf("reading the header: %w", err)}
	}
	col := map[string]int{}
	for i, h := range head {
		if f, ok := csvColumns[strings.ToLower(strings.TrimSpace(h))]; ok {
			if _, dup := col[f]; !dup {
				col[f] = i
			}
		}
	}
	if _, ok := col["cmdline"]; !ok {
		return nil, &InputError{name, 1, errors.New("no cmdline (or process, CommandLine) column")}
	}
	get := func(rec []string, f string) string {
		if i, ok := col[f]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var rows []Row
	for n := 2; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, &InputError{name, n, err}
		}
		row := Row{File: name, Line: n, Cmdline: get(rec, "cmdline"), Parent: get(rec, "parent"), Image: get(rec, "image"), Technique: get(rec, "technique")}
		if row.Malicious, err = label(get(rec, "label"), force); err != nil {
			return nil, &InputError{name, n, err}
		}
		rows = append(rows, row)
	}
}

//go:embed scrub.toml
var defaultScrub string

// Scrub rewrites corpus artefacts out of training rows.
type Scrub []scrubRule

type scrubRule struct {
	re      *regexp.Regexp
	replace string
}

// ParseScrub reads a scrub list (the format of scrub.toml).
func ParseScrub(file, text string) (Scrub, error) {
	var doc struct {
		Scrub []struct {
			Pattern string `toml:"pattern"`
			Replace string `toml:"replace"`
		} `toml:"scrub"`
	}
	md, err := toml.Decode(text, &doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		return nil, fmt.Errorf("%s: unknown key %s", file, u[0])
	}
	var s Scrub
	for i, r := range doc.Scrub {
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("%s: scrub rule %d: %w", file, i+1, err)
		}
		s = append(s, scrubRule{re, r.Replace})
	}
	return s, nil
}

// DefaultScrub is the built-in list (scrub.toml).
func DefaultScrub() Scrub {
	s, err := ParseScrub("scrub.toml", defaultScrub)
	if err != nil {
		panic(err) // embedded and tested
	}
	return s
}

// Apply rewrites s.
func (sc Scrub) Apply(s string) string {
	for _, r := range sc {
		s = r.re.ReplaceAllString(s, r.replace)
	}
	return s
}

// Template is the key that groups near-identical rows: lower-cased, quoted
// strings emptied, digit runs and long hex runs collapsed, whitespace
// collapsed. One documentation page's 100 variants of a command share it.
func Template(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				j = len(s) - i - 1
			}
			b.WriteString(`''`)
			i += j + 1
		case '0' <= c && c <= '9':
			for i+1 < len(s) && ('0' <= s[i+1] && s[i+1] <= '9') {
				i++
			}
			b.WriteByte('0')
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		default:
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		}
		space = false
	}
	return strings.TrimSpace(b.String())
}
