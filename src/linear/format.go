package linear

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"scorecmdline/src/features"
)

// The model file, version 2 (all integers little-endian):
//
//	magic    8 bytes  "SCLM\r\n\x1a\n" (the \r\n\x1a\n catches text-mode mangling)
//	version  uint32   2
//	hlen     uint32   length of the header
//	header   hlen bytes of JSON (fileHeader below): name, description,
//	                  feature scheme, hash bits, threshold, risk, the
//	                  stage's groups, bias, scale and weight count, the
//	                  malicious OOF logit quantiles, training command,
//	                  corpus checksums, report
//	weights  nnz uvarints, the gaps between successive non-zero bucket
//	                  indexes (the first is the index itself), then nnz
//	                  int16 weights
//	crc      uint32   CRC-32C (Castagnoli) of everything before it
//
// A JSON header keeps the file self-describing (`head -c 4096` shows what a
// model is) while the weights stay compact: about 3.5 bytes a weight. The
// CRC is there to catch truncation and edits, not tampering, and is
// hardware-accelerated: loading is dominated by filling the table.
// Version 1 (two float32 stages, SHA-256) is refused with ErrVersion.
const (
	magic   = "SCLM\r\n\x1a\n"
	version = 2
	// MaxBits bounds the weight table a file may ask for (2^22 int16 =
	// 8 MiB).
	MaxBits   = 22
	maxHeader = 16 << 20
	crcSize   = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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
	Deobfuscate   bool         `json:"deobfuscate"`
	Groups        []string     `json:"groups"`
	Bias          float64      `json:"bias"`
	Scale         float64      `json:"scale"`
	Weights       int          `json:"weights"` // non-zero weights stored
	Malicious     []float64    `json:"malicious_oof_logit_quantiles"`
	Command       string       `json:"command"`
	Corpus        []CorpusFile `json:"corpus"`
	Report        string       `json:"report"`
}

// MarshalBinary encodes the model; equal models give equal bytes.
func (m *Model) MarshalBinary() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	st := &m.Stages[0]
	h := fileHeader{
		Name: m.Name, Description: m.Description, FeatureScheme: features.SchemeVersion,
		HashBits: m.Bits, Threshold: m.Threshold, Risk: m.Risk, Deobfuscate: m.Deobfuscate,
		Groups: groupNames(st.Groups), Bias: st.Bias, Scale: st.Scale, Malicious: m.Malicious,
		Command: m.Command, Corpus: m.Corpus, Report: m.Report,
	}
	for _, w := range st.W {
		if w != 0 {
			h.Weights++
		}
	}
	hj, err := json.MarshalIndent(h, "", " ")
	if err != nil {
		return nil, err
	}
	b := append([]byte(magic), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[8:], version)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(hj)))
	b = append(b, hj...)
	prev := 0
	for i, w := range st.W {
		if w != 0 {
			b = binary.AppendUvarint(b, uint64(i-prev))
			prev = i
		}
	}
	for _, w := range st.W {
		if w != 0 {
			b = binary.LittleEndian.AppendUint16(b, uint16(w))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// validate checks what Parse checks, for models built in memory.
func (m *Model) validate() error {
	switch {
	case m.Bits < 1 || m.Bits > MaxBits:
		return fmt.Errorf("hash bits %d outside 1..%d", m.Bits, MaxBits)
	case len(m.Stages) != 1:
		return fmt.Errorf("%d stages, want 1", len(m.Stages))
	case !(m.Threshold >= 0 && m.Threshold <= 1):
		return fmt.Errorf("threshold %v outside [0,1]", m.Threshold)
	case m.Risk < 0 || m.Risk > 100:
		return fmt.Errorf("risk %d outside 0..100", m.Risk)
	case len(m.Malicious) != 0 && len(m.Malicious) != MaliciousQuantiles:
		return fmt.Errorf("%d malicious quantiles, want 0 or %d", len(m.Malicious), MaliciousQuantiles)
	}
	for i, q := range m.Malicious {
		if math.IsNaN(q) || math.IsInf(q, 0) || i > 0 && q < m.Malicious[i-1] {
			return errors.New("malicious quantiles not finite and ascending")
		}
	}
	st := &m.Stages[0]
	switch {
	case st.Groups == 0 || !st.Groups.Valid():
		return fmt.Errorf("bad feature groups %#x", st.Groups)
	case len(st.W) != 1<<m.Bits:
		return fmt.Errorf("%d weights, want 2^%d", len(st.W), m.Bits)
	case math.IsNaN(st.Bias) || math.IsInf(st.Bias, 0):
		return fmt.Errorf("bias %v", st.Bias)
	case !(st.Scale > 0) || math.IsInf(st.Scale, 0):
		return fmt.Errorf("scale %v", st.Scale)
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
	if len(data) < len(magic)+8+crcSize {
		return fail(len(data), ErrTruncated, "")
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != version {
		return fail(8, ErrVersion, fmt.Sprintf("version %d, this binary reads %d", v, version))
	}
	body := data[:len(data)-crcSize]
	hlen := int64(binary.LittleEndian.Uint32(data[12:]))
	if hlen > maxHeader || 16+hlen > int64(len(body)) {
		return fail(12, ErrTruncated, fmt.Sprintf("header of %d bytes", hlen))
	}
	// The checksum comes first so that a cut file says "truncated or
	// edited" rather than whatever its tail happens to look like.
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(body):]) {
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
	if h.HashBits < 1 || h.HashBits > MaxBits {
		return fail(16, ErrHeader, fmt.Sprintf("hash bits %d", h.HashBits))
	}
	gs, err := parseGroups(h.Groups)
	if err != nil {
		return fail(16, ErrHeader, err.Error())
	}
	off := int(16 + hlen)
	size := 1 << h.HashBits
	// Each weight takes at least 1 index byte and 2 value bytes: check
	// before allocating anything sized by the header.
	if h.Weights < 0 || h.Weights > size || h.Weights > (len(body)-off)/3 {
		return fail(off, ErrWeights, fmt.Sprintf("%d weights", h.Weights))
	}
	st := Stage{Groups: gs, Bias: h.Bias, Scale: h.Scale, W: make([]int16, size)}
	// Indexes first, weights after: read both in one pass with two cursors.
	wOff := off
	for k := 0; k < h.Weights; k++ {
		_, n := binary.Uvarint(body[wOff:])
		if n <= 0 {
			return fail(wOff, ErrWeights, "bad index varint")
		}
		wOff += n
	}
	if len(body)-wOff != 2*h.Weights {
		return fail(wOff, ErrWeights, fmt.Sprintf("%d bytes of weights, want %d", len(body)-wOff, 2*h.Weights))
	}
	pos := -1
	for k := 0; k < h.Weights; k++ {
		gap, n := binary.Uvarint(body[off:])
		next := uint64(pos) + gap
		if k == 0 {
			next = gap
		}
		if k > 0 && gap == 0 || next >= uint64(size) {
			return fail(off, ErrWeights, "index out of order or range")
		}
		pos = int(next)
		off += n
		w := int16(binary.LittleEndian.Uint16(body[wOff+2*k:]))
		if w == 0 {
			return fail(wOff+2*k, ErrWeights, "a stored weight is zero")
		}
		st.W[pos] = w
	}
	m := &Model{
		Name: h.Name, Description: h.Description, Bits: h.HashBits, Threshold: h.Threshold,
		Risk: h.Risk, Deobfuscate: h.Deobfuscate, Malicious: h.Malicious, Command: h.Command,
		Corpus: h.Corpus, Report: h.Report, Stages: []Stage{st},
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
