// Package llmaudit provides the llm_audit HTTP handler and the llm_audit_chain log writer.
//
// llm_audit wraps the whole LLM route (it is ordered before llm_auth) and, after the
// request is done, emits one audit event through its logger ("http.handlers.llm_audit"),
// updates the caddy_llmguard_* metrics, and can enforce a consent/purpose signal and
// strip configured request and response fields (data minimisation). llm_audit_chain wraps
// another log writer and turns every entry into a hash-chained, optionally encrypted
// record that `caddy llmguard audit verify` checks.
//
// It must never log a credential, a detector's matched value or prompt content beyond
// what the configured privacy level allows.
package llmaudit

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/audit"
	"github.com/llmguard/caddy-llmguard/llmguard/glob"
	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
	"github.com/llmguard/caddy-llmguard/modules/llmprices"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// PlaceholderPurpose is set to the accepted consent/purpose value.
const PlaceholderPurpose = "http.llm.purpose"

// DefaultMaxContentSize bounds the prompt or response text one event may carry at the
// full and redacted privacy levels; longer text is cut and marked.
const DefaultMaxContentSize = 64 << 10

// Handler audits LLM requests. Put it first in the route: it must see the final outcome
// of llm_auth, llm_inspect, llm_rate_limit, llm_filter and reverse_proxy. It reads what
// they publish ({http.auth.user.id}, {http.llm.key.id}, {http.llm.inspect.decision},
// {http.llm.inspect.findings}, {http.llm.error_code}, {http.llm.rate_limit.rule},
// {http.reverse_proxy.upstream.hostport}, …) after they return.
//
// Placeholders set: {http.llm.purpose} (the accepted consent value).
type Handler struct {
	// Privacy is how much prompt and response content each event carries: "none" (the
	// default: metadata only), "hash" (keyed HMAC-SHA256 digests, for correlating
	// identical prompts), "redacted" (the prompt as forwarded, i.e. after llm_inspect's
	// redaction, and a digest of the response) or "full" (verbatim prompt and JSON
	// response; the log then holds personal data and must be protected as such).
	Privacy string `json:"privacy,omitempty"`

	// HashKey keys the content digests of the hash and redacted levels, e.g.
	// "{env.LLMGUARD_AUDIT_HASH_KEY}" (at least 16 bytes). Required for those levels: an
	// unkeyed digest of a short prompt could be reversed by guessing.
	HashKey string `json:"hash_key,omitempty"`

	// MaxContentSize bounds the content text of one event in bytes. Default 64 KiB.
	MaxContentSize int `json:"max_content_size,omitempty"`

	// Consent, when set, refuses requests without an accepted consent/purpose signal
	// (403, code consent_required) before any other handler runs.
	Consent *Consent `json:"consent,omitempty"`

	// StripRequestFields are top-level request body fields removed before anything else
	// sees the request (e.g. "user", "metadata"): the upstream never receives them.
	// Default none.
	StripRequestFields []string `json:"strip_request_fields,omitempty"`

	// StripResponseFields are top-level fields removed from JSON (non-streamed) responses
	// before the client receives them (e.g. "system_fingerprint"). Streams pass
	// unchanged. Default none.
	StripResponseFields []string `json:"strip_response_fields,omitempty"`

	// Prices turn token usage into cost (caddy_llmguard_cost_total and the event's
	// cost). The first entry whose model pattern matches applies; a model no entry
	// matches is priced from the config's table that llm_rate_limit's budgets use (the
	// llm_prices app, else the built-in list), so both report the same cost. A model in
	// neither has no cost. Prefer llm_prices: one table for both.
	Prices []Price `json:"prices,omitempty"`

	// MetricsModels are glob patterns of model names that get their own metrics label;
	// others count as "other". Without patterns the first MaxModelLabels distinct models
	// get one. The first llm_audit of a config sets both for the whole config.
	MetricsModels []string `json:"metrics_models,omitempty"`

	// MaxModelLabels caps distinct model label values. Default 20.
	MaxModelLabels int `json:"max_model_labels,omitempty"`

	logger     *zap.Logger
	hasher     *audit.Hasher
	metrics    *metrics
	metricsKey string
	stripReq   map[string]bool
	stripResp  map[string]bool
	now        func() time.Time
	listPrices *limit.PriceTable // the config's table, for models no Prices entry matches
}

// Consent is a required consent or purpose signal.
type Consent struct {
	// Value is a placeholder expression that yields the signal, e.g.
	// "{http.request.header.X-LLM-Purpose}". Required. It is evaluated before llm_auth
	// runs (llm_audit wraps it), so it can use request placeholders (headers, query,
	// cookies, client certificate) but not identity placeholders such as
	// {http.auth.user.*}; for a JWT claim, use llm_auth's require_claim.
	Value string `json:"value"`
	// Allowed are the accepted values (exact match). Required: a signal that any value
	// satisfies would prove nothing.
	Allowed []string `json:"allowed"`
}

// Price is the price of one model family per million tokens.
type Price struct {
	// Model is a glob pattern of model names, e.g. "gpt-4o-mini*".
	Model string `json:"model"`
	// Input and Output are the prices per million input and output tokens.
	Input  float64 `json:"input"`
	Output float64 `json:"output"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.llm_audit",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets defaults, resolves the hash key from the environment and registers the
// metrics.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.now = time.Now
	var err error
	if h.listPrices, err = llmprices.Table(ctx); err != nil {
		return fmt.Errorf("llm_audit: %v", err)
	}
	if h.Privacy == "" {
		h.Privacy = audit.PrivacyNone
	}
	if h.MaxContentSize <= 0 {
		h.MaxContentSize = DefaultMaxContentSize
	}
	if h.HashKey != "" {
		key := caddy.NewReplacer().ReplaceAll(h.HashKey, "")
		if err := audit.CheckMACKey([]byte(key)); err != nil {
			return fmt.Errorf("hash_key: %v", err)
		}
		h.hasher = audit.NewHasher([]byte(key))
	}
	h.stripReq = set(h.StripRequestFields)
	h.stripResp = set(h.StripResponseFields)
	h.metrics, h.metricsKey, err = loadMetrics(ctx, h.MetricsModels, h.MaxModelLabels)
	if err != nil {
		return fmt.Errorf("registering metrics: %v", err)
	}
	return nil
}

// Validate checks the configuration.
func (h *Handler) Validate() error {
	if !audit.ValidPrivacy(h.Privacy) {
		return fmt.Errorf("privacy must be none, hash, redacted or full, not %q", h.Privacy)
	}
	if (h.Privacy == audit.PrivacyHash || h.Privacy == audit.PrivacyRedacted) && h.hasher == nil {
		return fmt.Errorf("privacy %s needs hash_key (e.g. {env.LLMGUARD_AUDIT_HASH_KEY}), and it is empty", h.Privacy)
	}
	if c := h.Consent; c != nil && (c.Value == "" || len(c.Allowed) == 0) {
		return fmt.Errorf("consent needs a value placeholder and at least one allowed value")
	}
	for _, p := range append(slices.Clone(h.MetricsModels), pricePatterns(h.Prices)...) {
		if err := glob.Valid(p); err != nil {
			return err
		}
	}
	return nil
}

// Cleanup releases this handler's reference to the shared metrics.
func (h *Handler) Cleanup() error {
	if h.metricsKey != "" {
		_, _ = metricsPool.Delete(h.metricsKey)
	}
	return nil
}

// ServeHTTP audits one request around next. A request whose handler chain panicked is
// recorded too (status 500 unless a status had gone out), before the Guard answers it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (err error) {
	g, w := llmhttp.Protect(w, r, h.logger)
	defer g.Recover(&err)
	start := h.now()
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl == nil {
		repl = caddy.NewReplacer()
	}
	run := &exchangeRun{start: start}
	purpose, refusal := h.checkConsent(repl)
	if refusal != nil {
		err = llmhttp.Fail(w, r, refusal)
		run.status = refusal.Status
		h.record(r, repl, run, purpose)
		return err
	}
	if purpose != "" {
		repl.Set(PlaceholderPurpose, purpose)
	}
	if len(h.stripReq) > 0 {
		run.stripped = h.stripRequest(r)
	}
	var sw *stripWriter
	if len(h.stripResp) > 0 {
		sw = newStripWriter(w, h.stripResp)
		w = sw
	}
	run.watch, r = llmhttp.WithWatch(r)
	run.tap, w, r = llmhttp.InstallTap(w, r)
	run.tap.AddHook(run.firstEvent(h.now))
	defer func() {
		if rec := recover(); rec != nil {
			run.status = run.tap.Status()
			if run.status == 0 {
				run.status = http.StatusInternalServerError // what the Guard will send
			}
			h.record(r, repl, run, purpose)
			panic(rec)
		}
	}()
	err = next.ServeHTTP(w, r)
	run.tap.Close()
	if sw != nil {
		if ferr := sw.finish(); ferr != nil && err == nil {
			err = ferr
		}
	}
	run.status = run.tap.Status()
	if err != nil {
		run.status = http.StatusInternalServerError
		if he, ok := err.(caddyhttp.HandlerError); ok && he.StatusCode != 0 {
			run.status = he.StatusCode
		}
	}
	h.record(r, repl, run, purpose)
	return err
}

// record writes the request's audit event and metrics.
func (h *Handler) record(r *http.Request, repl *caddy.Replacer, run *exchangeRun, purpose string) {
	ev := h.event(r, repl, run, purpose)
	h.metrics.observe(ev, run.ttft > 0)
	if ce := h.logger.Check(zap.InfoLevel, "llm request"); ce != nil {
		ce.Write(fields(ev)...)
	}
}

// checkConsent returns the accepted purpose, or the refusal to send.
func (h *Handler) checkConsent(repl *caddy.Replacer) (string, *apierr.Error) {
	c := h.Consent
	if c == nil {
		return "", nil
	}
	v := strings.TrimSpace(repl.ReplaceAll(c.Value, ""))
	if slices.Contains(c.Allowed, v) {
		return v, nil
	}
	// The message names the accepted values, not what was sent: the client knows that,
	// and echoing it would put client data into error logs.
	return "", apierr.New(http.StatusForbidden, "consent_required",
		fmt.Sprintf("This route requires a consent/purpose signal with one of the values: %s.", strings.Join(c.Allowed, ", ")))
}

func set(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func pricePatterns(ps []Price) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Model
	}
	return out
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
