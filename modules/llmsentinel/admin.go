package llmsentinel

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// registry lists the provisioned handlers, for the admin API.
var registry = struct {
	sync.Mutex
	m map[*Handler]struct{}
}{m: map[*Handler]struct{}{}}

func register(h *Handler) {
	registry.Lock()
	registry.m[h] = struct{}{}
	registry.Unlock()
}

func unregister(h *Handler) {
	registry.Lock()
	delete(registry.m, h)
	registry.Unlock()
}

// stores returns one handler per distinct store (several sites may share one).
func stores() []*Handler {
	registry.Lock()
	defer registry.Unlock()
	seen := map[sentinel.Store]bool{}
	var out []*Handler
	for h := range registry.m {
		if !seen[h.store] {
			seen[h.store] = true
			out = append(out, h)
		}
	}
	return out
}

// AdminAPI is admin.api.llm_sentinel, on Caddy's admin endpoint (private: actor ids
// name callers):
//
//	GET    /llm_sentinel/actors/{actor}   the actor's level, quarantine and signals
//	DELETE /llm_sentinel/actors/{actor}   lifts its quarantine and clears its evidence
//
// {actor} is "id:<identity>" (a key id, token subject, certificate id), "addr:<network>",
// a bare identity, or a client IP address (its network).
type AdminAPI struct{}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.llm_sentinel", New: func() caddy.Module { return new(AdminAPI) }}
}

// Routes implements caddy.AdminRouter.
func (a AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/llm_sentinel/actors/", Handler: caddy.AdminHandlerFunc(a.actor)}}
}

// ActorView is the admin API's view of one actor.
type ActorView struct {
	Actor          string             `json:"actor"`
	Known          bool               `json:"known"`
	Level          string             `json:"level"`
	Reasons        []string           `json:"reasons,omitempty"`
	Quarantined    bool               `json:"quarantined"`
	QuarantineEnds *time.Time         `json:"quarantine_ends,omitempty"`
	Requests       uint32             `json:"requests"`
	LastSeen       *time.Time         `json:"last_seen,omitempty"`
	Signals        map[string]float64 `json:"signals,omitempty"`
	Released       bool               `json:"released,omitempty"`
}

// ActorKey turns what an admin typed into a store key.
func ActorKey(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("name an actor: id:<identity>, addr:<network> or an IP address")
	case strings.HasPrefix(s, "id:") || strings.HasPrefix(s, "addr:"):
		return s, nil
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		return addressActor(sentinel.NetworkOf(ip.String())), nil
	}
	return "id:" + s, nil
}

func (a AdminAPI) actor(w http.ResponseWriter, r *http.Request) error {
	key, err := ActorKey(strings.TrimPrefix(r.URL.Path, "/llm_sentinel/actors/"))
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	hs := stores()
	if len(hs) == 0 {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("no llm_sentinel handler is configured")}
	}
	now := clock()
	view := ActorView{Actor: key, Level: "low"}
	switch r.Method {
	case http.MethodGet:
		for _, h := range hs {
			st, ok, err := h.store.Get(r.Context(), key)
			if err != nil {
				return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
			}
			if ok {
				fill(&view, h, &st, now)
				break
			}
		}
	case http.MethodDelete:
		for _, h := range hs {
			var rel sentinel.Assessment
			var st sentinel.State
			err := h.store.Update(r.Context(), key, func(s *sentinel.State) { rel = h.model.Release(s); st = *s })
			if err != nil {
				return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
			}
			if rel.Transition() {
				h.record(key, nil, "", rel)
			}
			view.Released = view.Released || rel.Released
			fill(&view, h, &st, now)
		}
	default:
		w.Header().Set("Allow", "GET, DELETE")
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method not allowed")}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(view)
}

func fill(v *ActorView, h *Handler, st *sentinel.State, now time.Time) {
	a := h.model.Assess(st, now)
	v.Known = st.Seen > 0
	v.Level, v.Reasons, v.Quarantined, v.Requests = a.Level.String(), a.Reasons, a.Quarantined, st.Seen
	if a.Quarantined {
		end := now.Add(a.RetryAfter).UTC()
		v.QuarantineEnds = &end
	}
	if st.Last != 0 {
		last := time.Unix(0, st.Last).UTC()
		v.LastSeen = &last
	}
	v.Signals = h.model.Explain(st, now)
}

// Interface guards
var _ caddy.AdminRouter = AdminAPI{}
