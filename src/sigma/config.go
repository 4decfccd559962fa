package sigma

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"scorecmdline/src/event"
)

// ConfigFile is the name of the optional configuration in a pack's folder.
// Example:
//
//	# Sigma field name = event field name (package event's names: CIM, or
//	# Sysmon's for fields CIM lacks); "" unmaps a field.
//	[fields]
//	DestinationIp = "dest"
//	Hashes = ""
//
//	# Placeholders for the expand modifier: %Admins% matches any of these
//	# values (each a Sigma string: wildcards allowed).
//	[placeholders]
//	Admins = ["adm_*", "administrator"]
const ConfigFile = "sigma.toml"

// Config maps Sigma field names to event fields and gives the values of
// placeholders.
type Config struct {
	fields       map[string]event.Field // by lower-cased Sigma name
	Placeholders map[string][]string
}

// defaultFields is the Sigma (Sysmon) to CIM table of docs/sigma.md §2.
var defaultFields = map[string]event.Field{
	"CommandLine":       event.Process,
	"Image":             event.ProcessPath,
	"OriginalFileName":  event.OriginalFileName,
	"ParentImage":       event.ParentProcessPath,
	"ParentCommandLine": event.ParentProcess,
	"User":              event.User,
	"IntegrityLevel":    event.ProcessIntegrityLevel,
	"Hashes":            event.ProcessHash,
	"CurrentDirectory":  event.ProcessCurrentDirectory,
	"ProcessId":         event.ProcessID,
	"ParentProcessId":   event.ParentProcessID,
	"Computer":          event.Dest,
	"Product":           event.Product,
	"Company":           event.Company,
	"Description":       event.Description,
	"FileVersion":       event.FileVersion,
	"ParentUser":        event.ParentUser,
}

// DefaultConfig maps the Sysmon names of docs/sigma.md §2 to their CIM
// fields; every event field's own name (process, process_name, ...) maps to
// itself too. No placeholders.
func DefaultConfig() *Config {
	c := &Config{fields: map[string]event.Field{}}
	for f := event.Field(0); f < event.NumFields; f++ {
		c.fields[strings.ToLower(f.String())] = f
	}
	for n, f := range defaultFields {
		c.fields[strings.ToLower(n)] = f
	}
	return c
}

// ParseConfig reads a configuration (format at ConfigFile) over the
// defaults. Unknown keys and unknown event fields are errors.
func ParseConfig(r io.Reader) (*Config, error) {
	var raw struct {
		Fields       map[string]string
		Placeholders map[string][]string
	}
	md, err := toml.NewDecoder(r).Decode(&raw)
	if err != nil {
		return nil, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("unknown key %q", und[0].String())
	}
	c := DefaultConfig()
	for _, name := range slices.Sorted(maps.Keys(raw.Fields)) {
		key, target := strings.ToLower(name), raw.Fields[name]
		if target == "" {
			delete(c.fields, key)
			continue
		}
		f, ok := event.Lookup(target)
		if !ok {
			return nil, fmt.Errorf("fields: %s: unknown event field %q", name, target)
		}
		c.fields[key] = f
	}
	c.Placeholders = raw.Placeholders
	return c, nil
}

// Field returns the event field Sigma field name maps to.
func (c *Config) Field(name string) (event.Field, bool) {
	f, ok := c.fields[strings.ToLower(name)]
	return f, ok
}
