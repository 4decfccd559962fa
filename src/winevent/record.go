package winevent

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"scorecmdline/src/event"
	"scorecmdline/src/jsonenc"
)

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

	// Version information and the parent's account, which CIM has no names
	// for: Sysmon's, and Defender's ProcessVersionInfo* and
	// InitiatingProcessAccount* columns.
	Product     string
	Company     string
	Description string
	FileVersion string
	ParentUser  string
}

// values lists r's event fields by event.Field.
func (r *Record) values() [event.NumFields]string {
	return [event.NumFields]string{
		event.Process:                 r.Process,
		event.ProcessPath:             r.ProcessPath,
		event.ProcessName:             r.ProcessName,
		event.OriginalFileName:        r.OriginalFileName,
		event.ParentProcess:           r.ParentProcess,
		event.ParentProcessPath:       r.ParentProcessPath,
		event.ParentProcessName:       r.ParentProcessName,
		event.User:                    r.User,
		event.ProcessIntegrityLevel:   r.ProcessIntegrityLevel,
		event.ProcessHash:             r.ProcessHash,
		event.ProcessCurrentDirectory: r.ProcessCurrentDirectory,
		event.ProcessID:               r.ProcessID,
		event.ParentProcessID:         r.ParentProcessID,
		event.Dest:                    r.Dest,
		event.Product:                 r.Product,
		event.Company:                 r.Company,
		event.Description:             r.Description,
		event.FileVersion:             r.FileVersion,
		event.ParentUser:              r.ParentUser,
	}
}

// Fill sets every field of ev from r, absent ones to empty. The values are
// copied into buf (reused from its start, grown as needed), which Fill
// returns: a caller that keeps passing the same buffer fills events
// without allocating. ev borrows buf until buf is reused.
func (r *Record) Fill(ev *event.Event, buf []byte) []byte {
	vals := r.values()
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	buf = slices.Grow(buf[:0], n) // one allocation at most: ev's slices stay in one array
	for f, v := range vals {
		start := len(buf)
		buf = append(buf, v...)
		ev.Set(event.Field(f), buf[start:len(buf):len(buf)])
	}
	return buf
}

// AppendJSON appends the record's fields as JSON object members without the
// braces, CIM names, `process` always and the others when not empty. It
// writes the fields the modular input's verdict events have always carried
// (not the version information nor ParentUser).
func (r *Record) AppendJSON(dst []byte) []byte {
	dst = append(dst, `"process":`...)
	dst = jsonenc.AppendString(dst, r.Process)
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
		dst = jsonenc.AppendString(dst, f.v)
	}
	return dst
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
