// Package authtest is a minimal OIDC issuer for tests: an httptest server that serves a
// discovery document and a JWKS, and signs tokens with its own keys. It exists so that JWT
// verification is tested against real HTTP discovery and key fetching, including key
// rotation and an issuer that is down.
//
// It must never be used outside tests: its keys are generated per process and it signs
// whatever it is asked to.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// Issuer is a test OIDC issuer.
type Issuer struct {
	Server *httptest.Server
	URL    string

	RSA *rsa.PrivateKey // kid "rsa-1"
	EC  *ecdsa.PrivateKey

	mu   sync.Mutex
	keys []jose.JSONWebKey
	down atomic.Bool
	// JWKSFetches counts key-set requests.
	JWKSFetches atomic.Int64
}

// NewIssuer starts an issuer on loopback, stopped at the end of the test.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{RSA: rk, EC: ek}
	iss.keys = []jose.JSONWebKey{
		{Key: rk.Public(), KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: ek.Public(), KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if iss.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss.URL, "jwks_uri": iss.URL + "/jwks",
			"authorization_endpoint": iss.URL + "/auth", "token_endpoint": iss.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		iss.JWKSFetches.Add(1)
		if iss.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		iss.mu.Lock()
		set := jose.JSONWebKeySet{Keys: iss.keys}
		iss.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	})
	iss.Server = httptest.NewServer(mux)
	iss.URL = iss.Server.URL
	t.Cleanup(iss.Server.Close)
	return iss
}

// SetDown makes discovery and JWKS answer 503 (true) or normally (false).
func (iss *Issuer) SetDown(down bool) { iss.down.Store(down) }

// AddKey publishes another public key (key rotation).
func (iss *Issuer) AddKey(kid, alg string, pub crypto.PublicKey) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = append(iss.keys, jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"})
}

// Sign returns a compact JWS of claims signed with key under alg, with header kid.
func Sign(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return SignPayload(t, key, alg, kid, payload)
}

// SignPayload is Sign for a payload written by hand, such as claims JSON that
// encoding/json could not produce (a repeated claim name).
func SignPayload(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, payload []byte) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Token signs claims with the issuer's RSA key (RS256, kid "rsa-1").
func (iss *Issuer) Token(t testing.TB, claims map[string]any) string {
	return Sign(t, iss.RSA, jose.RS256, "rsa-1", claims)
}
