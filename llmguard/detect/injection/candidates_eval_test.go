//go:build eval && candidates

package injection

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
)

// perSource returns the mean per-source detection and the worst per-source false-positive
// rate of pooled scores at thr.
func perSource(sc []scored, thr float64) (meanDet, maxFP float64) {
	n := 0
	for k, c := range sourceCells(sc, thr) {
		if strings.HasSuffix(k, " A") {
			meanDet += c.rate()
			n++
		} else {
			maxFP = math.Max(maxFP, c.rate())
		}
	}
	return meanDet / float64(n), maxFP
}

// TestLOSOCandidates compares training recipes (build tag candidates) on the
// uncalibrated held-out scores, so that the comparison does not depend on a calibrator:
// pooled ROC AUC, and mean per-source detection and worst per-source false-positive rate at
// 0.5 and at the lowest threshold that keeps the everyday gate at or below 0.5% with the
// recipe's model trained on everything.
func TestLOSOCandidates(t *testing.T) {
	all := loadAll(t)
	every := everydayRows(t)
	var rows []row
	for _, name := range sourceOrder() {
		rows = append(rows, trainable(all[name])...)
	}
	report := func(name string, raw []scored, ev []float64) {
		sort.Float64s(ev)
		gate := math.Nextafter(ev[len(ev)-1-len(ev)/200], 2) // at most 0.5% of the gate at or above
		md, mf := perSource(raw, 0.5)
		gd, gf := perSource(raw, gate)
		t.Logf("candidate %s: AUC %.3f; at 0.5 mean det %.1f%% max FP %.1f%%; gate thr %.4f: mean det %.1f%% max FP %.1f%%",
			name, auc(raw), 100*md, 100*mf, gate, 100*gd, 100*gf)
	}
	for _, c := range []struct {
		h, epochs int
		rate, l2  float64
	}{{16, 10, 0.05, 1e-4}, {16, 30, 0.05, 1e-3}} {
		raw := mlpLOSO(all, c.h, c.epochs, c.rate, c.l2)
		m := trainMLP(examples(rows), c.h, c.epochs, c.rate, c.l2)
		act := make([]float64, c.h)
		var ev []float64
		for _, r := range every {
			ev = append(ev, sigmoid(m.forward(vectorize(r.Text), act)))
		}
		report(fmt.Sprintf("MLP %+v", c), raw, ev)
	}
	recipes := []TrainOptions{DefaultTrainOptions}
	for _, k := range []int{2, 3, 4} {
		o := DefaultTrainOptions
		o.MinSources = k
		recipes = append(recipes, o)
	}
	for _, o := range recipes {
		raw := losoScores(all, o)
		d := New(Options{})
		d.model = train(examples(rows), o)
		var ev []float64
		for _, r := range every {
			ev = append(ev, d.Score(r.Text).Score)
		}
		report(fmt.Sprintf("LR %+v", o), raw, ev)
	}
}

// auc is the pooled ROC AUC of scores (ties count half).
func auc(sc []scored) float64 {
	s := append([]scored{}, sc...)
	sort.Slice(s, func(i, j int) bool { return s[i].z < s[j].z })
	var pos, neg, sum float64
	for i := 0; i < len(s); {
		j := i
		var p, n float64
		for ; j < len(s) && s[j].z == s[i].z; j++ {
			if s[j].attack {
				p++
			} else {
				n++
			}
		}
		sum += p * (neg + n/2)
		pos += p
		neg += n
		i = j
	}
	return sum / (pos * neg)
}
