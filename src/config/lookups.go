package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"scorecmdline/lookups"
)

// EnvLookups names a folder of lookup files that overrides every other place.
const EnvLookups = "SCORECMDLINE_LOOKUPS"

// Lookups returns the file system models and rule packs are read from. A file
// is looked up first in dir (when not empty), else in $SCORECMDLINE_LOOKUPS,
// else in the installed app's lookups folder (the binary sits in
// <app>/<platform>/bin or <app>/bin), and finally in the defaults built into
// the binary. So an admin's edit to <app>/lookups/sentinel_cmd.rules.toml, or a
// new pack dropped there, takes effect, and the binary still works alone.
func Lookups(dir string) fs.FS {
	if dir == "" {
		dir = os.Getenv(EnvLookups)
	}
	if dir == "" {
		dir = appLookups()
	}
	if dir == "" {
		return lookups.FS
	}
	return overlay{os.DirFS(dir), lookups.FS}
}

// appLookups finds <app>/lookups from the executable's own path.
func appLookups() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	bin := filepath.Dir(exe)
	for _, cand := range []string{
		filepath.Join(bin, "..", "..", "lookups"), // <app>/<platform>/bin
		filepath.Join(bin, "..", "lookups"),       // <app>/bin
	} {
		if st, err := os.Stat(filepath.Join(cand, "..", "default", "app.conf")); err == nil && !st.IsDir() {
			return cand
		}
	}
	return ""
}

// Overlay returns a file system that reads from top and falls back to base
// for the files top lacks; listings hold both.
func Overlay(top, base fs.FS) fs.FS { return overlay{top, base} }

// overlay reads from top and falls back to base for files top lacks.
type overlay struct{ top, base fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return o.base.Open(name)
	}
	return f, err
}

// ReadDir lists both layers, top first, each name once, so listings of
// available models and packs include the built-in ones.
func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	top, errTop := fs.ReadDir(o.top, name)
	base, errBase := fs.ReadDir(o.base, name)
	if errTop != nil && errBase != nil {
		return nil, errTop
	}
	seen := map[string]bool{}
	var out []fs.DirEntry
	for _, e := range append(top, base...) {
		if !seen[e.Name()] {
			seen[e.Name()] = true
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}
