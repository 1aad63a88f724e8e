package limit

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/glob"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// Kind is what a rule limits.
type Kind string

// Rule kinds.
const (
	// Requests limits requests per window.
	Requests Kind = "requests"
	// Tokens limits tokens (input, output or total) per window.
	Tokens Kind = "tokens"
	// Concurrent limits requests in flight at once.
	Concurrent Kind = "concurrent"
	// TokenBudget limits tokens per calendar day or month.
	TokenBudget Kind = "token_budget"
	// CostBudget limits money (US dollars, from a PriceTable) per calendar day or month.
	CostBudget Kind = "cost_budget"
)

// Measure says which tokens a token rule counts.
type Measure string

// Token measures.
const (
	Total  Measure = "total"
	Input  Measure = "input"
	Output Measure = "output"
)

// Period is a budget's calendar period.
type Period string

// Budget periods.
const (
	Day   Period = "day"
	Month Period = "month"
)

// Unlimited as an override value exempts matching requests from a rule.
const Unlimited = -1

// ModelLimit overrides a rule's limit for models matching a glob pattern (llmguard/glob
// syntax, matched case-insensitively, e.g. "gpt-4o*" or "meta-llama/*").
type ModelLimit struct {
	Pattern string
	Limit   float64
}

// RiskLimit tightens a rule for callers whose risk level (llm_sentinel's assessment) is
// Level or above. It caps the limit the rule would otherwise give: a risk override never
// loosens one (see Rule.LimitFor). Unlimited says the rule does not tighten at Level.
type RiskLimit struct {
	Level sentinel.Level
	Limit float64
}

// Rule is one limit. Rules are immutable once validated and shared by all requests.
type Rule struct {
	// Name identifies the rule in headers, errors, metrics and state keys. Rules with the
	// same name and kind share their counters (across routes and reloads).
	Name    string
	Kind    Kind
	Measure Measure // Tokens and TokenBudget; default Total
	// Limit is the default limit: requests, tokens, concurrent requests or dollars.
	Limit float64
	// Window is the window of Requests and Tokens rules (any length ≥ 1ms).
	Window time.Duration
	// Period and Location define a budget's calendar periods (default UTC).
	Period   Period
	Location *time.Location
	// Tiers and Models override Limit: the first matching model pattern wins, then the
	// caller's tier, then Limit. Unlimited (-1) exempts the request.
	Tiers  map[string]float64
	Models []ModelLimit
	// Risks cap the limit for callers at a risk level or above, whatever the tier and
	// model say; Validate sorts them by level.
	Risks []RiskLimit
	// FailOpen admits requests when the store cannot be reached; the default refuses them.
	FailOpen bool
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks the rule and fills in defaults.
func (r *Rule) Validate() error {
	if !nameRE.MatchString(r.Name) {
		return fmt.Errorf("rule name %q: use 1-64 lowercase letters, digits, '_' or '-'", r.Name)
	}
	check := func(v float64) error {
		if v < 0 && v != Unlimited {
			return errors.New("limits must be ≥ 0 (or unlimited)")
		}
		return nil
	}
	if r.Limit < 0 {
		return fmt.Errorf("rule %s: limit must be ≥ 0", r.Name)
	}
	for t, v := range r.Tiers {
		if err := check(v); err != nil {
			return fmt.Errorf("rule %s, tier %s: %v", r.Name, t, err)
		}
	}
	for _, m := range r.Models {
		if err := glob.Valid(m.Pattern); err != nil {
			return fmt.Errorf("rule %s: bad model pattern %q", r.Name, m.Pattern)
		}
		if err := check(m.Limit); err != nil {
			return fmt.Errorf("rule %s, model %s: %v", r.Name, m.Pattern, err)
		}
	}
	if err := r.validateRisks(check); err != nil {
		return err
	}
	switch r.Kind {
	case Requests, Tokens:
		if r.Window < time.Millisecond {
			return fmt.Errorf("rule %s: a %s rule needs a window of at least 1ms", r.Name, r.Kind)
		}
	case Concurrent:
	case TokenBudget, CostBudget:
		if r.Period != Day && r.Period != Month {
			return fmt.Errorf("rule %s: a budget needs a period of day or month", r.Name)
		}
		if r.Location == nil {
			r.Location = time.UTC
		}
	default:
		return fmt.Errorf("rule %s: unknown kind %q", r.Name, r.Kind)
	}
	switch r.Kind {
	case Tokens, TokenBudget:
		switch r.Measure {
		case "":
			r.Measure = Total
		case Total, Input, Output:
		default:
			return fmt.Errorf("rule %s: count must be input, output or total", r.Name)
		}
	default:
		if r.Measure != "" {
			return fmt.Errorf("rule %s: only token rules count input, output or total", r.Name)
		}
	}
	return nil
}

// validateRisks sorts the risk overrides and refuses those that could not take effect: a
// level without risk (low is the rule itself), a level given twice, and an override
// looser than a lower level's, which callers at the higher level get too.
func (r *Rule) validateRisks(check func(float64) error) error {
	slices.SortFunc(r.Risks, func(a, b RiskLimit) int { return int(a.Level) - int(b.Level) })
	for i, rl := range r.Risks {
		if rl.Level != sentinel.Elevated && rl.Level != sentinel.High {
			return fmt.Errorf("rule %s: risk overrides apply at elevated or high, not %s (the rule's limit is the low one)", r.Name, rl.Level)
		}
		if err := check(rl.Limit); err != nil {
			return fmt.Errorf("rule %s, risk %s: %v", r.Name, rl.Level, err)
		}
		if i == 0 {
			continue
		}
		prev := r.Risks[i-1]
		if prev.Level == rl.Level {
			return fmt.Errorf("rule %s: risk %s is given twice", r.Name, rl.Level)
		}
		if prev.Limit != Unlimited && (rl.Limit == Unlimited || rl.Limit > prev.Limit) {
			return fmt.Errorf("rule %s: risk %s is looser than risk %s (%g), which applies at %s too: a risk override only tightens",
				r.Name, rl.Level, prev.Level, prev.Limit, rl.Level)
		}
	}
	return nil
}

// ID is the rule's state identity: name, kind and measure. A config change that keeps
// them keeps the counters (a new limit or window applies to the existing level); one that
// changes them starts from zero, since the old numbers would mean something else.
func (r *Rule) ID() string {
	if r.Measure != "" {
		return r.Name + ":" + string(r.Kind) + "." + string(r.Measure)
	}
	return r.Name + ":" + string(r.Kind)
}

// LimitFor returns the limit for a caller's tier, risk level and model; ok is false when
// the request is exempt (Unlimited). The model override wins over the tier; then every
// risk override at or below the caller's level caps the result (an exempt caller gets the
// cap itself), so that a caller under suspicion is never allowed more than that, whatever
// its tier.
func (r *Rule) LimitFor(tier string, risk sentinel.Level, model string) (limit float64, ok bool) {
	limit = r.Limit
	matched := false
	m := strings.ToLower(model)
	for _, ml := range r.Models {
		if glob.Match(strings.ToLower(ml.Pattern), m) {
			limit, matched = ml.Limit, true
			break
		}
	}
	if !matched && tier != "" {
		if v, found := r.Tiers[tier]; found {
			limit = v
		}
	}
	limit = r.RiskCap(limit, risk)
	return limit, limit != Unlimited
}

// RiskCap applies the risk overrides at or below level to limit (Unlimited included).
func (r *Rule) RiskCap(limit float64, level sentinel.Level) float64 {
	for _, rl := range r.Risks {
		if rl.Level <= level && rl.Limit != Unlimited && (limit == Unlimited || rl.Limit < limit) {
			limit = rl.Limit
		}
	}
	return limit
}

// IsBudget reports a calendar budget (refusals that waiting a little will not fix).
func (r *Rule) IsBudget() bool { return r.Kind == TokenBudget || r.Kind == CostBudget }

// IsWindow reports a requests or tokens per window rule.
func (r *Rule) IsWindow() bool { return r.Kind == Requests || r.Kind == Tokens }

// CountsInput reports whether Amount depends on Usage.Input: the prompt must then be
// counted before the rule can reserve (counting a 1 KB prompt costs more than the rest
// of a reservation, so rules that do not need it do not pay for it).
func (r *Rule) CountsInput() bool {
	switch r.Kind {
	case Tokens, TokenBudget:
		return r.Measure != Output
	case CostBudget:
		return true
	}
	return false
}

// Usage is what a request consumes, in tokens.
type Usage struct {
	Input       int64 // prompt tokens, cached ones included
	CachedInput int64 // part of Input read from the prompt cache
	Output      int64 // generated tokens (reasoning included)
}

// Amount is what u costs under the rule: 1 for Requests and Concurrent, the measured
// tokens for token rules, dollars for CostBudget (price may be nil for other kinds).
func (r *Rule) Amount(u Usage, price *Price) float64 {
	switch r.Kind {
	case Requests, Concurrent:
		return 1
	case Tokens, TokenBudget:
		switch r.Measure {
		case Input:
			return float64(u.Input)
		case Output:
			return float64(u.Output)
		}
		return float64(u.Input + u.Output)
	case CostBudget:
		if price == nil {
			return 0
		}
		return price.Cost(u)
	}
	return 0
}

// PeriodBounds returns the calendar period containing now: its start, end and label
// ("2006-01-02" or "2006-01"), in the rule's time zone.
func (r *Rule) PeriodBounds(now time.Time) (start, end time.Time, label string) {
	t := now.In(r.Location)
	if r.Period == Day {
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, r.Location)
		return start, start.AddDate(0, 0, 1), start.Format("2006-01-02")
	}
	start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, r.Location)
	return start, start.AddDate(0, 1, 0), start.Format("2006-01")
}
