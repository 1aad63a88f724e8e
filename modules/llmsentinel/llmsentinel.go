// Package llmsentinel is the llm_sentinel handler and the llm_risk matcher: adaptive
// threat detection on top of llmguard/sentinel. The handler assesses every request's
// caller against its own learned behaviour, publishes the risk for the policies that
// tighten with it, refuses quarantined callers, and reports transitions as security
// events.
package llmsentinel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/injection"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/secevent"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
	"github.com/llmguard/caddy-llmguard/modules/llminspect"
	"github.com/llmguard/caddy-llmguard/modules/llmratelimit"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is http.handlers.llm_sentinel. Every assessed request gets the placeholders
// {http.llm.risk.score}, {http.llm.risk.level} and {http.llm.risk.reasons} (llmhttp).
// It runs after llm_auth (the caller's identity;
// without llm_auth the client network is the caller) and before llm_inspect and
// llm_rate_limit, which tighten with the level it stores in the request's exchange.
//
// With no options it learns, publishes the risk and quarantines at high.
type Handler struct {
	// StoreRaw is where learned state is kept: memory (default; per process, survives a
	// reload) or redis, with the same options as llm_rate_limit's store (and the same
	// connection, when both name the same server). Keys are "<prefix>sentinel:{actor}".
	StoreRaw json.RawMessage `json:"store,omitempty" caddy:"namespace=http.handlers.llm_rate_limit.stores inline_key=type"`
	// Elevated and High are the score thresholds (0–1). Defaults 0.4 and 0.8.
	Elevated float64 `json:"elevated,omitempty"`
	High     float64 `json:"high,omitempty"`
	// Quarantine is how long a caller at high is refused, doubled for each further
	// quarantine within a day (up to 16×). Default 10m.
	Quarantine caddy.Duration `json:"quarantine,omitempty"`
	// NoQuarantine publishes high without refusing (observe-only rollout).
	NoQuarantine bool `json:"no_quarantine,omitempty"`
	// Forget is the half-life of behaviour evidence: how fast trust is rebuilt. Default 1h.
	Forget caddy.Duration `json:"forget,omitempty"`
	// BaseRate (requests per minute) and BaseTokens (tokens per minute) are the
	// population priors a caller's bursts are measured against until it has a history of
	// its own. Defaults 10 and 20000.
	BaseRate   float64 `json:"base_rate,omitempty"`
	BaseTokens int64   `json:"base_tokens,omitempty"`
	// MaxActors bounds the memory store (identities and client networks). Default 100000.
	MaxActors int `json:"max_actors,omitempty"`
	// MaxBodySize bounds the request body read (shared with the other llm_* handlers).
	MaxBodySize int64 `json:"max_body_size,omitempty"`

	model    *sentinel.Model
	store    sentinel.Store
	storeM   caddy.Module
	memory   *memoryHolder
	logger   *zap.Logger
	security *zap.Logger
	metrics  *metrics
	now      func() time.Time
	stopObs  func()
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_sentinel", New: func() caddy.Module { return new(Handler) }}
}

// Provision sets up the model and the store.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.security = llmhttp.SecurityLogger(ctx)
	h.now = clock
	if h.Elevated < 0 || h.Elevated >= 1 || h.High < 0 || h.High > 1 || (h.High > 0 && h.High <= h.effectiveElevated()) {
		return fmt.Errorf("llm_sentinel: thresholds must satisfy 0 < elevated < high ≤ 1 (elevated %v, high %v)", h.Elevated, h.High)
	}
	q := time.Duration(h.Quarantine)
	if h.NoQuarantine {
		q = -1
	}
	h.model = sentinel.NewModel(sentinel.Config{Elevated: h.Elevated, High: h.High, Quarantine: q,
		BaseRate: h.BaseRate, BaseTokens: float64(h.BaseTokens), Forget: time.Duration(h.Forget)})
	if h.StoreRaw != nil {
		m, err := ctx.LoadModule(h, "StoreRaw")
		if err != nil {
			return fmt.Errorf("llm_sentinel: loading store: %v", err)
		}
		h.storeM = m.(caddy.Module)
	}
	if rs, ok := h.storeM.(*llmratelimit.RedisStore); ok {
		lrs := rs.LimitStore().(*limit.RedisStore)
		st := sentinel.NewRedisStore(lrs.Client(), rs.Prefix+"sentinel:")
		st.RetryInterval = time.Duration(rs.RetryInterval)
		h.store = st
	} else {
		mh, err := loadMemory()
		if err != nil {
			return err
		}
		h.memory = mh
		if h.MaxActors > 0 {
			mh.store.SetMax(h.MaxActors)
		}
		h.store = mh.store
	}
	var err error
	if h.metrics, err = newMetrics(ctx); err != nil {
		return err
	}
	h.stopObs = llmhttp.ObserveAuthFailures(h)
	register(h)
	return nil
}

func (h *Handler) effectiveElevated() float64 {
	if h.Elevated > 0 {
		return h.Elevated
	}
	return 0.4
}

// Cleanup stops observing llm_auth and releases the memory store.
func (h *Handler) Cleanup() error {
	unregister(h)
	if h.stopObs != nil {
		h.stopObs()
	}
	if h.memory != nil {
		_, err := memPool.Delete(memPoolKey)
		return err
	}
	return nil
}

// ServeHTTP assesses the caller, refuses it while quarantined, and learns from what the
// rest of the route found.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (err error) {
	g, w := llmhttp.Protect(w, r, h.logger)
	defer g.Recover(&err)
	ex, r, e := llmhttp.Load(r, h.MaxBodySize)
	if e != nil {
		return llmhttp.Fail(w, r, e)
	}
	now := h.now()
	network := sentinel.NetworkOf(clientIP(r))
	actor := actorID(ex, network)
	q := features(ex, network)
	ctx := r.Context()

	var addr *sentinel.State
	if ex.Identity != nil {
		// The address's failed logins count against a key used from it.
		if st, ok, err := h.store.Get(ctx, addressActor(network)); err == nil && ok {
			addr = &st
		}
	}
	var a sentinel.Assessment
	if err := h.store.Update(ctx, actor, func(s *sentinel.State) { a = h.model.Observe(s, addr, now, q) }); err != nil {
		// Detection fails open: a store outage must not take the gateway down with it.
		h.metrics.assessments.WithLabelValues("unavailable").Inc()
		if ce := h.logger.Check(zap.DebugLevel, "risk not assessed"); ce != nil {
			ce.Write(zap.Error(err))
		}
		return next.ServeHTTP(w, r)
	}
	ex.Risk = &a
	h.publish(r, a)
	h.record(actor, ex, network, a)
	if a.Quarantined {
		h.metrics.refused.Inc()
		return llmhttp.Fail(w, r, &apierr.Error{Status: http.StatusForbidden, Code: "caller_quarantined",
			Message:    fmt.Sprintf("Requests from this caller are paused for %s because of unusual activity; retry later or contact the gateway's administrator.", retryText(a.RetryAfter)),
			RetryAfter: a.RetryAfter})
	}
	err = next.ServeHTTP(w, r)
	if probed(r) {
		if uerr := h.store.Update(ctx, actor, func(s *sentinel.State) { h.model.Outcome(s, now, sentinel.Outcome{Probe: true}) }); uerr != nil {
			h.metrics.assessments.WithLabelValues("unavailable").Inc()
		}
	}
	return err
}

// AuthFailure implements llmhttp.AuthFailureObserver: llm_auth refused a credential from
// client, which counts against the client's network.
func (h *Handler) AuthFailure(ctx context.Context, client string, credential uint32) {
	network := sentinel.NetworkOf(client)
	id := addressActor(network)
	var a sentinel.Assessment
	if err := h.store.Update(ctx, id, func(s *sentinel.State) { a = h.model.Fail(s, h.now(), credential) }); err != nil {
		return
	}
	h.record(id, nil, network, a)
}

// actorID is the store key of the caller: its identity, else its client network.
func actorID(ex *exchange.Exchange, network string) string {
	if ex.Identity != nil && ex.Identity.ID != "" {
		return "id:" + ex.Identity.ID
	}
	return addressActor(network)
}

func addressActor(network string) string { return "addr:" + network }

// features is the model's view of the request, from the exchange the other handlers
// share: no second parse, and no token count of its own (four bytes a token is close
// enough for a rate).
func features(ex *exchange.Exchange, network string) sentinel.Request {
	q := sentinel.Request{Network: network}
	req := ex.Request
	if req == nil {
		return q
	}
	var text int
	for i := range req.Segments {
		s := &req.Segments[i]
		text += len(s.Text)
		if s.Role == "user" || s.Role == "" {
			q.Prompt = s.Text // the last user text is the prompt a template shows in
		}
	}
	prompt := int64(text / 4)
	if ex.PromptTokens > 0 {
		prompt = ex.PromptTokens
	}
	n := max(req.N, 1)
	q.Tokens = prompt + req.MaxOutputTokens*n
	q.N, q.Logprobs, q.TopLogprobs = n, req.Logprobs, req.TopLogprobs
	if ex.Kind == request.KindEmbeddings {
		q.Embeddings = req.Messages
	}
	return q
}

// probed reports whether llm_inspect found a prompt injection or blocked the request
// (its placeholders, set while next ran). The detector reports findings at its own
// threshold whatever the action, so probing counts under the default action log too.
func probed(r *http.Request) bool {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return false
	}
	if d, _ := repl.GetString(llminspect.PlaceholderDecision); d == "block" {
		return true
	}
	f, _ := repl.GetString(llminspect.PlaceholderFindings)
	for _, t := range strings.Split(f, ",") {
		if t == injection.TypeInjection {
			return true
		}
	}
	return false
}

func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func (h *Handler) publish(r *http.Request, a sentinel.Assessment) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	repl.Set(llmhttp.PlaceholderRiskScore, strconv.FormatFloat(a.Score, 'f', 3, 64))
	repl.Set(llmhttp.PlaceholderRiskLevel, a.Level.String())
	repl.Set(llmhttp.PlaceholderRiskReasons, a.ReasonList())
}

// record counts the assessment and reports a transition as one security event.
func (h *Handler) record(actor string, ex *exchange.Exchange, network string, a sentinel.Assessment) {
	h.metrics.assessments.WithLabelValues(a.Level.String()).Inc()
	if !a.Transition() {
		return
	}
	kind := transitionKind(a)
	h.metrics.transitions.WithLabelValues(kind.Action).Inc()
	for _, reason := range a.Reasons {
		h.metrics.reasons.WithLabelValues(reason).Inc()
	}
	fields := []zap.Field{
		zap.String("llmguard.risk.actor", actor),
		zap.String("llmguard.risk.level", a.Level.String()),
		zap.String("llmguard.risk.previous_level", a.From.String()),
		zap.Float64("llmguard.risk.score", round3(a.Score)),
		zap.Strings("llmguard.risk.reasons", a.Reasons),
	}
	if network != "" {
		// A network, not an address: ECS source.ip is an IP field, and a SIEM would
		// refuse a CIDR there.
		fields = append(fields, zap.String("llmguard.risk.network", network))
	}
	if ex != nil && ex.Identity != nil {
		fields = append(fields, zap.String("user.id", ex.Identity.ID))
	}
	if a.Entered {
		fields = append(fields, zap.Float64("llmguard.risk.quarantine_seconds", a.RetryAfter.Seconds()))
	}
	secevent.Emit(h.security, kind, "success", fields...)
}

func transitionKind(a sentinel.Assessment) secevent.Kind {
	switch {
	case a.Entered:
		return secevent.CallerQuarantined
	case a.Released:
		return secevent.CallerReleased
	case a.Level > a.From:
		return secevent.RiskRaised
	}
	return secevent.RiskLowered
}

func round3(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }

func retryText(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds()+0.5))
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes()+0.5))
}

// clock is the handlers' time source. The traffic simulator replaces it with
// SetClock to replay simulated days through a real Caddy; nothing else does.
var (
	clockMu sync.RWMutex
	clockFn = time.Now
)

func clock() time.Time {
	clockMu.RLock()
	defer clockMu.RUnlock()
	return clockFn()
}

// SetClock replaces the time source of every llm_sentinel handler (nil restores the
// wall clock). It exists for the traffic simulator and tests, never for configuration.
func SetClock(f func() time.Time) {
	clockMu.Lock()
	defer clockMu.Unlock()
	if f == nil {
		f = time.Now
	}
	clockFn = f
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ llmhttp.AuthFailureObserver = (*Handler)(nil)
)
