package llmsentinel

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

func init() {
	caddy.RegisterModule(Matcher{})
}

// Matcher is http.matchers.llm_risk: it matches requests whose caller llm_sentinel
// assessed at Level or above (`llm_risk elevated` matches elevated and high callers).
// A request no sentinel assessed is low. Use it in a route after llm_sentinel, e.g. in
// a handle block, so the assessment exists when it is evaluated.
type Matcher struct {
	Level string `json:"level,omitempty"`
	level sentinel.Level
}

// CaddyModule returns the Caddy module information.
func (Matcher) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.matchers.llm_risk", New: func() caddy.Module { return new(Matcher) }}
}

// Provision parses the level.
func (m *Matcher) Provision(caddy.Context) error {
	l, ok := sentinel.ParseLevel(m.Level)
	if !ok {
		return fmt.Errorf("llm_risk: level must be low, elevated or high, not %q", m.Level)
	}
	m.level = l
	return nil
}

// MatchWithError implements caddyhttp.RequestMatcherWithError.
func (m *Matcher) MatchWithError(r *http.Request) (bool, error) {
	ex := exchange.FromContext(r.Context())
	if ex == nil {
		return m.level == sentinel.Low, nil
	}
	return ex.RiskLevel() >= m.level, nil
}

// UnmarshalCaddyfile parses `llm_risk <level>`.
func (m *Matcher) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if !d.NextArg() {
		return d.ArgErr()
	}
	m.Level = d.Val()
	if _, ok := sentinel.ParseLevel(m.Level); !ok {
		return d.Errf("llm_risk: level must be low, elevated or high, not '%s'", m.Level)
	}
	if d.NextArg() || d.NextBlock(0) {
		return d.ArgErr()
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner                 = (*Matcher)(nil)
	_ caddyhttp.RequestMatcherWithError = (*Matcher)(nil)
	_ caddyfile.Unmarshaler             = (*Matcher)(nil)
)
