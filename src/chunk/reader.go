// Package chunk reads and writes the framing of Splunk's chunked search
// command protocol (SCP v2). Each chunk is a header line, a JSON metadata
// object and a body, the lengths counted in bytes:
//
//	chunked 1.0,17,9\n{"finished":true}a,b\n1,2\n
//
// The package knows nothing about what the metadata or body mean.
package chunk

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxSize is the default limit on metadata plus body of one chunk.
const DefaultMaxSize = 1 << 30

const (
	prefix = "chunked 1.0,"
	// maxDigits keeps a declared length below 10^18, so it cannot overflow int64.
	maxDigits = 18
	// maxHeader is the longest canonical header line.
	maxHeader = len(prefix) + maxDigits + 1 + maxDigits + 1
	// eagerAlloc is how much of a declared length is allocated before any of
	// it has arrived; beyond it the buffer grows as bytes come in, so a header
	// that lies about its length cannot make us allocate much.
	eagerAlloc = 32 << 20
	bufSize    = 64 << 10
)

var (
	// ErrHeader means a header line is not the canonical "chunked 1.0,M,B\n".
	ErrHeader = errors.New("chunk: invalid header")
	// ErrTooLarge means a chunk declares more than Reader.MaxSize bytes.
	ErrTooLarge = errors.New("chunk: too large")
)

// FrameError locates a framing failure: a bad header, an oversized chunk or
// a stream cut short (io.ErrUnexpectedEOF).
type FrameError struct {
	Chunk  int   // 1-based number of the chunk in the stream
	Offset int64 // byte offset of the chunk's header
	Err    error
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("chunk %d at byte %d: %v", e.Chunk, e.Offset, e.Err)
}

func (e *FrameError) Unwrap() error { return e.Err }

// Reader reads chunks from a stream.
type Reader struct {
	// MaxSize limits metadata plus body of one chunk; 0 means DefaultMaxSize.
	// A larger declared length is rejected before anything is allocated.
	MaxSize int64

	r      *bufio.Reader
	buf    []byte
	n      int   // chunks started
	start  int64 // header offset of the current chunk
	offset int64 // bytes consumed
	err    error // sticky: after a failure the stream position is lost
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, bufSize)}
}

// Chunk reports the 1-based number and the header offset of the chunk most
// recently returned (or failed) by Next.
func (r *Reader) Chunk() (n int, offset int64) { return r.n, r.start }

// Next reads one chunk. It returns io.EOF only when the stream ends exactly
// at a chunk boundary; any other failure is a *FrameError, after which every
// call returns the same error.
//
// meta and body share a buffer that the next call to Next overwrites, so
// memory is bounded by the largest chunk, not by the stream. Copy them to
// keep them.
func (r *Reader) Next() (meta, body []byte, err error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	r.n++
	r.start = r.offset
	m, b, err := r.header()
	if err == nil {
		max := r.MaxSize
		if max <= 0 {
			max = DefaultMaxSize
		}
		if m > max || b > max-m {
			err = fmt.Errorf("%w: %d bytes declared, limit %d", ErrTooLarge, m+b, max)
		} else {
			var data []byte
			data, err = r.read(m + b)
			if err == nil {
				return data[:m:m], data[m:], nil
			}
		}
	}
	if err == io.EOF {
		r.n--
		r.err = io.EOF
		return nil, nil, io.EOF
	}
	r.err = &FrameError{Chunk: r.n, Offset: r.start, Err: err}
	return nil, nil, r.err
}

// header reads and parses one header line. It returns io.EOF only when the
// stream ends before the line's first byte.
func (r *Reader) header() (m, b int64, err error) {
	line, err := r.r.ReadSlice('\n')
	r.offset += int64(len(line))
	switch {
	case err == nil:
	case err == io.EOF && len(line) == 0:
		return 0, 0, io.EOF
	case err == io.EOF:
		if headerPrefix(line) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		return 0, 0, fmt.Errorf("%w %q", ErrHeader, clip(line))
	case err == bufio.ErrBufferFull:
		return 0, 0, fmt.Errorf("%w: no newline in the first %d bytes", ErrHeader, len(line))
	default:
		return 0, 0, err
	}
	m, b, ok := parseHeader(line)
	if !ok {
		return 0, 0, fmt.Errorf("%w %q", ErrHeader, clip(line))
	}
	return m, b, nil
}

// read reads exactly n bytes into the reused buffer.
func (r *Reader) read(n int64) ([]byte, error) {
	if int64(cap(r.buf)) < n {
		// Headroom: later chunks of a search are often a little larger.
		c := min(n+n/8, eagerAlloc)
		if int64(cap(r.buf)) < c {
			r.buf = nil // let the old buffer go before allocating the new one
			r.buf = make([]byte, 0, c)
		}
	}
	buf := r.buf[:0]
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			// Only reached above eagerAlloc: grow as the data really arrives.
			nb := make([]byte, len(buf), min(2*int64(cap(buf)), n))
			copy(nb, buf)
			buf, r.buf = nb, nb
		}
		end := min(int64(cap(buf)), n)
		k, err := r.r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+k]
		r.offset += int64(k)
		if err != nil && int64(len(buf)) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}

// parseHeader parses a canonical header line including its "\n".
func parseHeader(line []byte) (m, b int64, ok bool) {
	if len(line) > maxHeader || len(line) < len(prefix)+4 || string(line[:len(prefix)]) != prefix || line[len(line)-1] != '\n' {
		return 0, 0, false
	}
	rest := line[len(prefix) : len(line)-1]
	m, rest, ok = number(rest)
	if !ok || len(rest) == 0 || rest[0] != ',' {
		return 0, 0, false
	}
	b, rest, ok = number(rest[1:])
	if !ok || len(rest) != 0 {
		return 0, 0, false
	}
	return m, b, true
}

// number parses a canonical decimal: no sign, no leading zeros, at most
// maxDigits digits.
func number(s []byte) (v int64, rest []byte, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if i == maxDigits {
			return 0, nil, false
		}
		v = v*10 + int64(s[i]-'0')
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return 0, nil, false
	}
	return v, s[i:], true
}

// headerPrefix reports whether a line cut short by EOF could still have
// become a valid header, to tell truncation from garbage.
func headerPrefix(line []byte) bool {
	if len(line) > maxHeader {
		return false
	}
	n := min(len(line), len(prefix))
	if string(line[:n]) != prefix[:n] {
		return false
	}
	commas := 0
	for _, c := range line[n:] {
		switch {
		case c == ',':
			commas++
		case c < '0' || c > '9':
			return false
		}
	}
	return commas <= 1
}

// clip shortens a bad header for an error message.
func clip(b []byte) []byte {
	if len(b) > maxHeader {
		return b[:maxHeader]
	}
	return b
}
