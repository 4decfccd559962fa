package score

import (
	"errors"
	"fmt"
	"io/fs"

	"scorecmdline/src/event"
	"scorecmdline/src/match"
	"scorecmdline/src/rules"
)

// tomlRules is the TOML rule packs of a search (rules=sentinel_cmd,...),
// compiled into one set so that one scan of the line serves every pack.
type tomlRules struct {
	set   *match.Set
	rules []Rule
	packs []string // by rule: the pack it comes from
}

func loadTOMLPacks(fsys fs.FS, names []string) (*tomlRules, error) {
	var packs []*rules.Pack
	for _, name := range names {
		p, err := rules.LoadPack(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w rule pack %q (available: %s)", ErrUnknownPack, name, available(fsys, true, rules.PackSuffix))
		}
		if err != nil {
			return nil, err
		}
		packs = append(packs, p)
	}
	set, err := match.Compile(packs...)
	if err != nil {
		return nil, err
	}
	t := &tomlRules{set: set}
	for _, r := range set.Rules() {
		t.rules = append(t.rules, Rule{Name: r.Name, Level: r.EffectiveLevel(), Techniques: r.Techniques, Risk: r.Risk, Flag: r.Flag})
		t.packs = append(t.packs, r.Pack)
	}
	return t, nil
}

// Needs: the command line, and the parent for `parent` conditions. The
// program a rule's process_name names is read off the command line.
func (t *tomlRules) Needs() event.Set {
	return event.Set(0).Add(event.Process).Add(event.ParentProcessName)
}

func (t *tomlRules) Rules() []Rule { return t.rules }
func (t *tomlRules) Prepare()      { t.set.Prepare() }

func (t *tomlRules) NewMatcher() RuleMatcher { return &tomlMatcher{t, t.set.NewMatcher()} }

type tomlMatcher struct {
	t *tomlRules
	m *match.Matcher
}

func (m *tomlMatcher) Match(in *Input, hits []int) []int {
	ev := in.Event
	parent := ev.Get(event.ParentProcessName)
	if len(parent) == 0 {
		parent = ev.Get(event.ParentProcessPath)
	}
	return append(hits, m.m.Match(ev.Get(event.Process), parent)...)
}

func (m *tomlMatcher) Normalized() []byte { return m.m.Normalized() }

// Detail names the pack: a TOML rule's conditions are all in its file.
func (m *tomlMatcher) Detail(dst []byte, rule int) []byte {
	return append(append(dst, "pack "...), m.t.packs[rule]...)
}
