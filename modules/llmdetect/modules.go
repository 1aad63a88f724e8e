package llmdetect

import (
	"fmt"
	"slices"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/indirect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/injection"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/patterns"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/pii"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/secrets"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

func init() {
	caddy.RegisterModule(Injection{})
	caddy.RegisterModule(Indirect{})
	caddy.RegisterModule(PII{})
	caddy.RegisterModule(Secrets{})
	caddy.RegisterModule(Patterns{})
}

// Injection reports PROMPT_INJECTION (jailbreaks and instruction hijacking; default
// action block) and INVISIBLE_TEXT (invisible, bidi and tag characters; default log).
type Injection struct {
	// Threshold is the score (0–1] at which a text counts as an injection. Default 0.5;
	// higher means fewer false positives and fewer detections.
	Threshold float64 `json:"threshold,omitempty"`
	// ElevatedThreshold and HighThreshold replace Threshold in llm_inspect for callers
	// llm_sentinel rates elevated or high ({http.llm.risk.level}), so that a caller
	// already under suspicion is refused on weaker evidence. Each must be at most the
	// threshold of the level below (a risk level only tightens); default: that
	// threshold, i.e. no change. Without llm_sentinel every caller is low. llm_filter
	// scans replies, whose author is the model, and always uses Threshold.
	ElevatedThreshold float64 `json:"elevated_threshold,omitempty"`
	HighThreshold     float64 `json:"high_threshold,omitempty"`
	// NoInvisible stops reporting INVISIBLE_TEXT.
	NoInvisible bool `json:"no_invisible,omitempty"`

	*injection.Detector `json:"-"`
	risk                riskLevels[Injection]
}

// CaddyModule returns the Caddy module information.
func (Injection) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: Namespace + ".injection", New: func() caddy.Module { return new(Injection) }}
}

// Provision builds the detector with the embedded model, and a stricter one per risk
// level whose threshold is lower (they share the model).
func (m *Injection) Provision(caddy.Context) error {
	if m.Threshold < 0 || m.Threshold > 1 {
		return fmt.Errorf("injection threshold must be in (0, 1], not %v", m.Threshold)
	}
	low := m.Threshold
	if low == 0 {
		low = injection.DefaultThreshold
	}
	m.Detector = injection.New(injection.Options{Threshold: low, DisableInvisible: m.NoInvisible})
	return m.risk.provision(m, "injection", low, m.ElevatedThreshold, m.HighThreshold, func(c *Injection, t float64) {
		c.Detector = injection.New(injection.Options{Threshold: t, DisableInvisible: m.NoInvisible})
	})
}

// riskLevels is a detector module's version per llm_sentinel risk level, shared by all
// the versions (a pointer, so that a copy made for one level still knows the others).
type riskLevels[T any] struct {
	at *[sentinel.High + 1]*T
}

// provision fills the levels: m for low, and for each higher level the level below's
// version where its threshold is the same, else a copy of m that rebuild points at its
// threshold (the copies share m's model). The thresholds are checked by RiskThresholds.
func (r *riskLevels[T]) provision(m *T, what string, low, elevated, high float64, rebuild func(c *T, t float64)) error {
	t, err := RiskThresholds(what, low, elevated, high)
	if err != nil {
		return err
	}
	r.at = new([sentinel.High + 1]*T)
	r.at[0] = m
	for l := 1; l < len(t); l++ {
		if t[l] == t[l-1] {
			r.at[l] = r.at[l-1]
			continue
		}
		c := *m
		rebuild(&c, t[l])
		r.at[l] = &c
	}
	return nil
}

// level returns the version for callers at level l; self before provisioning.
func (r riskLevels[T]) level(l sentinel.Level, self *T) *T {
	if r.at == nil || int(l) >= len(r.at) {
		return self
	}
	return r.at[l]
}

// RiskThresholds returns a detector's threshold per llm_sentinel risk level, from the
// low one and the optional elevated and high ones (0: the level below's). A level may
// not be looser than the one below it, since a risk level only tightens.
func RiskThresholds(what string, low, elevated, high float64) ([sentinel.High + 1]float64, error) {
	t := [sentinel.High + 1]float64{low, elevated, high}
	for l := 1; l < len(t); l++ {
		switch {
		case t[l] < 0 || t[l] > 1:
			return t, fmt.Errorf("%s %s threshold must be in (0, 1], not %v", what, sentinel.Level(l), t[l])
		case t[l] == 0:
			t[l] = t[l-1]
		case t[l] > t[l-1]:
			return t, fmt.Errorf("%s %s threshold %v is above the %s level's %v: a risk level only tightens", what, sentinel.Level(l), t[l], sentinel.Level(l-1), t[l-1])
		}
	}
	return t, nil
}

// AtRisk implements RiskDetector.
func (m *Injection) AtRisk(l sentinel.Level) detect.Detector { return m.risk.level(l, m) }

// Indirect reports INDIRECT_PROMPT_INJECTION: an instruction addressed to the assistant
// inside untrusted data — tool results (OpenAI role tool or function, Anthropic
// tool_result, Responses function_call_output) and documents pasted into a user message
// after a framing line. It reads only that data; the injection detector still scans every
// segment for direct attacks. Default action log.
type Indirect struct {
	// Threshold is the score (0–1] at which data counts as carrying an embedded
	// instruction. Default 0.5; higher means fewer benign documents flagged and fewer
	// injections found (README "Detection quality", "Indirect injection").
	Threshold float64 `json:"threshold,omitempty"`
	// ElevatedThreshold and HighThreshold replace Threshold for callers llm_sentinel rates
	// elevated or high, with the injection detector's semantics: each at most the
	// threshold of the level below; default that threshold. They matter where the finding
	// blocks (`action INDIRECT_PROMPT_INJECTION block`): with the default action log they
	// only decide what is reported.
	ElevatedThreshold float64 `json:"elevated_threshold,omitempty"`
	HighThreshold     float64 `json:"high_threshold,omitempty"`

	*indirect.Detector `json:"-"`
	risk               riskLevels[Indirect]
}

// CaddyModule returns the Caddy module information.
func (Indirect) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: Namespace + ".indirect", New: func() caddy.Module { return new(Indirect) }}
}

// Provision builds the detector with the embedded model, and a stricter one per risk
// level whose threshold is lower (they share the model).
func (m *Indirect) Provision(caddy.Context) error {
	if m.Threshold < 0 || m.Threshold > 1 {
		return fmt.Errorf("indirect threshold must be in (0, 1], not %v", m.Threshold)
	}
	low := m.Threshold
	if low == 0 {
		low = indirect.DefaultThreshold
	}
	m.Detector = indirect.New(indirect.Options{Threshold: low})
	return m.risk.provision(m, "indirect", low, m.ElevatedThreshold, m.HighThreshold, func(c *Indirect, t float64) {
		c.Detector = indirect.New(indirect.Options{Threshold: t})
	})
}

// AtRisk implements RiskDetector.
func (m *Indirect) AtRisk(l sentinel.Level) detect.Detector { return m.risk.level(l, m) }

// PII reports EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN and IP_ADDRESS
// (default action redact).
type PII struct {
	// Entities limits detection to these Presidio entity names. Default: all.
	Entities []string `json:"entities,omitempty"`

	*pii.Detector `json:"-"`
}

// CaddyModule returns the Caddy module information.
func (PII) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: Namespace + ".pii", New: func() caddy.Module { return new(PII) }}
}

// Provision checks the entity names (a typo would silently turn detection off) and
// builds the detector.
func (m *PII) Provision(caddy.Context) error {
	for _, e := range m.Entities {
		if !slices.Contains(pii.AllEntities, e) {
			return fmt.Errorf("unknown PII entity %q (known: %v)", e, pii.AllEntities)
		}
	}
	m.Detector = pii.New(m.Entities...)
	return nil
}

// Secrets reports provider API keys, private keys, JWTs, credentials in headers and URLs
// and secret-looking assignments (default action block), and bare high-entropy tokens
// (HIGH_ENTROPY_TOKEN, default log).
type Secrets struct {
	// NoBareTokens stops reporting HIGH_ENTROPY_TOKEN.
	NoBareTokens bool `json:"no_bare_tokens,omitempty"`
	// MinEntropy is the Shannon entropy (bits per byte) a value assigned to a
	// secret-looking name must reach. Default 3.0.
	MinEntropy float64 `json:"min_entropy,omitempty"`

	*secrets.Detector `json:"-"`
}

// CaddyModule returns the Caddy module information.
func (Secrets) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: Namespace + ".secrets", New: func() caddy.Module { return new(Secrets) }}
}

// Provision builds the detector.
func (m *Secrets) Provision(caddy.Context) error {
	if m.MinEntropy < 0 || m.MinEntropy > 8 {
		return fmt.Errorf("min_entropy must be between 0 and 8 bits per byte, not %v", m.MinEntropy)
	}
	m.Detector = secrets.New(secrets.Options{DisableBareTokens: m.NoBareTokens, MinEntropy: m.MinEntropy})
	return nil
}

// Patterns holds the operator's own patterns: deny rules are reported as findings of
// their type (default CUSTOM_PATTERN, default action redact); allow rules suppress any
// detector's findings that overlap their matches.
type Patterns struct {
	Deny  []patterns.Rule `json:"deny,omitempty"`
	Allow []patterns.Rule `json:"allow,omitempty"`

	*patterns.List `json:"-"`
}

// CaddyModule returns the Caddy module information.
func (Patterns) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: Namespace + ".patterns", New: func() caddy.Module { return new(Patterns) }}
}

// Provision compiles the patterns.
func (m *Patterns) Provision(caddy.Context) error {
	if len(m.Deny)+len(m.Allow) == 0 {
		return fmt.Errorf("patterns needs at least one deny or allow rule")
	}
	var err error
	m.List, err = patterns.Compile(m.Deny, m.Allow)
	return err
}

// Unwrap returns the core detectors, which llm_filter recognises to bound the text it
// holds back in streams.
func (m *Injection) Unwrap() detect.Detector { return m.Detector }

// Unwrap implements detect.Wrapper.
func (m *Indirect) Unwrap() detect.Detector { return m.Detector }

// Unwrap returns the core detector.
func (m *PII) Unwrap() detect.Detector { return m.Detector }

// Unwrap returns the core detector.
func (m *Secrets) Unwrap() detect.Detector { return m.Detector }

// Unwrap returns the core detector.
func (m *Patterns) Unwrap() detect.Detector { return m.List }

// Interface guards
var (
	_ Detector            = (*Injection)(nil)
	_ Detector            = (*Indirect)(nil)
	_ detect.DataDetector = (*Indirect)(nil)
	_ Detector            = (*PII)(nil)
	_ Detector            = (*Secrets)(nil)
	_ Detector            = (*Patterns)(nil)
	_ caddy.Provisioner   = (*Injection)(nil)
	_ caddy.Provisioner   = (*Indirect)(nil)
	_ caddy.Provisioner   = (*PII)(nil)
	_ caddy.Provisioner   = (*Secrets)(nil)
	_ caddy.Provisioner   = (*Patterns)(nil)
	_ detect.Wrapper      = (*Injection)(nil)
	_ detect.Wrapper      = (*Indirect)(nil)
	_ detect.Wrapper      = (*PII)(nil)
	_ detect.Wrapper      = (*Secrets)(nil)
	_ detect.Wrapper      = (*Patterns)(nil)
	_ RiskDetector        = (*Injection)(nil)
	_ RiskDetector        = (*Indirect)(nil)
)
