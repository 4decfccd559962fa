// Package config decodes the settings every face of scorecmdline shares:
// command arguments and modular-input parameters (name=value strings) into
// typed structs, and where the lookup files (models, rule packs) are read from.
package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// ErrUnknownOption and ErrBadValue classify argument errors for errors.Is.
var (
	ErrUnknownOption = errors.New("unrecognized option")
	ErrBadValue      = errors.New("illegal value")
)

// ArgError names the argument that could not be decoded. Its text follows the
// wording Splunk users know from splunklib ("Unrecognized option: n=v").
type ArgError struct {
	Name, Value string
	Err         error // ErrUnknownOption or ErrBadValue, possibly wrapping a cause
}

func (e *ArgError) Error() string {
	if errors.Is(e.Err, ErrUnknownOption) {
		return fmt.Sprintf("Unrecognized option: %s=%s", e.Name, e.Value)
	}
	msg := fmt.Sprintf("Illegal value: %s=%s", e.Name, e.Value)
	if e.Err != ErrBadValue {
		// The cause after "illegal value: ".
		msg += " (" + strings.TrimPrefix(e.Err.Error(), ErrBadValue.Error()+": ") + ")"
	}
	return msg
}

func (e *ArgError) Unwrap() error { return e.Err }

// ParseBool accepts the spellings Splunk users write for booleans:
// 1/0, t/f, true/false, y/n, yes/no, in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "y", "yes":
		return true, nil
	case "0", "f", "false", "n", "no":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true or false)", s)
}

// Decode fills the mapstructure-tagged struct pointed to by out from
// name=value strings. Unknown names and values that do not convert are
// errors (*ArgError); names are matched case-sensitively, as SPL does.
// Options not given keep the values already in out, so callers set defaults
// first.
func Decode(args map[string]string, out any) error {
	known := OptionNames(out)
	names := make([]string, 0, len(args))
	for n := range args {
		names = append(names, n)
	}
	sort.Strings(names) // report the first bad option deterministically
	for _, n := range names {
		if _, ok := known[n]; !ok {
			return &ArgError{Name: n, Value: args[n], Err: ErrUnknownOption}
		}
	}
	for _, n := range names {
		// One option per decode, so an error names its option; the hook
		// keeps its own error since mapstructure flattens causes into text.
		var hookErr error
		hook := func(from, to reflect.Type, data any) (any, error) {
			v, err := stringToTyped(from, to, data)
			hookErr = err
			return v, err
		}
		dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			DecodeHook: hook,
			Result:     out,
			TagName:    "mapstructure",
		})
		if err != nil {
			return err
		}
		if err := dec.Decode(map[string]string{n: args[n]}); err != nil {
			cause := ErrBadValue
			if hookErr != nil {
				cause = fmt.Errorf("%w: %w", ErrBadValue, hookErr)
			}
			return &ArgError{Name: n, Value: args[n], Err: cause}
		}
	}
	return nil
}

// stringToTyped converts the string form of an option to the field's type.
func stringToTyped(from, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok || from.Kind() != reflect.String {
		return data, nil
	}
	switch to.Kind() {
	case reflect.Bool:
		return ParseBool(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", s)
		}
		return n, nil
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f != f {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case reflect.Slice:
		if to.Elem().Kind() == reflect.String {
			return SplitList(s), nil
		}
	}
	return data, nil
}

// SplitList splits a comma-separated list, trimming blanks and dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// OptionNames returns the option names a struct accepts (its mapstructure
// tags), for validation and for documentation checks.
func OptionNames(v any) map[string]reflect.StructField {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	names := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "" || name == "-" {
			continue
		}
		names[name] = f
	}
	return names
}
