package follow

import (
	"bytes"
	"errors"
	"io"
	"os"
)

const (
	readChunk = 64 << 10
	// MaxRecordBytes bounds one record (a 1 MiB command line fits with
	// room for the rest of its event); longer records are skipped
	// unbuffered, as ErrTooLong bad records.
	MaxRecordBytes = 4 << 20
	// rotateGrace is how many polls a file that no longer matches the path
	// stays open without new data before it is closed: writers often keep
	// appending to a rotated file for a moment.
	rotateGrace = 5
	// maxRecordLogs bounds the bad records logged per file and run.
	maxRecordLogs = 100
	// skipChunksPerCall bounds the bytes one poll reads while skipping an
	// over-long record (64 MiB), so other files get their turn.
	skipChunksPerCall = 1024
	// headBytes is what Decoder.Frame sees of a file.
	headBytes = 4096
)

// tracked is one followed file, kept open so that a rotated (renamed or
// deleted) file can still be drained.
type tracked struct {
	path   string
	f      *os.File
	id     fileID
	fpLen  int
	fpHash uint64
	off    int64 // every record before off has been handled
	line   int64 // newlines before off

	dec        Decoder
	framer     Framer // nil until the decoder decides
	header     bool   // the first record is a header
	headerSeen bool   // the decoder has been given the first record
	broken     error  // cannot be read until it changes (bad CSV header)

	gone    bool // no longer matches the path
	idle    int  // polls without data since gone
	gotData bool // consumed something this poll

	skipping  bool  // inside a record longer than MaxRecordBytes
	skipScan  int64 // scanned up to here while skipping
	skipLines int64

	errsLogged int
}

func (t *tracked) state() fileState {
	return fileState{Path: t.path, Dev: t.id.Dev, Ino: t.id.Ino, FPLen: t.fpLen, FPHash: t.fpHash, Offset: t.off, Line: t.line}
}

// open opens path and identifies the opened file (not the name, which may
// have been replaced between the glob and the open).
func (f *Follower) open(path string) (*tracked, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		fh.Close()
		return nil, errors.New("not a regular file")
	}
	return &tracked{path: path, f: fh, id: identity(fi), dec: f.cfg.NewDecoder(path)}, nil
}

// rewind makes t read again from its beginning (after truncation), with a
// new decoder.
func (f *Follower) rewind(t *tracked) {
	*t = tracked{path: t.path, f: t.f, id: t.id, dec: f.cfg.NewDecoder(t.path), gone: t.gone, idle: t.idle}
}

// readAt is ReadAt that treats io.EOF with data as success.
func readAt(f io.ReaderAt, b []byte, off int64) (int, error) {
	n, err := f.ReadAt(b, off)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// resolve asks the decoder for the file's framing and, for a file with a
// header resumed past its start, passes it the header first. It reports
// false when the file cannot be read yet (blank, or header incomplete).
func (f *Follower) resolve(t *tracked) (bool, error) {
	if t.framer == nil {
		head := make([]byte, headBytes)
		n, err := readAt(t.f, head, 0)
		if err != nil {
			return false, err
		}
		if t.framer, t.header = t.dec.Frame(head[:n]); t.framer == nil {
			return false, nil
		}
	}
	if t.header && !t.headerSeen && t.off > 0 {
		rec, err := t.firstRecord()
		if err != nil || rec == nil {
			return false, err
		}
		t.headerSeen = true
		if err := t.dec.Record(rec, Pos{Path: t.path, Offset: 0, Line: 1}); err != nil {
			f.markBroken(t, &RecordError{File: t.path, Line: 1, Offset: 0, Err: err})
			return false, nil
		}
	}
	return true, nil
}

// firstRecord returns a copy of the file's first complete record, or nil.
func (t *tracked) firstRecord() ([]byte, error) {
	t.framer.Reset()
	var rec []byte
	chunk := make([]byte, readChunk)
	for pos := int64(0); pos < MaxRecordBytes; {
		n, err := readAt(t.f, chunk, pos)
		if err != nil || n == 0 {
			return nil, err
		}
		if end := t.framer.Next(chunk[:n]); end >= 0 {
			return append(rec, chunk[:end]...), nil
		}
		rec = append(rec, chunk[:n]...)
		pos += int64(n)
	}
	return nil, ErrTooLong
}

// endOfRecords returns the offset just past the last complete record and
// the newlines before it, for StartAtEnd.
func (t *tracked) endOfRecords() (off, lines int64, err error) {
	t.framer.Reset()
	chunk := make([]byte, readChunk)
	var pendingLines int64
	for pos := int64(0); ; {
		n, err := readAt(t.f, chunk, pos)
		if err != nil || n == 0 {
			return off, lines, err
		}
		b := chunk[:n]
		prev := 0
		for {
			e := t.framer.Next(b[prev:])
			if e < 0 {
				break
			}
			lines += pendingLines + int64(bytes.Count(b[prev:prev+e], nl))
			pendingLines = 0
			prev += e
			off = pos + int64(prev)
		}
		pendingLines += int64(bytes.Count(b[prev:], nl))
		pos += int64(n)
	}
}

var nl = []byte{'\n'}

// consume handles up to limit records of t from its offset. With final, an
// unterminated last record is handled too (the file's writer has moved
// on). It returns the records consumed; an error is a read error on t.
// Output errors are left for the caller to find in Output.Err.
func (f *Follower) consume(t *tracked, limit int, final bool) (int, error) {
	if t.broken != nil || limit <= 0 {
		return 0, nil
	}
	if ok, err := f.resolve(t); !ok || t.broken != nil {
		return 0, err
	}
	if !t.skipping {
		t.framer.Reset()
	}
	buf := f.buf[:0]
	lo, scanned, count := 0, 0, 0
	for count < limit && f.cfg.Output.Err() == nil {
		if t.skipping {
			done, err := f.skip(t, final)
			if err != nil || !done {
				return count, err
			}
			count++
			continue
		}
		if end := t.framer.Next(buf[lo+scanned:]); end >= 0 {
			n := scanned + end
			rec := buf[lo : lo+n]
			if f.handle(t, rec); t.broken != nil {
				return count, nil
			}
			t.off += int64(n)
			t.line += int64(bytes.Count(rec, nl))
			lo += n
			scanned = 0
			count++
			f.dirty = true
			continue
		}
		scanned = len(buf) - lo
		if scanned >= MaxRecordBytes {
			t.skipping = true
			t.skipScan = t.off + int64(scanned)
			t.skipLines = int64(bytes.Count(buf[lo:], nl))
			lo, scanned, buf = 0, 0, buf[:0]
			continue
		}
		// Read more: move the unconsumed bytes to the front, grow if needed.
		if lo > 0 {
			buf = buf[:copy(buf, buf[lo:])]
			lo = 0
		}
		if cap(buf)-len(buf) < readChunk {
			nb := make([]byte, len(buf), max(2*cap(buf), len(buf)+readChunk))
			copy(nb, buf)
			buf = nb
			f.buf = nb
		}
		n, err := readAt(t.f, buf[len(buf):len(buf)+readChunk], t.off+int64(len(buf)))
		buf = buf[:len(buf)+n]
		if err != nil {
			return count, err
		}
		if n == 0 {
			if final && len(buf) > lo {
				rec := buf[lo:]
				f.handle(t, rec)
				t.off += int64(len(rec))
				t.line += int64(bytes.Count(rec, nl))
				f.dirty = true
				count++
			}
			break
		}
	}
	f.updateFingerprint(t)
	return count, nil
}

// skip reads on past an over-long record; done reports that its end was
// found (or, with final, the file ended) and the record was counted.
func (f *Follower) skip(t *tracked, final bool) (done bool, err error) {
	chunk := f.buf[:cap(f.buf)]
	if len(chunk) > readChunk {
		chunk = chunk[:readChunk]
	} else if len(chunk) < readChunk {
		f.buf = make([]byte, 0, readChunk)
		chunk = f.buf[:readChunk]
	}
	for range skipChunksPerCall {
		n, err := readAt(t.f, chunk, t.skipScan)
		if err != nil {
			return false, err
		}
		end := -1
		if n > 0 {
			end = t.framer.Next(chunk[:n])
		}
		if end < 0 && n > 0 {
			t.skipLines += int64(bytes.Count(chunk[:n], nl))
			t.skipScan += int64(n)
			continue
		}
		if end < 0 && !final {
			return false, nil // the record's end is not written yet
		}
		if end < 0 {
			end = 0
		}
		t.skipLines += int64(bytes.Count(chunk[:end], nl))
		recEnd := t.skipScan + int64(end)
		f.badRecord(t, &RecordError{File: t.path, Line: t.line + 1, Offset: t.off, Err: ErrTooLong})
		t.off, t.line = recEnd, t.line+t.skipLines
		t.skipping, t.skipScan, t.skipLines = false, 0, 0
		t.framer.Reset()
		f.dirty = true
		return true, nil
	}
	return false, nil
}

// updateFingerprint extends t's fingerprint over consumed bytes, up to
// fingerprintMax.
func (f *Follower) updateFingerprint(t *tracked) {
	want := int(min(t.off, fingerprintMax))
	if want <= t.fpLen {
		return
	}
	if sum, ok, err := fingerprint(t.f, want); err == nil && ok {
		t.fpLen, t.fpHash = want, sum
		f.dirty = true
	}
}

// verify detects truncation: the file is now shorter than what was
// consumed, or its first bytes changed (copy-truncate then rewrite, or a
// reused inode). Such a file is read again from its beginning.
func (f *Follower) verify(t *tracked) {
	fi, err := t.f.Stat()
	if err != nil {
		return
	}
	size := fi.Size()
	why := ""
	switch {
	case size < t.off || (t.skipping && size < t.skipScan):
		why = "was truncated"
	case t.fpLen > 0:
		if sum, ok, err := fingerprint(t.f, t.fpLen); err == nil && (!ok || sum != t.fpHash) {
			why = "was rewritten (its first bytes changed)"
		}
	}
	if why == "" {
		return
	}
	f.log.Warnf("%s: %s %s (size %d, offset %d); reading it again from the start", f.cfg.Name, t.path, why, size, t.off)
	f.stats.Truncated++
	f.rewind(t)
	f.dirty = true
}
