package sigma

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"scorecmdline/src/event"
)

// confFS is the conformance pack as a file system (folder "pack").
func confFS() fstest.MapFS {
	fsys := fstest.MapFS{"pack/" + ConfigFile: {Data: []byte("[fields]\nDestinationIp = \"dest\"\n[placeholders]\nAdmins = ['adm_*', 'root']\n")}}
	for i, tc := range confCases {
		fsys["pack/"+tc.name+".yml"] = &fstest.MapFile{Data: []byte(ruleDoc(fmt.Sprintf("r%d", i), tc.det))}
	}
	// A filter and a broken rule: both go through the cache too.
	fsys["pack/zz_filter.yml"] = &fstest.MapFile{Data: []byte("title: f\nlogsource:\n  category: process_creation\n  product: windows\nfilter:\n  rules: [r1]\n  s:\n    CommandLine|contains: skipme\n  condition: s\n")}
	fsys["pack/zz_broken.yml"] = &fstest.MapFile{Data: []byte(ruleDoc("bad", "sel:\n  CommandLine|re: 'a(?=b)'\ncondition: sel"))}
	return fsys
}

// sameRulesets fails unless a and b give the same metadata, matches and
// explanations on the events.
func sameRulesets(t *testing.T, a, b *Ruleset, evs []*event.Event) {
	t.Helper()
	if !reflect.DeepEqual(a.rules, b.rules) || a.Needs() != b.Needs() || a.Unwitnessed() != b.Unwitnessed() {
		t.Fatal("metadata, needs or witnesses differ")
	}
	ma, mb := a.NewMatcher(), b.NewMatcher()
	hits := 0
	for _, ev := range evs {
		ha, hb := ma.Match(ev, nil), mb.Match(ev, nil)
		if !slices.Equal(ha, hb) {
			t.Fatalf("event %q: %v vs %v", ev, ha, hb)
		}
		for _, i := range ha {
			if ea, eb := ma.Explain(i), mb.Explain(i); ea != eb {
				t.Fatalf("event %q rule %d: explain %q vs %q", ev, i, ea, eb)
			}
		}
		hits += len(ha)
	}
	if hits == 0 {
		t.Fatal("no event matched: the comparison proves nothing")
	}
}

func randEvents(n int) []*event.Event {
	r := rand.New(rand.NewPCG(5, 6))
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = randEvent(r)
	}
	return evs
}

func loadCached(t *testing.T, fsys fstest.MapFS, opts Options) (*Ruleset, *Report) {
	t.Helper()
	rs, rep, err := Load(fsys, "pack", opts)
	if err != nil {
		t.Fatal(err)
	}
	return rs, rep
}

func TestCacheRoundTrip(t *testing.T) {
	fsys := confFS()
	plain, prep := loadCached(t, fsys, Options{})
	opts := Options{CacheDir: t.TempDir()}
	cold, crep := loadCached(t, fsys, opts)
	warm, wrep := loadCached(t, fsys, opts)
	if crep.Cache != "miss (cache: absent)" || wrep.Cache != "hit" || prep.Cache != "" {
		t.Fatalf("cache status: %q, %q, %q", crep.Cache, wrep.Cache, prep.Cache)
	}
	if len(prep.Problems) != 1 || prep.Filters != 1 {
		t.Fatalf("fixture: want one problem and one filter, got %v, %d", prep.Problems, prep.Filters)
	}
	crep.Cache, wrep.Cache = "", ""
	if !reflect.DeepEqual(prep, crep) || !reflect.DeepEqual(prep, wrep) {
		t.Fatalf("reports differ:\n%+v\n%+v\n%+v", prep, crep, wrep)
	}
	evs := randEvents(5000)
	sameRulesets(t, plain, cold, evs)
	sameRulesets(t, plain, warm, evs)
	// The decoded ruleset is checked against its plain evaluation too.
	m := warm.NewMatcher()
	for _, ev := range evs {
		checkSame(t, warm, m, ev)
	}
}

// TestCacheInvalid: a cache file that is damaged, truncated, foreign or
// for another pack is never used: Load rebuilds and rewrites it.
func TestCacheInvalid(t *testing.T) {
	fsys := confFS()
	evs := randEvents(2000)
	want, _ := loadCached(t, fsys, Options{})
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
		status string
	}{
		{"flipped payload byte", func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }, "checksum mismatch"},
		{"flipped checksum byte", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "checksum mismatch"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-100] }, "truncated"},
		{"empty", func(b []byte) []byte { return nil }, "not a cache file"},
		{"other magic", func(b []byte) []byte { b[0] = 'S'; return b }, "not a cache file"},
		{"other key", func(b []byte) []byte { b[len(cacheMagic)+3] ^= 1; return b }, "stale (other key)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{CacheDir: t.TempDir()}
			loadCached(t, fsys, opts)
			files, _ := filepath.Glob(filepath.Join(opts.CacheDir, "sigma-*.cache"))
			if len(files) != 1 {
				t.Fatalf("cache files: %v", files)
			}
			data, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(files[0], tc.damage(data), 0o644); err != nil {
				t.Fatal(err)
			}
			rs, rep := loadCached(t, fsys, opts)
			if !strings.Contains(rep.Cache, tc.status) || !strings.HasPrefix(rep.Cache, "miss") {
				t.Fatalf("status %q, want a miss for %q", rep.Cache, tc.status)
			}
			sameRulesets(t, want, rs, evs)
			if _, rep = loadCached(t, fsys, opts); rep.Cache != "hit" {
				t.Fatalf("after the rebuild: %q", rep.Cache)
			}
		})
	}
}

// TestCacheKey: whatever the ruleset depends on changes the key.
func TestCacheKey(t *testing.T) {
	dir := t.TempDir()
	base := confFS()
	loadCached(t, base, Options{CacheDir: dir})
	edited := confFS()
	edited["pack/contains.yml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(edited["pack/contains.yml"].Data), "whoami", "whoareyou", 1))}
	noConfig := confFS()
	delete(noConfig, "pack/"+ConfigFile)
	added := confFS()
	added["pack/sub/new.yml"] = &fstest.MapFile{Data: []byte(ruleDoc("new", "sel:\n  CommandLine: x\ncondition: sel"))}
	cfg := DefaultConfig()
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		opts Options
	}{
		{"rule edited", edited, Options{}},
		{"config removed", noConfig, Options{}},
		{"file added", added, Options{}},
		{"deprecated included", base, Options{IncludeDeprecated: true}},
		{"min level", base, Options{MinLevel: High}},
		{"config given", base, Options{Config: cfg}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.CacheDir = dir
			rs, rep := loadCached(t, tc.fsys, tc.opts)
			if rep.Cache != "miss (cache: absent)" {
				t.Fatalf("status %q", rep.Cache)
			}
			plain, _, err := Load(tc.fsys, "pack", Options{Config: tc.opts.Config, IncludeDeprecated: tc.opts.IncludeDeprecated, MinLevel: tc.opts.MinLevel})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plain.rules, rs.rules) {
				t.Fatal("rules differ from a plain load")
			}
		})
	}
	if _, rep := loadCached(t, base, Options{CacheDir: dir}); rep.Cache != "hit" {
		t.Fatalf("base pack: %q", rep.Cache)
	}
}

func TestCacheUnwritable(t *testing.T) {
	rs, rep := loadCached(t, confFS(), Options{CacheDir: filepath.Join(t.TempDir(), "absent")})
	if !strings.Contains(rep.Cache, "not written") || rs.Len() == 0 {
		t.Fatalf("status %q, %d rules", rep.Cache, rs.Len())
	}
}

// cachePayload returns the encoded pack (the conformance pack when nil).
func cachePayload(t testing.TB, fsys fstest.MapFS) []byte {
	if fsys == nil {
		fsys = confFS()
	}
	rs, rep, err := Load(fsys, "pack", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var e enc
	e.ruleset(rs)
	e.report(rep)
	return e.b
}

// FuzzCacheDecode: a payload that passed the checksum but is not what the
// encoder wrote (a bug, or a crafted file) gives a CacheError, never a
// panic or a ruleset that panics.
func FuzzCacheDecode(f *testing.F) {
	// Small seeds: the fuzzer minimizes large inputs slowly.
	valid := cachePayload(f, fstest.MapFS{
		"pack/a.yml": {Data: []byte(ruleDoc("a", "sel:\n  CommandLine|re: '\\s[a-f0-9]{8}'\n  Image|endswith: \\x.exe\nf:\n  User: [adm_*, '?x']\ncondition: sel and not f"))},
		"pack/b.yml": {Data: []byte(ruleDoc("b", "kw:\n  - whoami\nnet:\n  DestinationIp|cidr: 10.0.0.0/8\ncondition: kw or net"))},
	})
	if d := (&dec{b: valid}); d.ruleset().Len() != 2 || d.err != nil {
		f.Fatalf("seed: %v", d.err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &dec{b: data}
		rs, rep := d.ruleset(), d.report()
		if d.err != nil {
			var ce *CacheError
			if !errors.As(error(d.err), &ce) || ce.Off < 0 || ce.Off > int64(len(data)) {
				t.Fatalf("bad error %v", d.err)
			}
			return
		}
		if rs == nil || rep == nil {
			t.Fatal("nil without error")
		}
		m := rs.NewMatcher()
		for _, ev := range randEvents(20) {
			m.Match(ev, nil)
		}
	})
}

// TestCacheDecodeTruncations: every prefix of a valid payload fails
// cleanly.
func TestCacheDecodeTruncations(t *testing.T) {
	valid := cachePayload(t, nil)
	for n := 0; n < len(valid); n += 1 + n/50 {
		d := &dec{b: valid[:n]}
		d.ruleset()
		d.report()
		if d.err == nil {
			t.Fatalf("prefix of %d of %d bytes decoded", n, len(valid))
		}
	}
}

// TestCacheSigmaHQ: the whole ruleset decoded from the cache matches as
// the parsed one on the dev corpus.
func TestCacheSigmaHQ(t *testing.T) {
	fsys := os.DirFS(sharedDir(t, "sigma"))
	want, _, err := Load(fsys, "rules", Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{CacheDir: t.TempDir()}
	for _, status := range []string{"miss (cache: absent)", "hit"} {
		rs, rep, err := Load(fsys, "rules", opts)
		if err != nil || rep.Cache != status {
			t.Fatalf("%v, status %q, want %q", err, rep.Cache, status)
		}
		evs := benchRows(t)
		sameRulesets(t, want, rs, evs)
	}
}

// TestReadLimited: files at, above and around the size bound, with a
// size that is right or wrong (fstest reports the data's length).
func TestReadLimited(t *testing.T) {
	doc := ruleDoc("a", "sel:\n  CommandLine: x\ncondition: sel")
	for _, tc := range []struct {
		size int
		ok   bool
	}{{0, true}, {1, true}, {MaxFileSize, true}, {MaxFileSize + 1, false}, {3 * MaxFileSize, false}} {
		data := []byte(strings.Repeat(" ", tc.size))
		if tc.size >= len(doc) {
			copy(data, doc)
		}
		got, err := readLimited(fstest.MapFS{"f.yml": {Data: data}}, "f.yml")
		if (err == nil) != tc.ok || tc.ok && string(got) != string(data) {
			t.Errorf("size %d: %d bytes, %v", tc.size, len(got), err)
		}
	}
}
