// Package defaults assembles the default detector set a new llm_inspect user gets:
// injection/jailbreak (with invisible-text reporting), indirect injection in untrusted
// data, PII and secrets, plus optional
// custom patterns, and the default action per finding type. It exists so the Caddy module
// and the evaluation command measure exactly the same thing.
//
// It must never log; it only wires detectors together.
package defaults

import (
	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/indirect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/injection"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/patterns"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/pii"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/secrets"
)

// RequestDetectors names the default detector set of prompts, in scan order: the one list
// llm_inspect, `caddy llmguard scan` and the evaluation load (llmdetect.RequestDefaults
// refers to it).
// "indirect" reads only untrusted data (tool results, pasted documents; detect.DataDetector).
var RequestDetectors = []string{"injection", "indirect", "pii", "secrets"}

// ResponseDetectors is the default set of responses (llm_filter): prompt injection does
// not apply to what the model answers.
var ResponseDetectors = []string{"pii", "secrets"}

// Config selects and tunes the default detectors. The zero value is the default set.
type Config struct {
	// InjectionThreshold overrides injection.DefaultThreshold when > 0.
	InjectionThreshold float64
	// DisableInjection, DisablePII, DisableSecrets switch detectors off (DisableInjection
	// both the injection and the indirect-injection detector).
	DisableInjection, DisablePII, DisableSecrets bool
	// PIIEntities limits PII detection to these Presidio entity names (default: all).
	PIIEntities []string
	// Deny and Allow are custom patterns.
	Deny, Allow []patterns.Rule
	// Actions overrides the action per finding type (e.g. "EMAIL_ADDRESS": "block").
	Actions map[string]string
}

// New builds the detector set for cfg.
func New(cfg Config) (*detect.Set, error) {
	s := &detect.Set{}
	for _, name := range RequestDetectors {
		switch {
		case name == "injection" && !cfg.DisableInjection:
			s.Detectors = append(s.Detectors, injection.New(injection.Options{Threshold: cfg.InjectionThreshold}))
		case name == "indirect" && !cfg.DisableInjection:
			s.Detectors = append(s.Detectors, indirect.New(indirect.Options{}))
		case name == "pii" && !cfg.DisablePII:
			s.Detectors = append(s.Detectors, pii.New(cfg.PIIEntities...))
		case name == "secrets" && !cfg.DisableSecrets:
			s.Detectors = append(s.Detectors, secrets.New(secrets.Options{}))
		}
	}
	if len(cfg.Deny)+len(cfg.Allow) > 0 {
		l, err := patterns.Compile(cfg.Deny, cfg.Allow)
		if err != nil {
			return nil, err
		}
		s.Detectors = append(s.Detectors, l)
		if l.HasAllow() {
			s.Allow = l
		}
	}
	return s, nil
}

// Policy builds the detector set for cfg with its action overrides. Each detector
// supplies its default actions (detect.Actioner): block secrets, redact PII and custom
// patterns, log injections, invisible text and bare high-entropy tokens.
func (cfg Config) Policy() (*detect.Policy, error) {
	set, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &detect.Policy{Set: set, Actions: cfg.Actions}, nil
}
