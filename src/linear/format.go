package linear

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"scorecmdline/src/features"
)

// The model file, version 1 (all integers little-endian):
//
//	magic    8 bytes  "SCLM\r\n\x1a\n" (the \r\n\x1a\n catches text-mode mangling)
//	version  uint32   1
//	hlen     uint32   length of the header
//	header   hlen bytes of JSON (fileHeader below): name, description,
//	                  feature scheme, hash bits, threshold, risk, cut, stage
//	                  groups, biases and weight counts, training command,
//	                  corpus checksums, report
//	stages   per stage: nnz uvarints, the gaps between successive non-zero
//	                  bucket indexes (the first is the index itself), then nnz
//	                  float32 weights
//	sha256   32 bytes over everything before it
//
// A JSON header keeps the file self-describing (`head -c 4096` shows what a
// model is) while the weights stay compact: about 6 bytes a weight.
const (
	magic   = "SCLM\r\n\x1a\n"
	version = 1
	// MaxBits bounds the weight tables a file may ask for (2^22 float32 =
	// 16 MiB a stage).
	MaxBits   = 22
	maxHeader = 16 << 20
)

// Errors wrapped by *FormatError.
var (
	ErrMagic     = errors.New("not a scorecmdline linear model (bad magic)")
	ErrVersion   = errors.New("unsupported model file version")
	ErrTruncated = errors.New("file truncated")
	ErrChecksum  = errors.New("checksum mismatch: file corrupted or edited")
	ErrHeader    = errors.New("bad header")
	ErrWeights   = errors.New("bad weights")
)

// FormatError is a model file that cannot be used.
type FormatError struct {
	File   string
	Offset int64 // byte offset of the problem, -1 when not positional
	Err    error
	Detail string
}

func (e *FormatError) Error() string {
	s := "linear: model " + e.File
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at byte %d", e.Offset)
	}
	s += ": " + e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

type fileHeader struct {
	Name          string       `json:"name"`
	Description   string       `json:"description"`
	FeatureScheme int          `json:"feature_scheme"`
	HashBits      uint         `json:"hash_bits"`
	Threshold     float64      `json:"threshold"`
	Risk          int          `json:"risk"`
	Cut           *float64     `json:"cut,omitempty"`
	Deobfuscate   bool         `json:"deobfuscate"`
	Stages        []stageHead  `json:"stages"`
	Command       string       `json:"command"`
	Corpus        []CorpusFile `json:"corpus"`
	Report        string       `json:"report"`
}

type stageHead struct {
	Groups  []string `json:"groups"`
	Bias    float64  `json:"bias"`
	Weights int      `json:"weights"` // non-zero weights stored
}

// MarshalBinary encodes the model; equal models give equal bytes.
func (m *Model) MarshalBinary() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	h := fileHeader{
		Name: m.Name, Description: m.Description, FeatureScheme: features.SchemeVersion,
		HashBits: m.Bits, Threshold: m.Threshold, Risk: m.Risk, Deobfuscate: m.Deobfuscate,
		Command: m.Command, Corpus: m.Corpus, Report: m.Report,
	}
	if len(m.Stages) > 1 {
		h.Cut = &m.Cut
	}
	for _, st := range m.Stages {
		nz := 0
		for _, w := range st.W {
			if w != 0 {
				nz++
			}
		}
		h.Stages = append(h.Stages, stageHead{groupNames(st.Groups), st.Bias, nz})
	}
	hj, err := json.MarshalIndent(h, "", " ")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(magic)
	b.Write(binary.LittleEndian.AppendUint32(nil, version))
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(hj))))
	b.Write(hj)
	var tmp []byte
	for _, st := range m.Stages {
		tmp = tmp[:0]
		prev := 0
		for i, w := range st.W {
			if w != 0 {
				tmp = binary.AppendUvarint(tmp, uint64(i-prev))
				prev = i
			}
		}
		b.Write(tmp)
		tmp = tmp[:0]
		for _, w := range st.W {
			if w != 0 {
				tmp = binary.LittleEndian.AppendUint32(tmp, math.Float32bits(w))
			}
		}
		b.Write(tmp)
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes(), nil
}

// validate checks what Parse checks, for models built in memory.
func (m *Model) validate() error {
	switch {
	case m.Bits < 1 || m.Bits > MaxBits:
		return fmt.Errorf("hash bits %d outside 1..%d", m.Bits, MaxBits)
	case len(m.Stages) < 1 || len(m.Stages) > 2:
		return fmt.Errorf("%d stages, want 1 or 2", len(m.Stages))
	case !(m.Threshold >= 0 && m.Threshold <= 1):
		return fmt.Errorf("threshold %v outside [0,1]", m.Threshold)
	case m.Risk < 0 || m.Risk > 100:
		return fmt.Errorf("risk %d outside 0..100", m.Risk)
	case len(m.Stages) > 1 && math.IsNaN(m.Cut):
		return errors.New("cut is NaN")
	}
	for i, st := range m.Stages {
		switch {
		case st.Groups == 0 || !st.Groups.Valid():
			return fmt.Errorf("stage %d: bad feature groups %#x", i, st.Groups)
		case len(st.W) != 1<<m.Bits:
			return fmt.Errorf("stage %d: %d weights, want 2^%d", i, len(st.W), m.Bits)
		case math.IsNaN(st.Bias) || math.IsInf(st.Bias, 0):
			return fmt.Errorf("stage %d: bias %v", i, st.Bias)
		}
		for _, w := range st.W {
			if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
				return fmt.Errorf("stage %d: weight %v", i, w)
			}
		}
	}
	return nil
}

// Parse decodes and validates a model file; file names it in errors.
func Parse(file string, data []byte) (*Model, error) {
	fail := func(off int, err error, detail string) (*Model, error) {
		return nil, &FormatError{file, int64(off), err, detail}
	}
	if len(data) < len(magic) || string(data[:len(magic)]) != magic {
		return fail(0, ErrMagic, "")
	}
	if len(data) < len(magic)+8+sha256.Size {
		return fail(len(data), ErrTruncated, "")
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != version {
		return fail(8, ErrVersion, fmt.Sprintf("version %d, this binary reads %d", v, version))
	}
	body := data[:len(data)-sha256.Size]
	hlen := int64(binary.LittleEndian.Uint32(data[12:]))
	if hlen > maxHeader || 16+hlen > int64(len(body)) {
		return fail(12, ErrTruncated, fmt.Sprintf("header of %d bytes", hlen))
	}
	// The checksum comes first so that a cut file says "truncated or
	// edited" rather than whatever its tail happens to look like.
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], data[len(body):]) {
		return fail(len(body), ErrChecksum, "")
	}
	var h fileHeader
	dec := json.NewDecoder(bytes.NewReader(data[16 : 16+hlen]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return fail(16, ErrHeader, err.Error())
	}
	if h.FeatureScheme != features.SchemeVersion {
		return fail(16, ErrHeader, fmt.Sprintf("feature scheme %d, this binary computes %d", h.FeatureScheme, features.SchemeVersion))
	}
	m := &Model{
		Name: h.Name, Description: h.Description, Bits: h.HashBits, Threshold: h.Threshold,
		Risk: h.Risk, Deobfuscate: h.Deobfuscate, Command: h.Command, Corpus: h.Corpus, Report: h.Report,
	}
	if h.HashBits < 1 || h.HashBits > MaxBits || len(h.Stages) < 1 || len(h.Stages) > 2 {
		return fail(16, ErrHeader, fmt.Sprintf("hash bits %d, %d stages", h.HashBits, len(h.Stages)))
	}
	if (h.Cut != nil) != (len(h.Stages) == 2) {
		return fail(16, ErrHeader, "a cut goes with exactly two stages")
	}
	if h.Cut != nil {
		m.Cut = *h.Cut
	}
	off := int(16 + hlen)
	size := 1 << h.HashBits
	for i, sh := range h.Stages {
		gs, err := parseGroups(sh.Groups)
		if err != nil {
			return fail(16, ErrHeader, fmt.Sprintf("stage %d: %v", i, err))
		}
		// Each weight takes at least 1 index byte and 4 value bytes: check
		// before allocating anything sized by the header.
		if sh.Weights < 0 || sh.Weights > size || sh.Weights > (len(body)-off)/5 {
			return fail(off, ErrWeights, fmt.Sprintf("stage %d: %d weights", i, sh.Weights))
		}
		st := Stage{Groups: gs, Bias: sh.Bias, W: make([]float32, size)}
		idx := make([]int32, sh.Weights)
		pos := -1
		for k := range idx {
			gap, n := binary.Uvarint(body[off:])
			if n <= 0 {
				return fail(off, ErrWeights, fmt.Sprintf("stage %d: bad index varint", i))
			}
			next := gap
			if k > 0 {
				next += uint64(pos)
			}
			if (k > 0 && gap == 0) || gap >= uint64(size) || next >= uint64(size) {
				return fail(off, ErrWeights, fmt.Sprintf("stage %d: index out of order or range", i))
			}
			pos = int(next)
			idx[k] = int32(pos)
			off += n
		}
		if len(body)-off < 4*sh.Weights {
			return fail(off, ErrTruncated, fmt.Sprintf("stage %d weights", i))
		}
		for _, j := range idx {
			w := math.Float32frombits(binary.LittleEndian.Uint32(body[off:]))
			if w == 0 || math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
				return fail(off, ErrWeights, fmt.Sprintf("stage %d: weight %v", i, w))
			}
			st.W[j] = w
			off += 4
		}
		m.Stages = append(m.Stages, st)
	}
	if off != len(body) {
		return fail(off, ErrWeights, fmt.Sprintf("%d bytes after the last stage", len(body)-off))
	}
	if err := m.validate(); err != nil {
		return fail(16, ErrHeader, err.Error())
	}
	return m, nil
}

func groupNames(gs features.Groups) []string {
	var s []string
	for g := features.Group(0); g < features.NumGroups; g++ {
		if gs.Has(g) {
			s = append(s, g.String())
		}
	}
	return s
}

func parseGroups(names []string) (features.Groups, error) {
	var gs features.Groups
	for _, n := range names {
		g := features.Group(0)
		for ; g < features.NumGroups && g.String() != n; g++ {
		}
		if g == features.NumGroups {
			return 0, fmt.Errorf("unknown feature group %q", n)
		}
		gs |= features.Set(g)
	}
	return gs, nil
}
