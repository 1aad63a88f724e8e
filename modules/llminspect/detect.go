package llminspect

import (
	"fmt"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/defaults"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/patterns"
	"github.com/llmguard/caddy-llmguard/llmguard/inspect"
)

// Detect configures the prompt detectors. The zero value is the default set a new user
// gets: prompt injection/jailbreak (block), secrets (block), PII (redact), invisible
// text and bare high-entropy tokens (log).
type Detect struct {
	// Off disables all detectors; only the limits apply.
	Off bool `json:"off,omitempty"`
	// InjectionThreshold is the score (0–1) at which a text counts as an injection.
	// Default 0.5; higher means fewer false positives and fewer detections.
	InjectionThreshold float64 `json:"injection_threshold,omitempty"`
	// Disable switches single detectors off: injection, pii, secrets.
	Disable []string `json:"disable,omitempty"`
	// PIIEntities limits PII detection to these entity types (EMAIL_ADDRESS,
	// PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN, IP_ADDRESS). Default: all.
	PIIEntities []string `json:"pii_entities,omitempty"`
	// Deny are custom patterns (RE2 or literal) reported as findings of their type
	// (default CUSTOM_PATTERN, action redact unless overridden).
	Deny []patterns.Rule `json:"deny,omitempty"`
	// Allow are patterns whose matches are never reported (e.g. a company's own public
	// support address).
	Allow []patterns.Rule `json:"allow,omitempty"`
	// Actions overrides the action per finding type: block (403), redact (replace with
	// a typed placeholder such as [EMAIL_ADDRESS_1] in the forwarded body), log (allow,
	// but record the finding in {http.llm.inspect.findings}), allow (ignore) or
	// pseudonymize (like redact, but llm_filter maps the placeholder back to the original
	// value in the response; the mapping is kept in memory for the request only, and the
	// original value never reaches the upstream).
	Actions map[string]string `json:"actions,omitempty"`
	// ScanSystem also scans system/developer prompts and tool descriptions, which are
	// trusted by default because the operator writes them.
	ScanSystem bool `json:"scan_system,omitempty"`
}

var actions = []string{defaults.ActionAllow, defaults.ActionLog, defaults.ActionRedact, inspect.ActionPseudonymize, defaults.ActionBlock}

// build turns the configuration into a core Detection; nil when detection is off.
func (d *Detect) build() (*inspect.Detection, error) {
	if d == nil {
		d = &Detect{}
	}
	if d.Off {
		return nil, nil
	}
	cfg := defaults.Config{InjectionThreshold: d.InjectionThreshold, PIIEntities: d.PIIEntities, Deny: d.Deny, Allow: d.Allow, Actions: d.Actions}
	if d.InjectionThreshold < 0 || d.InjectionThreshold > 1 {
		return nil, fmt.Errorf("injection_threshold must be between 0 and 1")
	}
	for _, name := range d.Disable {
		switch name {
		case "injection":
			cfg.DisableInjection = true
		case "pii":
			cfg.DisablePII = true
		case "secrets":
			cfg.DisableSecrets = true
		default:
			return nil, fmt.Errorf("unknown detector %q (want injection, pii or secrets)", name)
		}
	}
	for typ, a := range d.Actions {
		if !contains(actions, a) {
			return nil, fmt.Errorf("action for %s must be one of %s, not %q", typ, strings.Join(actions, ", "), a)
		}
	}
	set, err := defaults.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("custom patterns: %v", err)
	}
	return &inspect.Detection{Set: set, Config: cfg, ScanSystem: d.ScanSystem}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Build compiles the detector set. It is exported for llm_filter, which scans responses
// with the same detectors and the same per-type actions as llm_inspect scans prompts.
func (d *Detect) Build() (*inspect.Detection, error) { return d.build() }
