package winevent

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CSVHeader maps the columns of a CSV file with a header record to source
// fields. Column names match case-insensitively: Windows event field names
// (CommandLine, Image, NewProcessName...), Defender column names
// (ProcessCommandLine, FileName, InitiatingProcessFileName...), or CIM names
// (process, parent_process_name, _time...; a `Processes.` prefix as tstats
// writes it is dropped). Unknown columns are ignored.
type CSVHeader struct {
	cols  []csvColumn
	names []string
}

type csvColumn struct {
	source string // exact source spelling for rawEvent.slot, or ""
	cim    int    // CIM slot, or -1
}

var errNoColumns = errors.New("header names no known column (expected e.g. CommandLine, ProcessCommandLine or process)")

var lowerSource = func() map[string]string {
	m := make(map[string]string, len(sourceNames))
	for _, n := range sourceNames {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// ParseCSVHeader reads a header record (one CSV record, possibly ending in a
// newline). A header with no known column is an error, so a file whose
// first record is data is reported rather than silently producing nothing.
func ParseCSVHeader(rec []byte) (*CSVHeader, error) {
	fields, err := readCSV(bytes.TrimPrefix(rec, BOM))
	if err != nil {
		return nil, err
	}
	return NewCSVHeader(fields)
}

// NewCSVHeader maps the column names of a header record already split into
// fields, as encoding/csv returns them. A header with no known column is a
// *SyntaxError.
func NewCSVHeader(fields []string) (*CSVHeader, error) {
	h := &CSVHeader{cols: make([]csvColumn, len(fields)), names: fields}
	// A header with a CIM-only name (process, dest, _time...) is CIM data:
	// its names shared with Windows fields (user) are taken as CIM too.
	cimHeader := false
	for i, f := range fields {
		name := strings.ToLower(strings.TrimSpace(f))
		name = strings.TrimPrefix(name, "processes.")
		col := csvColumn{source: lowerSource[name], cim: -1}
		for j, c := range cimNames {
			if name == c {
				col.cim = j
				// Only the names CIM exports always had decide; the
				// optional ones keep a mixed header's meaning unchanged.
				cimHeader = cimHeader || (col.source == "" && j < cimOriginalFileName)
			}
		}
		h.cols[i] = col
	}
	known := false
	for i := range h.cols {
		c := &h.cols[i]
		if cimHeader && c.cim >= 0 {
			c.source = ""
		} else {
			c.cim = -1
		}
		known = known || (c.source != "" && !describing[c.source]) || c.cim >= 0
	}
	if !known {
		return nil, &SyntaxError{Format: FormatCSV, Offset: 0, Err: errNoColumns}
	}
	return h, nil
}

// Columns returns the header's column names as written.
func (h *CSVHeader) Columns() []string { return h.names }

// Parse reads one data record and maps it to a Record. A record whose field
// count differs from the header's is an error (ErrFieldCount).
func (h *CSVHeader) Parse(rec []byte) (Record, error) {
	fields, err := readCSV(rec)
	if err != nil {
		return Record{}, err
	}
	return h.Record(fields)
}

// Record maps a data record already split into fields. A record whose
// field count differs from the header's is an error (ErrFieldCount).
func (h *CSVHeader) Record(fields []string) (Record, error) {
	if len(fields) != len(h.cols) {
		return Record{}, &SyntaxError{Format: FormatCSV, Offset: -1,
			Err: fmt.Errorf("%w: %d fields, header has %d", ErrFieldCount, len(fields), len(h.cols))}
	}
	var raw rawEvent
	for i, c := range h.cols {
		if c.source != "" {
			*raw.slot(c.source) = flex(fields[i])
		}
		if c.cim >= 0 {
			raw.cim[c.cim] = fields[i]
		}
	}
	return raw.record()
}

// readCSV parses exactly one CSV record.
func readCSV(rec []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(rec))
	r.FieldsPerRecord = -1
	fields, err := r.Read()
	if err == io.EOF {
		return nil, &SyntaxError{Format: FormatCSV, Offset: 0, Err: errors.New("empty record")}
	}
	if err != nil {
		return nil, &SyntaxError{Format: FormatCSV, Offset: -1, Err: err}
	}
	if _, err := r.Read(); err != io.EOF {
		return nil, &SyntaxError{Format: FormatCSV, Offset: r.InputOffset(), Err: errors.New("more than one record")}
	}
	return fields, nil
}
