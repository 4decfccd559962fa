package winevent

import (
	"bytes"
	"strconv"
	"strings"
)

// Format is the layout of a file of records.
type Format int

const (
	FormatAuto  Format = iota // decided per file by Sniff
	FormatXML                 // XmlWinEventLog: one <Event> per line
	FormatJSONL               // one JSON object per line
	FormatCSV                 // CSV with a header record
)

var formatNames = [...]string{"auto", "xml", "jsonl", "csv"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat maps a format name (auto, xml, jsonl, csv; any case) to a
// Format.
func ParseFormat(s string) (Format, bool) {
	for i, n := range formatNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Format(i), true
		}
	}
	return 0, false
}

// Sniff decides a file's format from its first bytes: '<' is XML, '{' is
// JSON Lines, anything else CSV. It skips a UTF-8 byte order mark and
// leading blanks; with nothing but those it returns FormatAuto (undecided).
func Sniff(b []byte) Format {
	b = bytes.TrimPrefix(b, BOM)
	b = bytes.TrimLeft(b, " \t\r\n")
	switch {
	case len(b) == 0:
		return FormatAuto
	case b[0] == '<':
		return FormatXML
	case b[0] == '{':
		return FormatJSONL
	}
	return FormatCSV
}

// BOM is the UTF-8 byte order mark some Windows tools write at the start
// of a file; the parsers of a file's first record drop it.
var BOM = []byte("\xef\xbb\xbf")
