// Package injection detects prompt injection and jailbreak attempts in English and German
// (with some Spanish and French cues) without leaving the process: keyword rules over
// normalised text (explainable, robust to spacing, leetspeak, homoglyph, invisible
// character and ROT13 obfuscation) that feed, as named features, a small
// logistic-regression model over hashed words whose weights are embedded in the binary.
// Findings name the rules that fired and the strongest model features. Embedded base64
// and hex payloads are decoded and scanned too.
//
// It also reports invisible, zero-width, bidi-control and tag characters as INVISIBLE_TEXT
// on their own. The detector must never log or store the texts it scans; findings name the
// rules that fired, never the text.
package injection

import (
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/normalize"
)

// Types reported by the detector.
const (
	TypeInjection = "PROMPT_INJECTION"
	TypeInvisible = "INVISIBLE_TEXT"
)

// DefaultThreshold is the score at or above which a text is reported as an injection. The
// score is calibrated on sources the model was not trained on (model.prob), so 0.5 means
// even odds there; blocking (off by default, DefaultAction) needs 0.75 to keep the everyday
// gate at 0.5% (README "Detection quality").
const DefaultThreshold = 0.5

// Options configures a Detector. The zero value means the defaults.
type Options struct {
	// Threshold in (0,1]; 0 means DefaultThreshold. Lower catches more and blocks more
	// benign prompts.
	Threshold float64
	// DisableModel scores with the keyword rules only.
	DisableModel bool
	// DisableInvisible stops reporting INVISIBLE_TEXT findings.
	DisableInvisible bool
}

// Detector is safe for concurrent use.
type Detector struct {
	opt   Options
	model *model
}

// New returns a detector with the embedded model.
func New(opt Options) *Detector {
	if opt.Threshold <= 0 {
		opt.Threshold = DefaultThreshold
	}
	d := &Detector{opt: opt, model: defaultModel}
	if opt.DisableModel {
		d.model = nil
	}
	return d
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// Name is the injection detector's name, the one detector that trusts system prompts
// unless scan_system is set.
const Name = "injection"

// Verdict is the explained score of one text.
type Verdict struct {
	Score      float64 // combined score in [0,1]
	ModelScore float64 // the model's probability (0 when disabled)
	RuleScore  float64 // the rules' combined score
	Rules      []string
	// Evidence names the text-level model features (keyword classes, rules, layout cues)
	// that pushed the model's score up most, strongest first, at most three.
	Evidence   []string
	Start, End int    // original-text span of the strongest evidence
	Source     string // "text", "base64", "hex" or "rot13"
}

// foldPool recycles the folded copies of prompts (five bytes per input byte), which would
// otherwise dominate the detector's allocations on large prompts. Nothing derived from a
// folded text outlives the call that folded it: verdicts hold offsets and rule names.
var foldPool = sync.Pool{New: func() any { return new(normalize.Folded) }}

// Score evaluates text, including decoded payloads and a ROT13 reading, and returns the
// strongest verdict.
func (d *Detector) Score(text string) Verdict {
	f := foldPool.Get().(*normalize.Folded)
	defer foldPool.Put(f)
	normalize.FoldInto(f, text)
	v := d.scoreFolded(f, "text")
	for _, p := range normalize.Payloads(text) {
		pv := d.scoreFolded(normalize.Fold(p.Text), p.Encoding)
		if pv.Score > v.Score {
			pv.Start, pv.End = p.Start, p.End
			v = pv
		}
	}
	return v
}

func (d *Detector) scoreFolded(f *normalize.Folded, source string) Verdict {
	hits, starts, nsq := kwMatcher.scanFolded(f.Text, nil, maxHits)
	plain, rotHits := splitHits(hits)
	rr := evalRules(plain)
	plainRR := rr
	// ROT13 only counts through the rules: a model over rotated text would read noise.
	rot := evalRules(rotHits)
	if rot.score > rr.score && rot.score >= 0.5 {
		rr = rot
		source = "rot13"
	}
	v := Verdict{RuleScore: rr.score, Rules: rr.names, Source: source, Start: 0, End: int(f.Orig(len(f.Text)))}
	if len(rr.names) > 0 && int(rr.end) <= nsq && rr.end > rr.start {
		o := normalize.SqueezedOffsets(f.Text, []int{int(rr.start), int(rr.end - 1)})
		v.Start = f.Orig(o[0])
		v.End = f.Orig(o[1] + 1)
	}
	if d.model == nil {
		// Rules only: their noisy-or is the score.
		v.Score = v.RuleScore
		return v
	}
	// With the model, the plain-text rules and keyword classes are model features, so
	// their weight is learned in context (a rule alone firing in a role-play request is
	// not decisive). ROT13 hits count through the rules: a model over rotated text would
	// read noise.
	extra := ruleFeatures(plain, plainRR, starts, nil)
	v.ModelScore = d.model.prob(d.model.score(f.Text, extra))
	v.Evidence = d.model.evidence(extra)
	v.Score = v.ModelScore
	if source == "rot13" {
		v.Score = math.Max(v.Score, v.RuleScore)
	} else {
		v.RuleScore = plainRR.score
	}
	return v
}

// Detect implements detect.Detector.
func (d *Detector) Detect(text string, dst []detect.Finding) []detect.Finding {
	f := foldPool.Get().(*normalize.Folded)
	defer foldPool.Put(f)
	normalize.FoldInto(f, text)
	if !d.opt.DisableInvisible {
		for _, sp := range f.Invisible {
			dst = append(dst, detect.Finding{Detector: Name, Type: TypeInvisible, Start: sp[0], End: sp[1], Score: 1, Rule: "invisible_characters"})
		}
	}
	v := d.scoreFolded(f, "text")
	for _, p := range normalize.Payloads(text) {
		pv := d.scoreFolded(normalize.Fold(p.Text), p.Encoding)
		if pv.Score > v.Score {
			pv.Start, pv.End = p.Start, p.End
			v = pv
		}
	}
	if v.Score < d.opt.Threshold || len(text) == 0 {
		return dst
	}
	s, e := v.Start, v.End
	if e <= s {
		s, e = 0, len(text)
	}
	return append(dst, detect.Finding{Detector: Name, Type: TypeInjection, Start: s, End: e, Score: v.Score, Rule: v.explain()})
}

func (v Verdict) explain() string {
	var b strings.Builder
	b.WriteString(v.Source)
	if len(v.Rules) > 0 {
		b.WriteString(" rules=")
		b.WriteString(joinNames(v.Rules))
	}
	if len(v.Evidence) > 0 {
		b.WriteString(" evidence=")
		b.WriteString(joinNames(v.Evidence))
	}
	fmt.Fprintf(&b, " model=%.2f", v.ModelScore)
	return b.String()
}
