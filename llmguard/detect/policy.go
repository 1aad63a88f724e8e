package detect

import "slices"

// Actions, from weakest to strongest. Pseudonymize ranks with redact: the upstream sees a
// typed placeholder either way; only the response side differs (the placeholder is mapped
// back to the original value).
const (
	ActionAllow        = "allow"
	ActionLog          = "log"
	ActionRedact       = "redact"
	ActionPseudonymize = "pseudonymize"
	ActionBlock        = "block"
)

// Actions lists every action, weakest first, for configuration checks and messages.
var Actions = []string{ActionAllow, ActionLog, ActionRedact, ActionPseudonymize, ActionBlock}

// ValidAction reports whether a is one of Actions.
func ValidAction(a string) bool { return slices.Contains(Actions, a) }

// Strongest returns the stronger of two actions.
func Strongest(a, b string) string {
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func rank(a string) int {
	switch a {
	case ActionLog:
		return 1
	case ActionRedact, ActionPseudonymize:
		return 2
	case ActionBlock:
		return 3
	}
	return 0
}

// Actioner is implemented by detectors that know what should happen to their findings by
// default (a leaked credential is blocked, an e-mail address redacted). Detectors that do
// not implement it get ActionLog: a new detector starts in monitor mode.
type Actioner interface {
	DefaultAction(f Finding) string
}

// Policy is a detector set plus the operator's per-type action overrides.
type Policy struct {
	Set *Set
	// Actions overrides the action per finding type (e.g. "EMAIL_ADDRESS": "block").
	Actions map[string]string
}

// Action returns the action for f: the operator's override for its type, else the
// default of the detector that reported it, else log.
func (p *Policy) Action(f Finding) string {
	if a, ok := p.Actions[f.Type]; ok {
		return a
	}
	if p.Set != nil {
		for _, d := range p.Set.Detectors {
			if a, ok := d.(Actioner); ok && d.Name() == f.Detector {
				return a.DefaultAction(f)
			}
		}
	}
	return ActionLog
}

// Allowlists combines several allow-lists into one.
type Allowlists []Allowlist

// AllowedSpans returns the spans of every list.
func (ls Allowlists) AllowedSpans(text string, dst [][2]int) [][2]int {
	for _, l := range ls {
		dst = l.AllowedSpans(text, dst)
	}
	return dst
}

// Wrapper is implemented by detectors that wrap another, such as the Caddy modules that
// configure a core detector. Code that recognises particular detectors (the stream
// filter knows how far the built-in ones can extend a finding) looks through wrappers.
type Wrapper interface {
	Unwrap() Detector
}

// Unwrap returns the innermost detector d wraps, or d itself.
func Unwrap(d Detector) Detector {
	for {
		w, ok := d.(Wrapper)
		if !ok {
			return d
		}
		d = w.Unwrap()
	}
}
