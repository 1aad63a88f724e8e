// Package llmdetect holds the detectors of llm_inspect and llm_filter as Caddy guest
// modules in the llmguard.detectors namespace, and the "detect" configuration both
// handlers share. The built-in detectors are injection, indirect, pii, secrets and patterns; a
// plugin adds its own by registering a module in the namespace that implements
// detect.Detector (and, optionally, detect.Actioner for its default actions and
// caddyfile.Unmarshaler for the Caddyfile's `detector <name> …` line).
//
// Detection logic lives in llmguard/detect; this package only configures and loads it.
package llmdetect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/defaults"
	"github.com/llmguard/caddy-llmguard/llmguard/inspect"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// Namespace is the module namespace of detectors.
const Namespace = "llmguard.detectors"

// Detector is what a module in the llmguard.detectors namespace must be.
type Detector interface {
	caddy.Module
	detect.Detector
}

// Defaults are the detectors a "detect" object without a detectors list loads; the sets
// are defined once, in llmguard/detect/defaults, so the gateway and the evaluation
// measure the same thing.
var (
	// RequestDefaults is llm_inspect's default set.
	RequestDefaults = defaults.RequestDetectors
	// ResponseDefaults is llm_filter's: prompt injection does not apply to responses.
	ResponseDefaults = defaults.ResponseDetectors
)

// Config is the "detect" object of llm_inspect and llm_filter. The zero value is the
// default set with the default actions.
type Config struct {
	// Off disables all detectors.
	Off bool `json:"off,omitempty"`
	// DetectorsRaw lists the detectors to run, as modules of the llmguard.detectors
	// namespace keyed by "detector", e.g. [{"detector":"injection","threshold":0.7},
	// {"detector":"pii","entities":["EMAIL_ADDRESS"]},{"detector":"secrets"}]. When
	// absent, the handler's default set is loaded with default options.
	DetectorsRaw []json.RawMessage `json:"detectors,omitempty" caddy:"namespace=llmguard.detectors inline_key=detector"`
	// Actions overrides the action per finding type: block (403), redact (replace with
	// a typed placeholder such as [EMAIL_ADDRESS_1] in the forwarded body), pseudonymize
	// (like redact, but llm_filter maps the placeholder back to the original value in the
	// response; the mapping is kept in memory for the request only), log (allow, but
	// record the finding) or allow (ignore).
	Actions map[string]string `json:"actions,omitempty"`
	// ScanSystem also runs the injection detector (and the remote classifier) over
	// system/developer prompts and tool descriptions, which it trusts by default because
	// the operator writes them. PII, secret and pattern detectors scan those prompts
	// whatever this says: applications put customer data into them. Requests only.
	ScanSystem bool `json:"scan_system,omitempty"`
}

// Load provisions the detectors (the named defaults when the config lists none) and
// returns the detection policy; nil when detection is off. A nil config is the default.
func (c *Config) Load(ctx caddy.Context, defaults []string) (*inspect.Detection, error) {
	if c == nil {
		c = &Config{}
	}
	if c.Off {
		return nil, nil
	}
	for typ, a := range c.Actions {
		if !detect.ValidAction(a) {
			return nil, fmt.Errorf("action for %s must be one of %s, not %q", typ, strings.Join(detect.Actions, ", "), a)
		}
	}
	var mods []any
	if len(c.DetectorsRaw) == 0 {
		for _, name := range defaults {
			m, err := ctx.LoadModuleByID(Namespace+"."+name, json.RawMessage("{}"))
			if err != nil {
				return nil, fmt.Errorf("loading default detector %s: %v", name, err)
			}
			mods = append(mods, m)
		}
	} else {
		v, err := ctx.LoadModule(c, "DetectorsRaw")
		if err != nil {
			return nil, fmt.Errorf("loading detectors: %v", err)
		}
		mods = v.([]any)
	}
	set := &detect.Set{}
	var allow detect.Allowlists
	seen := map[string]bool{}
	for _, m := range mods {
		d, ok := m.(Detector)
		if !ok {
			return nil, fmt.Errorf("module %T does not implement a detector", m)
		}
		id := string(d.CaddyModule().ID)
		if seen[id] {
			return nil, fmt.Errorf("detector %s is listed twice", id)
		}
		seen[id] = true
		set.Detectors = append(set.Detectors, d)
		if a, ok := d.(allower); ok && a.HasAllow() {
			allow = append(allow, a)
		}
	}
	switch len(allow) {
	case 0:
	case 1:
		set.Allow = allow[0]
	default:
		set.Allow = allow
	}
	return &inspect.Detection{Policy: detect.Policy{Set: set, Actions: c.Actions}, ScanSystem: c.ScanSystem}, nil
}

// RiskDetector is a detector that tightens with the caller's risk level (llm_sentinel's
// assessment): AtRisk returns the detector to use for callers at level l, the receiver
// itself when nothing changes.
type RiskDetector interface {
	AtRisk(l sentinel.Level) detect.Detector
}

// ByRisk is a detection policy per risk level, indexed by sentinel.Level.
type ByRisk [sentinel.High + 1]*inspect.Detection

// ForRisk returns d's policy per risk level: d itself for low callers and wherever no
// detector tightens, else a copy whose RiskDetectors are swapped for their stricter
// versions (same allow-list and actions). It is built once, at provisioning, so choosing
// a level costs a request nothing. A nil d (detection off) stays nil at every level.
func ForRisk(d *inspect.Detection) ByRisk {
	var out ByRisk
	for l := range out {
		out[l] = d
		if d == nil || l == 0 {
			continue
		}
		var dets []detect.Detector
		for i, det := range d.Set.Detectors {
			rd, ok := det.(RiskDetector)
			if !ok {
				continue
			}
			if s := rd.AtRisk(sentinel.Level(l)); s != det {
				if dets == nil {
					dets = slices.Clone(d.Set.Detectors)
				}
				dets[i] = s
			}
		}
		if dets != nil {
			c := *d
			c.Set = &detect.Set{Detectors: dets, Allow: d.Set.Allow}
			out[l] = &c
		}
	}
	return out
}

// At returns the policy for callers at level l.
func (b *ByRisk) At(l sentinel.Level) *inspect.Detection {
	if int(l) >= len(b) {
		l = sentinel.High
	}
	return b[l]
}

// allower is a detector that also declares harmless spans (the patterns module's allow
// list); they suppress every detector's findings.
type allower interface {
	detect.Allowlist
	HasAllow() bool
}

// Names returns the module names (such as "injection") of the loaded detectors.
func Names(d *inspect.Detection) []string {
	if d == nil {
		return nil
	}
	var out []string
	for _, det := range d.Set.Detectors {
		if m, ok := det.(caddy.Module); ok {
			out = append(out, m.CaddyModule().ID.Name())
		}
	}
	return out
}
