package llmratelimit

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// Rule is one limit of the handler.
type Rule struct {
	// Name identifies the rule in errors, RateLimit headers, metrics and the admin API:
	// 1-64 lowercase letters, digits, '_' or '-'. Required. Rules with the same name and
	// kind share their counters, also across sites and config reloads (like
	// caddy-ratelimit zones), so a budget can span several routes.
	Name string `json:"name"`
	// Key is the placeholder template that partitions the rule, e.g.
	// "{http.llm.key.id}", "{http.llm.tier}", "{http.llm.key.id}/{http.llm.model}" or a
	// constant for one global limit. Default: the handler's key. A key that renders
	// empty falls back to "ip:" plus the client address, so that callers without the
	// placeholder never share one counter by accident.
	Key string `json:"key,omitempty"`
	// Kind is requests, tokens, concurrent, token_budget or cost_budget. Required.
	Kind string `json:"kind"`
	// Count selects the tokens of tokens and token_budget rules: input, output or total.
	// Default total.
	Count string `json:"count,omitempty"`
	// Limit is the number of requests, tokens or concurrent requests, or the dollars of a
	// cost budget, allowed per window or period. 0 refuses every request the rule applies
	// to (an explicit block).
	Limit float64 `json:"limit"`
	// Window is the window of requests and tokens rules, 1ms to any length (30d). The
	// limit refills continuously (see the package documentation of llmguard/limit).
	Window caddy.Duration `json:"window,omitempty"`
	// Period is day or month for budgets, calendar-aligned in TimeZone.
	Period string `json:"period,omitempty"`
	// TimeZone is the IANA zone of budget periods, e.g. "Europe/Berlin". Default UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Tiers overrides Limit per caller tier ({http.llm.tier}, set by llm_auth); -1 means
	// unlimited (the rule does not apply). Unknown tiers get Limit.
	Tiers map[string]float64 `json:"tiers,omitempty"`
	// Models overrides Limit for models matching a glob (first match wins, and wins over
	// Tiers); -1 means unlimited.
	Models []ModelLimit `json:"models,omitempty"`
	// Risks tightens Limit for callers llm_sentinel rates "elevated" or "high"
	// ({http.llm.risk.level}), keyed by level: a caller at that level or above gets at most
	// this limit, whatever Tiers and Models give it (an exempt caller included), so a
	// risk override never loosens a limit. The counters stay the rule's: a caller that
	// becomes elevated keeps its usage and its limit shrinks. -1 (unlimited) says the rule
	// does not tighten at that level; a higher level may not be looser than a lower one.
	// Without llm_sentinel every caller is low and Risks never applies.
	Risks map[string]float64 `json:"risks,omitempty"`
	// FailOpen admits requests when the store cannot be reached. Default false: such
	// requests are refused with 503, because an unreachable limiter must not turn into
	// unlimited spending. A request is admitted during an outage only if every rule that
	// applies to it fails open.
	FailOpen bool `json:"fail_open,omitempty"`
}

// ModelLimit is a per-model limit.
type ModelLimit struct {
	// Match is a glob ("*" matches any run of characters, "/" included; case-insensitive), e.g. "gpt-4o*".
	Match string `json:"match"`
	// Limit replaces the rule's limit; -1 means unlimited.
	Limit float64 `json:"limit"`
}

// compile turns the config into a core rule.
func (rc *Rule) compile() (*limit.Rule, error) {
	r := &limit.Rule{Name: rc.Name, Kind: limit.Kind(rc.Kind), Measure: limit.Measure(rc.Count), Limit: rc.Limit,
		Window: time.Duration(rc.Window), Period: limit.Period(rc.Period), Tiers: rc.Tiers, FailOpen: rc.FailOpen}
	for _, m := range rc.Models {
		r.Models = append(r.Models, limit.ModelLimit{Pattern: m.Match, Limit: m.Limit})
	}
	for name, v := range rc.Risks {
		lvl, ok := sentinel.ParseLevel(name)
		if !ok {
			return nil, fmt.Errorf("rule %s: unknown risk level %q (want elevated or high)", rc.Name, name)
		}
		r.Risks = append(r.Risks, limit.RiskLimit{Level: lvl, Limit: v})
	}
	if rc.TimeZone != "" {
		if !r.IsBudget() {
			return nil, fmt.Errorf("rule %s: time_zone only applies to budgets", rc.Name)
		}
		loc, err := time.LoadLocation(rc.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("rule %s: loading time zone: %v", rc.Name, err)
		}
		r.Location = loc
	}
	if (r.Kind == limit.Concurrent || r.IsBudget()) && rc.Window != 0 {
		return nil, fmt.Errorf("rule %s: window only applies to requests and tokens rules", rc.Name)
	}
	if !r.IsBudget() && rc.Period != "" {
		return nil, fmt.Errorf("rule %s: period only applies to budgets", rc.Name)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}
