package rules

import (
	"errors"
	"fmt"
)

// Validate checks packs that are to be used together: that no two rules
// share a name, and that rules built by hand (ParsePack has checked those it
// parses) are well formed. A mistake is a *PackError naming the later rule.
func Validate(packs ...*Pack) error {
	names := map[string]*Rule{}
	for _, p := range packs {
		if p == nil {
			return errors.New("rules: nil pack")
		}
		for _, r := range p.Rules {
			if r == nil {
				return &PackError{File: p.File, Err: errors.New("nil rule")}
			}
			fail := func(err error) error {
				return &PackError{File: p.File, Line: r.Line, Rule: r.Name, Err: err}
			}
			if prev, ok := names[r.Name]; ok {
				return fail(errAt("name", ErrDuplicateName, "%q is also a rule of pack %s (line %d)", r.Name, prev.Pack, prev.Line))
			}
			names[r.Name] = r
			if err := checkRule(r); err != nil {
				return fail(err)
			}
		}
	}
	return nil
}

// checkRule vets one rule.
func checkRule(r *Rule) error {
	switch {
	case !identRE.MatchString(r.Name):
		return errAt("name", ErrBadValue, "%q: use lower-case letters, digits and _, starting with a letter", r.Name)
	case r.Flag != "" && !identRE.MatchString(r.Flag):
		return errAt("flag", ErrBadFlag, "%q cannot be an output field", r.Flag)
	case r.Risk < 0 || r.Risk > 100:
		return errAt("risk", ErrBadValue, "%d is outside 0 to 100", r.Risk)
	case r.Level > Critical:
		return errAt("level", ErrBadValue, "%v is not a level", r.Level)
	}
	for _, list := range []struct {
		key     string
		phrases []string
	}{{"any", r.Any}, {"all", r.All}, {"none", r.None}} {
		for k, text := range list.phrases {
			if _, err := ParsePhrase(text); err != nil {
				return fmt.Errorf("%s[%d]: %w", list.key, k, err)
			}
		}
	}
	for _, list := range []struct {
		key   string
		names []string
	}{{"process_name", r.ProcessName}, {"parent", r.Parent}} {
		for k, n := range list.names {
			if err := checkName(n); err != nil {
				return fmt.Errorf("%s[%d]: %w", list.key, k, err)
			}
		}
	}
	if r.Regex != "" {
		if err := checkRegex(r.Regex); err != nil {
			return err
		}
	}
	if len(r.Any) == 0 && len(r.All) == 0 && len(r.ProcessName) == 0 && len(r.Parent) == 0 && r.Regex == "" {
		return errAt("any", ErrMissing, "the rule matches nothing: give any, all, process_name, parent or regex")
	}
	return nil
}
