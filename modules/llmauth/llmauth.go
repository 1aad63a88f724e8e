// Package llmauth is the `llm_auth` Caddy handler: it authenticates every request to the
// gateway (gateway API keys, JWT/OIDC, verified client certificates), authorises the
// endpoint and model by role, publishes the caller as placeholders, and strips the
// client's credential before the request goes upstream.
//
// It must never forward, log or echo a client credential, and never let a request through
// that no identity source accepted: there is no trust by network location (a key's
// allowed_networks and allowed_countries only narrow where a genuine key works).
package llmauth

import (
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
	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/netrule"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/secevent"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler authenticates and authorises LLM API requests.
//
// Placeholders set for the rest of the route (and the access log):
//
//	{http.auth.user.id}      identity id (key id, token subject/id claim, certificate id)
//	{http.auth.user.<key>}   each metadata entry of the key
//	{http.llm.key.id}        the API key id (empty for JWT and mTLS callers)
//	{http.llm.subject}       token "sub" or certificate subject
//	{http.llm.auth_source}   api_key, jwt or mtls
//	{http.llm.tier}          the identity's tier, else its first role's tier
//	{http.llm.roles}         effective roles, comma-separated
//	{http.llm.scopes}        scopes, space-separated
//
// plus the {http.llm.*} request placeholders of llmhttp (endpoint, model, …).
type Handler struct {
	// SourcesRaw are the identity sources, asked in order; the first that finds its kind
	// of credential decides. Modules: api_keys, jwt, mtls. At least one is required.
	SourcesRaw []json.RawMessage `json:"sources,omitempty" caddy:"namespace=http.handlers.llm_auth.sources inline_key=source"`
	// Roles maps role names to permissions (endpoints, model globs, tier). When empty,
	// every authenticated identity may use every endpoint and model, narrowed only by its
	// own model list and llm: scopes. When set, an identity with no defined role (and no
	// default role) is refused with 403.
	Roles map[string]*auth.Role `json:"roles,omitempty"`
	// DefaultRoles are given to identities that carry no roles. Default none.
	DefaultRoles []string `json:"default_roles,omitempty"`
	// Throttle limits failed authentications per client address. Default: enabled with a
	// burst of 10 failures and one more per second, tracking up to 100,000 addresses.
	Throttle *Throttle `json:"throttle,omitempty"`
	// MaxBodySize bounds the request body read for authorisation (model name). Default
	// 16 MiB, shared with the other llm_* handlers (the first one to read the body wins).
	MaxBodySize int64 `json:"max_body_size,omitempty"`
	// MaxModelsListSize bounds the buffered upstream response of GET /v1/models, which is
	// filtered to the caller's models. A larger list is refused with 502 rather than
	// passed through unfiltered. Default 4 MiB.
	MaxModelsListSize int64 `json:"max_models_list_size,omitempty"`
	// Realm is sent in WWW-Authenticate. Default "llmguard".
	Realm string `json:"realm,omitempty"`

	sources []Source
	strip   []string
	// missingMessage tells a caller without credentials what the configured sources
	// accept (an mTLS-only gateway must not ask for an API key).
	missingMessage string
	policy         auth.Policy
	throttle       *auth.Throttle
	now            func() time.Time
	logger         *zap.Logger
	security       *zap.Logger
}

// Throttle configures brute-force throttling of failed attempts per client address
// (Caddy's client IP, which honours trusted_proxies; IPv6 grouped by /64).
type Throttle struct {
	// Disabled turns throttling off. Default false.
	Disabled bool `json:"disabled,omitempty"`
	// Burst is how many failures an address may make at once. Default 10.
	Burst int `json:"burst,omitempty"`
	// Interval is the time in which one further failure is allowed. Default 1s.
	Interval caddy.Duration `json:"interval,omitempty"`
	// MaxClients bounds the addresses tracked (memory); idle ones are forgotten first.
	// Default 100000.
	MaxClients int `json:"max_clients,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_auth", New: func() caddy.Module { return new(Handler) }}
}

// Provision loads the sources and compiles the policy.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.security = llmhttp.SecurityLogger(ctx)
	h.now = time.Now
	if len(h.SourcesRaw) == 0 {
		return errors.New("llm_auth: at least one identity source is required")
	}
	mods, err := ctx.LoadModule(h, "SourcesRaw")
	if err != nil {
		return fmt.Errorf("loading identity sources: %v", err)
	}
	// The standard credential headers are always removed, whatever the sources read: a
	// client's key or token must never reach the upstream, also on an mTLS-only gateway
	// where no source reads them.
	seen := map[string]bool{"Authorization": true, "X-Api-Key": true}
	h.strip = []string{"Authorization", "X-Api-Key"}
	for _, m := range mods.([]any) {
		s := m.(Source)
		h.sources = append(h.sources, s)
		for _, hd := range s.CredentialHeaders() {
			hd = http.CanonicalHeaderKey(hd)
			if !seen[hd] {
				seen[hd] = true
				h.strip = append(h.strip, hd)
			}
		}
	}
	// Caddy logs a copy of every request taken before this handler runs; the headers
	// stripped here must be hidden there too.
	if err := llmhttp.ProtectServerLogs(ctx, h.strip); err != nil {
		return fmt.Errorf("llm_auth: %v", err)
	}
	h.missingMessage = missingCredentialMessage(h.sources)
	h.policy = auth.Policy{Roles: h.Roles, DefaultRoles: h.DefaultRoles}
	if err := h.policy.Validate(); err != nil {
		return fmt.Errorf("llm_auth: %v", err)
	}
	if h.MaxModelsListSize <= 0 {
		h.MaxModelsListSize = 4 << 20
	}
	if h.Realm == "" {
		h.Realm = "llmguard"
	}
	t := h.Throttle
	if t == nil {
		t = &Throttle{}
	}
	if !t.Disabled {
		burst, interval, maxc := t.Burst, time.Duration(t.Interval), t.MaxClients
		if burst <= 0 {
			burst = 10
		}
		if interval <= 0 {
			interval = time.Second
		}
		if maxc <= 0 {
			maxc = 100000
		}
		h.throttle = auth.NewThrottle(float64(burst), float64(time.Second)/float64(interval), maxc)
	}
	return nil
}

// ServeHTTP authenticates, authorises, publishes the identity and calls next.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (err error) {
	g, w := llmhttp.Protect(w, r, h.logger)
	defer g.Recover(&err)
	now := h.now()
	client := auth.ClientKey(clientIP(r))
	if h.throttle != nil {
		if wait := h.throttle.Wait(client, now); wait > 0 {
			// A throttled attempt is still an attempt: stuffing goes on at full speed.
			if llmhttp.ObservingAuthFailures() {
				if cred := h.presented(r); cred != "" {
					llmhttp.ReportAuthFailure(r.Context(), clientIP(r), cred)
				}
			}
			return llmhttp.Fail(w, r, &apierr.Error{Status: http.StatusTooManyRequests, Code: "too_many_failed_attempts",
				Message: "Too many failed authentication attempts from your address; wait before trying again.", RetryAfter: wait})
		}
	}
	id, err := h.authenticate(r, now)
	var refused string
	if err != nil && llmhttp.ObservingAuthFailures() {
		refused = h.presented(r)
	}
	// The credential has been read: nothing after this (a refusal, handle_errors, the
	// proxy and the logs of each) may see it.
	for _, hd := range h.strip {
		r.Header.Del(hd)
	}
	if err != nil {
		if refused != "" {
			llmhttp.ReportAuthFailure(r.Context(), clientIP(r), refused)
		}
		return h.refuse(w, r, client, now, err)
	}
	if id == nil {
		return llmhttp.Fail(w, r, &apierr.Error{Status: http.StatusUnauthorized, Code: "missing_api_key",
			Message: h.missingMessage,
			Header:  http.Header{"Www-Authenticate": {fmt.Sprintf(`Bearer realm=%q`, h.Realm)}}})
	}
	// A genuine credential used from outside its networks or countries is refused before
	// the body is read: whoever holds a leaked key elsewhere gets nothing from it.
	if err := auth.CheckOrigin(id, netrule.ParseAddr(clientIP(r)), placeholder(r, llmhttp.PlaceholderGeoCountry)); err != nil {
		code := "network_not_allowed"
		if errors.Is(err, auth.ErrCountryNotAllowed) {
			code = "country_not_allowed"
		}
		return llmhttp.Fail(w, r, &apierr.Error{Status: http.StatusForbidden, Code: code,
			Message: "Your credentials are valid, but " + err.Error() + "; use them from an allowed location or ask an administrator."})
	}
	// The body is parsed only for authenticated callers: anonymous clients cannot make
	// the gateway buffer and parse bodies.
	ex, r, e := llmhttp.Load(r, h.MaxBodySize)
	if e != nil {
		return llmhttp.Fail(w, r, e)
	}
	grant, err := h.policy.Resolve(id)
	if err != nil {
		return llmhttp.Fail(w, r, &apierr.Error{Status: http.StatusForbidden, Code: "no_role", Message: "Your credentials are valid but grant no access to this gateway; ask an administrator for a role."})
	}
	if !grant.AllowsEndpoint(ex.Kind) {
		return llmhttp.Fail(w, r, &apierr.Error{Status: http.StatusForbidden, Code: "endpoint_not_allowed",
			Message: fmt.Sprintf("Your credentials do not allow the %s endpoint.", ex.Kind)})
	}
	model, listing := requestedModel(ex, r)
	if !listing {
		if model == "" && (!grant.AnyRoleModel || len(grant.IdentityModels) > 0) {
			return llmhttp.Fail(w, r, apierr.BadRequest("model", "model_required", "A model is required: your credentials are limited to certain models."))
		}
		if model != "" && !grant.AllowsModel(model) {
			return llmhttp.Fail(w, r, &apierr.Error{Status: http.StatusForbidden, Code: "model_not_allowed", Param: "model",
				Message: fmt.Sprintf("Your credentials do not allow the model '%s'.", model)})
		}
	}
	if len(h.policy.Roles) > 0 {
		id.Roles = grant.Roles
	}
	id.Tier = grant.Tier
	ex.Identity = id
	h.publish(r, id)
	if h.logger != nil {
		if ce := h.logger.Check(zap.DebugLevel, "authenticated"); ce != nil {
			ce.Write(zap.String("id", id.ID), zap.String("source", id.Source), zap.Strings("roles", id.Roles))
		}
	}
	if listing && r.Method == http.MethodGet {
		// Ask for an uncompressed list so it can be filtered.
		r.Header.Del("Accept-Encoding")
		mw := &modelsWriter{ResponseWriter: w, grant: grant, max: h.MaxModelsListSize}
		if err := next.ServeHTTP(mw, r); err != nil {
			return err
		}
		return mw.finish(r)
	}
	return next.ServeHTTP(w, r)
}

// presented returns the credentials the request carries in the headers llm_auth reads,
// for llm_sentinel's stuffing signal, which sees only a fingerprint of them; "" when none.
func (h *Handler) presented(r *http.Request) string {
	var b strings.Builder
	for _, hd := range h.strip {
		if v := r.Header.Get(hd); v != "" {
			b.WriteString(hd)
			b.WriteByte(0)
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	return b.String()
}

func (h *Handler) authenticate(r *http.Request, now time.Time) (*exchange.Identity, error) {
	for _, s := range h.sources {
		id, err := s.Authenticate(r, now)
		if err != nil || id != nil {
			return id, err
		}
	}
	// A credential was sent that no source recognises (for example an upstream
	// provider's key): refuse it like any invalid key.
	for _, hd := range h.strip {
		if r.Header.Get(hd) != "" {
			return nil, auth.ErrInvalidKey
		}
	}
	return nil, nil
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, client string, now time.Time, err error) error {
	var unavail *auth.UnavailableError
	if errors.As(err, &unavail) {
		msg := "The gateway cannot verify access tokens right now because the token issuer is unreachable; retry shortly."
		if unavail.Reason != "" {
			msg = "The gateway cannot verify API keys right now because " + unavail.Reason + "; retry shortly."
		}
		return llmhttp.Fail(w, r, &apierr.Error{Status: http.StatusServiceUnavailable, Code: "auth_unavailable",
			Message: msg, RetryAfter: unavail.RetryAfter})
	}
	if h.throttle != nil {
		h.throttle.Fail(client, now)
		// The failure that engages the throttle is the incident; the refusals while it
		// holds are not reported again (an attack must not flood the event stream).
		if h.throttle.Wait(client, now) > 0 {
			secevent.Emit(h.security, secevent.AuthThrottled, "failure", zap.String("source.ip", client))
		}
	}
	msg, code := "Incorrect API key provided. Check the key, or create a new one.", "invalid_api_key"
	var te *auth.TokenError
	switch {
	case errors.Is(err, auth.ErrExpiredKey):
		msg, code = "This API key has expired; ask for a new one.", "expired_api_key"
	case errors.As(err, &te):
		msg, code = te.Message, "invalid_token"
		if ce := h.logger.Check(zap.DebugLevel, "token refused"); ce != nil {
			ce.Write(zap.String("reason", te.Detail))
		}
	case !errors.Is(err, auth.ErrInvalidKey):
		msg, code = err.Error(), "invalid_credentials"
	}
	return llmhttp.Fail(w, r, &apierr.Error{Status: http.StatusUnauthorized, Code: code, Message: msg,
		Header: http.Header{"Www-Authenticate": {fmt.Sprintf(`Bearer realm=%q, error="invalid_token"`, h.Realm)}}})
}

// requestedModel returns the model the request is for, and whether it is the models list
// (GET /v1/models, which is filtered instead of refused).
func requestedModel(ex *exchange.Exchange, r *http.Request) (string, bool) {
	if ex.Kind != request.KindModels {
		if ex.Request == nil {
			return "", false
		}
		return ex.Request.Model, false
	}
	p := strings.TrimRight(r.URL.Path, "/")
	if i := strings.LastIndex(p, "/v1/models/"); i >= 0 {
		return p[i+len("/v1/models/"):], false
	}
	if strings.HasSuffix(p, "/models") {
		return "", true
	}
	_, id, _ := strings.Cut(p, "/models/")
	return id, false
}

// Placeholder names set by llm_auth.
const (
	PlaceholderUserID     = "http.auth.user.id"
	PlaceholderKeyID      = "http.llm.key.id"
	PlaceholderSubject    = "http.llm.subject"
	PlaceholderTier       = "http.llm.tier"
	PlaceholderRoles      = "http.llm.roles"
	PlaceholderScopes     = "http.llm.scopes"
	PlaceholderAuthSource = "http.llm.auth_source"
)

// publish registers the caller's placeholders as one provider computed on read rather
// than a Replacer.Set each (some seven per request, plus the key's metadata, which grew
// Caddy's map twice and joined the roles and scopes for requests that never read them).
// The identity is complete here and not changed afterwards, so a value read later — by
// the access log after the request ended, too — is the one a Set would have stored.
func (h *Handler) publish(r *http.Request, id *exchange.Identity) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	// An earlier handler's value under one of these names (basic_auth's
	// {http.auth.user.id}, say) must not shadow the identity, which the rate limiter's
	// default key and the audit's user read: Provide drops the fixed names, and the
	// metadata names are dropped here.
	for k := range id.Metadata {
		repl.Delete("http.auth.user." + k)
	}
	llmhttp.Provide(repl, func(key string) (any, bool) { return identityPlaceholder(id, key) },
		PlaceholderUserID, PlaceholderKeyID, PlaceholderSubject, PlaceholderTier,
		PlaceholderRoles, PlaceholderScopes, PlaceholderAuthSource)
}

// identityPlaceholder is the value of the placeholder key for id, if llm_auth sets it.
func identityPlaceholder(id *exchange.Identity, key string) (any, bool) {
	if k, ok := strings.CutPrefix(key, "http.auth.user."); ok {
		if k == "id" {
			return id.ID, true
		}
		v, ok := id.Metadata[k]
		return v, ok
	}
	if !strings.HasPrefix(key, "http.llm.") {
		return nil, false
	}
	switch key {
	case PlaceholderKeyID:
		if id.Source == "api_key" {
			return id.ID, true
		}
		return "", true
	case PlaceholderSubject:
		return id.Subject, true
	case PlaceholderTier:
		return id.Tier, true
	case PlaceholderRoles:
		return strings.Join(id.Roles, ","), true
	case PlaceholderScopes:
		return strings.Join(id.Scopes, " "), true
	case PlaceholderAuthSource:
		return id.Source, true
	}
	return nil, false
}

// missingCredentialMessage names the credentials the sources accept.
func missingCredentialMessage(sources []Source) string {
	var key, token, cert bool
	for _, s := range sources {
		switch s.(type) {
		case *APIKeys:
			key = true
		case *JWT:
			token = true
		case *MTLS:
			cert = true
		}
	}
	switch {
	case key:
		return "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' or in the x-api-key header."
	case token:
		return "You didn't provide an access token. Send it as 'Authorization: Bearer <token>'."
	case cert:
		return "This gateway requires a client certificate that it can verify."
	}
	return "You didn't provide credentials."
}

// placeholder returns the string value of a placeholder set earlier in the route, or "".
func placeholder(r *http.Request, name string) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	v, _ := repl.GetString(name)
	return v
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

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
