package llmratelimit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// registry lists the provisioned handlers, for the admin API. During a reload the old
// and new handlers are both listed for a moment; their rules share state anyway.
var registry = struct {
	sync.Mutex
	m map[*Handler]struct{}
}{m: map[*Handler]struct{}{}}

func register(h *Handler) {
	registry.Lock()
	registry.m[h] = struct{}{}
	registry.Unlock()
}

// loadedHandlers is a snapshot of the registry.
func loadedHandlers() []*Handler {
	registry.Lock()
	defer registry.Unlock()
	handlers := make([]*Handler, 0, len(registry.m))
	for h := range registry.m {
		handlers = append(handlers, h)
	}
	return handlers
}

func unregister(h *Handler) {
	registry.Lock()
	delete(registry.m, h)
	registry.Unlock()
}

// AdminAPI is the admin.api.llm_rate_limit module: it serves the limiter's current usage
// on Caddy's admin endpoint (which is bound to localhost by default and must stay
// private, since limit keys identify callers).
//
//	GET /llm_rate_limit/usage?key=<limit key>[&tier=<tier>][&model=<model>][&risk=<level>]
//	    every rule's state for that key, with the limits that apply to that tier, model
//	    and llm_sentinel risk level (the rules' default limits without them)
//	GET /llm_rate_limit/usage                   every active key (memory store; up to 1000)
//	DELETE /llm_rate_limit/usage?key=<limit key>
//	    resets every rule's counters for that key (windows, budgets, concurrency)
type AdminAPI struct{}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.llm_rate_limit", New: func() caddy.Module { return new(AdminAPI) }}
}

// Routes implements caddy.AdminRouter.
func (a AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/llm_rate_limit/usage", Handler: caddy.AdminHandlerFunc(a.usage)}}
}

// UsageEntry is one rule's state for one key.
type UsageEntry struct {
	Rule      string  `json:"rule"`
	Kind      string  `json:"kind,omitempty"`
	Key       string  `json:"key"`
	Period    string  `json:"period,omitempty"`
	Limit     float64 `json:"limit,omitempty"`
	Used      float64 `json:"used"`
	Remaining float64 `json:"remaining"`
	// ResetSeconds is the time until the limit is fully available again.
	ResetSeconds float64 `json:"reset_seconds"`
}

func (a AdminAPI) usage(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodDelete {
		return a.reset(w, r)
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, DELETE")
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method not allowed")}
	}
	now := time.Now()
	q := r.URL.Query()
	key, hasKey := q["key"]
	tier, model := q.Get("tier"), q.Get("model")
	risk := sentinel.Low
	if v := q.Get("risk"); v != "" {
		var ok bool
		if risk, ok = sentinel.ParseLevel(v); !ok {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("risk must be low, elevated or high")}
		}
	}
	out := []UsageEntry{}
	handlers := loadedHandlers()
	seen := map[string]bool{}
	for _, h := range handlers {
		if !hasKey {
			ms, ok := h.storeM.(*MemoryStore)
			if !ok {
				continue
			}
			for _, e := range ms.Memory().List(now, "", 1000) {
				id := e.Rule + "\x1f" + e.Key + "\x1f" + e.Period
				if !seen[id] {
					seen[id] = true
					out = append(out, UsageEntry{Rule: e.Rule, Key: e.Key, Period: e.Period, Used: e.Level})
				}
			}
			continue
		}
		for _, c := range h.rules {
			id := fmt.Sprintf("%p|%s", h.store, c.rule.ID())
			lim := c.rule.Limit
			if model != "" {
				lim, _ = c.rule.LimitFor(tier, risk, model)
			} else {
				if v, ok := c.rule.Tiers[tier]; ok && tier != "" {
					lim = v
				}
				lim = c.rule.RiskCap(lim, risk)
			}
			limited := lim != limit.Unlimited
			if seen[id] || !limited || lim <= 0 {
				continue
			}
			seen[id] = true
			ch := []limit.Charge{{Rule: c.rule, Key: key[0], Limit: lim}}
			sts, err := limit.Peek(r.Context(), h.store, now, ch)
			if err != nil {
				return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
			}
			st := sts[0]
			e := UsageEntry{Rule: c.rule.Name, Kind: string(c.rule.Kind), Key: key[0], Limit: st.Limit,
				Used: st.Limit - st.Remaining, Remaining: st.Remaining, ResetSeconds: st.Reset.Seconds()}
			if c.rule.IsBudget() {
				_, _, e.Period = c.rule.PeriodBounds(now)
			}
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Rule < out[j].Rule
	})
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"usage": out})
}

// reset empties every rule's state for ?key= in every loaded handler's store.
func (a AdminAPI) reset(w http.ResponseWriter, r *http.Request) error {
	key := r.URL.Query().Get("key")
	if key == "" {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("name the limit key to reset with ?key=")}
	}
	now := time.Now()
	handlers := loadedHandlers()
	seen := map[string]bool{}
	var rules []string
	for _, h := range handlers {
		for _, c := range h.rules {
			id := fmt.Sprintf("%p|%s", h.store, c.rule.ID())
			if seen[id] {
				continue
			}
			seen[id] = true
			// The limit only bounds the refund; any positive value empties the state.
			lim := max(c.rule.Limit, 1)
			if err := limit.Reset(r.Context(), h.store, now, []limit.Charge{{Rule: c.rule, Key: key, Limit: lim}}); err != nil {
				return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
			}
			h.events.Forget(eventKey(c.rule, key)) // a budget that runs out again is a new incident
			rules = append(rules, c.rule.Name)
		}
	}
	sort.Strings(rules)
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"key": key, "reset": rules})
}

// Interface guards
var _ caddy.AdminRouter = AdminAPI{}
