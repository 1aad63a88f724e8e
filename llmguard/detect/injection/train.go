package injection

import (
	"math"
	"math/bits"
	"sort"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/normalize"
)

// Example is one labelled training text. Weight scales its loss (e.g. to balance
// classes or sources).
type Example struct {
	Text   string
	Label  bool
	Weight float64
	// Source names the collection the example comes from (TrainOptions.MinSources).
	Source string
}

type sparse struct {
	idx []uint32
	val []float64
}

func vectorize(text string) sparse {
	f := normalize.Fold(text)
	counts := map[uint32]float64{}
	n := 0
	flags := features(f.Text, func(h uint32) {
		if n < window && counts[h] < maxRepeat { // the first window, as scoring does for short texts
			counts[h]++
		}
		n++
	})
	if n > window {
		n = window
	}
	norm := 1 / math.Sqrt(math.Max(1, float64(n)))
	for h := range counts {
		counts[h] *= norm
	}
	// Text-level rule features (value 1, unscaled), as Detector.scoreFolded computes them.
	hits, starts, _ := kwMatcher.scanFolded(f.Text, nil, maxHits)
	plain, _ := splitHits(hits)
	for _, h := range ruleFeatures(plain, evalRules(plain), starts, nil) {
		counts[h]++
	}
	for i := 0; i < numFlags; i++ {
		if flags&(1<<i) != 0 {
			counts[flagFeat[i]]++
		}
	}
	s := sparse{}
	for h := range counts {
		s.idx = append(s.idx, h)
	}
	sort.Slice(s.idx, func(i, j int) bool { return s.idx[i] < s.idx[j] })
	for _, h := range s.idx {
		s.val = append(s.val, counts[h])
	}
	return s
}

// TrainOptions are the hyper-parameters of train.
type TrainOptions struct {
	Epochs int
	Rate   float64
	L2     float64
	// MinSources drops every feature found in fewer than this many sources (0 or 1: keep
	// all): a word only one collection uses is that collection's style, and the model
	// learns it as evidence that does not carry to traffic from elsewhere.
	MinSources int
	// WordCap, if > 0, keeps the weight of every hashed word at or below WordCap while
	// training (projected AdaGrad; keyword-class, rule and layout features are not capped):
	// no single word may count as strong evidence of an attack.
	WordCap float64
}

// DefaultTrainOptions are the settings the shipped model was trained with. L2 was chosen by
// leave-one-source-out only (#12; figures on the uncalibrated score, offset +0.25, before the
// calibrator): 1e-4 against 1e-6 raised pooled LOSO detection at 0.5
// from 43.6% to 45.0% with pooled FP 17.1% -> 17.0% (3.4% -> 3.2% at 0.98); 1e-3 and more
// shrink the confident tail (23% detected at 0.98), 30 epochs instead of 100 likewise.
var DefaultTrainOptions = TrainOptions{Epochs: 100, Rate: 0.2, L2: 1e-4}

// train fits a logistic regression with AdaGrad, full batch per epoch, in a fixed order,
// so the result is a deterministic function of the examples.
func train(exs []Example, o TrainOptions) *model {
	return quantize(fit(vectors(exs, o), exs, o))
}

// vectors are the examples' feature vectors as train fits them (TestLOSOCandidates
// transforms them for some recipes before fit).
func vectors(exs []Example, o TrainOptions) []sparse {
	vs := make([]sparse, len(exs))
	for i, e := range exs {
		vs[i] = vectorize(e.Text)
	}
	if o.MinSources > 1 {
		pruneBySources(vs, exs, o.MinSources)
	}
	return vs
}

// fit is train's optimiser.
func fit(vs []sparse, exs []Example, o TrainOptions) (bias float64, w []float64) {
	w = make([]float64, 1<<hashBits)
	g2 := make([]float64, 1<<hashBits)
	bg2 := 0.0
	for ep := 0; ep < o.Epochs; ep++ {
		for i, v := range vs {
			z := bias
			for k, h := range v.idx {
				z += w[h] * v.val[k]
			}
			y := 0.0
			if exs[i].Label {
				y = 1
			}
			g := (sigmoid(z) - y) * exs[i].Weight
			bg2 += g * g
			bias -= o.Rate * g / math.Sqrt(bg2+1e-8)
			for k, h := range v.idx {
				gw := g*v.val[k] + o.L2*w[h]
				g2[h] += gw * gw
				w[h] -= o.Rate * gw / math.Sqrt(g2[h]+1e-8)
				if o.WordCap > 0 && w[h] > o.WordCap && !textFeature(h) {
					w[h] = o.WordCap
				}
			}
		}
	}
	return bias, w
}

// pruneBySources removes from vs every feature that occurs in examples of fewer than minSrc
// distinct sources (at most 64 sources are told apart; more count as the 64th).
func pruneBySources(vs []sparse, exs []Example, minSrc int) {
	srcID := map[string]int{}
	support := map[uint32]uint64{}
	for i, v := range vs {
		id, ok := srcID[exs[i].Source]
		if !ok {
			id = len(srcID)
			srcID[exs[i].Source] = id
		}
		for _, h := range v.idx {
			support[h] |= 1 << min(id, 63)
		}
	}
	for i, v := range vs {
		var out sparse
		for k, h := range v.idx {
			if bits.OnesCount64(support[h]) >= minSrc {
				out.idx = append(out.idx, h)
				out.val = append(out.val, v.val[k])
			}
		}
		vs[i] = out
	}
}

// fitPlatt fits p = sigmoid(a*z + b) to labelled logits, example i weighing w[i], by
// Newton's method on the weighted log loss, halving steps that do not lower it, with Platt's
// smoothed targets ((n+ + 1)/(n+ + 2) and 1/(n- + 2), n the weighted class totals) so that a
// separable sample does not drive a to infinity. Deterministic for a given input.
func fitPlatt(z []float64, y []bool, w []float64) (a, b float64) {
	var np, nn float64
	for i, l := range y {
		if l {
			np += w[i]
		} else {
			nn += w[i]
		}
	}
	tp, tn := (np+1)/(np+2), 1/(nn+2)
	target := func(i int) float64 {
		if y[i] {
			return tp
		}
		return tn
	}
	loss := func(a, b float64) float64 {
		l := 0.0
		for i, x := range z {
			// log(1+e^s) - t*s, stable for large |s|.
			s := a*x + b
			l += w[i] * (math.Max(s, 0) + math.Log1p(math.Exp(-math.Abs(s))) - target(i)*s)
		}
		return l
	}
	a, b = 1, 0
	cur := loss(a, b)
	for it := 0; it < 100; it++ {
		var ga, gb, haa, hab, hbb float64
		for i, x := range z {
			p := sigmoid(a*x + b)
			d := (p - target(i)) * w[i]
			h := p * (1 - p) * w[i]
			ga += d * x
			gb += d
			haa += h * x * x
			hab += h * x
			hbb += h
		}
		haa += 1e-9 // keeps the system solvable when every logit is equal
		det := haa*hbb - hab*hab
		if det <= 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		step := 1.0
		for ; step > 1e-6; step /= 2 {
			if l := loss(a-step*da, b-step*db); l < cur {
				a, b, cur = a-step*da, b-step*db, l
				break
			}
		}
		if step <= 1e-6 || math.Abs(step*da) < 1e-9 && math.Abs(step*db) < 1e-9 {
			break
		}
	}
	return a, b
}
