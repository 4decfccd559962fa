package modinput

import (
	"bytes"
	"errors"
	"io"
	"os"
)

const (
	readChunk = 64 << 10
	// maxRecordBytes bounds one record (a 1 MiB command line fits with room
	// for the rest of its event); longer records are skipped unbuffered.
	maxRecordBytes = 4 << 20
	// rotateGrace is how many polls a file that no longer matches the path
	// stays open without new data before it is closed: writers often keep
	// appending to a rotated file for a moment.
	rotateGrace = 5
	// maxRecordLogs bounds the bad records logged per file and run.
	maxRecordLogs = 100
	// skipChunksPerCall bounds the bytes one poll reads while skipping an
	// over-long record (64 MiB), so other files get their turn.
	skipChunksPerCall = 1024
)

// tracked is one followed file, kept open so that a rotated (renamed or
// deleted) file can still be drained.
type tracked struct {
	path   string
	source []byte // escaped <source> element
	f      *os.File
	id     fileID
	fpLen  int
	fpHash uint64
	off    int64 // every record before off has been handled
	line   int64 // newlines before off
	format Format
	header *CSVHeader
	split  splitter
	broken error // cannot be parsed until it changes (bad CSV header)

	gone    bool // no longer matches the path
	idle    int  // polls without data since gone
	gotData bool // consumed something this poll

	skipping  bool  // inside a record longer than maxRecordBytes
	skipScan  int64 // scanned up to here while skipping
	skipLines int64

	errsLogged int
}

func (t *tracked) state() fileState {
	return fileState{Path: t.path, Dev: t.id.Dev, Ino: t.id.Ino, FPLen: t.fpLen, FPHash: t.fpHash, Offset: t.off, Line: t.line}
}

// rewind makes t read again from its beginning (after truncation).
func (t *tracked) rewind(f Format) {
	*t = tracked{path: t.path, source: t.source, f: t.f, id: t.id, format: f, split: newSplitter(f),
		gone: t.gone, idle: t.idle}
}

// openTracked opens path and identifies the opened file (not the name,
// which may have been replaced between the glob and the open).
func openTracked(path string, f Format) (*tracked, error) {
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
	return &tracked{path: path, source: sourceElement(path), f: fh, id: identity(fi), format: f, split: newSplitter(f)}, nil
}

// readAt is ReadAt that treats io.EOF with data as success.
func readAt(f io.ReaderAt, b []byte, off int64) (int, error) {
	n, err := f.ReadAt(b, off)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// resolve decides an auto format from the file's first bytes and, for CSV
// resumed past its start, reads the header record. It reports false when
// the file cannot be read yet (empty, or header incomplete).
func (s *stanza) resolve(t *tracked) (bool, error) {
	if t.format == FormatAuto {
		head := make([]byte, 4096)
		n, err := readAt(t.f, head, 0)
		if err != nil {
			return false, err
		}
		if t.format = Sniff(head[:n]); t.format == FormatAuto {
			return false, nil
		}
		t.split = newSplitter(t.format)
	}
	if t.format == FormatCSV && t.header == nil && t.off > 0 {
		rec, err := s.firstRecord(t)
		if err != nil || rec == nil {
			return false, err
		}
		h, err := ParseCSVHeader(trimRecord(rec, 0))
		if err != nil {
			s.markBroken(t, &RecordError{File: t.path, Line: 1, Offset: 0, Err: err})
			return false, nil
		}
		t.header = h
	}
	return true, nil
}

// firstRecord returns a copy of the file's first complete record, or nil.
func (s *stanza) firstRecord(t *tracked) ([]byte, error) {
	sp := newSplitter(t.format)
	var rec []byte
	chunk := make([]byte, readChunk)
	for pos := int64(0); pos < maxRecordBytes; {
		n, err := readAt(t.f, chunk, pos)
		if err != nil || n == 0 {
			return nil, err
		}
		if end := sp.next(chunk[:n]); end >= 0 {
			return append(rec, chunk[:end]...), nil
		}
		rec = append(rec, chunk[:n]...)
		pos += int64(n)
	}
	return nil, ErrTooLong
}

// endOfRecords returns the offset just past the last complete record and
// the newlines before it, for start=end.
func (s *stanza) endOfRecords(t *tracked) (off, lines int64, err error) {
	sp := newSplitter(t.format)
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
			e := sp.next(b[prev:])
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
// Write errors on stdout are left in s.out for the caller.
func (s *stanza) consume(t *tracked, limit int, final bool) (int, error) {
	if t.broken != nil || limit <= 0 {
		return 0, nil
	}
	if ok, err := s.resolve(t); !ok || t.broken != nil {
		return 0, err
	}
	if !t.skipping {
		t.split.reset()
	}
	buf := s.buf[:0]
	lo, scanned, count := 0, 0, 0
	for count < limit && s.out.err == nil {
		if t.skipping {
			done, err := s.skip(t, final)
			if err != nil || !done {
				return count, err
			}
			count++
			continue
		}
		if end := t.split.next(buf[lo+scanned:]); end >= 0 {
			n := scanned + end
			rec := buf[lo : lo+n]
			if s.record(t, rec); t.broken != nil {
				return count, nil
			}
			t.off += int64(n)
			t.line += int64(bytes.Count(rec, nl))
			lo += n
			scanned = 0
			count++
			s.dirty = true
			continue
		}
		scanned = len(buf) - lo
		if scanned >= maxRecordBytes {
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
			s.buf = nb
		}
		n, err := readAt(t.f, buf[len(buf):len(buf)+readChunk], t.off+int64(len(buf)))
		buf = buf[:len(buf)+n]
		if err != nil {
			return count, err
		}
		if n == 0 {
			if final && len(buf) > lo {
				rec := buf[lo:]
				s.record(t, rec)
				t.off += int64(len(rec))
				t.line += int64(bytes.Count(rec, nl))
				s.dirty = true
				count++
			}
			break
		}
	}
	s.updateFingerprint(t)
	return count, nil
}

// skip reads on past an over-long record; done reports that its end was
// found (or, with final, the file ended) and the record was counted.
func (s *stanza) skip(t *tracked, final bool) (done bool, err error) {
	chunk := s.buf[:cap(s.buf)]
	if len(chunk) > readChunk {
		chunk = chunk[:readChunk]
	} else if len(chunk) < readChunk {
		s.buf = make([]byte, 0, readChunk)
		chunk = s.buf[:readChunk]
	}
	for range skipChunksPerCall {
		n, err := readAt(t.f, chunk, t.skipScan)
		if err != nil {
			return false, err
		}
		end := -1
		if n > 0 {
			end = t.split.next(chunk[:n])
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
		s.badRecord(t, &RecordError{File: t.path, Line: t.line + 1, Offset: t.off, Err: ErrTooLong})
		t.off, t.line = recEnd, t.line+t.skipLines
		t.skipping, t.skipScan, t.skipLines = false, 0, 0
		t.split.reset()
		s.dirty = true
		return true, nil
	}
	return false, nil
}

// updateFingerprint extends t's fingerprint over consumed bytes, up to
// fingerprintMax.
func (s *stanza) updateFingerprint(t *tracked) {
	want := int(min(t.off, fingerprintMax))
	if want <= t.fpLen {
		return
	}
	if sum, ok, err := fingerprint(t.f, want); err == nil && ok {
		t.fpLen, t.fpHash = want, sum
		s.dirty = true
	}
}

// verify detects truncation: the file is now shorter than what was
// consumed, or its first bytes changed (copy-truncate then rewrite, or a
// reused inode). Such a file is read again from its beginning.
func (s *stanza) verify(t *tracked) {
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
	s.log.warnf("%s: %s %s (size %d, offset %d); reading it again from the start", s.cfg.Name, t.path, why, size, t.off)
	s.stats.Truncated++
	t.rewind(s.cfg.format)
	s.dirty = true
}

// trimRecord drops the record's line end, and a UTF-8 byte order mark at
// the start of the file.
func trimRecord(rec []byte, off int64) []byte {
	rec = bytes.TrimSuffix(rec, nl)
	rec = bytes.TrimSuffix(rec, []byte{'\r'})
	if off == 0 {
		rec = bytes.TrimPrefix(rec, utf8BOM)
	}
	return rec
}
