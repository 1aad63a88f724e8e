// Package moderation decides whether generated text is harmful by asking a remote
// classifier (llmguard/detect/remote: an OpenAI-compatible /v1/moderations endpoint, a
// Llama Guard–style guard model behind chat completions, or text-embeddings-inference's
// /predict) and applying per-category policies to its verdict. Each classifier's own
// labels are mapped onto one normalised category set, so a policy reads the same
// whichever classifier serves it.
//
// It has no Caddy imports and never logs or returns the classified text: callers get
// categories and scores only.
package moderation

import (
	"fmt"
	"sort"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/remote"
)

// Normalised categories.
const (
	Violence      = "violence"
	SelfHarm      = "self-harm"
	Sexual        = "sexual"
	SexualMinors  = "sexual/minors"
	Hate          = "hate"
	Harassment    = "harassment"
	Illicit       = "illicit"
	Weapons       = "illicit/weapons"
	Malware       = "malware"
	Privacy       = "privacy"
	Defamation    = "defamation"
	Advice        = "specialized-advice"
	IP            = "intellectual-property"
	Elections     = "elections"
	Other         = "other"
	ActionBlock   = "block"
	ActionLog     = "log"
	ActionAllow   = "allow"
	defaultAction = ActionBlock
)

// Categories lists the normalised categories.
var Categories = []string{Violence, SelfHarm, Sexual, SexualMinors, Hate, Harassment, Illicit,
	Weapons, Malware, Privacy, Defamation, Advice, IP, Elections, Other}

// labels maps classifier labels (lower-cased) to normalised categories: OpenAI's
// moderation categories and Llama Guard 3's hazard codes S1–S14 (MLCommons taxonomy).
var labels = map[string]string{
	"violence": Violence, "violence/graphic": Violence,
	"self-harm": SelfHarm, "self-harm/intent": SelfHarm, "self-harm/instructions": SelfHarm,
	"sexual": Sexual, "sexual/minors": SexualMinors,
	"hate": Hate, "hate/threatening": Hate,
	"harassment": Harassment, "harassment/threatening": Harassment,
	"illicit": Illicit, "illicit/violent": Weapons,
	"s1": Violence, "s2": Illicit, "s3": Sexual, "s4": SexualMinors, "s5": Defamation,
	"s6": Advice, "s7": Privacy, "s8": IP, "s9": Weapons, "s10": Hate, "s11": SelfHarm,
	"s12": Sexual, "s13": Elections, "s14": Malware,
	// Common text-classification model labels (tei mode).
	"toxic": Harassment, "toxicity": Harassment, "insult": Harassment, "threat": Violence,
	"identity_hate": Hate, "obscene": Sexual, "malware": Malware, "unsafe": Other,
}

// Normalize maps a classifier label to a normalised category; unknown labels are other.
func Normalize(label string) string {
	l := strings.ToLower(strings.TrimSpace(label))
	if c, ok := labels[l]; ok {
		return c
	}
	for _, c := range Categories {
		if l == c {
			return c
		}
	}
	return Other
}

// Rule is what a category gets.
type Rule struct {
	Action string // block (default), log or allow
	// Threshold, when > 0, is the score at which the category hits, whether or not the
	// classifier flagged it; 0 means the classifier's own flag decides. A classifier
	// without scores (a guard model) scores its flagged categories 1.
	Threshold float64
}

// Policy maps categories to rules.
type Policy struct {
	Rules   map[string]Rule // by normalised category
	Default Rule            // for categories without a rule
}

// Validate checks the policy.
func (p *Policy) Validate() error {
	check := func(name string, r Rule) error {
		switch r.Action {
		case "", ActionBlock, ActionLog, ActionAllow:
		default:
			return fmt.Errorf("moderation category %s: action must be block, log or allow, not %q", name, r.Action)
		}
		if r.Threshold < 0 || r.Threshold > 1 {
			return fmt.Errorf("moderation category %s: threshold must be in (0,1], not %g", name, r.Threshold)
		}
		return nil
	}
	for c, r := range p.Rules {
		if Normalize(c) != c {
			return fmt.Errorf("unknown moderation category %q (known: %s)", c, strings.Join(Categories, ", "))
		}
		if err := check(c, r); err != nil {
			return err
		}
	}
	return check("default", p.Default)
}

func (p *Policy) rule(cat string) Rule {
	r, ok := p.Rules[cat]
	if !ok {
		r = p.Default
	}
	if r.Action == "" {
		r.Action = defaultAction
	}
	return r
}

// Hit is one category that hit.
type Hit struct {
	Category string
	Score    float64
	Action   string
}

// Decision is the policy's answer to a verdict.
type Decision struct {
	Hits  []Hit // sorted by category
	Block bool
}

// Categories returns the categories that hit with the given action ("" for all).
func (d Decision) Categories(action string) []string {
	var out []string
	for _, h := range d.Hits {
		if action == "" || h.Action == action {
			out = append(out, h.Category)
		}
	}
	return out
}

// Decide applies the policy to a classifier verdict.
func (p *Policy) Decide(v remote.Verdict) Decision {
	best := map[string]float64{} // normalised category → highest score of a hitting label
	flagged := map[string]bool{}
	for _, l := range v.Categories {
		flagged[l] = true
	}
	consider := func(label string, score float64, isFlagged bool) {
		cat := Normalize(label)
		r := p.rule(cat)
		if r.Action == ActionAllow {
			return
		}
		hit := isFlagged
		if r.Threshold > 0 {
			hit = score >= r.Threshold
		}
		if hit {
			if s, ok := best[cat]; !ok || score > s {
				best[cat] = score
			}
		}
	}
	for l, s := range v.Scores {
		consider(l, s, flagged[l])
	}
	for l := range flagged {
		if _, scored := v.Scores[l]; !scored {
			consider(l, 1, true)
		}
	}
	if v.Flagged && len(v.Categories) == 0 && len(v.Scores) == 0 {
		consider(Other, 1, true) // "unsafe" without codes
	}
	var d Decision
	for c, s := range best {
		a := p.rule(c).Action
		d.Hits = append(d.Hits, Hit{Category: c, Score: s, Action: a})
		d.Block = d.Block || a == ActionBlock
	}
	sort.Slice(d.Hits, func(i, j int) bool { return d.Hits[i].Category < d.Hits[j].Category })
	return d
}
