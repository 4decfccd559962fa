// Package metrics measures how well scores separate malicious from benign
// rows: ROC AUC, the alert threshold that holds a false-positive budget, the
// true-positive rate at that budget, and confusion counts.
//
// Every decision rule here is "alert when score > threshold" (strictly
// greater), the rule a model file stores. A threshold read off benign scores
// at a target FPR is therefore one of those scores: the rows that tie with it
// do not alert, so ties can only lower the FPR, never raise it above target.
package metrics

import (
	"math"
	"slices"
)

// AUC is the ROC AUC of scores for labels (true = malicious): the
// probability that a random malicious row outscores a random benign one,
// ties counting one half. ok is false when either class is empty.
func AUC(labels []bool, scores []float64) (auc float64, ok bool) {
	idx := make([]int, len(scores))
	pos := 0
	for i := range idx {
		idx[i] = i
		if labels[i] {
			pos++
		}
	}
	neg := len(scores) - pos
	if pos == 0 || neg == 0 {
		return 0, false
	}
	slices.SortFunc(idx, func(a, b int) int { return cmpFloat(scores[a], scores[b]) })
	// Mann-Whitney: sum of the positives' ranks, tied runs sharing their
	// average rank.
	rankSum := 0.0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && cmpFloat(scores[idx[j]], scores[idx[i]]) == 0 {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1 .. j
		for _, k := range idx[i:j] {
			if labels[k] {
				rankSum += avg
			}
		}
		i = j
	}
	p, n := float64(pos), float64(neg)
	return (rankSum - p*(p+1)/2) / (p * n), true
}

// ThresholdAtFPR returns the lowest threshold t such that at most
// floor(fpr·len(benign)) benign scores are > t: the (k+1)-th highest benign
// score. With no benign scores, or when the budget covers them all, it
// returns the value just below the lowest score (every row alerts), or -Inf
// for an empty slice. benign is not modified.
func ThresholdAtFPR(benign []float64, fpr float64) float64 {
	if len(benign) == 0 {
		return math.Inf(-1)
	}
	s := slices.Clone(benign)
	slices.SortFunc(s, func(a, b float64) int { return cmpFloat(b, a) })
	k := int(math.Floor(fpr*float64(len(s)) + 1e-9)) // false positives allowed
	if k < 0 {
		k = 0
	}
	if k >= len(s) {
		return math.Nextafter(s[len(s)-1], math.Inf(-1))
	}
	return s[k]
}

// TPRAtFPR is the TPR of the rule "score > ThresholdAtFPR(benign scores,
// fpr)", and that threshold. ok is false when either class is empty.
func TPRAtFPR(labels []bool, scores []float64, fpr float64) (tpr, threshold float64, ok bool) {
	var neg []float64
	for i, s := range scores {
		if !labels[i] {
			neg = append(neg, s)
		}
	}
	if len(neg) == 0 || len(neg) == len(scores) {
		return 0, 0, false
	}
	t := ThresholdAtFPR(neg, fpr)
	return Count(labels, scores, t).TPR(), t, true
}

// Confusion counts the outcomes of "alert when score > threshold".
type Confusion struct {
	TP, FP, TN, FN int
}

// Count applies the rule score > t to every row.
func Count(labels []bool, scores []float64, t float64) Confusion {
	var c Confusion
	for i, s := range scores {
		switch alert := s > t; {
		case labels[i] && alert:
			c.TP++
		case labels[i]:
			c.FN++
		case alert:
			c.FP++
		default:
			c.TN++
		}
	}
	return c
}

// Add returns the sum of two counts.
func (c Confusion) Add(o Confusion) Confusion {
	return Confusion{c.TP + o.TP, c.FP + o.FP, c.TN + o.TN, c.FN + o.FN}
}

// TPR is TP/(TP+FN), NaN without malicious rows.
func (c Confusion) TPR() float64 { return ratio(c.TP, c.TP+c.FN) }

// FPR is FP/(FP+TN), NaN without benign rows.
func (c Confusion) FPR() float64 { return ratio(c.FP, c.FP+c.TN) }

// Precision is TP/(TP+FP), NaN without alerts.
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// cmpFloat orders NaN first so that sorting never panics or loops on it.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	case math.IsNaN(a) && !math.IsNaN(b):
		return -1
	case !math.IsNaN(a) && math.IsNaN(b):
		return 1
	}
	return 0
}
