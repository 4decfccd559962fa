package apptest

import (
	"encoding/csv"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"scorecmdline/src/config"
	"scorecmdline/src/modinput"
	"scorecmdline/src/score"
)

// appFiles lists the conf-syntax files the app ships.
func appFiles(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	var files []string
	for _, pattern := range []string{"default/*.conf", "app/metadata/*.meta", "app/README/*.spec"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	return files
}

// TestConfFilesParse parses every file and requires the ones design.md §4 names.
func TestConfFilesParse(t *testing.T) {
	files := appFiles(t)
	for _, want := range []string{
		"default/app.conf", "default/commands.conf", "default/searchbnf.conf",
		"default/macros.conf", "default/savedsearches.conf", "default/transforms.conf",
		"default/inputs.conf", "default/props.conf",
		"app/metadata/default.meta", "app/README/inputs.conf.spec",
	} {
		if !slices.Contains(files, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, f := range files {
		readConf(t, f)
	}
}

// TestNoLocalOrDotFiles: local/ belongs to the admin, and AppInspect rejects
// dot-files anywhere in the package.
func TestNoLocalOrDotFiles(t *testing.T) {
	root := repoRoot(t)
	for _, dir := range []string{"app", "default", "lookups"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "__MACOSX" {
				t.Errorf("%s would be shipped; AppInspect rejects dot-files", rel)
			}
			if d.IsDir() && (d.Name() == "local" || d.Name() == "local.meta") {
				t.Errorf("%s must not be shipped", rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

type manifest struct {
	SchemaVersion string `json:"schemaVersion"`
	Info          struct {
		Title string `json:"title"`
		ID    struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"id"`
		Description string `json:"description"`
	} `json:"info"`
	SupportedDeployments []string `json:"supportedDeployments"`
}

func readManifest(t *testing.T, path string) manifest {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	dec := json.NewDecoder(strings.NewReader(string(src)))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// appVersion is default/app.conf [id] version, the single source of truth.
func appVersion(t *testing.T) string {
	t.Helper()
	return value(t, stanza(t, readConf(t, "default/app.conf"), "id"), "version")
}

// TestVersionAndIdentity: semver 2.0.0, identical in [id], [launcher] and
// app.manifest (AppInspect check_version_is_valid_semver), and one app id.
func TestVersionAndIdentity(t *testing.T) {
	app := readConf(t, "default/app.conf")
	version := appVersion(t)
	if !semver.MatchString(version) {
		t.Errorf("[id] version %q is not semver", version)
	}
	if v := value(t, stanza(t, app, "launcher"), "version"); v != version {
		t.Errorf("[launcher] version %q, [id] version %q", v, version)
	}
	m := readManifest(t, filepath.Join(repoRoot(t), "app", "app.manifest"))
	if m.Info.ID.Version != version {
		t.Errorf("app.manifest version %q, app.conf %q", m.Info.ID.Version, version)
	}
	if m.SchemaVersion != "2.0.0" {
		t.Errorf("app.manifest schemaVersion %q", m.SchemaVersion)
	}
	for what, id := range map[string]string{
		"[package] id":      value(t, stanza(t, app, "package"), "id"),
		"[id] name":         value(t, stanza(t, app, "id"), "name"),
		"app.manifest name": m.Info.ID.Name,
	} {
		if id != appID {
			t.Errorf("%s = %q, want %q", what, id, appID)
		}
	}
	launcher := stanza(t, app, "launcher")
	if d := value(t, launcher, "description"); d == "" || len(d) > 200 {
		t.Errorf("[launcher] description must be 1-200 characters, is %d", len(d))
	}
	value(t, launcher, "author")
	install := stanza(t, app, "install")
	value(t, install, "build")
	value(t, stanza(t, app, "ui"), "label")
	if v, ok := install.Get("is_configured"); ok {
		if _, err := config.ParseBool(v); err != nil {
			t.Errorf("[install] is_configured: %v", err)
		}
	}
}

// TestDefaultMeta: everything exported to all apps, writable by admins only.
func TestDefaultMeta(t *testing.T) {
	all := stanza(t, readConf(t, "app/metadata/default.meta"), "")
	if v := value(t, all, "export"); v != "system" {
		t.Errorf("[] export = %q, want system", v)
	}
	access := regexp.MustCompile(`^read\s*:\s*\[\s*\*\s*\]\s*,\s*write\s*:\s*\[\s*admin\s*\]$`)
	if v := value(t, all, "access"); !access.MatchString(v) {
		t.Errorf("[] access = %q, want read : [ * ], write : [ admin ]", v)
	}
}

// commandKeys is AppInspect's check_ignored_parameters_v2_command: any other
// key of a chunked command fails it.
var commandKeys = regexp.MustCompile(`^(filename|chunked|is_risky|maxchunksize|maxwait|python\.version|command\.arg\.\d+)$`)

func TestCommandsConf(t *testing.T) {
	f := readConf(t, "default/commands.conf")
	for _, s := range f.Stanzas {
		for _, st := range s.Settings {
			if !commandKeys.MatchString(st.Key) {
				t.Errorf("commands.conf:%d: [%s] %s is not allowed for a chunked command", st.Line, s.Name, st.Key)
			}
		}
	}
	cmd := stanza(t, f, "scorecmdline")
	if b, err := config.ParseBool(value(t, cmd, "chunked")); err != nil || !b {
		t.Errorf("chunked must be true (%v)", err)
	}
	if v := value(t, cmd, "filename"); v != "scorecmdline" {
		t.Errorf("filename = %q, want scorecmdline (the binary package.sh builds)", v)
	}
}

// optionNames are the options the binary accepts, read from the code.
func optionNames() []string {
	var names []string
	for n := range config.OptionNames(score.Options{}) {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// TestSearchbnf checks that the Search UI documents every option the binary
// accepts, and no option it does not.
func TestSearchbnf(t *testing.T) {
	s := stanza(t, readConf(t, "default/searchbnf.conf"), "scorecmdline-command")
	syntax := value(t, s, "syntax")
	description := value(t, s, "description")
	value(t, s, "shortdesc")
	if u := value(t, s, "usage"); u != "public" {
		t.Errorf("usage = %q, want public", u)
	}
	if !strings.HasPrefix(syntax, "scorecmdline ") {
		t.Errorf("syntax %q does not start with the command", syntax)
	}
	names := optionNames()
	if len(names) == 0 {
		t.Fatal("config.OptionNames(score.Options{}) is empty")
	}
	var inSyntax []string
	for _, m := range regexp.MustCompile(`([A-Za-z_]+)=`).FindAllStringSubmatch(syntax, -1) {
		inSyntax = append(inSyntax, m[1])
	}
	slices.Sort(inSyntax)
	if !slices.Equal(inSyntax, names) {
		t.Errorf("syntax options %q, binary options %q", inSyntax, names)
	}
	var examples []string
	for _, st := range s.Settings {
		if n, ok := strings.CutPrefix(st.Key, "example"); ok {
			examples = append(examples, st.Value)
			if _, ok := s.Get("comment" + n); !ok {
				t.Errorf("%s has no comment%s", st.Key, n)
			}
		}
	}
	for _, n := range names {
		if !regexp.MustCompile(`(^|[\s.])` + n + `:`).MatchString(description) {
			t.Errorf("description does not explain %s (as %q)", n, n+":")
		}
		used := regexp.MustCompile(`(^|\s)` + n + `=`)
		if !slices.ContainsFunc(examples, used.MatchString) {
			t.Errorf("no example uses %s=", n)
		}
	}
}

// TestLookups: every lookup definition names a shipped file whose header has
// the wildcard fields, and the allowlist ships empty.
func TestLookups(t *testing.T) {
	root := repoRoot(t)
	for _, s := range readConf(t, "default/transforms.conf").Stanzas {
		file, ok := s.Get("filename")
		if !ok {
			continue
		}
		src, err := os.ReadFile(filepath.Join(root, "lookups", file))
		if err != nil {
			t.Errorf("[%s]: %v", s.Name, err)
			continue
		}
		rows, err := csv.NewReader(strings.NewReader(string(src))).ReadAll()
		if err != nil || len(rows) == 0 {
			t.Errorf("lookups/%s: no CSV header (%v)", file, err)
			continue
		}
		header := rows[0]
		if mt, ok := s.Get("match_type"); ok {
			for _, m := range regexp.MustCompile(`WILDCARD\(([^)]*)\)`).FindAllStringSubmatch(mt, -1) {
				if !slices.Contains(header, m[1]) {
					t.Errorf("[%s] match_type names %s, not a column of %q", s.Name, m[1], header)
				}
			}
		}
		if s.Name == "scorecmdline_allowlist" {
			if want := []string{"detection", "dest", "user", "process", "reason"}; !slices.Equal(header, want) {
				t.Errorf("allowlist header %q, want %q", header, want)
			}
			if len(rows) != 1 {
				t.Errorf("allowlist ships %d rows, want none", len(rows)-1)
			}
		}
	}
	stanza(t, readConf(t, "default/transforms.conf"), "scorecmdline_allowlist")
}

// inputParams are the modular input's parameters, read from the code (the
// mapstructure tags of modinput.Params, which the scheme is also built from).
func inputParams() []string {
	return slices.Sorted(maps.Keys(config.OptionNames(modinput.Params{})))
}

// TestModularInput: the default stanza keeps inputs disabled, long-running
// and typed; the spec documents each parameter; props.conf knows the
// sourcetype.
func TestModularInput(t *testing.T) {
	in := stanza(t, readConf(t, "default/inputs.conf"), "scorecmdline")
	if b, err := config.ParseBool(value(t, in, "disabled")); err != nil || !b {
		t.Errorf("[scorecmdline] disabled must be true (%v)", err)
	}
	if v := value(t, in, "interval"); v != "0" {
		t.Errorf("interval = %q, want 0 (long-running, restarted when it exits)", v)
	}
	if v := value(t, in, "start_by_shell"); v != "false" {
		t.Errorf("start_by_shell = %q, want false", v)
	}
	sourcetype := value(t, in, "sourcetype")
	if sourcetype != "scorecmdline:verdict" {
		t.Errorf("sourcetype = %q", sourcetype)
	}
	props := stanza(t, readConf(t, "default/props.conf"), sourcetype)
	if v := value(t, props, "KV_MODE"); v != "json" {
		t.Errorf("props KV_MODE = %q, want json", v)
	}

	spec := readConf(t, "app/README/inputs.conf.spec")
	if len(spec.Stanzas) != 1 {
		t.Errorf("inputs.conf.spec has %d stanzas, want 1", len(spec.Stanzas))
	}
	s := stanza(t, spec, "scorecmdline://<name>")
	name := regexp.MustCompile(`^[0-9a-zA-Z][0-9a-zA-Z_-]*$`)
	for _, st := range s.Settings {
		if !name.MatchString(st.Key) {
			t.Errorf("spec parameter %q is not a valid modular input parameter name", st.Key)
		}
		if len(st.Doc) == 0 {
			t.Errorf("spec parameter %s is not documented", st.Key)
		}
	}
	if got := slices.Sorted(slices.Values(s.Keys())); !slices.Equal(got, inputParams()) {
		t.Errorf("spec parameters %q, want %q (modinput.Params)", got, inputParams())
	}
}

// TestReadme: the app-root README carries the Binary File Declaration
// AppInspect looks for, names every shipped binary, and documents every
// option and both searches.
func TestReadme(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "app", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(src)
	if !regexp.MustCompile(`(?m)^# Binary File Declaration\s*$`).MatchString(readme) {
		t.Error("README.md lacks a '# Binary File Declaration' section")
	}
	for _, b := range binaries {
		if !strings.Contains(readme, b.path) {
			t.Errorf("README.md does not declare %s", b.path)
		}
	}
	for _, n := range optionNames() {
		if !strings.Contains(readme, "`"+n+"=") {
			t.Errorf("README.md does not document option %s", n)
		}
	}
	for _, s := range readConf(t, "default/savedsearches.conf").Stanzas {
		if !strings.Contains(readme, s.Name) {
			t.Errorf("README.md does not name the search %q", s.Name)
		}
	}
	for _, m := range []string{"potentially_malicious_code_on_commandline_filter", "detect_windows_command_shell_filter", "scorecmdline_allowlist"} {
		if !strings.Contains(readme, m) {
			t.Errorf("README.md does not explain %s", m)
		}
	}
}
