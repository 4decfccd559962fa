package sigma

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"scorecmdline/src/rules"
)

// rule is a compiled rule: its condition over its searches, and the
// filters that apply to it (the rule matches when none of them does).
type rule struct {
	searches []*search
	cond     *cond
	filters  []*filterDoc
	unmapped []string // Sigma fields read that have no mapping
}

func (r *rule) eval(m *Matcher) bool {
	if !r.cond.eval(m, r.searches) {
		return false
	}
	for _, f := range r.filters {
		if f.cond.eval(m, f.searches) {
			return false
		}
	}
	return true
}

// search is one search identifier: an OR of maps, each an AND of field
// conditions (a keyword list is one map with one keyword condition).
type search struct {
	name string
	alts [][]*fieldCond
}

func (s *search) eval(m *Matcher) bool {
	for _, alt := range s.alts {
		ok := true
		for _, c := range alt {
			if !c.eval(m) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// filterDoc is a Sigma filter document (sigma-filters-specification.md).
type filterDoc struct {
	title, file string
	line        int
	rules       []string // ids or names of the rules it applies to
	searches    []*search
	cond        *cond
}

// docError is a problem at a node of a document.
type docError struct {
	line int
	msg  string
}

func (e *docError) Error() string { return e.msg }

func nodeErr(n *yaml.Node, format string, a ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &docError{line, fmt.Sprintf(format, a...)}
}

// get returns the value of key in mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

var techniqueTag = regexp.MustCompile(`^attack\.t\d{4}(\.\d{3})?$`)

var statuses = map[string]bool{"stable": true, "test": true, "experimental": true, "deprecated": true, "unsupported": true}

// parseMeta reads a rule's metadata.
func parseMeta(doc *yaml.Node) (Rule, error) {
	r := Rule{Line: doc.Line}
	var ok bool
	if r.Title, ok = scalar(get(doc, "title")); !ok || r.Title == "" {
		return r, nodeErr(doc, "title is mandatory")
	}
	r.ID, _ = scalar(get(doc, "id"))
	if n := get(doc, "status"); n != nil {
		if r.Status, ok = scalar(n); !ok || !statuses[r.Status] {
			return r, nodeErr(n, "unknown status %q", n.Value)
		}
	}
	if n := get(doc, "level"); n != nil {
		s, _ := scalar(n)
		var err error
		if r.Level, err = rules.ParseLevel(s); err != nil {
			return r, nodeErr(n, "unknown level %q", s)
		}
	}
	if n := get(doc, "tags"); n != nil {
		if n.Kind != yaml.SequenceNode {
			return r, nodeErr(n, "tags must be a list")
		}
		for _, t := range n.Content {
			if s, _ := scalar(t); techniqueTag.MatchString(s) {
				r.Techniques = append(r.Techniques, strings.ToUpper(s[len("attack."):]))
			}
		}
	}
	return r, nil
}

// isProcessCreation reports whether a logsource is Windows process creation.
func isProcessCreation(doc *yaml.Node) (bool, error) {
	ls := get(doc, "logsource")
	if ls == nil || ls.Kind != yaml.MappingNode {
		return false, nodeErr(doc, "logsource is mandatory and must be a map")
	}
	cat, _ := scalar(get(ls, "category"))
	prod, _ := scalar(get(ls, "product"))
	return cat == "process_creation" && prod == "windows", nil
}

// parseDetection compiles a detection section (or a filter's): every key
// but those in skip is a search identifier.
func parseDetection(det *yaml.Node, cfg *Config, skip ...string) ([]*search, *cond, []string, error) {
	if det == nil || det.Kind != yaml.MappingNode {
		return nil, nil, nil, nodeErr(det, "detection must be a map")
	}
	var (
		searches []*search
		names    []string
		condNode *yaml.Node
		unmapped []string
	)
	for i := 0; i+1 < len(det.Content); i += 2 {
		k, v := det.Content[i], det.Content[i+1]
		switch {
		case k.Value == "condition":
			condNode = v
			continue
		case k.Value == "timeframe":
			return nil, nil, nil, nodeErr(k, "%v", unsupported("timeframe (aggregation)"))
		case contains(skip, k.Value):
			continue
		}
		s, um, err := parseSearch(k.Value, v, cfg)
		if err != nil {
			return nil, nil, nil, err
		}
		searches = append(searches, s)
		names = append(names, k.Value)
		unmapped = append(unmapped, um...)
	}
	if condNode == nil {
		return nil, nil, nil, nodeErr(det, "condition is mandatory")
	}
	var conds []*cond
	var srcs []*yaml.Node
	switch condNode.Kind {
	case yaml.ScalarNode:
		srcs = []*yaml.Node{condNode}
	case yaml.SequenceNode:
		srcs = condNode.Content
	}
	if len(srcs) == 0 {
		return nil, nil, nil, nodeErr(condNode, "condition must be a string or a list of strings")
	}
	for _, n := range srcs {
		s, ok := scalar(n)
		if !ok {
			return nil, nil, nil, nodeErr(n, "condition must be a string")
		}
		c, err := parseCond(s, names)
		if err != nil {
			return nil, nil, nil, nodeErr(n, "%v", err)
		}
		conds = append(conds, c)
	}
	c := conds[0]
	if len(conds) > 1 {
		c = &cond{op: 'o', kids: conds} // a list of conditions is an OR
	}
	return searches, c, unmapped, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parseSearch(name string, n *yaml.Node, cfg *Config) (*search, []string, error) {
	s := &search{name: name}
	var unmapped []string
	addMap := func(m *yaml.Node) error {
		var alt []*fieldCond
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			vals, err := values(v)
			if err != nil {
				return err
			}
			c, um, err := compileField(k.Value, vals, cfg)
			if err != nil {
				return nodeErr(k, "%s: %v", k.Value, err)
			}
			if um {
				unmapped = append(unmapped, c.name)
			}
			alt = append(alt, c)
		}
		if len(alt) == 0 {
			return nodeErr(m, "search identifier %s is an empty map", name)
		}
		// AND short-circuits: regexes, the costly tests, go last.
		slices.SortStableFunc(alt, func(a, b *fieldCond) int {
			return cmp.Compare(b2i(a.kind == kRegex), b2i(b.kind == kRegex))
		})
		s.alts = append(s.alts, alt)
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		if err := addMap(n); err != nil {
			return nil, nil, err
		}
	case yaml.SequenceNode, yaml.ScalarNode:
		items := []*yaml.Node{n}
		if n.Kind == yaml.SequenceNode {
			items = n.Content
		}
		if len(items) == 0 {
			return nil, nil, nodeErr(n, "search identifier %s is empty", name)
		}
		if items[0].Kind == yaml.MappingNode {
			for _, it := range items {
				if it.Kind != yaml.MappingNode {
					return nil, nil, nodeErr(it, "search identifier %s mixes maps and keywords", name)
				}
				if err := addMap(it); err != nil {
					return nil, nil, err
				}
			}
			break
		}
		vals, err := values(n)
		if err != nil {
			return nil, nil, err
		}
		c, _, err := compileField("", vals, cfg)
		if err != nil {
			return nil, nil, nodeErr(n, "keywords %s: %v", name, err)
		}
		s.alts = append(s.alts, []*fieldCond{c})
	default:
		return nil, nil, nodeErr(n, "search identifier %s must be a map or a list", name)
	}
	return s, unmapped, nil
}

// values reads a scalar or a list of scalars.
func values(n *yaml.Node) ([]value, error) {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			return nil, nodeErr(n, "empty list of values")
		}
	}
	out := make([]value, 0, len(items))
	for _, it := range items {
		if it.Kind != yaml.ScalarNode {
			return nil, nodeErr(it, "a value must be a string, number, boolean or null")
		}
		out = append(out, value{s: it.Value, null: it.Tag == "!!null"})
	}
	return out, nil
}

// parseFilter reads a filter document's `filter` section.
func parseFilter(doc, f *yaml.Node, cfg *Config) (*filterDoc, error) {
	title, _ := scalar(get(doc, "title"))
	fd := &filterDoc{title: title, line: doc.Line}
	if title == "" {
		return nil, nodeErr(doc, "title is mandatory")
	}
	rn := get(f, "rules")
	switch {
	case rn == nil:
		return nil, nodeErr(f, "filter rules is mandatory")
	case rn.Kind == yaml.ScalarNode:
		fd.rules = []string{rn.Value}
	case rn.Kind == yaml.SequenceNode:
		for _, x := range rn.Content {
			s, ok := scalar(x)
			if !ok {
				return nil, nodeErr(x, "filter rules must be ids")
			}
			fd.rules = append(fd.rules, s)
		}
	default:
		return nil, nodeErr(rn, "filter rules must be a list")
	}
	var err error
	fd.searches, fd.cond, _, err = parseDetection(f, cfg, "rules")
	return fd, err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
