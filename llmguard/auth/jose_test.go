package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// TestGeneratedSignatures signs with keys made here (RS256, PS256, ES256, EdDSA) and
// verifies with both key paths the gateway uses (static JWKS, go-oidc's remote set over
// HTTP); a one-character change, an HS256 token and private or symmetric keys are refused.
func TestGeneratedSignatures(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	payload := `{"iss":"https://issuer.test","sub":"u1","aud":"gw"}`
	for _, c := range []struct {
		alg  jose.SignatureAlgorithm
		priv any
		pub  any
	}{{jose.RS256, rsaKey, &rsaKey.PublicKey}, {jose.PS256, rsaKey, &rsaKey.PublicKey},
		{jose.ES256, ecKey, &ecKey.PublicKey}, {jose.EdDSA, edKey, edKey.Public()}} {
		t.Run(string(c.alg), func(t *testing.T) {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: c.alg, Key: jose.JSONWebKey{Key: c.priv, KeyID: "k1"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := signer.Sign([]byte(payload))
			if err != nil {
				t.Fatal(err)
			}
			compact, _ := obj.CompactSerialize()
			set := jwksOf(t, jose.JSONWebKey{Key: c.pub, KeyID: "k1", Algorithm: string(c.alg), Use: "sig"})
			verifyWithKeySets(t, set, compact, payload)
			// A private key is refused in a key set.
			priv, _ := json.Marshal(jose.JSONWebKey{Key: c.priv, KeyID: "k1"})
			if _, err := NewStaticKeySet([]byte(`{"keys":[` + string(priv) + `]}`)); err == nil {
				t.Fatal("a private key was accepted into a key set")
			}
		})
	}
	t.Run("hmac refused", func(t *testing.T) {
		secret := []byte("0123456789abcdef0123456789abcdef")
		sym, _ := json.Marshal(jose.JSONWebKey{Key: secret, KeyID: "h"})
		if _, err := NewStaticKeySet([]byte(`{"keys":[` + string(sym) + `]}`)); err == nil {
			t.Fatal("a symmetric key was accepted into a key set")
		}
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, nil)
		obj, _ := signer.Sign([]byte(`{"sub":"u1"}`))
		compact, _ := obj.CompactSerialize()
		ks, _ := NewStaticKeySet(jwksOf(t, jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "k1"}))
		if _, err := ks.VerifySignature(context.Background(), compact); err == nil {
			t.Fatal("HS256 token accepted")
		}
	})
}

func jwksOf(t *testing.T, k jose.JSONWebKey) []byte {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyWithKeySets checks compact against the JWKS set through both key-set kinds llm_auth
// uses, a static set and a remote one served over HTTP: each must return payload, and
// must refuse the token with one character of its signature changed.
func verifyWithKeySets(t *testing.T, set []byte, compact, payload string) {
	t.Helper()
	static, err := NewStaticKeySet(set)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(set) }))
	defer srv.Close()
	remote := oidc.NewRemoteKeySet(context.Background(), srv.URL)
	for ksName, ks := range map[string]oidc.KeySet{"static": static, "remote": remote} {
		got, err := ks.VerifySignature(context.Background(), compact)
		if err != nil || string(got) != payload {
			t.Fatalf("%s: %q %v", ksName, got, err)
		}
		b := []byte(compact)
		i := strings.LastIndexByte(compact, '.') + 5
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if _, err := ks.VerifySignature(context.Background(), string(b)); err == nil {
			t.Fatalf("%s: tampered signature accepted", ksName)
		}
	}
}
