package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/llmguard/caddy-llmguard/llmguard/auth/authtest"
)

const aud = "urn:llm-gateway"

func baseClaims(iss string, now time.Time) map[string]any {
	return map[string]any{"iss": iss, "sub": "svc-1", "aud": aud, "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "scope": "llm:chat llm:models", "roles": []string{"dev"}}
}

func newVerifier(t *testing.T, cfg JWTConfig) *JWTVerifier {
	t.Helper()
	v, err := NewJWTVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func TestJWTDiscoveryAndNegatives(t *testing.T) {
	iss := authtest.NewIssuer(t)
	now := time.Now()
	v := newVerifier(t, JWTConfig{Issuer: iss.URL, Audiences: []string{aud}, Skew: 30 * time.Second,
		Required: map[string][]string{"sub": nil}})
	ctx := context.Background()

	id, err := v.Verify(ctx, iss.Token(t, baseClaims(iss.URL, now)))
	if err != nil {
		t.Fatal(err)
	}
	if id.ID != "svc-1" || id.Source != "jwt" || strings.Join(id.Scopes, " ") != "llm:chat llm:models" || id.Roles[0] != "dev" {
		t.Fatalf("identity %+v", id)
	}
	// ES256 with the second published key.
	if _, err := v.Verify(ctx, authtest.Sign(t, iss.EC, jose.ES256, "ec-1", baseClaims(iss.URL, now))); err != nil {
		t.Fatalf("ES256: %v", err)
	}

	mod := func(f func(map[string]any)) map[string]any {
		c := baseClaims(iss.URL, now)
		f(c)
		return c
	}
	good := iss.Token(t, baseClaims(iss.URL, now))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+iss.URL+`","sub":"admin","aud":"`+aud+`","exp":9999999999}`)) + "." + parts[2]
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	algNone := noneHeader + "." + parts[1] + "."
	// Key confusion: HS256 keyed with the issuer's RSA public key, which is public.
	pubDER, _ := x509.MarshalPKIXPublicKey(iss.RSA.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs := authtest.Sign(t, pubPEM, jose.HS256, "rsa-1", baseClaims(iss.URL, now))
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	cases := map[string]string{
		"expired":    iss.Token(t, mod(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })),
		"no exp":     iss.Token(t, mod(func(c map[string]any) { delete(c, "exp") })),
		"future nbf": iss.Token(t, mod(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })),
		"future iat": iss.Token(t, mod(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() })),
		// NumericDate claims must be numbers (RFC 7519): a quoted future nbf used to skip
		// the not-before check, a quoted exp or iat was read as a number.
		"string exp":    iss.Token(t, mod(func(c map[string]any) { c["exp"] = fmt.Sprint(now.Add(time.Hour).Unix()) })),
		"string nbf":    iss.Token(t, mod(func(c map[string]any) { c["nbf"] = fmt.Sprint(now.Add(time.Hour).Unix()) })),
		"string iat":    iss.Token(t, mod(func(c map[string]any) { c["iat"] = fmt.Sprint(now.Add(-time.Minute).Unix()) })),
		"bool nbf":      iss.Token(t, mod(func(c map[string]any) { c["nbf"] = true })),
		"wrong aud":     iss.Token(t, mod(func(c map[string]any) { c["aud"] = "urn:other" })),
		"wrong iss":     iss.Token(t, mod(func(c map[string]any) { c["iss"] = "https://evil.example" })),
		"missing sub":   iss.Token(t, mod(func(c map[string]any) { delete(c, "sub") })),
		"alg none":      algNone,
		"hs256 confuse": hs,
		"unknown kid":   authtest.Sign(t, stranger, jose.ES256, "nope", baseClaims(iss.URL, now)),
		"foreign key":   authtest.Sign(t, stranger, jose.ES256, "ec-1", baseClaims(iss.URL, now)),
		"tampered":      tampered,
		"garbage":       "eyJ.x.y",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(ctx, tok)
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("want a TokenError, got %v", err)
			}
			if strings.Contains(te.Message, tok) || strings.Contains(te.Message, "svc-1") {
				t.Fatalf("message leaks token content: %q", te.Message)
			}
		})
	}
	// Within the skew an expired token still passes; beyond it, not.
	if _, err := v.Verify(ctx, iss.Token(t, mod(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() }))); err != nil {
		t.Fatalf("within skew: %v", err)
	}
}

func TestJWTKeyRotation(t *testing.T) {
	iss := authtest.NewIssuer(t)
	v := newVerifier(t, JWTConfig{Issuer: iss.URL, Audiences: []string{aud}})
	now := time.Now()
	if _, err := v.Verify(context.Background(), iss.Token(t, baseClaims(iss.URL, now))); err != nil {
		t.Fatal(err)
	}
	nk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	iss.AddKey("ec-2", "ES256", nk.Public())
	if _, err := v.Verify(context.Background(), authtest.Sign(t, nk, jose.ES256, "ec-2", baseClaims(iss.URL, now))); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
}

func TestJWTIssuerDownFailsClosed(t *testing.T) {
	iss := authtest.NewIssuer(t)
	iss.SetDown(true)
	v := newVerifier(t, JWTConfig{Issuer: iss.URL, Audiences: []string{aud}, Backoff: [2]time.Duration{50 * time.Millisecond, 100 * time.Millisecond}})
	tok := iss.Token(t, baseClaims(iss.URL, time.Now()))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := v.Verify(ctx, tok)
	var ue *UnavailableError
	if !errors.As(err, &ue) || ue.RetryAfter < time.Second {
		t.Fatalf("want UnavailableError with Retry-After, got %v", err)
	}
	iss.SetDown(false)
	deadline := time.Now().Add(5 * time.Second)
	for !v.Ready() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("after the issuer came back: %v", err)
	}
}

func TestJWTConfigRejects(t *testing.T) {
	for _, cfg := range []JWTConfig{
		{Audiences: []string{aud}},
		{Issuer: "https://x"},
		{Issuer: "https://x", Audiences: []string{aud}, Algorithms: []string{"HS256"}},
		{Issuer: "https://x", Audiences: []string{aud}, Algorithms: []string{"none"}},
		{Issuer: "https://x", Audiences: []string{aud}, JWKS: []byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`)},
	} {
		if _, err := NewJWTVerifier(cfg); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
}

func TestJWTStaticJWKS(t *testing.T) {
	iss := authtest.NewIssuer(t)
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: iss.RSA.Public(), KeyID: "rsa-1", Algorithm: "RS256"}}})
	iss.SetDown(true) // no network is used with a static set
	v := newVerifier(t, JWTConfig{Issuer: iss.URL, Audiences: []string{aud}, JWKS: set})
	now := time.Now()
	if _, err := v.Verify(context.Background(), iss.Token(t, baseClaims(iss.URL, now))); err != nil {
		t.Fatal(err)
	}
	// The right key under an unknown kid is refused: kid is honoured.
	if _, err := v.Verify(context.Background(), authtest.Sign(t, iss.RSA, jose.RS256, "other", baseClaims(iss.URL, now))); err == nil {
		t.Fatal("unknown kid accepted")
	}
	if iss.JWKSFetches.Load() != 0 {
		t.Fatal("static JWKS made network requests")
	}
}

func TestLooksLikeJWT(t *testing.T) {
	if !LooksLikeJWT("eyJhbGciOi.eyJ.sig") || LooksLikeJWT("sk-llmg-abc") || LooksLikeJWT("eyJa.b") {
		t.Fatal("LooksLikeJWT")
	}
}
