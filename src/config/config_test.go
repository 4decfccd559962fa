package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type opts struct {
	Field   string   `mapstructure:"field"`
	Explain bool     `mapstructure:"explain"`
	Rules   []string `mapstructure:"rules"`
	Min     float64  `mapstructure:"min_score"`
	N       int      `mapstructure:"n"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		args map[string]string
		want opts
		err  string
	}{
		{map[string]string{}, opts{Field: "process"}, ""},
		{map[string]string{"field": "cmd line", "explain": "T"}, opts{Field: "cmd line", Explain: true}, ""},
		{map[string]string{"explain": "yes", "rules": " a, b ,,c"}, opts{Field: "process", Explain: true, Rules: []string{"a", "b", "c"}}, ""},
		{map[string]string{"explain": "0", "min_score": "0.75", "n": "3"}, opts{Field: "process", Min: 0.75, N: 3}, ""},
		{map[string]string{"explain": "maybe"}, opts{}, `Illegal value: explain=maybe ("maybe" is not a boolean (use true or false))`},
		{map[string]string{"min_score": "high"}, opts{}, `Illegal value: min_score=high ("high" is not a number)`},
		{map[string]string{"bogus": "1", "field": "x"}, opts{}, "Unrecognized option: bogus=1"},
		{map[string]string{"Field": "x"}, opts{}, "Unrecognized option: Field=x"},
	}
	for _, tt := range tests {
		got := opts{Field: "process"}
		err := Decode(tt.args, &got)
		if tt.err != "" {
			var ae *ArgError
			if !errors.As(err, &ae) || err.Error() != tt.err {
				t.Errorf("Decode(%v) error %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || got.Field != tt.want.Field || got.Explain != tt.want.Explain ||
			!slices.Equal(got.Rules, tt.want.Rules) || got.Min != tt.want.Min || got.N != tt.want.N {
			t.Errorf("Decode(%v) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestErrorsIs(t *testing.T) {
	var o opts
	if err := Decode(map[string]string{"x": "1"}, &o); !errors.Is(err, ErrUnknownOption) {
		t.Errorf("%v is not ErrUnknownOption", err)
	}
	if err := Decode(map[string]string{"explain": "2"}, &o); !errors.Is(err, ErrBadValue) {
		t.Errorf("%v is not ErrBadValue", err)
	}
}

func TestParseBool(t *testing.T) {
	for s, want := range map[string]bool{"1": true, "t": true, "TRUE": true, "y": true, "Yes": true,
		"0": false, "f": false, "false": false, "N": false, "no": false} {
		if got, err := ParseBool(s); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "2", "on", "truthy"} {
		if _, err := ParseBool(s); err == nil {
			t.Errorf("ParseBool(%q) accepted", s)
		}
	}
}

func TestLookupsOverlay(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "escu.model.toml"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys := Lookups(dir)
	if b, _ := fs.ReadFile(fsys, "escu.model.toml"); string(b) != "edited" {
		t.Errorf("the folder's file does not take precedence: %.20q", b)
	}
	if b, err := fs.ReadFile(fsys, "sentinel_cmd.rules.toml"); err != nil || len(b) == 0 {
		t.Errorf("built-in file not found through the overlay: %v", err)
	}
	if _, err := fs.ReadFile(fsys, "nope.toml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if names, _ := fs.Glob(fsys, "*.toml"); !slices.Contains(names, "escu.model.toml") || !slices.Contains(names, "sentinel_cmd.rules.toml") {
		t.Errorf("listing misses a layer: %v", names)
	}
	t.Setenv(EnvLookups, dir)
	if b, _ := fs.ReadFile(Lookups(""), "escu.model.toml"); string(b) != "edited" {
		t.Errorf("$%s ignored", EnvLookups)
	}
}

// FuzzDecode feeds arbitrary name=value arguments (separated by NUL) to
// Decode: it must never panic, and every failure must be an *ArgError that
// names one of the given options.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{"field=process", "explain=t\x00rules=a,b", "min_score=1e309", "n=9223372036854775808", "x=1", "explain=", "=v"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		args := map[string]string{}
		for _, kv := range strings.Split(in, "\x00") {
			k, v, _ := strings.Cut(kv, "=")
			args[k] = v
		}
		var o opts
		err := Decode(args, &o)
		if err == nil {
			return
		}
		var ae *ArgError
		if !errors.As(err, &ae) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if v, ok := args[ae.Name]; !ok || v != ae.Value {
			t.Fatalf("error names %s=%s, not one of the arguments", ae.Name, ae.Value)
		}
	})
}
