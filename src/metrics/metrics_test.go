package metrics

import (
	"math"
	"testing"
)

func TestAUC(t *testing.T) {
	tests := []struct {
		name   string
		labels []bool
		scores []float64
		want   float64
		ok     bool
	}{
		{"perfect", []bool{false, false, true, true}, []float64{0.1, 0.2, 0.8, 0.9}, 1, true},
		{"inverted", []bool{true, true, false, false}, []float64{0.1, 0.2, 0.8, 0.9}, 0, true},
		// pairs (pos,neg): (0.5,0.5)=½ (0.5,0.1)=1 (0.9,0.5)=1 (0.9,0.1)=1 -> 3.5/4
		{"tie", []bool{true, false, true, false}, []float64{0.5, 0.5, 0.9, 0.1}, 0.875, true},
		{"all tied", []bool{true, false, true}, []float64{1, 1, 1}, 0.5, true},
		// pos {0.3, 0.7}, neg {0.2, 0.4, 0.8}: 0.3 beats 1, 0.7 beats 2 -> 3/6
		{"mixed", []bool{false, true, false, true, false}, []float64{0.2, 0.3, 0.4, 0.7, 0.8}, 0.5, true},
		{"no benign", []bool{true, true}, []float64{1, 2}, 0, false},
		{"no malicious", []bool{false}, []float64{1}, 0, false},
		{"empty", nil, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := AUC(tt.labels, tt.scores)
			if ok != tt.ok || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("AUC = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestThresholdAtFPR(t *testing.T) {
	ten := []float64{0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.5, 0.0}
	tests := []struct {
		name   string
		benign []float64
		fpr    float64
		want   float64
	}{
		{"zero budget is the max", ten, 0, 0.9},
		{"one in ten", ten, 0.1, 0.8},
		{"just under two in ten", ten, 0.19, 0.8},
		{"two in ten", ten, 0.2, 0.7},
		{"everything", ten, 1, math.Nextafter(0, math.Inf(-1))},
		// ties: the 2nd highest is 0.5, tied with the 1st; nothing is > 0.5
		{"ties lower the FPR", []float64{0.5, 0.5, 0.5, 0.1}, 0.25, 0.5},
		{"empty", nil, 0.01, math.Inf(-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ThresholdAtFPR(tt.benign, tt.fpr)
			if got != tt.want {
				t.Fatalf("ThresholdAtFPR = %v, want %v", got, tt.want)
			}
			if len(tt.benign) == 0 {
				return
			}
			fp := 0
			for _, s := range tt.benign {
				if s > got {
					fp++
				}
			}
			if float64(fp) > tt.fpr*float64(len(tt.benign))+1e-9 {
				t.Errorf("%d benign rows above %v exceed the budget %v", fp, got, tt.fpr)
			}
		})
	}
}

func TestTPRAtFPRAndCount(t *testing.T) {
	labels := []bool{false, false, false, false, true, true, true, true}
	scores := []float64{0.1, 0.2, 0.3, 0.9, 0.25, 0.5, 0.95, 0.3}
	// budget 25% of 4 benign = 1 FP: threshold = 2nd highest benign = 0.3;
	// malicious above 0.3: 0.5, 0.95 (0.3 ties, not above) -> 2/4
	tpr, thr, ok := TPRAtFPR(labels, scores, 0.25)
	if !ok || thr != 0.3 || tpr != 0.5 {
		t.Fatalf("TPRAtFPR = %v, %v, %v; want 0.5, 0.3, true", tpr, thr, ok)
	}
	c := Count(labels, scores, thr)
	if want := (Confusion{TP: 2, FP: 1, TN: 3, FN: 2}); c != want {
		t.Fatalf("Count = %+v, want %+v", c, want)
	}
	if c.FPR() != 0.25 || c.Precision() != 2.0/3 {
		t.Errorf("FPR %v precision %v", c.FPR(), c.Precision())
	}
	if !math.IsNaN((Confusion{}).TPR()) {
		t.Error("TPR of no rows should be NaN")
	}
	if _, _, ok := TPRAtFPR([]bool{true}, []float64{1}, 0.01); ok {
		t.Error("TPRAtFPR without benign rows should not be ok")
	}
}

func TestNaNScoresDoNotPanic(t *testing.T) {
	labels := []bool{true, false, true, false}
	scores := []float64{math.NaN(), 0.5, 0.7, math.NaN()}
	AUC(labels, scores)
	ThresholdAtFPR(scores, 0.5)
}
