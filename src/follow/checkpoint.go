package follow

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// fileID identifies a file across renames; zero where the platform has none.
type fileID struct{ Dev, Ino uint64 }

func (id fileID) zero() bool { return id == fileID{} }

// fingerprintMax bounds the bytes hashed to recognise a file's content.
const fingerprintMax = 1024

// fileState is one followed file in a checkpoint: everything before Offset
// has been emitted (Line newlines lie before it). FPLen/FPHash fingerprint
// the file's first bytes to detect truncation and inode reuse.
type fileState struct {
	Path   string `json:"path"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	FPLen  int    `json:"fp_len"`
	FPHash uint64 `json:"fp_hash"`
	Offset int64  `json:"offset"`
	Line   int64  `json:"line"`
}

// checkpointVersion changes when fileState's meaning does.
const checkpointVersion = 1

type checkpointDoc struct {
	Version int         `json:"version"`
	Stanza  string      `json:"stanza"`
	Files   []fileState `json:"files"`
}

// CheckpointPath names a stanza's checkpoint file: the stanza name made safe
// for a file name, plus a hash of the exact name so distinct stanzas never
// share a file.
func CheckpointPath(dir, stanza string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, stanza)
	if len(safe) > 100 {
		safe = safe[:100]
	}
	h := fnv.New32a()
	io.WriteString(h, stanza)
	return filepath.Join(dir, fmt.Sprintf("%s-%08x.json", safe, h.Sum32()))
}

// loadCheckpoint reads a checkpoint; exists is false when there is none.
func loadCheckpoint(path string) (doc checkpointDoc, exists bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return doc, false, nil
	}
	if err != nil {
		return doc, true, &CheckpointError{Path: path, Op: "read", Err: err}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return doc, true, &CheckpointError{Path: path, Op: "parse", Err: err}
	}
	if doc.Version != checkpointVersion {
		return doc, true, &CheckpointError{Path: path, Op: "parse", Err: fmt.Errorf("version %d, want %d", doc.Version, checkpointVersion)}
	}
	return doc, true, nil
}

// saveCheckpoint replaces path atomically: a reader (or a restart after a
// crash at any instant) sees the old document or the new one, never a mix.
func saveCheckpoint(path string, doc checkpointDoc) error {
	fail := func(err error) error { return &CheckpointError{Path: path, Op: "write", Err: err} }
	b, err := json.Marshal(doc)
	if err != nil {
		return fail(err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fail(err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fail(err)
	}
	// The rename is durable only once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// removeStaleTemps deletes temp files a crash during saveCheckpoint left.
func removeStaleTemps(path string) {
	dir, prefix := filepath.Dir(path), filepath.Base(path)+".tmp-"
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// fingerprint hashes the first n bytes of f (FNV-1a); ok is false when the
// file is shorter than n.
func fingerprint(f io.ReaderAt, n int) (sum uint64, ok bool, err error) {
	if n == 0 {
		return 0, true, nil
	}
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, 0)
	if got < n {
		if err == io.EOF {
			err = nil
		}
		return 0, false, err
	}
	h := fnv.New64a()
	h.Write(buf)
	return h.Sum64(), true, nil
}
