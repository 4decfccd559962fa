package rules

import (
	"errors"
	"os"
	"testing"
)

func TestLevel(t *testing.T) {
	for _, tt := range []struct {
		name string
		l    Level
	}{{"informational", Informational}, {"low", Low}, {"medium", Medium}, {"high", High}, {"critical", Critical}} {
		l, err := ParseLevel(tt.name)
		if err != nil || l != tt.l || l.String() != tt.name {
			t.Errorf("ParseLevel(%q) = %v (%d), %v; want %d", tt.name, l, l, err, tt.l)
		}
	}
	for _, s := range []string{"", "High", "severe", "info", " low"} {
		if l, err := ParseLevel(s); !errors.Is(err, ErrBadValue) || l != 0 {
			t.Errorf("ParseLevel(%q) = %v, %v; want ErrBadValue", s, l, err)
		}
	}
	if !(Informational < Low && Low < Medium && Medium < High && High < Critical) {
		t.Error("levels out of order")
	}
	if s := Level(0).String(); s != "" {
		t.Errorf("Level(0) = %q", s)
	}
	if s := Level(9).String(); s != "Level(9)" {
		t.Errorf("Level(9) = %q", s)
	}
}

func TestLevelFor(t *testing.T) {
	for _, tt := range []struct {
		risk int
		want Level
	}{{0, Informational}, {19, Informational}, {20, Low}, {29, Low}, {30, Medium}, {49, Medium}, {50, High}, {79, High}, {80, Critical}, {100, Critical}} {
		if got := LevelFor(tt.risk); got != tt.want {
			t.Errorf("LevelFor(%d) = %v, want %v", tt.risk, got, tt.want)
		}
		r := Rule{Risk: tt.risk}
		if got := r.EffectiveLevel(); got != tt.want {
			t.Errorf("EffectiveLevel(risk %d) = %v, want %v", tt.risk, got, tt.want)
		}
		r.Level = Low
		if got := r.EffectiveLevel(); got != Low {
			t.Errorf("EffectiveLevel(risk %d, level low) = %v", tt.risk, got)
		}
	}
}

// TestSentinelLevels: the levels of the shipped pack, given or derived.
func TestSentinelLevels(t *testing.T) {
	p, err := LoadPack(os.DirFS(lookupsDir), "sentinel_cmd")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Level{
		"vssadmin_delete_shadows": Critical, "wmic_shadowcopy_delete": Critical, "reg_save": Critical,
		"certutil_urlcache": High, "schtasks_create": Medium, "reg_add": Low, "for_f": Informational,
		"bcdedit_set": High, "suspicious_parent": High,
	}
	for _, r := range p.Rules {
		if l, ok := want[r.Name]; ok && r.Level != l {
			t.Errorf("%s: level %v, want %v", r.Name, r.Level, l)
		}
		if r.Level == 0 {
			t.Errorf("%s: no level", r.Name)
		}
	}
}
