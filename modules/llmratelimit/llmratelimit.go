// Package llmratelimit is the `llm_rate_limit` Caddy handler: token-aware rate limits and
// budgets for LLM API calls. It reserves a request's prompt tokens plus its output
// allowance on every applicable rule at once before the request goes upstream, and
// settles to the real usage (read from the response through the shared llmhttp.Tap)
// afterwards. State lives in a pluggable store: in memory by default (kept across
// reloads), or Redis for several Caddy instances.
//
// It must never admit a request whose reservation does not fit, charge a refused
// request, or forward a stream past a cut; decisions live in llmguard/limit.
package llmratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/secevent"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
	"github.com/llmguard/caddy-llmguard/modules/llmprices"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// DefaultKey is the default limit key: the authenticated identity (API key id, token
// subject or certificate id, set by llm_auth). Without llm_auth it renders empty and the
// client address is used.
const DefaultKey = "{http.auth.user.id}"

// DefaultOutputTokens is the output allowance reserved for requests that set no maximum.
const DefaultOutputTokens = 1024

// Handler limits LLM API calls by requests, tokens, concurrency and budgets.
//
// Placeholders set for the rest of the route (and the access log):
//
//	{http.llm.rate_limit.rule}       the rule that refused the request, if any
//	{http.llm.rate_limit.reserved}   tokens reserved (prompt + output allowance)
//
// Response headers on every limited request: x-ratelimit-{limit,remaining,reset}-
// {requests,tokens} (OpenAI's format, from the most constraining requests and tokens
// rule) and RateLimit-Policy / RateLimit (draft-ietf-httpapi-ratelimit-headers).
type Handler struct {
	// Key is the default placeholder template of the rules' limit keys. Default
	// "{http.auth.user.id}" (the llm_auth identity); a key that renders empty falls
	// back to the client address ("ip:<addr>", trusted_proxies aware).
	Key string `json:"key,omitempty"`
	// Rules are the limits, all checked and reserved at once for each request. At least
	// one is required.
	Rules []*Rule `json:"rules,omitempty"`
	// StoreRaw is where state is kept: memory (default; per Caddy process, survives
	// reloads) or redis (shared by every instance using the same Redis and prefix).
	StoreRaw json.RawMessage `json:"store,omitempty" caddy:"namespace=http.handlers.llm_rate_limit.stores inline_key=type"`
	// DefaultOutputTokens is the output allowance reserved when a request sets no
	// max_tokens / max_completion_tokens / max_output_tokens. Default 1024. A request
	// that then generates more is charged its real usage at settlement, which can push a
	// limit past its value by the excess (see OnExceed); a larger value reserves more
	// conservatively.
	DefaultOutputTokens int64 `json:"default_output_tokens,omitempty"`
	// OnExceed is what happens when a stream outgrows its reservation and the limits have
	// no room for more: "continue" (default) lets it finish and charges the excess;
	// "cut" ends it after the current event with an SSE error event the SDKs raise.
	OnExceed string `json:"on_exceed,omitempty"`
	// Prices overrides or adds model prices (USD per 1M tokens) for this handler's cost
	// budgets, over the config's table (the llm_prices app, else the built-in list).
	// Prefer llm_prices, which llm_audit's costs share.
	Prices map[string]limit.Price `json:"prices,omitempty"`
	// NoDefaultPrices drops the config's price table, so that only Prices count. A cost
	// budget refuses models without a price (fail closed), so this is the strict setting.
	NoDefaultPrices bool `json:"no_default_prices,omitempty"`
	// MaxBodySize bounds the request body read for counting. Default 16 MiB, shared with
	// the other llm_* handlers (the first to read the body wins).
	MaxBodySize int64 `json:"max_body_size,omitempty"`

	rules    []compiled
	store    limit.Store
	storeM   StoreModule
	prices   *limit.PriceTable
	cut      bool
	costly   bool
	now      func() time.Time
	logger   *zap.Logger
	security *zap.Logger
	events   *secevent.Once // budget events already reported (events.go)
	metrics  *metrics
}

type compiled struct {
	rule *limit.Rule
	key  string
}

// StoreModule is a guest module in http.handlers.llm_rate_limit.stores.
type StoreModule interface {
	LimitStore() limit.Store
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_rate_limit", New: func() caddy.Module { return new(Handler) }}
}

// Provision compiles the rules and loads the store.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.security = llmhttp.SecurityLogger(ctx)
	h.now = time.Now
	if h.Key == "" {
		h.Key = DefaultKey
	}
	if h.DefaultOutputTokens <= 0 {
		h.DefaultOutputTokens = DefaultOutputTokens
	}
	switch h.OnExceed {
	case "", "continue":
	case "cut":
		h.cut = true
	default:
		return fmt.Errorf("llm_rate_limit: on_exceed must be continue or cut, not %q", h.OnExceed)
	}
	if len(h.Rules) == 0 {
		return errors.New("llm_rate_limit: at least one rule is required")
	}
	seen := map[string]bool{}
	for _, rc := range h.Rules {
		r, err := rc.compile()
		if err != nil {
			return fmt.Errorf("llm_rate_limit: %v", err)
		}
		if seen[r.Name] {
			return fmt.Errorf("llm_rate_limit: duplicate rule name %q", r.Name)
		}
		seen[r.Name] = true
		key := rc.Key
		if key == "" {
			key = h.Key
		}
		h.rules = append(h.rules, compiled{rule: r, key: key})
		h.costly = h.costly || r.Kind == limit.CostBudget
	}
	// This handler's own prices refine the config's table (the llm_prices global option,
	// which llm_audit's costs also use), unless it drops every other price.
	var err error
	if h.NoDefaultPrices {
		h.prices, err = limit.NewPriceTable(h.Prices, true)
	} else if h.prices, err = llmprices.Table(ctx); err == nil {
		h.prices, err = h.prices.With(h.Prices)
	}
	if err != nil {
		return fmt.Errorf("llm_rate_limit: %v", err)
	}
	if h.StoreRaw == nil {
		h.StoreRaw = json.RawMessage(`{"type":"memory"}`)
	}
	mod, err := ctx.LoadModule(h, "StoreRaw")
	if err != nil {
		return fmt.Errorf("loading limit store: %v", err)
	}
	h.storeM = mod.(StoreModule)
	h.store = h.storeM.LimitStore()
	if h.metrics, err = newMetrics(ctx); err != nil {
		return err
	}
	if h.events, err = loadEvents(); err != nil {
		return err
	}
	register(h)
	return nil
}

// Cleanup unregisters the handler from the admin API and releases its share of the
// budget-event deduplication.
func (h *Handler) Cleanup() error {
	unregister(h)
	if h.events != nil {
		_, err := pool.Delete(eventsPoolKey)
		return err
	}
	return nil
}

// ServeHTTP reserves, calls next, and settles.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (err error) {
	g, w := llmhttp.Protect(w, r, h.logger)
	defer g.Recover(&err)
	ex, r, e := llmhttp.Load(r, h.MaxBodySize)
	if e != nil {
		return llmhttp.Fail(w, r, e)
	}
	if ex.Request == nil {
		// GET /v1/models costs no tokens and is not an LLM call; it is not limited.
		return next.ServeHTTP(w, r)
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	p, e := h.plan(r, repl, ex)
	if e != nil {
		return llmhttp.Fail(w, r, e)
	}
	if repl != nil {
		r = publishReserved(r, repl, ex, p.reserved.Output)
	}
	if len(p.charges) == 0 {
		return next.ServeHTTP(w, r)
	}
	now := h.now()
	res, denial, sts, serr := limit.Reserve(r.Context(), h.store, now, p.charges)
	switch {
	case serr != nil:
		h.metrics.storeErrors.Inc()
		if !allFailOpen(p.charges) {
			h.logger.Error("limit store unavailable; refusing (fail closed)", zap.Error(serr))
			h.metrics.decision("unavailable", ex)
			return llmhttp.Fail(w, r, &apierr.Error{Status: http.StatusServiceUnavailable, Code: "rate_limiter_unavailable",
				Message: "The gateway cannot check your rate limits right now; retry shortly.", RetryAfter: time.Second})
		}
		if ce := h.logger.Check(zap.WarnLevel, "limit store unavailable; admitting (fail open)"); ce != nil {
			ce.Write(zap.Error(serr))
		}
		h.metrics.decision("fail_open", ex)
		return next.ServeHTTP(w, r)
	case denial != nil:
		setHeaders(w.Header(), sts)
		if repl != nil {
			repl.Set(PlaceholderRule, denial.Rule.Name)
		}
		h.metrics.decision("refused", ex)
		h.reportExhausted(r, ex, denial, now)
		return llmhttp.Fail(w, r, refusal(denial))
	}
	h.metrics.decision("admitted", ex)

	hideUsage := false
	if ex.Request.Stream && !ex.Request.IncludeUsage && (ex.Kind == request.KindChat || ex.Kind == request.KindCompletions) {
		hideUsage = h.injectIncludeUsage(r, ex)
	}
	tap, tw, r := llmhttp.InstallTap(w, r)
	setHeaders(w.Header(), res.Statuses)
	tap.OnHeader(func(int, http.Header) { setHeaders(tap.Header(), res.Statuses) })
	if hideUsage {
		tap.AddHook(hideUsageHook)
	}
	var sc *streamCut
	if h.cut && ex.Request.Stream {
		sc = &streamCut{h: h, ex: ex, res: res, p: p, ctx: r.Context()}
		tap.AddHook(sc.hook)
	}
	defer func() {
		rec := recover()
		if rec != nil && !(rec == http.ErrAbortHandler && tap.Ended()) {
			h.settle(r, ex, res, p, tap, true)
			panic(rec)
		}
		// A stream this handler cut makes the proxy abort (ErrStreamCut); the response is
		// complete from the client's point of view, so the error is not passed on.
		if tap.Ended() {
			err = nil
		}
		h.settle(r, ex, res, p, tap, err != nil)
	}()
	err = next.ServeHTTP(tw, r)
	tap.Close()
	return err
}

// reserved is what {http.llm.rate_limit.reserved} reads: the prompt, counted when the
// placeholder is read (see plan), plus the output allowance of the innermost
// llm_rate_limit of the route, as each handler's Set of the value used to leave it.
type reserved struct {
	ex     *exchange.Exchange
	output int64
}

type reservedKey struct{}

// publishReserved publishes {http.llm.rate_limit.reserved} for this handler's plan. The
// first llm_rate_limit of a request registers the provider; one nested inside it updates
// what that provider reads (a later provider would never be asked: Caddy asks them in
// order).
func publishReserved(r *http.Request, repl *caddy.Replacer, ex *exchange.Exchange, output int64) *http.Request {
	if held, ok := r.Context().Value(reservedKey{}).(*reserved); ok {
		held.ex, held.output = ex, output
		return r
	}
	held := &reserved{ex: ex, output: output}
	llmhttp.Provide(repl, func(key string) (any, bool) {
		if key != PlaceholderReserved {
			return nil, false
		}
		return held.ex.PromptCount() + held.output, true
	}, PlaceholderReserved)
	return r.WithContext(context.WithValue(r.Context(), reservedKey{}, held))
}

// plan is a request's charges.
type plan struct {
	charges  []limit.Charge
	price    *limit.Price
	reserved limit.Usage
}

func (h *Handler) plan(r *http.Request, repl *caddy.Replacer, ex *exchange.Exchange) (*plan, *apierr.Error) {
	req := ex.Request
	// reserved.Input is filled in only for the rules that count it (Rule.CountsInput):
	// counting the prompt is the costliest step of a reservation, and a requests or
	// concurrency rule does not need it.
	p := &plan{}
	if ex.Kind != request.KindEmbeddings {
		n := max(req.N, 1)
		allow := req.MaxOutputTokens
		if allow <= 0 {
			allow = h.DefaultOutputTokens
		}
		p.reserved.Output = allow * n
	}
	tier := ""
	if ex.Identity != nil {
		tier = ex.Identity.Tier
	}
	if h.costly {
		p.price = h.prices.Lookup(req.Model)
	}
	for _, c := range h.rules {
		lim, ok := c.rule.LimitFor(tier, ex.RiskLevel(), req.Model)
		if !ok {
			continue
		}
		if c.rule.CountsInput() && p.reserved.Input == 0 {
			p.reserved.Input = ex.PromptCount()
		}
		if c.rule.Kind == limit.CostBudget && p.price == nil {
			return nil, &apierr.Error{Status: http.StatusForbidden, Code: "model_not_priced", Param: "model",
				Message: fmt.Sprintf("The model '%s' has no price configured, so the gateway cannot apply your spending budget; ask an administrator to add it.", req.Model)}
		}
		p.charges = append(p.charges, limit.Charge{Rule: c.rule, Key: renderKey(r, repl, c.key), Limit: lim,
			Amount: c.rule.Amount(p.reserved, p.price)})
	}
	return p, nil
}

// renderKey renders a key template; an empty result falls back to the client address.
func renderKey(r *http.Request, repl *caddy.Replacer, tpl string) string {
	if repl != nil {
		if k := repl.ReplaceAll(tpl, ""); k != "" {
			return k
		}
	}
	return "ip:" + clientIP(r)
}

// clientIP is Caddy's client address (trusted_proxies aware), else the peer address.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func allFailOpen(cs []limit.Charge) bool {
	for _, c := range cs {
		if !c.Rule.FailOpen {
			return false
		}
	}
	return true
}

// injectIncludeUsage asks an OpenAI upstream to report stream usage, and reports whether
// it did (the client then must not see the usage, since it did not ask).
func (h *Handler) injectIncludeUsage(r *http.Request, ex *exchange.Exchange) bool {
	body, err := setIncludeUsage(ex.Body)
	if err != nil {
		return false // unparseable here means we count the stream ourselves
	}
	req, err := request.Parse(ex.Kind, body)
	if err != nil {
		return false
	}
	// Re-parsed so that later rewriters (llm_filter) edit spans of the body that is
	// actually forwarded.
	ex.Request, ex.Body = req, body
	llmhttp.SetBody(r, body)
	return true
}

// settle charges the real usage. Failures upstream (5xx, 429, no response, a proxy
// error) refund everything; other client errors (4xx) keep the request but refund the
// tokens, since the upstream generated nothing.
func (h *Handler) settle(r *http.Request, ex *exchange.Exchange, res *limit.Reservation, p *plan, tap *llmhttp.Tap, failed bool) {
	status := tap.Status()
	var actual limit.Usage
	outcome := "ok"
	switch {
	case failed && !tap.Ended(), status == 0, status >= 500, status == http.StatusTooManyRequests:
		outcome = "refund"
	case status >= 400:
		outcome = "client_error"
	default:
		u, _, ok := tap.Usage()
		if !ok {
			actual, outcome = p.reserved, "unknown"
			actual.Input = ex.PromptCount()
		} else {
			actual = limit.Usage{Input: u.InputTokens, CachedInput: u.CachedInputTokens, Output: u.OutputTokens}
		}
	}
	charges := res.Charges()
	amounts := make([]float64, len(charges))
	for i, c := range charges {
		switch {
		case c.Rule.Kind == limit.Concurrent || outcome == "refund":
			amounts[i] = 0
		case c.Rule.Kind == limit.Requests:
			amounts[i] = 1
		default:
			amounts[i] = c.Rule.Amount(actual, p.price)
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Second)
	defer cancel()
	if err := res.Settle(ctx, h.now(), amounts); err != nil {
		h.metrics.storeErrors.Inc()
		h.logger.Warn("settling rate limits failed; the reservation stays charged", zap.Error(err))
	}
	h.metrics.settled(outcome, ex, actual)
}

// Placeholder names set by llm_rate_limit.
const (
	PlaceholderRule     = "http.llm.rate_limit.rule"
	PlaceholderReserved = "http.llm.rate_limit.reserved"
)

// refusal is the 429 for a denial, in OpenAI's words where OpenAI has them.
func refusal(d *limit.Denial) *apierr.Error {
	r := d.Rule
	unit := unitOf(r.Kind)
	e := &apierr.Error{Status: http.StatusTooManyRequests, Code: "rate_limit_exceeded"}
	switch {
	case d.Limit <= 0:
		e.Code, e.Type, e.NoRetry = "insufficient_quota", "insufficient_quota", true
		e.Message = fmt.Sprintf("Your access has no allowance under limit '%s'; ask an administrator for a higher tier.", r.Name)
	case r.IsBudget():
		e.Code, e.Type, e.NoRetry, e.RetryAfter = "insufficient_quota", "insufficient_quota", true, d.RetryAfter
		e.Message = fmt.Sprintf("You exceeded your %sly budget '%s': %s of %s %s remain and this request needs %s. The budget resets in %s.",
			r.Period, r.Name, num(d.Remaining), num(d.Limit), unit, num(d.Requested), d.RetryAfter.Round(time.Second))
	case d.Never:
		e.NoRetry = true
		e.Message = fmt.Sprintf("Request too large for limit '%s': it needs %s %s but the limit is %s per %s. Send a shorter prompt or a lower max_tokens.",
			r.Name, num(d.Requested), unit, num(d.Limit), r.Window)
	case r.Kind == limit.Concurrent:
		e.RetryAfter = time.Second // a slot frees when any of your requests ends; poll
		e.Message = fmt.Sprintf("Too many concurrent requests under limit '%s' (limit %s). Wait for a request to finish.", r.Name, num(d.Limit))
	default:
		e.RetryAfter = d.RetryAfter
		e.Message = fmt.Sprintf("Rate limit reached for '%s' (%s per %s): limit %s, remaining %s, requested %s. Please try again in %s.",
			r.Name, unit, r.Window, num(d.Limit), num(d.Remaining), num(d.Requested), d.RetryAfter.Round(time.Millisecond))
	}
	return e
}

// unitOf is what a rule of kind k counts, in the words of its refusals and events.
func unitOf(k limit.Kind) string {
	switch k {
	case limit.Requests:
		return "requests"
	case limit.Concurrent:
		return "concurrent requests"
	case limit.CostBudget:
		return "USD"
	}
	return "tokens"
}

func num(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", f), "0"), ".")
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
