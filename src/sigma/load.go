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
	"sync"
	"sync/atomic"

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
	// CacheDir, when not empty, is a folder where Load keeps the compiled
	// ruleset (see Load). It must exist.
	CacheDir string
}

// MaxFileSize bounds a rule file; larger files are reported and skipped.
const MaxFileSize = 1 << 20

// Load reads every *.yml and *.yaml file under dir in fsys (recursively, in
// lexical order) and compiles the Windows process_creation rules. Problems
// with rules, filters or files go to the Report and those are skipped; the
// error is for a pack that cannot be read at all (or a bad ConfigFile).
//
// With Options.CacheDir, the compiled ruleset is also kept there, keyed by
// a hash of every file's bytes, the configuration, the options and the
// engine version; a later Load of the same pack decodes it instead of
// parsing (Report.Cache says which happened). A cache file that does not
// verify is ignored and rewritten.
func Load(fsys fs.FS, dir string, opts Options) (*Ruleset, *Report, error) {
	pk, err := readPack(fsys, dir, opts.Config == nil)
	if err != nil {
		return nil, nil, err
	}
	if opts.CacheDir == "" {
		return pk.load(opts)
	}
	key := pk.key(opts)
	file := cachePath(opts.CacheDir, key)
	rs, rep, cerr := readCache(file, key)
	if cerr == nil {
		rep.Cache = "hit"
		return rs, rep, nil
	}
	if rs, rep, err = pk.load(opts); err != nil {
		return nil, nil, err
	}
	rep.Cache = "miss (" + cerr.Error() + ")"
	if werr := writeCache(opts.CacheDir, file, key, rs, rep); werr != nil {
		rep.Cache += "; not written: " + werr.Error()
	}
	return rs, rep, nil
}

// pack is a rule pack read into memory.
type pack struct {
	dir   string
	cfg   []byte // ConfigFile, nil when absent
	files []packFile
}

type packFile struct {
	path string
	data []byte
	err  error
}

// readPack reads the rule files, and the ConfigFile when withConfig.
func readPack(fsys fs.FS, dir string, withConfig bool) (*pack, error) {
	pk := &pack{dir: dir}
	if withConfig {
		data, err := fs.ReadFile(fsys, path.Join(dir, ConfigFile))
		switch {
		case err == nil:
			pk.cfg = data
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			pk.files = append(pk.files, packFile{path: p})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Opening and reading a file is a few system calls each: a few
	// readers overlap them.
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(pk.files); i = int(next.Add(1) - 1) {
				f := &pk.files[i]
				f.data, f.err = readLimited(fsys, f.path)
			}
		})
	}
	wg.Wait()
	return pk, nil
}

// load parses and compiles the pack.
func (pk *pack) load(opts Options) (*Ruleset, *Report, error) {
	cfg := opts.Config
	if cfg == nil {
		cfg = DefaultConfig()
		if pk.cfg != nil {
			var err error
			if cfg, err = ParseConfig(bytes.NewReader(pk.cfg)); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path.Join(pk.dir, ConfigFile), err)
			}
		}
	}
	rep := &Report{Skipped: map[string]int{}, Files: len(pk.files)}
	l := &loader{cfg: cfg, opts: opts, rep: rep}
	for _, f := range pk.files {
		if f.err != nil {
			l.problem(f.path, 0, "", f.err.Error())
			continue
		}
		l.file(f.path, f.data)
	}
	return l.build(), rep, nil
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

func readLimited(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A buffer of the file's size takes one read (plus the one that sees
	// the end) where growing one from 512 bytes takes several.
	size := int64(512)
	if fi, err := f.Stat(); err == nil && fi.Size() >= 0 {
		size = min(fi.Size(), MaxFileSize) + 1
	}
	data := make([]byte, size)
	n, err := io.ReadFull(f, data)
	data = data[:n]
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		err = nil
	case err == nil:
		// Longer than it said: read on, within the bound.
		var rest []byte
		rest, err = io.ReadAll(io.LimitReader(f, MaxFileSize+1-int64(n)))
		data = append(data, rest...)
	}
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
