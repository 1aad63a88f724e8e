// Package indirect detects indirect prompt injection: an instruction addressed to the
// assistant inside untrusted data — a tool result, a function output, a retrieved web page,
// an e-mail or a document pasted into a prompt. It scores only text the caller marks as
// data (request.Segment.Untrusted), where an imperative to the reader is ordinary ("reply by
// Friday", "click here to unsubscribe") and what counts is an instruction to the model:
// about its response, its instructions, or what to do when it processes the text; fake
// conversation turns; hidden text; exfiltration through URLs. The cues are explainable
// features (features.go) weighed by a small logistic model trained, reproducibly, on
// attacks and their benign twins (train.go; model.txt is embedded).
//
// It reports INDIRECT_PROMPT_INJECTION, a type of its own, so that an operator can block
// direct injections and log indirect ones (or the reverse) and read in the audit which it
// was. It never logs or stores the text it scans; findings name the cues, never the text.
package indirect

import (
	_ "embed"
	"math"
	"strings"
	"sync"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// Type is the finding type.
const Type = "INDIRECT_PROMPT_INJECTION"

// Name is the detector's name.
const Name = "indirect"

// DefaultThreshold is the score at or above which data is reported. Held out, 0.5 kept
// the benign twins of BIPIA, garak's latent injections and our tool outputs at 1.5–3.5%
// flagged; 0.7 lowers that to 1–2.4% at a cost of 3–16 points of detection (README
// "Detection quality", "Indirect injection", threshold table). Findings are logged by
// default, so the threshold decides what is reported, not what is refused.
const DefaultThreshold = 0.5

// Options configures a Detector; the zero value means the defaults.
type Options struct {
	// Threshold in (0,1]; 0 means DefaultThreshold.
	Threshold float64
}

// Detector is safe for concurrent use.
type Detector struct {
	opt Options
	m   *model
}

// New returns a detector with the embedded model.
func New(opt Options) *Detector {
	if opt.Threshold <= 0 {
		opt.Threshold = DefaultThreshold
	}
	return &Detector{opt: opt, m: defaultModel}
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// UntrustedData implements detect.DataDetector: the detector runs on untrusted spans only.
func (d *Detector) UntrustedData() {}

// DefaultAction logs: the detector does not yet keep benign documents under the everyday
// gate's 0.5% with blocking on (README), and a gateway that refuses ordinary tool results
// breaks agents. Blocking is `action INDIRECT_PROMPT_INJECTION block`.
func (d *Detector) DefaultAction(detect.Finding) string { return detect.ActionLog }

// Verdict is the explained score of one text.
type Verdict struct {
	Score float64
	// Cues names the features that pushed the score up most, strongest first, at most
	// three.
	Cues []string
	// Start is the offset of the first sentence carrying a cue (0 if none).
	Start int
}

var scanners = sync.Pool{New: func() any { return new(scanner) }}

// Score evaluates text as untrusted data.
func (d *Detector) Score(text string) Verdict {
	s := scanners.Get().(*scanner)
	f := s.extract(text)
	scanners.Put(s)
	v := Verdict{Score: d.m.prob(&f.x), Start: max(f.cueStart, 0)}
	v.Cues = d.m.evidence(&f.x)
	return v
}

// Detect implements detect.Detector.
func (d *Detector) Detect(text string, dst []detect.Finding) []detect.Finding {
	if strings.TrimSpace(text) == "" {
		return dst
	}
	v := d.Score(text)
	if v.Score < d.opt.Threshold {
		return dst
	}
	rule := "cues=" + strings.Join(v.Cues, "+")
	return append(dst, detect.Finding{Detector: Name, Type: Type, Start: v.Start, End: len(text), Score: v.Score, Rule: rule})
}

//go:embed model.txt
var modelText string

var defaultModel = mustParse(modelText)

// model is logistic regression over the features: weights per feature and a bias.
type model struct {
	w    [numFeatures]float64
	bias float64
}

func (m *model) logit(x *[numFeatures]float64) float64 {
	z := m.bias
	for i, v := range x {
		z += m.w[i] * v
	}
	return z
}

func (m *model) prob(x *[numFeatures]float64) float64 {
	return 1 / (1 + math.Exp(-m.logit(x)))
}

// evidence names the (at most three) features that contribute most to the score.
func (m *model) evidence(x *[numFeatures]float64) []string {
	var top [3]int
	var val [3]float64
	n := 0
	for i, v := range x {
		c := m.w[i] * v
		if c <= 0.05 || i == fLogWords {
			continue
		}
		k := n
		if n < 3 {
			n++
		} else if c <= val[2] {
			continue
		} else {
			k = 2
		}
		for k > 0 && val[k-1] < c {
			top[k], val[k] = top[k-1], val[k-1]
			k--
		}
		top[k], val[k] = i, c
	}
	out := make([]string, n)
	for i := 0; i < n; i++ {
		out[i] = featureNames[top[i]]
	}
	return out
}
