// Package patterns implements operator-defined deny and allow lists: RE2 regular
// expressions or literals (optionally case-insensitive), compiled once. Deny matches are
// reported as findings; allow matches suppress findings of any detector that overlap them
// (List implements detect.Allowlist).
//
// Go's regexp is RE2, so matching is linear in the input whatever the pattern. The
// package must never log matched text; findings name the rule, not the value.
package patterns

import (
	"fmt"
	"regexp"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// DefaultType is the finding type of deny rules that do not name one.
const DefaultType = "CUSTOM_PATTERN"

// Rule is one pattern.
type Rule struct {
	// Name identifies the rule in findings and audit records.
	Name string `json:"name,omitempty"`
	// Pattern is an RE2 expression, or a literal string when Literal is set.
	Pattern string `json:"pattern"`
	// Literal treats Pattern as plain text.
	Literal bool `json:"literal,omitempty"`
	// CaseInsensitive matches regardless of case.
	CaseInsensitive bool `json:"case_insensitive,omitempty"`
	// Type is the finding type for deny rules (e.g. PROJECT_CODENAME); default
	// CUSTOM_PATTERN. It also names the redaction placeholder.
	Type string `json:"type,omitempty"`
}

type compiled struct {
	rule Rule
	re   *regexp.Regexp
}

// List is a compiled set of deny and allow rules; safe for concurrent use.
type List struct {
	deny, allow []compiled
}

// Compile compiles the rules once; errors name the offending rule.
func Compile(deny, allow []Rule) (*List, error) {
	l := &List{}
	var err error
	if l.deny, err = compileAll(deny, "deny"); err != nil {
		return nil, err
	}
	if l.allow, err = compileAll(allow, "allow"); err != nil {
		return nil, err
	}
	return l, nil
}

func compileAll(rs []Rule, kind string) ([]compiled, error) {
	out := make([]compiled, 0, len(rs))
	for i, r := range rs {
		if r.Pattern == "" {
			return nil, fmt.Errorf("%s rule %d (%s): empty pattern", kind, i, r.Name)
		}
		src := r.Pattern
		if r.Literal {
			src = regexp.QuoteMeta(src)
		}
		if r.CaseInsensitive {
			src = "(?i)" + src
		}
		re, err := regexp.Compile(src)
		if err != nil {
			return nil, fmt.Errorf("%s rule %d (%s): %v", kind, i, r.Name, err)
		}
		if r.Type == "" {
			r.Type = DefaultType
		}
		if r.Name == "" {
			r.Name = fmt.Sprintf("%s_%d", kind, i)
		}
		out = append(out, compiled{r, re})
	}
	return out, nil
}

// Name implements detect.Detector.
func (l *List) Name() string { return "patterns" }

// DefaultAction redacts custom pattern matches.
func (l *List) DefaultAction(detect.Finding) string { return detect.ActionRedact }

// Detect reports every non-empty deny match.
func (l *List) Detect(text string, dst []detect.Finding) []detect.Finding {
	for _, c := range l.deny {
		for _, m := range c.re.FindAllStringIndex(text, -1) {
			f := detect.Finding{Detector: "patterns", Type: c.rule.Type, Start: m[0], End: m[1], Score: 1, Rule: c.rule.Name}
			if f.Valid(text) {
				dst = append(dst, f)
			}
		}
	}
	return dst
}

// AllowedSpans implements detect.Allowlist.
func (l *List) AllowedSpans(text string, dst [][2]int) [][2]int {
	for _, c := range l.allow {
		for _, m := range c.re.FindAllStringIndex(text, -1) {
			if m[1] > m[0] {
				dst = append(dst, [2]int{m[0], m[1]})
			}
		}
	}
	return dst
}

// Rules returns the deny rules followed by the allow rules, as configured (with default
// names and types filled in).
func (l *List) Rules() []Rule {
	out := make([]Rule, 0, len(l.deny)+len(l.allow))
	for _, c := range l.deny {
		out = append(out, c.rule)
	}
	for _, c := range l.allow {
		out = append(out, c.rule)
	}
	return out
}

// HasAllow reports whether the list has allow rules, so callers can skip installing it
// as an allow-list.
func (l *List) HasAllow() bool { return len(l.allow) > 0 }
