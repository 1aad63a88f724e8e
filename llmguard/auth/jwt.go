package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
)

// DefaultAlgorithms are the signature algorithms accepted when none are configured: the
// common asymmetric ones. HMAC ("HS256"…) and "none" can never be enabled: the verifier
// only holds the issuer's public keys, and accepting HMAC would let anyone who knows a
// public key forge tokens with it (the classic RS256→HS256 key-confusion attack).
var DefaultAlgorithms = []string{oidc.RS256, oidc.ES256, oidc.PS256, oidc.EdDSA}

var asymmetricAlgorithms = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// JWTConfig configures a JWTVerifier.
type JWTConfig struct {
	// Issuer must equal the tokens' "iss". With neither JWKSURL nor JWKS set, the keys are
	// found by OIDC discovery at Issuer/.well-known/openid-configuration.
	Issuer string
	// Audiences: the token's "aud" must contain at least one. Required.
	Audiences []string
	// Algorithms allowed; default DefaultAlgorithms. Only asymmetric ones are accepted.
	Algorithms []string
	// Skew is the clock-skew tolerance for exp, nbf and iat.
	Skew time.Duration
	// Required claims and, optionally, their allowed values (see CheckRequired).
	Required map[string][]string
	// JWKSURL, when set, is fetched for keys instead of running discovery.
	JWKSURL string
	// JWKS, when set, is a static JSON Web Key Set; no network is used at all.
	JWKS []byte
	// Mapping of claims to the identity.
	Mapping ClaimMapping
	// Client makes discovery and JWKS requests; it must have a timeout.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Backoff bounds discovery retries: the first retry waits Backoff[0], each later one
	// twice as long, capped at Backoff[1]. Default 1s and 1m.
	Backoff [2]time.Duration
	Logger  *zap.Logger
}

// UnavailableError means the token could not be checked because the issuer's keys are not
// (yet) known. Requests fail closed with 503 and Retry-After.
type UnavailableError struct {
	RetryAfter time.Duration
	// Reason replaces the message about the token issuer when another source of
	// credentials (a shared key store) is what cannot be reached.
	Reason string
}

func (e *UnavailableError) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	return "the token issuer is not reachable yet; the gateway cannot verify tokens"
}

// TokenError is a refused token. Message is safe for clients; Detail is for debug logs
// (it may name claim values, never the token).
type TokenError struct{ Message, Detail string }

func (e *TokenError) Error() string { return e.Message }

func refuse(msg, format string, args ...any) error {
	return &TokenError{Message: msg, Detail: fmt.Sprintf(format, args...)}
}

const msgInvalidToken = "The access token is invalid."

// JWTVerifier verifies bearer JWTs. Discovery is lazy: the first Verify starts it in the
// background, and it is retried with capped exponential backoff until it succeeds or
// Close is called, so an unreachable issuer never blocks configuration loading.
type JWTVerifier struct {
	cfg    JWTConfig
	ctx    context.Context
	cancel context.CancelFunc

	once     sync.Once
	ready    chan struct{} // closed once verifier is set
	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	retryAt  time.Time
}

// NewJWTVerifier validates cfg and returns a verifier. It does no network I/O.
func NewJWTVerifier(cfg JWTConfig) (*JWTVerifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("issuer is required")
	}
	if len(cfg.Audiences) == 0 {
		return nil, errors.New("at least one audience is required: without it a token minted for any other service of the same issuer would be accepted")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(asymmetricAlgorithms, a) {
			return nil, fmt.Errorf("algorithm %q is not allowed: only asymmetric algorithms (%s) can be verified with an issuer's public keys", a, strings.Join(asymmetricAlgorithms, ", "))
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	// Discovery documents and JWKS are JSON the gateway interprets: refuse repeated keys
	// there as everywhere (a JWKS with two "keys" members would be read differently by
	// other verifiers). A copy, so the caller's client is left as it was.
	checked := *cfg.Client
	checked.Transport = uniqueJSONTransport{base: cfg.Client.Transport}
	cfg.Client = &checked
	if cfg.Backoff[0] <= 0 {
		cfg.Backoff[0] = time.Second
	}
	if cfg.Backoff[1] < cfg.Backoff[0] {
		cfg.Backoff[1] = max(time.Minute, cfg.Backoff[0])
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	v := &JWTVerifier{cfg: cfg, ready: make(chan struct{})}
	v.ctx, v.cancel = context.WithCancel(oidc.ClientContext(context.Background(), cfg.Client))
	oc := v.oidcConfig()
	switch {
	case cfg.JWKS != nil:
		ks, err := NewStaticKeySet(cfg.JWKS)
		if err != nil {
			return nil, err
		}
		v.setVerifier(oidc.NewVerifier(cfg.Issuer, ks, oc))
	case cfg.JWKSURL != "":
		v.setVerifier(oidc.NewVerifier(cfg.Issuer, oidc.NewRemoteKeySet(v.ctx, cfg.JWKSURL), oc))
	}
	return v, nil
}

func (v *JWTVerifier) oidcConfig() *oidc.Config {
	// Audience and time checks are ours: go-oidc checks a single client id, and its
	// expiry check has no skew and a fixed 5-minute nbf leeway.
	return &oidc.Config{SkipClientIDCheck: true, SkipExpiryCheck: true, SupportedSigningAlgs: v.cfg.Algorithms}
}

func (v *JWTVerifier) setVerifier(iv *oidc.IDTokenVerifier) {
	v.mu.Lock()
	v.verifier = iv
	v.mu.Unlock()
	v.once.Do(func() {}) // discovery is not needed
	close(v.ready)
}

// Close stops background discovery.
func (v *JWTVerifier) Close() { v.cancel() }

// Ready reports whether the issuer's key source is known.
func (v *JWTVerifier) Ready() bool {
	select {
	case <-v.ready:
		return true
	default:
		return false
	}
}

// Start begins discovery in the background if it has not begun.
func (v *JWTVerifier) Start() { v.once.Do(func() { go v.discover() }) }

func (v *JWTVerifier) discover() {
	wait := v.cfg.Backoff[0]
	for {
		p, err := oidc.NewProvider(v.ctx, v.cfg.Issuer)
		if err == nil {
			v.mu.Lock()
			v.verifier = p.Verifier(v.oidcConfig())
			v.mu.Unlock()
			close(v.ready)
			v.cfg.Logger.Info("OIDC issuer discovered", zap.String("issuer", v.cfg.Issuer))
			return
		}
		v.mu.Lock()
		v.retryAt = v.cfg.Now().Add(wait)
		v.mu.Unlock()
		v.cfg.Logger.Warn("OIDC discovery failed; tokens are refused until it succeeds",
			zap.String("issuer", v.cfg.Issuer), zap.Duration("retry_in", wait), zap.Error(err))
		select {
		case <-v.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, v.cfg.Backoff[1])
	}
}

// FirstWait bounds how long a request waits for a discovery in progress before failing
// with UnavailableError; short, so a dead issuer cannot pile up requests.
const FirstWait = 3 * time.Second

// Verify checks a raw JWT and returns the identity it carries. Errors are
// *UnavailableError (issuer unknown: 503) or *TokenError (refused: 401).
func (v *JWTVerifier) Verify(ctx context.Context, raw string) (*exchange.Identity, error) {
	v.Start()
	select {
	case <-v.ready:
	default:
		t := time.NewTimer(FirstWait)
		select {
		case <-v.ready:
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	v.mu.Lock()
	iv, retryAt := v.verifier, v.retryAt
	v.mu.Unlock()
	if iv == nil {
		return nil, &UnavailableError{RetryAfter: max(time.Second, retryAt.Sub(v.cfg.Now()))}
	}
	// The request's context bounds a JWKS refresh triggered by an unknown kid.
	tok, err := iv.Verify(oidc.ClientContext(ctx, v.cfg.Client), raw)
	if err != nil {
		if strings.Contains(err.Error(), "fetching keys") {
			return nil, &UnavailableError{RetryAfter: time.Second}
		}
		if strings.Contains(err.Error(), "issued by a different provider") {
			return nil, refuse("The access token was not issued for this gateway.", "%v", err)
		}
		return nil, refuse(msgInvalidToken, "%v", err)
	}
	// go-oidc decodes the payload with encoding/json, which keeps the last of two equal
	// claim names; another verifier may keep the first. A token whose claims are ambiguous
	// is refused (the signature is valid, so only the issuer could have minted it).
	if err := uniqueClaims(raw); err != nil {
		return nil, refuse(msgInvalidToken, "claims: %v", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, refuse(msgInvalidToken, "claims: %v", err)
	}
	if err := v.checkClaims(tok, claims); err != nil {
		return nil, err
	}
	id, err := v.cfg.Mapping.Identity(claims)
	if err != nil {
		return nil, refuse(msgInvalidToken, "%v", err)
	}
	return id, nil
}

func (v *JWTVerifier) checkClaims(tok *oidc.IDToken, claims map[string]any) error {
	if !slices.ContainsFunc(tok.Audience, func(a string) bool { return slices.Contains(v.cfg.Audiences, a) }) {
		return refuse("The access token was not issued for this gateway.", "audience %q not accepted", tok.Audience)
	}
	// RFC 7519 NumericDate: a number. go-oidc also reads a quoted number as exp and iat,
	// and a string nbf would otherwise skip the not-before check.
	for _, name := range []string{"exp", "nbf", "iat"} {
		if c, ok := claims[name]; ok {
			if _, num := c.(float64); !num {
				return refuse(msgInvalidToken, "%s claim is not a number (%T)", name, c)
			}
		}
	}
	now := v.cfg.Now()
	skew := v.cfg.Skew
	if tok.Expiry.IsZero() {
		return refuse(msgInvalidToken, "token has no exp claim")
	}
	if !now.Before(tok.Expiry.Add(skew)) {
		return refuse("The access token has expired; obtain a new one.", "expired at %v", tok.Expiry)
	}
	if nbf, ok := claims["nbf"].(float64); ok && now.Add(skew).Before(time.Unix(int64(nbf), 0)) {
		return refuse(msgInvalidToken, "not valid before %v", time.Unix(int64(nbf), 0))
	}
	if !tok.IssuedAt.IsZero() && now.Add(skew).Before(tok.IssuedAt) {
		return refuse(msgInvalidToken, "issued in the future (%v)", tok.IssuedAt)
	}
	if err := CheckRequired(claims, v.cfg.Required); err != nil {
		return refuse(msgInvalidToken, "%v", err)
	}
	return nil
}

// LooksLikeJWT reports whether a bearer token has the shape of a compact JWS
// (three base64url segments, a JSON header), so the JWT source claims it.
func LooksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}

// uniqueClaims checks the payload of a compact JWS (already verified) for repeated keys.
func uniqueClaims(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("malformed token")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	return jsonspan.Unique(payload)
}

// maxIssuerDocument bounds a discovery document or JWKS read to check it.
const maxIssuerDocument = 4 << 20

// uniqueJSONTransport refuses successful issuer responses whose JSON repeats a key.
type uniqueJSONTransport struct{ base http.RoundTripper }

func (t uniqueJSONTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIssuerDocument+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxIssuerDocument {
		return nil, fmt.Errorf("%s: issuer document larger than %d bytes", req.URL.Path, maxIssuerDocument)
	}
	var dup *jsonspan.DuplicateKeyError
	if err := jsonspan.Unique(body); errors.As(err, &dup) {
		return nil, fmt.Errorf("%s: %v", req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
