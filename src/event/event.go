// Package event is the scoring pipeline's input: one process-creation event
// as named fields. The names are Splunk CIM Endpoint.Processes names (what
// the search command's rows carry), plus the few Sysmon fields that CIM has
// no name for; every face fills an Event from what it read, and each
// detector declares the fields it needs (the search command asks splunkd for
// their union in getinfo's required_fields).
//
// Values are raw bytes borrowed from the caller (a CSV field of the current
// chunk, a parsed record): an Event is valid until the caller reuses them.
// An absent field and an empty one are the same thing, as in Sigma's `null`.
package event

// Field names one event field.
type Field uint8

// The fields, CIM names first. Sigma names are in the comments.
const (
	Process                 Field = iota // CommandLine: the command line
	ProcessPath                          // Image: full path of the executable
	ProcessName                          // base name of Image
	OriginalFileName                     // OriginalFileName (PE header)
	ParentProcess                        // ParentCommandLine
	ParentProcessPath                    // ParentImage
	ParentProcessName                    // base name of ParentImage
	User                                 // User
	ProcessIntegrityLevel                // IntegrityLevel
	ProcessHash                          // Hashes: MD5=…,SHA256=…,IMPHASH=…
	ProcessCurrentDirectory              // CurrentDirectory
	ProcessID                            // ProcessId
	ParentProcessID                      // ParentProcessId
	Dest                                 // the host (Computer)
	Product                              // Product: no CIM name
	Company                              // Company: no CIM name
	Description                          // Description: no CIM name
	FileVersion                          // FileVersion: no CIM name
	ParentUser                           // ParentUser: no CIM name
	NumFields                            // not a field: the count
)

var names = [NumFields]string{
	Process:                 "process",
	ProcessPath:             "process_path",
	ProcessName:             "process_name",
	OriginalFileName:        "original_file_name",
	ParentProcess:           "parent_process",
	ParentProcessPath:       "parent_process_path",
	ParentProcessName:       "parent_process_name",
	User:                    "user",
	ProcessIntegrityLevel:   "process_integrity_level",
	ProcessHash:             "process_hash",
	ProcessCurrentDirectory: "process_current_directory",
	ProcessID:               "process_id",
	ParentProcessID:         "parent_process_id",
	Dest:                    "dest",
	Product:                 "Product",
	Company:                 "Company",
	Description:             "Description",
	FileVersion:             "FileVersion",
	ParentUser:              "ParentUser",
}

// String returns the field's name in Splunk data: the CIM name, or the
// Sysmon name for the fields CIM does not have.
func (f Field) String() string {
	if f < NumFields {
		return names[f]
	}
	return "invalid"
}

// Lookup returns the field named name (its String form), exactly.
func Lookup(name string) (Field, bool) {
	for f, n := range names {
		if n == name {
			return Field(f), true
		}
	}
	return 0, false
}

// Set is a set of fields, as a bit mask.
type Set uint32

// Add returns s with f in it.
func (s Set) Add(f Field) Set { return s | 1<<f }

// Has reports whether f is in s.
func (s Set) Has(f Field) bool { return s&(1<<f) != 0 }

// Fields lists the fields of s in Field order.
func (s Set) Fields() []Field {
	var out []Field
	for f := Field(0); f < NumFields; f++ {
		if s.Has(f) {
			out = append(out, f)
		}
	}
	return out
}

// Event is one process creation.
type Event struct {
	values [NumFields][]byte
}

// Get returns field f's value; nil or empty when the event has none.
func (e *Event) Get(f Field) []byte { return e.values[f] }

// Set sets field f to v (borrowed, not copied).
func (e *Event) Set(f Field, v []byte) { e.values[f] = v }

// Reset empties every field.
func (e *Event) Reset() { e.values = [NumFields][]byte{} }

// Has reports whether field f is present and not empty.
func (e *Event) Has(f Field) bool { return len(e.values[f]) > 0 }

// CommandLine is e.Get(Process).
func (e *Event) CommandLine() []byte { return e.values[Process] }

// BaseName returns the last element of a Windows or POSIX path: what
// follows the last `\` or `/`. CIM's process_name and parent_process_name
// are the base names of process_path and parent_process_path.
func BaseName(path []byte) []byte {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '\\' || path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}

// Complete fills derivable fields the event lacks: process_name from
// process_path, parent_process_name from parent_process_path. It does not
// guess a path from a name.
func (e *Event) Complete() {
	if !e.Has(ProcessName) && e.Has(ProcessPath) {
		e.values[ProcessName] = BaseName(e.values[ProcessPath])
	}
	if !e.Has(ParentProcessName) && e.Has(ParentProcessPath) {
		e.values[ParentProcessName] = BaseName(e.values[ParentProcessPath])
	}
}

// SetNameOrPath sets v as the path field when it holds a `\` or `/`, and as
// the name field otherwise: for sources whose one "parent" or "image"
// column is sometimes a path and sometimes a bare name. Call Complete after
// to derive the name from a path.
func (e *Event) SetNameOrPath(name, path Field, v []byte) {
	if len(BaseName(v)) < len(v) {
		e.values[path] = v
		return
	}
	e.values[name] = v
}
