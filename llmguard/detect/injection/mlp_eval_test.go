//go:build eval && candidates

package injection

import (
	"math"
	"math/rand/v2"
)

// mlpFloat is an experimental one-hidden-layer network over the model's sparse features
// (TestLOSOCandidates compares it with the logistic regression; scored on the first window
// as training sees it).
type mlpFloat struct {
	h      int
	w1, b1 []float64
	w2     []float64
	b2     float64
}

func (m *mlpFloat) forward(v sparse, act []float64) float64 {
	copy(act, m.b1)
	for k, f := range v.idx {
		row := m.w1[int(f)*m.h : int(f)*m.h+m.h]
		x := v.val[k]
		for j := range act {
			act[j] += row[j] * x
		}
	}
	z := m.b2
	for j, a := range act {
		if a > 0 {
			z += m.w2[j] * a
		}
	}
	return z
}

func trainMLP(exs []Example, h, epochs int, rate, l2 float64) *mlpFloat {
	vs := make([]sparse, len(exs))
	for i, e := range exs {
		vs[i] = vectorize(e.Text)
	}
	r := rand.New(rand.NewPCG(1, 2))
	m := &mlpFloat{h: h, w1: make([]float64, (1<<hashBits)*h), b1: make([]float64, h), w2: make([]float64, h)}
	for i := range m.w1 {
		m.w1[i] = (r.Float64()*2 - 1) * 0.1
	}
	for j := range m.w2 {
		m.w2[j] = (r.Float64()*2 - 1) * 0.5
		m.b1[j] = 0.01
	}
	g1 := make([]float64, len(m.w1))
	gb1 := make([]float64, h)
	gw2 := make([]float64, h)
	gb2 := 0.0
	act := make([]float64, h)
	dh := make([]float64, h)
	ada := func(w *float64, acc *float64, g float64) {
		*acc += g * g
		*w -= rate * g / math.Sqrt(*acc+1e-8)
	}
	for ep := 0; ep < epochs; ep++ {
		for i, v := range vs {
			z := m.forward(v, act)
			y := 0.0
			if exs[i].Label {
				y = 1
			}
			g := (sigmoid(z) - y) * exs[i].Weight
			for j := range dh {
				dh[j] = 0
				if act[j] > 0 {
					dh[j] = g * m.w2[j]
				}
			}
			for j := range m.w2 {
				a := math.Max(act[j], 0)
				ada(&m.w2[j], &gw2[j], g*a+l2*m.w2[j])
				ada(&m.b1[j], &gb1[j], dh[j])
			}
			ada(&m.b2, &gb2, g)
			for k, f := range v.idx {
				base := int(f) * h
				x := v.val[k]
				for j := 0; j < h; j++ {
					if dh[j] != 0 {
						ada(&m.w1[base+j], &g1[base+j], dh[j]*x+l2*m.w1[base+j])
					}
				}
			}
		}
	}
	return m
}

// mlpLOSO returns the pooled held-out logits of the MLP, per public source.
func mlpLOSO(all map[string][]srcRow, h, epochs int, rate, l2 float64) []scored {
	var pooled []scored
	act := make([]float64, h)
	for _, held := range publicSources {
		var tr []row
		for _, name := range sourceOrder() {
			if name != held {
				tr = append(tr, trainable(all[name])...)
			}
		}
		m := trainMLP(examples(tr), h, epochs, rate, l2)
		for _, r := range all[held] {
			z := m.forward(vectorize(r.Text), act)
			pooled = append(pooled, scored{p: sigmoid(z), z: z, attack: r.Label == 1 && !offTask[r.Category], offTask: r.Label == 1 && offTask[r.Category], file: r.file})
		}
	}
	return pooled
}
