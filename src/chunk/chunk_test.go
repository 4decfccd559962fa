package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"scorecmdline/src/internal/golden"
	"scorecmdline/src/internal/race"
)

// dump renders what a Reader makes of a stream, one line per chunk.
func dump(in []byte) []byte {
	var out bytes.Buffer
	r := NewReader(bytes.NewReader(in))
	r.MaxSize = 1 << 30
	for {
		meta, body, err := r.Next()
		n, off := r.Chunk()
		if err == io.EOF {
			fmt.Fprintf(&out, "EOF after %d chunks\n", n)
			return out.Bytes()
		}
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
			var fe *FrameError
			if !errors.As(err, &fe) {
				fmt.Fprintf(&out, "NOT A FrameError: %T\n", err)
			}
			for _, s := range []error{ErrHeader, ErrTooLarge, io.ErrUnexpectedEOF} {
				if errors.Is(err, s) {
					fmt.Fprintf(&out, "is %v\n", s)
				}
			}
			return out.Bytes()
		}
		fmt.Fprintf(&out, "chunk %d at byte %d: meta %q body %q\n", n, off, meta, body)
	}
}

func TestReaderGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.chunks"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".chunks")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(file, ".chunks")+".golden", dump(in))
		})
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		max   int64
		want  error  // sentinel
		text  string // full error text
		chunk int
	}{
		{"eof mid header", "chunked 1.0,1", 0, io.ErrUnexpectedEOF, "chunk 1 at byte 0: unexpected EOF", 1},
		{"eof after prefix", "chunk", 0, io.ErrUnexpectedEOF, "chunk 1 at byte 0: unexpected EOF", 1},
		{"second chunk cut", "chunked 1.0,0,1\nxchunked 1.0,0,5\nab", 0, io.ErrUnexpectedEOF, "chunk 2 at byte 17: unexpected EOF", 2},
		{"limit meta", "chunked 1.0,11,0\n", 10, ErrTooLarge, "chunk 1 at byte 0: chunk: too large: 11 bytes declared, limit 10", 1},
		{"limit sum", "chunked 1.0,6,5\n", 10, ErrTooLarge, "chunk 1 at byte 0: chunk: too large: 11 bytes declared, limit 10", 1},
		{"limit exact is fine then cut", "chunked 1.0,5,5\n", 10, io.ErrUnexpectedEOF, "chunk 1 at byte 0: unexpected EOF", 1},
		{"18 digits", "chunked 1.0,999999999999999999,0\n", 0, ErrTooLarge, "chunk 1 at byte 0: chunk: too large: 999999999999999999 bytes declared, limit 1073741824", 1},
		{"19 digits", "chunked 1.0,1000000000000000000,0\n", 0, ErrHeader, `chunk 1 at byte 0: chunk: invalid header "chunked 1.0,1000000000000000000,0\n"`, 1},
		{"plus sign", "chunked 1.0,+1,0\n", 0, ErrHeader, `chunk 1 at byte 0: chunk: invalid header "chunked 1.0,+1,0\n"`, 1},
		{"empty length", "chunked 1.0,,0\n", 0, ErrHeader, `chunk 1 at byte 0: chunk: invalid header "chunked 1.0,,0\n"`, 1},
		{"trailing space", "chunked 1.0,0,0 \n", 0, ErrHeader, `chunk 1 at byte 0: chunk: invalid header "chunked 1.0,0,0 \n"`, 1},
		{"blank line", "\n", 0, ErrHeader, `chunk 1 at byte 0: chunk: invalid header "\n"`, 1},
		{"garbage at eof", "chunked 1.0,x", 0, ErrHeader, `chunk 1 at byte 0: chunk: invalid header "chunked 1.0,x"`, 1},
		{"no newline", strings.Repeat("a", 100<<10), 0, ErrHeader, "chunk 1 at byte 0: chunk: invalid header: no newline in the first 65536 bytes", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in))
			r.MaxSize = tt.max
			var err error
			for err == nil {
				_, _, err = r.Next()
			}
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("got %T %v, want *FrameError", err, err)
			}
			if !errors.Is(err, tt.want) || err.Error() != tt.text || fe.Chunk != tt.chunk {
				t.Errorf("got %q (chunk %d), want %q (chunk %d, is %v)", err, fe.Chunk, tt.text, tt.chunk, tt.want)
			}
			if _, _, again := r.Next(); again != err {
				t.Errorf("error not sticky: %v", again)
			}
		})
	}
}

// A huge declared length with a short body must not allocate the declared size.
func TestReaderLyingLength(t *testing.T) {
	in := "chunked 1.0,0,2147483648\n" + strings.Repeat("x", 1000)
	r := NewReader(strings.NewReader(in))
	r.MaxSize = 4 << 30
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := r.Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want unexpected EOF", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 2*eagerAlloc {
		t.Errorf("allocated %d bytes for a 1000-byte body", d)
	}
}

// Bodies above the eager allocation still read correctly as they grow.
func TestReaderLargeBody(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), (eagerAlloc+12345)/16)
	var in bytes.Buffer
	w := NewWriter(&in)
	if err := w.Write([]byte("{}"), body); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(`{"x":1}`), []byte("small"))
	r := NewReader(&in)
	meta, got, err := r.Next()
	if err != nil || string(meta) != "{}" || !bytes.Equal(got, body) {
		t.Fatalf("large chunk: err %v, meta %q, body equal %v", err, meta, bytes.Equal(got, body))
	}
	meta, got, err = r.Next()
	if err != nil || string(meta) != `{"x":1}` || string(got) != "small" {
		t.Fatalf("after large chunk: %q %q %v", meta, got, err)
	}
	if _, _, err = r.Next(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

// Reading many chunks of the same size reuses one buffer.
func TestReaderReusesBuffer(t *testing.T) {
	if race.Enabled {
		t.Skip("skipping: the race detector allocates")
	}
	var in bytes.Buffer
	w := NewWriter(&in)
	for range 100 {
		w.Write([]byte(`{"finished":false}`), bytes.Repeat([]byte("a,b\n"), 1000))
	}
	data := in.Bytes()
	allocs := testing.AllocsPerRun(5, func() {
		r := NewReader(bytes.NewReader(data))
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	})
	// Reader, bufio.Reader and its buffer, bytes.Reader, one chunk buffer.
	if allocs > 6 {
		t.Errorf("%v allocations for 100 chunks", allocs)
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

func TestWriter(t *testing.T) {
	tests := []struct {
		name       string
		meta       string
		parts      []string
		want       string
		wantWrites int
	}{
		{"meta only", `{"type":"streaming"}`, nil, "chunked 1.0,20,0\n{\"type\":\"streaming\"}", 1},
		{"meta and body", `{"finished":true}`, []string{"a,b\n", "1,2\n"}, "chunked 1.0,17,8\n{\"finished\":true}a,b\n1,2\n", 1},
		{"byte lengths", `{}`, []string{"\u0e17t\n"}, "chunked 1.0,2,5\n{}\u0e17t\n", 1},
		{"body only", ``, []string{"x"}, "chunked 1.0,0,1\nx", 1},
		{"nothing", ``, []string{"", ""}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out countingWriter
			w := NewWriter(&out)
			parts := make([][]byte, len(tt.parts))
			for i, p := range tt.parts {
				parts[i] = []byte(p)
			}
			if err := w.WriteParts([]byte(tt.meta), parts...); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want || out.writes != tt.wantWrites {
				t.Errorf("got %q in %d writes, want %q in %d", out.String(), out.writes, tt.want, tt.wantWrites)
			}
		})
	}
}

func TestWriteBodySize(t *testing.T) {
	for _, tt := range []struct {
		name string
		size int64
		body string
	}{
		{"short", 5, "abc"},
		{"long", 2, "abc"},
		{"negative", -1, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			w := NewWriter(&out)
			err := w.WriteBody([]byte("{}"), tt.size, func(bw io.Writer) error {
				_, err := io.WriteString(bw, tt.body)
				return err
			})
			if !errors.Is(err, ErrBodySize) {
				t.Fatalf("got %v, want ErrBodySize", err)
			}
			if tt.size >= 0 {
				if again := w.Write([]byte("{}"), nil); again != err {
					t.Errorf("error not sticky: %v", again)
				}
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

func TestWriterError(t *testing.T) {
	w := NewWriter(failWriter{})
	err := w.Write([]byte("{}"), nil)
	if err == nil || err.Error() != "pipe closed" {
		t.Fatalf("got %v", err)
	}
	if again := w.Write([]byte("{}"), nil); again != err {
		t.Errorf("error not sticky: %v", again)
	}
}

func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.chunks"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("chunked 1.0,2,3\n{}a,b"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1 << 16
		var chunks [][2][]byte
		r := NewReader(bytes.NewReader(in))
		r.MaxSize = limit
		for {
			meta, body, err := r.Next()
			var fe *FrameError
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.As(err, &fe) {
					t.Fatalf("untyped error %T: %v", err, err)
				}
				if !errors.Is(err, ErrHeader) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected cause: %v", err)
				}
				if fe.Offset < 0 || fe.Offset > int64(len(in)) {
					t.Fatalf("offset %d outside input of %d bytes", fe.Offset, len(in))
				}
				break
			}
			if len(meta)+len(body) > limit {
				t.Fatal("size limit ignored")
			}
			chunks = append(chunks, [2][]byte{bytes.Clone(meta), bytes.Clone(body)})
		}
		// Round trip: what was read, written and read again is equal.
		// The writer drops chunks with neither metadata nor body.
		var buf bytes.Buffer
		w := NewWriter(&buf)
		var want [][2][]byte
		for _, c := range chunks {
			if err := w.Write(c[0], c[1]); err != nil {
				t.Fatal(err)
			}
			if len(c[0])+len(c[1]) > 0 {
				want = append(want, c)
			}
		}
		r = NewReader(&buf)
		for i := 0; ; i++ {
			meta, body, err := r.Next()
			if err == io.EOF {
				if i != len(want) {
					t.Fatalf("round trip: %d chunks, want %d", i, len(want))
				}
				return
			}
			if err != nil {
				t.Fatalf("round trip: %v", err)
			}
			if i >= len(want) || !bytes.Equal(meta, want[i][0]) || !bytes.Equal(body, want[i][1]) {
				t.Fatalf("round trip: chunk %d differs", i+1)
			}
		}
	})
}

func BenchmarkReader(b *testing.B) {
	var in bytes.Buffer
	w := NewWriter(&in)
	body := bytes.Repeat([]byte(strings.Repeat("x", 379)+"\n"), 50000)
	for range 4 {
		w.Write([]byte(`{"action":"execute","finished":false}`), body)
	}
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N*200000)/b.Elapsed().Seconds(), "rows/s")
}
