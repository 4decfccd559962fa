package modinput

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is the layout of a followed file.
type Format int

const (
	FormatAuto  Format = iota // decided per file from its first byte
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

// ParseFormat maps a `format` parameter value to a Format.
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
	b = bytes.TrimPrefix(b, utf8BOM)
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

var utf8BOM = []byte("\xef\xbb\xbf")

// Record is one process creation in CIM Endpoint.Processes terms. Empty
// fields were absent from the source record.
type Record struct {
	Time time.Time // zero when the record carries no usable time

	Process           string // full command line
	ProcessName       string // executable file name
	ProcessPath       string // full image path
	ProcessID         string // decimal
	ParentProcess     string // parent command line (absent in 4688)
	ParentProcessName string
	ParentProcessPath string
	ParentProcessID   string
	User              string
	Dest              string // the host the process ran on
	ProcessHash       string

	ProcessGUID             string
	ParentProcessGUID       string
	ProcessCurrentDirectory string
	ProcessIntegrityLevel   string
	OriginalFileName        string
	VendorProduct           string
}

// AppendJSON appends the record's fields as JSON object members without the
// braces, CIM names, `process` always and the others when not empty.
func (r *Record) AppendJSON(dst []byte) []byte {
	dst = append(dst, `"process":`...)
	dst = appendJSONString(dst, r.Process)
	for _, f := range [...]struct{ name, v string }{
		{"process_name", r.ProcessName},
		{"process_path", r.ProcessPath},
		{"process_id", r.ProcessID},
		{"parent_process", r.ParentProcess},
		{"parent_process_name", r.ParentProcessName},
		{"parent_process_path", r.ParentProcessPath},
		{"parent_process_id", r.ParentProcessID},
		{"user", r.User},
		{"dest", r.Dest},
		{"process_hash", r.ProcessHash},
		{"process_guid", r.ProcessGUID},
		{"parent_process_guid", r.ParentProcessGUID},
		{"process_current_directory", r.ProcessCurrentDirectory},
		{"process_integrity_level", r.ProcessIntegrityLevel},
		{"original_file_name", r.OriginalFileName},
		{"vendor_product", r.VendorProduct},
	} {
		if f.v == "" {
			continue
		}
		dst = append(dst, ',', '"')
		dst = append(dst, f.name...)
		dst = append(dst, '"', ':')
		dst = appendJSONString(dst, f.v)
	}
	return dst
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// control characters and the two non-characters XML 1.0 forbids are \u
// escaped, so the JSON stays legal inside an XML <data> element.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == 0xFFFE || r == 0xFFFF:
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', 'f', 'f', 'f', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// baseName returns the last element of a Windows or Unix path.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// decimalID turns a hex process id ("0x7d8", as 4688 writes them) into
// decimal so ids from Sysmon and 4688 compare; anything else is kept as is.
func decimalID(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		if n, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return strconv.FormatUint(n, 10)
		}
	}
	return s
}

// parseTime reads the time formats process-creation sources write: ISO 8601
// with a zone (any number of fraction digits), "YYYY-MM-DD HH:MM:SS[.fff]"
// and "YYYY-MM-DDTHH:MM:SS[.fff]" taken as UTC (Sysmon UtcTime), and epoch
// seconds (Splunk _time). It reports false for anything else.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, "-:") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1e11 {
			return time.Time{}, false
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
	}
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// appendEpoch writes t as epoch seconds with milliseconds, the form
// splunkd reads in <time>.
func appendEpoch(dst []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec, frac = sec-1, frac+1000
	}
	dst = strconv.AppendInt(dst, sec, 10)
	dst = append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return dst
}
