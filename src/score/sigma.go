package score

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"scorecmdline/src/event"
	"scorecmdline/src/rules"
	"scorecmdline/src/sigma"
)

// sigmaRiskOf is the risk a Sigma rule's match adds to risk_score, from its
// level, on the scale of the TOML packs (see rules.LevelFor): a rule
// without a level counts as informational.
var sigmaRiskOf = [...]int{
	sigma.LevelNone:     5,
	sigma.Informational: 5,
	sigma.Low:           20,
	sigma.Medium:        30,
	sigma.High:          50,
	sigma.Critical:      80,
}

// sigmaRules is one Sigma pack: a folder lookups/<name>/ of Sigma rules.
type sigmaRules struct {
	rs    *sigma.Ruleset
	rules []Rule
}

// isSigmaPack reports whether name is a folder in fsys.
func isSigmaPack(fsys fs.FS, name string) bool {
	if !fs.ValidPath(name) || strings.Contains(name, "/") || name == "." {
		return false
	}
	st, err := fs.Stat(fsys, name)
	return err == nil && st.IsDir()
}

// loadSigmaPack loads the Sigma pack name. The rules it skipped come back as
// warnings for the Search UI, and a line for the log with the counts and
// the load time.
func loadSigmaPack(fsys fs.FS, name string, min rules.Level) (s *sigmaRules, warn []string, note string, err error) {
	start := time.Now()
	cache := sigmaCacheDir()
	rs, rep, err := sigma.Load(fsys, name, sigma.Options{MinLevel: min, CacheDir: cache})
	if err != nil {
		return nil, nil, "", fmt.Errorf("sigma pack %s: %w", name, err)
	}
	s = &sigmaRules{rs: rs}
	for i := range rs.Len() {
		r := rs.Rule(i)
		s.rules = append(s.rules, Rule{
			Name:       r.Title,
			Level:      r.Level,
			Techniques: r.Techniques,
			Risk:       sigmaRiskOf[r.Level],
		})
	}
	const maxWarnings = 10
	for i, p := range rep.Problems {
		if i == maxWarnings {
			warn = append(warn, fmt.Sprintf("sigma pack %s: %d more problems (scorecmdline rules check lists them all)", name, len(rep.Problems)-maxWarnings))
			break
		}
		warn = append(warn, fmt.Sprintf("sigma pack %s: rule skipped: %v", name, p))
	}
	note = fmt.Sprintf("sigma pack %s: %d rules loaded, %d skipped, %d failed, in %v",
		name, rep.Rules, skipped(rep), rep.Failed, time.Since(start).Round(time.Millisecond))
	if rep.Cache != "" {
		note += "; cache " + rep.Cache
		if rep.Cache != "hit" {
			pruneCache(cache, keepCacheFiles)
		}
	}
	return s, warn, note, nil
}

func skipped(rep *sigma.Report) int {
	n := 0
	for _, c := range rep.Skipped {
		n += c
	}
	return n
}

func (s *sigmaRules) Needs() event.Set { return s.rs.Needs() }
func (s *sigmaRules) Rules() []Rule    { return s.rules }
func (s *sigmaRules) Prepare()         {}

func (s *sigmaRules) NewMatcher() RuleMatcher { return sigmaMatcher{s.rs.NewMatcher()} }

type sigmaMatcher struct{ m *sigma.Matcher }

func (m sigmaMatcher) Match(in *Input, hits []int) []int { return m.m.Match(in.Event, hits) }
func (m sigmaMatcher) Normalized() []byte                { return nil }

// Detail names the search identifiers that held.
func (m sigmaMatcher) Detail(dst []byte, rule int) []byte { return m.m.AppendExplain(dst, rule) }

// EnvCache names the folder of compiled Sigma packs; "none" turns the cache
// off. By default it is the user's cache folder (on a Splunk host, that of
// the user splunkd runs as).
const EnvCache = "SCORECMDLINE_CACHE"

// keepCacheFiles bounds the compiled packs kept: one per pack version in
// use, the newest first.
const keepCacheFiles = 8

// sigmaCacheDir returns the cache folder, created if need be, or "" when
// there is none to use: a search then compiles its packs itself.
func sigmaCacheDir() string {
	dir := os.Getenv(EnvCache)
	switch dir {
	case "none":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(base, "scorecmdline", "sigma")
	}
	if os.MkdirAll(dir, 0o755) != nil {
		return ""
	}
	return dir
}

// pruneCache removes all but the keep newest cache files of dir: every
// edit of a pack leaves a compiled file behind.
func pruneCache(dir string, keep int) {
	files, _ := filepath.Glob(filepath.Join(dir, "sigma-*.cache"))
	if len(files) <= keep {
		return
	}
	mtime := func(f string) time.Time {
		st, err := os.Stat(f)
		if err != nil {
			return time.Time{}
		}
		return st.ModTime()
	}
	slices.SortFunc(files, func(a, b string) int { return mtime(b).Compare(mtime(a)) })
	for _, f := range files[keep:] {
		os.Remove(f)
	}
}
