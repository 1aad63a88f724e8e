package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/llmguard/caddy-llmguard/llmguard/auth/authtest"
)

// filler returns n members "f0".."f{n-1}" and a trailing comma: with it an object has
// more keys than the duplicate check scans linearly.
func filler(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `"f%d":"%d",`, i, i)
	}
	return b.String()
}

// Key files, JWKS documents and JWT claims are read by encoding/json, which keeps the last
// of two equal keys: a key file whose entry says "disabled":true and then false would
// silently keep a revoked key alive. Repeats are refused, in small and large objects.
func TestAuthDocumentsRefuseDuplicateKeys(t *testing.T) {
	hash := HashKey(mustKey(t))
	for _, n := range []int{0, 20} {
		f := filler(n)
		entry := `{"id":"a","hash":"` + hash + `","disabled":true,"metadata":{` + f + `"team":"x"}}`
		if _, err := ParseKeyFile([]byte(`[` + entry + `]`)); err != nil {
			t.Fatalf("valid key file refused: %v", err)
		}
		for _, bad := range []string{
			`[{"id":"a","hash":"` + hash + `","disabled":true,"disabled":false}]`,
			`{"keys":[{"id":"a","hash":"` + hash + `","metadata":{` + f + `"team":"x","team":"y"}}]}`,
			// encoding/json reads both spellings into Disabled, the last winning.
			`[{"id":"a","hash":"` + hash + `","disabled":true,"Disabled":false}]`,
			`[{"id":"a","hash":"` + hash + `","disabled":true,"DISABLED":false}]`,
			`{"keys":[{"id":"a","hash":"` + hash + `"}],"Keys":[]}`,
		} {
			if _, err := ParseKeyFile([]byte(bad)); err == nil || !strings.Contains(err.Error(), "duplicate object key") {
				t.Errorf("%d fillers: key file with a repeated key: %v", n, err)
			}
		}
	}

	iss := authtest.NewIssuer(t)
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: iss.RSA.Public(), KeyID: "rsa-1", Algorithm: "RS256"}}})
	if _, err := NewStaticKeySet(set); err != nil {
		t.Fatal(err)
	}
	// The repeated "keys" member would replace the published key with another (empty) list.
	twice := strings.TrimSuffix(string(set), "}") + `,"keys":[]}`
	if _, err := NewStaticKeySet([]byte(twice)); err == nil || !strings.Contains(err.Error(), "duplicate object key") {
		t.Errorf("JWKS with a repeated key: %v", err)
	}

	iss.SetDown(true)
	v := newVerifier(t, JWTConfig{Issuer: iss.URL, Audiences: []string{aud}, JWKS: set})
	now := time.Now()
	claims := func(extra string) []byte {
		return []byte(fmt.Sprintf(`{%s"iss":%q,"aud":%q,"exp":%d,"sub":"svc-1"%s}`, filler(20), iss.URL, aud, now.Add(time.Hour).Unix(), extra))
	}
	if _, err := v.Verify(context.Background(), authtest.SignPayload(t, iss.RSA, jose.RS256, "rsa-1", claims(""))); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	for _, extra := range []string{`,"sub":"admin"`, `,"ext":{"a":1,"a":2}`} {
		tok := authtest.SignPayload(t, iss.RSA, jose.RS256, "rsa-1", claims(extra))
		if _, err := v.Verify(context.Background(), tok); err == nil {
			t.Errorf("token with claims %s accepted", extra)
		}
	}
}

// TestIssuerDocumentsRefuseDuplicateKeys: a discovery document that repeats a key is not
// used, even though every other verifier detail (keys, token) is genuine.
func TestIssuerDocumentsRefuseDuplicateKeys(t *testing.T) {
	iss := authtest.NewIssuer(t)
	var url string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q,"jwks_uri":%q,"id_token_signing_alg_values_supported":["RS256"]}`, url, iss.URL+"/jwks", iss.URL+"/jwks")
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	url = srv.URL
	v := newVerifier(t, JWTConfig{Issuer: url, Audiences: []string{aud}})
	now := time.Now()
	_, err := v.Verify(context.Background(), iss.Token(t, baseClaims(url, now)))
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("a discovery document with a repeated key was used: %v", err)
	}
}
