package chunk

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ErrBodySize means a WriteBody callback wrote more or fewer bytes than it
// declared. The header is already out, so the stream is broken.
var ErrBodySize = errors.New("chunk: body size differs from declared size")

// Writer writes chunks. Each chunk is flushed to the underlying writer as a
// whole, so one reply is one flush. After any error every call returns it.
type Writer struct {
	w   *bufio.Writer
	err error
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, bufSize)}
}

// Write writes one chunk. A chunk with neither metadata nor body is not
// written at all: "chunked 1.0,0,0" means nothing to the peer.
func (w *Writer) Write(meta, body []byte) error {
	return w.WriteParts(meta, body)
}

// WriteParts writes one chunk whose body is the concatenation of parts,
// without concatenating them first.
func (w *Writer) WriteParts(meta []byte, parts ...[]byte) error {
	var n int64
	for _, p := range parts {
		n += int64(len(p))
	}
	return w.WriteBody(meta, n, func(bw io.Writer) error {
		for _, p := range parts {
			if _, err := bw.Write(p); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteBody writes one chunk of size body bytes produced by fill, which may
// make many small writes: they are buffered. fill must write exactly size
// bytes; otherwise the chunk is malformed and ErrBodySize is returned.
func (w *Writer) WriteBody(meta []byte, size int64, fill func(io.Writer) error) error {
	if w.err != nil {
		return w.err
	}
	if size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrBodySize, size)
	}
	if len(meta) == 0 && size == 0 {
		return nil
	}
	var hdr [maxHeader]byte
	h := append(hdr[:0], prefix...)
	h = strconv.AppendInt(h, int64(len(meta)), 10)
	h = append(h, ',')
	h = strconv.AppendInt(h, size, 10)
	h = append(h, '\n')
	w.w.Write(h)
	w.w.Write(meta)
	cw := countWriter{w: w.w, left: size}
	err := fill(&cw)
	switch {
	case err != nil:
	case cw.left != 0:
		err = fmt.Errorf("%w: %d bytes declared, %d written", ErrBodySize, size, size-cw.left)
	default:
		err = w.w.Flush()
	}
	if err != nil {
		w.err = err
	}
	return err
}

// countWriter refuses to write past the declared size.
type countWriter struct {
	w    *bufio.Writer
	left int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, fmt.Errorf("%w: more than declared", ErrBodySize)
	}
	n, err := c.w.Write(p)
	c.left -= int64(n)
	return n, err
}
