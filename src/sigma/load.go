package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"scorecmdline/src/event"
)

// Options tune Load.
type Options struct {
	// Config maps fields and gives placeholders; nil reads ConfigFile in
	// the pack's folder when there is one, else uses DefaultConfig.
	Config *Config
	// IncludeDeprecated loads rules whose status is deprecated or
	// unsupported (skipped by default).
	IncludeDeprecated bool
	// MinLevel leaves out rules below it (and rules without a level); zero
	// loads every level.
	MinLevel Level
}

// MaxFileSize bounds a rule file; larger files are reported and skipped.
const MaxFileSize = 1 << 20

// Load reads every *.yml and *.yaml file under dir in fsys (recursively, in
// lexical order) and compiles the Windows process_creation rules. Problems
// with rules, filters or files go to the Report and those are skipped; the
// error is for a pack that cannot be read at all (or a bad ConfigFile).
func Load(fsys fs.FS, dir string, opts Options) (*Ruleset, *Report, error) {
	cfg := opts.Config
	if cfg == nil {
		var err error
		if cfg, err = readConfig(fsys, dir); err != nil {
			return nil, nil, err
		}
	}
	rep := &Report{Skipped: map[string]int{}}
	l := &loader{cfg: cfg, opts: opts, rep: rep}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			return nil
		}
		rep.Files++
		data, err := readLimited(fsys, p)
		if err != nil {
			l.problem(p, 0, "", err.Error())
			return nil
		}
		l.file(p, data)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	rs := l.build()
	return rs, rep, nil
}

// Check loads the pack with every status and returns all its problems, for
// `rules check`.
func Check(fsys fs.FS, dir string) []Problem {
	_, rep, err := Load(fsys, dir, Options{IncludeDeprecated: true})
	if err != nil {
		return []Problem{{File: dir, Reason: err.Error()}}
	}
	return rep.Problems
}

func readConfig(fsys fs.FS, dir string) (*Config, error) {
	f, err := fsys.Open(path.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultConfig(), nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.Join(dir, ConfigFile), err)
	}
	return c, nil
}

func readLimited(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err == nil && len(data) > MaxFileSize {
		err = fmt.Errorf("larger than %d bytes", MaxFileSize)
	}
	return data, err
}

type loader struct {
	cfg      *Config
	opts     Options
	rep      *Report
	rules    []Rule
	compiled []*rule
	filters  []*filterDoc
}

func (l *loader) problem(file string, line int, rule, reason string) {
	l.rep.Problems = append(l.rep.Problems, Problem{File: file, Line: line, Rule: rule, Reason: reason})
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// file loads every document of one YAML file.
func (l *loader) file(p string, data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := decodeSafe(dec, &doc)
		if err == io.EOF {
			return
		}
		if err != nil {
			line := 0
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				line, _ = strconv.Atoi(m[1])
			}
			l.problem(p, line, "", err.Error())
			l.rep.Failed++
			return
		}
		if len(doc.Content) == 1 {
			l.doc(p, doc.Content[0])
		}
	}
}

// decodeSafe keeps a panic in the YAML decoder from crossing the API.
func decodeSafe(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

func (l *loader) doc(p string, doc *yaml.Node) {
	fail := func(id string, err error) {
		line := doc.Line
		var de *docError
		if errors.As(err, &de) && de.line > 0 {
			line = de.line
		}
		l.problem(p, line, id, err.Error())
		l.rep.Failed++
	}
	if doc.Kind != yaml.MappingNode {
		fail("", nodeErr(doc, "a document must be a map"))
		return
	}
	if hasAlias(doc, 0) {
		fail("", nodeErr(doc, "YAML anchors and aliases are not supported"))
		return
	}
	switch {
	case get(doc, "correlation") != nil:
		fail(docName(doc), nodeErr(doc, "%v", unsupported("correlation rule")))
		return
	case get(doc, "action") != nil:
		fail(docName(doc), nodeErr(doc, "%v", unsupported("action (rule collections)")))
		return
	}
	pc, err := isProcessCreation(doc)
	if err != nil {
		fail(docName(doc), err)
		return
	}
	if f := get(doc, "filter"); f != nil {
		if !pc {
			l.rep.Skipped["logsource"]++
			return
		}
		fd, err := parseFilter(doc, f, l.cfg)
		if err != nil {
			fail(docName(doc), err)
			return
		}
		fd.file = p
		l.filters = append(l.filters, fd)
		return
	}
	meta, err := parseMeta(doc)
	if err != nil {
		fail(docName(doc), err)
		return
	}
	meta.File = p
	switch {
	case !pc:
		l.rep.Skipped["logsource"]++
		return
	case !l.opts.IncludeDeprecated && (meta.Status == "deprecated" || meta.Status == "unsupported"):
		l.rep.Skipped["status "+meta.Status]++
		return
	case l.opts.MinLevel > 0 && meta.Level < l.opts.MinLevel:
		l.rep.Skipped["level"]++
		return
	}
	searches, c, unmapped, err := parseDetection(get(doc, "detection"), l.cfg)
	if err != nil {
		fail(docName(doc), err)
		return
	}
	l.rules = append(l.rules, meta)
	l.compiled = append(l.compiled, &rule{searches: searches, cond: c, unmapped: unmapped})
}

func docName(doc *yaml.Node) string {
	if s, _ := scalar(get(doc, "id")); s != "" {
		return s
	}
	s, _ := scalar(get(doc, "title"))
	return s
}

func hasAlias(n *yaml.Node, depth int) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" || depth > 32 {
		return true
	}
	for _, k := range n.Content {
		if hasAlias(k, depth+1) {
			return true
		}
	}
	return false
}

// build applies the filters and compiles the prefilter.
func (l *loader) build() *Ruleset {
	byName := map[string][]int{}
	for i, r := range l.rules {
		if r.ID != "" {
			byName[r.ID] = append(byName[r.ID], i)
		}
		base := path.Base(r.File)
		base = strings.TrimSuffix(strings.TrimSuffix(base, ".yml"), ".yaml")
		byName[base] = append(byName[base], i)
	}
	for _, f := range l.filters {
		applied := false
		for _, name := range f.rules {
			idx, ok := byName[name]
			if !ok {
				l.problem(f.file, f.line, f.title, fmt.Sprintf("filter names rule %q, which is not loaded", name))
				continue
			}
			for _, i := range idx {
				l.compiled[i].filters = append(l.compiled[i].filters, f)
			}
			applied = true
		}
		if applied {
			l.rep.Filters++
		}
	}
	rs := &Ruleset{rules: l.rules, compiled: l.compiled}
	unmapped := map[string]bool{}
	for _, r := range l.compiled {
		for _, n := range r.unmapped {
			unmapped[n] = true
		}
		if len(r.unmapped) > 0 {
			l.rep.Unmapped++
		}
	}
	for n := range unmapped {
		l.rep.UnmappedFields = append(l.rep.UnmappedFields, n)
	}
	slices.Sort(l.rep.UnmappedFields)
	l.rep.Rules = len(l.rules)
	rs.compile()
	return rs
}

// noteField records that a rule reads field f through view kind.
func (rs *Ruleset) noteField(f int, view uint8) {
	if f == noField {
		return
	}
	rs.needs = rs.needs.Add(event.Field(f))
	rs.views[f] |= 1 << view
	switch event.Field(f) {
	case event.ProcessPath, event.ProcessName:
		rs.needs = rs.needs.Add(event.Process).Add(event.ProcessPath)
	case event.ParentProcessPath, event.ParentProcessName:
		rs.needs = rs.needs.Add(event.ParentProcessName).Add(event.ParentProcessPath)
	}
}
