package llmauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/sharedkeys"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

func init() {
	caddy.RegisterModule(APIKeys{})
	caddy.RegisterModule(JWT{})
	caddy.RegisterModule(MTLS{})
}

// Source is an identity source: a guest module in the http.handlers.llm_auth.sources
// namespace.
type Source interface {
	// Authenticate returns (nil, nil) when the request carries no credential this source
	// handles, so the next source is asked. Otherwise it decides: an identity, or an error
	// (auth.ErrInvalidKey, auth.ErrExpiredKey, *auth.TokenError: 401;
	// *auth.UnavailableError: 503). Errors must be safe to show to the client.
	Authenticate(r *http.Request, now time.Time) (*exchange.Identity, error)
	// CredentialHeaders are the request headers the source reads; llm_auth removes them
	// before the request goes upstream.
	CredentialHeaders() []string
}

// bearer returns the credential in header h: "Bearer <token>" for Authorization, the
// bare value for any other header (x-api-key).
func bearer(r *http.Request, h string) string {
	v := r.Header.Get(h)
	if v == "" {
		return ""
	}
	return auth.ParseCredential(v, http.CanonicalHeaderKey(h) != "Authorization")
}

// APIKeys authenticates gateway-issued API keys (`sk-llmg-…`), stored as SHA-256 hashes
// inline and/or in a key file that is re-read when it changes.
type APIKeys struct {
	// Keys are inline key entries (hashes, never keys), as printed by
	// `caddy llmguard key new`. Default none.
	Keys []*auth.Entry `json:"keys,omitempty"`
	// File is a JSON key file (an array of entries, or {"keys":[…]}), re-read within
	// PollInterval after it changes, without a reload: a key removed or set "disabled" is
	// refused from then on. A file that fails to parse keeps the previous keys and logs an
	// error. The file must exist when the configuration loads. Placeholders such as
	// {env.LLMG_KEYS} are expanded. Default none.
	File string `json:"file,omitempty"`
	// PollInterval is how often File's modification time and size are checked. Default
	// 500ms, so a revocation takes effect within about half a second.
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`
	// StoreRaw is a shared key store (a module in http.handlers.llm_auth.key_stores:
	// "redis"), whose keys every instance using it honours and which admin.api.llm_keys
	// changes on any of them (see RedisKeys). It excludes File. Inline keys stay local
	// to this configuration. Default none.
	StoreRaw json.RawMessage `json:"store,omitempty" caddy:"namespace=http.handlers.llm_auth.key_stores inline_key=type"`
	// Headers to read the key from. "Authorization" expects "Bearer <key>"; any other
	// header carries the key alone. Default ["Authorization", "X-Api-Key"] (the OpenAI
	// SDKs send the former, the Anthropic SDKs one or the other).
	Headers []string `json:"headers,omitempty"`

	store      *auth.KeyStore
	shared     *sharedkeys.Store
	logger     *zap.Logger
	unregister func()
}

// CaddyModule returns the Caddy module information.
func (APIKeys) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_auth.sources.api_keys", New: func() caddy.Module { return new(APIKeys) }}
}

// Provision builds the key store and starts watching the key file.
func (a *APIKeys) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	if len(a.Headers) == 0 {
		a.Headers = []string{"Authorization", "X-Api-Key"}
	}
	if a.PollInterval <= 0 {
		a.PollInterval = caddy.Duration(500 * time.Millisecond)
	}
	store, err := auth.NewKeyStore(a.Keys)
	if err != nil {
		return fmt.Errorf("inline keys: %v", err)
	}
	a.store = store
	if a.StoreRaw != nil {
		if a.File != "" {
			return fmt.Errorf("api_keys: a key file and a shared key store exclude each other; create the file's keys in the store through the admin API")
		}
		mod, err := ctx.LoadModule(a, "StoreRaw")
		if err != nil {
			return fmt.Errorf("loading key store: %v", err)
		}
		rk := mod.(*RedisKeys)
		detach, err := rk.store.Attach(store)
		if err != nil {
			return fmt.Errorf("api_keys: inline keys clash with the shared key store: %v", err)
		}
		a.shared = rk.store
		unregister := registerSharedStore(rk.name, rk.store)
		a.unregister = func() { unregister(); detach() }
		return nil
	}
	if a.File == "" {
		if len(a.Keys) == 0 {
			return fmt.Errorf("api_keys: no keys: set inline keys, a key file or a shared key store")
		}
		return nil
	}
	path := caddy.NewReplacer().ReplaceKnown(a.File, "")
	kf := &auth.KeyFile{Path: path, Store: store, Logger: a.logger}
	if _, err := kf.Load(); err != nil {
		return fmt.Errorf("loading key file: %v", err)
	}
	// The watcher lives as long as this configuration: ctx is cancelled when it is
	// unloaded (including after `caddy validate`).
	go kf.Watch(ctx, time.Duration(a.PollInterval))
	a.unregister = registerKeyFile(kf, a.logger)
	return nil
}

// Cleanup removes the key file from the admin API's registry.
func (a *APIKeys) Cleanup() error {
	if a.unregister != nil {
		a.unregister()
	}
	return nil
}

// Authenticate implements Source.
func (a *APIKeys) Authenticate(r *http.Request, now time.Time) (*exchange.Identity, error) {
	for _, h := range a.Headers {
		key := bearer(r, h)
		if key == "" || !auth.LooksLikeKey(key) {
			continue
		}
		e, err := a.store.Verify(key, now)
		if errors.Is(err, auth.ErrInvalidKey) && a.shared != nil && !a.shared.Available() && auth.CheckKeyFormat(key) == nil {
			// The key may be a genuine shared key this instance cannot see right now
			// (first load pending, or withdrawn after max_stale): 503, so that the client
			// retries, rather than 401, which says the key is bad.
			return nil, &auth.UnavailableError{RetryAfter: time.Second, Reason: "the shared key store is not reachable"}
		}
		if err != nil {
			return nil, err
		}
		return e.Identity(), nil
	}
	return nil, nil
}

// CredentialHeaders implements Source.
func (a *APIKeys) CredentialHeaders() []string { return a.Headers }

// JWT authenticates bearer JWTs from an OIDC issuer (discovery) or a static key set.
type JWT struct {
	// Issuer is the token issuer ("iss"), e.g. "https://login.example.com/realms/llm".
	// Required. It must be https unless it is on a loopback address. Without JWKSURL or
	// JWKSFile, its OIDC discovery document names the key set; discovery runs in the
	// background on first use and is retried with backoff (1s doubling to 1m), and until
	// it succeeds tokens are refused with 503 and Retry-After.
	Issuer string `json:"issuer,omitempty"`
	// Audiences lists accepted "aud" values; a token must name at least one. Required,
	// because without it a token the issuer minted for any other service would work here.
	Audiences []string `json:"audiences,omitempty"`
	// Algorithms allowed for signatures. Default RS256, ES256, PS256, EdDSA. Only
	// asymmetric algorithms are accepted; "none" and HS* are refused at load time.
	Algorithms []string `json:"algorithms,omitempty"`
	// ClockSkew tolerated when checking exp, nbf and iat. Default 30s.
	ClockSkew caddy.Duration `json:"clock_skew,omitempty"`
	// RequiredClaims maps claim paths to allowed values; an empty list only requires the
	// claim to be present. Default none.
	RequiredClaims map[string][]string `json:"required_claims,omitempty"`
	// JWKSURL fetches the keys from this URL instead of discovery (cached, refreshed when
	// a token names an unknown key id). Default none.
	JWKSURL string `json:"jwks_url,omitempty"`
	// JWKSFile reads a static JSON Web Key Set (public keys only) at load time; no network
	// is used. Default none.
	JWKSFile string `json:"jwks_file,omitempty"`
	// Claims maps token claims to the identity (id, name, roles, scopes, tier, models).
	Claims auth.ClaimMapping `json:"claims,omitempty"`
	// Timeout bounds each discovery and key-set request. Default 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	verifier *auth.JWTVerifier
}

// CaddyModule returns the Caddy module information.
func (JWT) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_auth.sources.jwt", New: func() caddy.Module { return new(JWT) }}
}

// Provision validates the configuration and prepares the verifier; it does no network I/O.
func (j *JWT) Provision(ctx caddy.Context) error {
	repl := caddy.NewReplacer()
	issuer := repl.ReplaceKnown(j.Issuer, "")
	if err := checkURL("issuer", issuer); err != nil {
		return err
	}
	jwksURL := repl.ReplaceKnown(j.JWKSURL, "")
	if jwksURL != "" {
		if err := checkURL("jwks_url", jwksURL); err != nil {
			return err
		}
	}
	auds := make([]string, len(j.Audiences))
	for i, a := range j.Audiences {
		auds[i] = repl.ReplaceKnown(a, "")
	}
	if j.ClockSkew == 0 {
		j.ClockSkew = caddy.Duration(30 * time.Second)
	}
	if j.Timeout <= 0 {
		j.Timeout = caddy.Duration(10 * time.Second)
	}
	cfg := auth.JWTConfig{
		Issuer: issuer, Audiences: auds, Algorithms: j.Algorithms, Skew: time.Duration(j.ClockSkew),
		Required: j.RequiredClaims, JWKSURL: jwksURL, Mapping: j.Claims,
		Client: &http.Client{Timeout: time.Duration(j.Timeout)}, Logger: ctx.Logger(),
	}
	if j.JWKSFile != "" {
		data, err := os.ReadFile(repl.ReplaceKnown(j.JWKSFile, ""))
		if err != nil {
			return fmt.Errorf("reading jwks_file: %v", err)
		}
		cfg.JWKS = data
	}
	v, err := auth.NewJWTVerifier(cfg)
	if err != nil {
		return fmt.Errorf("jwt: %v", err)
	}
	j.verifier = v
	return nil
}

// checkURL requires https, except on loopback where a local test issuer runs plain http.
func checkURL(name, s string) error {
	if err := llmhttp.CheckSecureURL(name, s); err != nil {
		return fmt.Errorf("jwt: %v", err)
	}
	return nil
}

// Cleanup stops background discovery.
func (j *JWT) Cleanup() error {
	if j.verifier != nil {
		j.verifier.Close()
	}
	return nil
}

// Authenticate implements Source.
func (j *JWT) Authenticate(r *http.Request, _ time.Time) (*exchange.Identity, error) {
	tok := bearer(r, "Authorization")
	if tok == "" || !auth.LooksLikeJWT(tok) {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), auth.FirstWait+time.Second)
	defer cancel()
	return j.verifier.Verify(ctx, tok)
}

// CredentialHeaders implements Source.
func (j *JWT) CredentialHeaders() []string { return []string{"Authorization"} }

// MTLS takes the identity from the client certificate that Caddy's `client_auth` verified.
// Only verified chains count: with client_auth modes that do not verify, this source never
// matches, so an unverified certificate can never become an identity.
type MTLS struct {
	// IDFrom names the certificate field that becomes the id: "cn" (subject common
	// name, default), "san_dns", "san_email" or "san_uri" (the first of each).
	IDFrom string `json:"id_from,omitempty"`
	// Roles maps glob patterns over the id to roles, e.g. {"*.batch.internal":
	// ["batch"]}. Default none (roles then come from llm_auth's default_roles).
	Roles map[string][]string `json:"roles,omitempty"`

	mapping auth.CertMapping
}

// CaddyModule returns the Caddy module information.
func (MTLS) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_auth.sources.mtls", New: func() caddy.Module { return new(MTLS) }}
}

// Provision validates the mapping.
func (m *MTLS) Provision(caddy.Context) error {
	m.mapping = auth.CertMapping{IDFrom: auth.CertIDField(m.IDFrom), Roles: m.Roles}
	if err := m.mapping.Validate(); err != nil {
		return fmt.Errorf("mtls: %v", err)
	}
	return nil
}

// Authenticate implements Source.
func (m *MTLS) Authenticate(r *http.Request, _ time.Time) (*exchange.Identity, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, nil
	}
	cert := r.TLS.VerifiedChains[0][0]
	id := m.mapping.CertID(cert)
	if id == "" {
		field := m.IDFrom
		if field == "" {
			field = string(auth.CertCN)
		}
		return nil, fmt.Errorf("the client certificate has no %s to identify it", field)
	}
	return &exchange.Identity{ID: id, Source: "mtls", Name: cert.Subject.CommonName,
		Subject: cert.Subject.String(), Roles: m.mapping.RolesFor(id)}, nil
}

// CredentialHeaders implements Source.
func (m *MTLS) CredentialHeaders() []string { return nil }

// Interface guards
var (
	_ Source             = (*APIKeys)(nil)
	_ Source             = (*JWT)(nil)
	_ Source             = (*MTLS)(nil)
	_ caddy.Provisioner  = (*APIKeys)(nil)
	_ caddy.CleanerUpper = (*APIKeys)(nil)
	_ caddy.Provisioner  = (*JWT)(nil)
	_ caddy.CleanerUpper = (*JWT)(nil)
	_ caddy.Provisioner  = (*MTLS)(nil)
)
