package llmratelimit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llmguard/caddy-llmguard/llmguard/secevent"
)

// withEvents gives h its own event deduplication (not the process-wide one, so tests are
// independent) and records its security events.
func withEvents(h *Handler) *observer.ObservedLogs {
	core, logs := observer.New(zapcore.InfoLevel)
	h.security, h.events = zap.New(core), secevent.NewOnce(100)
	return logs
}

// A budget that runs out is one LLMG-5001 event per (rule, key) and period however many
// requests it refuses afterwards; another key, the next period and an admin reset are new
// incidents.
func TestBudgetExhaustedOncePerPeriod(t *testing.T) {
	h, clk := newHandler(t, `llm_rate_limit {
		rule monthly {
			token_budget 100 month
		}
	}`)
	logs := withEvents(h)
	exhaust := func(who string, refusals int) {
		t.Helper()
		if res := serve(t, h, "/v1/chat/completions", chat(50, ""), identity(who, "")); res.code != 200 {
			t.Fatalf("%s's first request: %d %s", who, res.code, res.body)
		}
		for i := range refusals {
			if res := serve(t, h, "/v1/chat/completions", chat(50, ""), identity(who, "")); res.code != 429 {
				t.Fatalf("%s's request %d after the budget: %d", who, i, res.code)
			}
		}
	}
	exhaust("alice", 25)
	clk.add(24 * time.Hour)
	exhaust("bob", 25)
	events := logs.FilterField(zap.String("event.code", "LLMG-5001")).All()
	if len(events) != 2 || logs.Len() != 2 {
		t.Fatalf("50 refusals of 2 keys gave %d events (%d in all), want 2", len(events), logs.Len())
	}
	f := events[0].ContextMap()
	for k, want := range map[string]any{"event.action": "budget-exhausted", "event.outcome": "failure", "event.severity": int64(2),
		"user.id": "alice", "source.address": "192.0.2.1:4000", "llmguard.limit.rule": "monthly", "llmguard.limit.kind": "token_budget",
		"llmguard.limit.key": "alice", "llmguard.limit.period": "month", "llmguard.limit.window": "2025-06",
		"llmguard.limit.value": float64(100), "llmguard.limit.unit": "tokens", "llmguard.limit.resets_at": "2025-07-01T00:00:00Z"} {
		if got := f[k]; got != want {
			t.Errorf("%s = %v (%T), want %v", k, got, got, want)
		}
	}
	if events[0].Level != zapcore.InfoLevel || events[1].ContextMap()["user.id"] != "bob" {
		t.Errorf("level %v, second event %v", events[0].Level, events[1].ContextMap())
	}

	// The next month the budget is full again; running out again is a new incident.
	clk.add(30 * 24 * time.Hour)
	exhaust("alice", 5)
	if n := logs.Len(); n != 3 || logs.All()[2].ContextMap()["llmguard.limit.window"] != "2025-07" {
		t.Fatalf("%d events after the next month's exhaustion, want 3", n)
	}

	// An admin reset re-arms the event: the budget running out again in the same period
	// is reported. (The admin API resets the period of the wall clock, so the handler's
	// clock follows it here.)
	clk.mu.Lock()
	clk.t = time.Now()
	clk.mu.Unlock()
	exhaust("alice", 5)
	w := httptest.NewRecorder()
	if err := (AdminAPI{}).usage(w, httptest.NewRequest(http.MethodDelete, "/llm_rate_limit/usage?key=alice", nil)); err != nil || w.Code != 200 {
		t.Fatalf("reset: %v %d", err, w.Code)
	}
	exhaust("alice", 5)
	if n := logs.Len(); n != 5 {
		t.Fatalf("%d events after a reset and a new exhaustion, want 5", n)
	}
}

// Per-window rate limits, concurrency caps, a zero allowance and a request larger than the
// whole budget refuse without a security event: they are noise or policy, not an incident.
func TestNoEventForRateLimits(t *testing.T) {
	for name, rule := range map[string]string{
		"requests":     "requests 1 1m",
		"tokens":       "tokens 100 1m",
		"zero budget":  "token_budget 0 day",
		"whole budget": "token_budget 40 day",
	} {
		t.Run(name, func(t *testing.T) {
			h, _ := newHandler(t, fmt.Sprintf("llm_rate_limit {\n rule r {\n %s\n }\n}", rule))
			logs := withEvents(h)
			refused := 0
			for range 5 {
				if res := serve(t, h, "/v1/chat/completions", chat(50, ""), identity("alice", "")); res.code == 429 {
					refused++
				}
			}
			if refused == 0 || logs.Len() != 0 {
				t.Fatalf("%d refusals, %d events: %v", refused, logs.Len(), logs.All())
			}
		})
	}
}
