package llmratelimit

import (
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/llmguard/secevent"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

// Budget exhaustion is reported once per (rule, limit key) and period: the first refusal
// is the incident, the refusals after it until the period ends are its echo, and a busy
// client or an attacker must not turn them into a flood of events. The deduplication
// lives in the usage pool like the memory store, so a config reload does not report an
// exhausted budget again; it is per process (with a Redis store, each instance reports
// once).
const (
	eventsPoolKey = "llm_rate_limit.events"
	// maxEventKeys bounds the (rule, key) pairs remembered until their period ends:
	// 16384 hashes, 0.55 MB of heap when full. Past it, expired pairs go first, then an
	// arbitrary one is forgotten and may be reported once more (see secevent.Once).
	maxEventKeys = 1 << 14
)

type eventsHolder struct{ *secevent.Once }

func (eventsHolder) Destruct() error { return nil }

// loadEvents returns the process-wide deduplication of budget events.
func loadEvents() (*secevent.Once, error) {
	v, _, err := pool.LoadOrNew(eventsPoolKey, func() (caddy.Destructor, error) {
		return eventsHolder{secevent.NewOnce(maxEventKeys)}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(eventsHolder).Once, nil
}

// eventKey names a (rule, limit key) pair for the deduplication; rules that share their
// counters (same name and kind) share it too.
func eventKey(r *limit.Rule, key string) string { return r.ID() + "\x00" + key }

// reportExhausted emits the security event of a budget refusal the first time the budget
// refuses this limit key in its period. Only day/month budgets are incidents: a
// per-window rate limit (rpm, tpm) or a concurrency cap refuses busy clients all day and
// recovers by itself in seconds, and a limit of 0 or a request larger than the whole
// budget is policy, not exhaustion.
func (h *Handler) reportExhausted(r *http.Request, ex *exchange.Exchange, d *limit.Denial, now time.Time) {
	rule := d.Rule
	if !rule.IsBudget() || d.Limit <= 0 || d.Never {
		return
	}
	_, end, label := rule.PeriodBounds(now)
	if !h.events.First(eventKey(rule, d.Key), now, end) {
		return
	}
	secevent.Emit(h.security, secevent.BudgetExhausted, "failure", append(llmhttp.CallerFields(r, ex),
		zap.String("llmguard.limit.rule", rule.Name),
		zap.String("llmguard.limit.kind", string(rule.Kind)),
		zap.String("llmguard.limit.key", d.Key),
		zap.String("llmguard.limit.period", string(rule.Period)),
		zap.String("llmguard.limit.window", label),
		zap.Float64("llmguard.limit.value", d.Limit),
		zap.String("llmguard.limit.unit", unitOf(rule.Kind)),
		zap.String("llmguard.limit.resets_at", end.Format(time.RFC3339)))...)
}
