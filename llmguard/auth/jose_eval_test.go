//go:build eval

package auth

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// joseDir holds the RFC 7520 (JOSE cookbook) vectors beside the repository. The test fails
// rather than skips when they are missing: signature verification must be checked.
var joseDir = filepath.Join("..", "..", "..", "shared", "data", "jose")

type cookbook struct {
	Input struct {
		Payload string          `json:"payload"`
		Key     json.RawMessage `json:"key"`
		Alg     string          `json:"alg"`
	} `json:"input"`
	Output struct {
		Compact string `json:"compact"`
	} `json:"output"`
}

func readVector(t *testing.T, name string) (cookbook, jose.JSONWebKey) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(joseDir, "jws", name))
	if err != nil {
		t.Fatalf("RFC 7520 vectors missing (expected ../shared/data/jose beside the repository): %v", err)
	}
	var v cookbook
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(v.Input.Key); err != nil {
		t.Fatalf("%s key: %v", name, err)
	}
	return v, k.Public()
}

// TestRFC7520Signatures verifies the cookbook's compact signatures with both key paths the
// gateway uses (the static JWKS set and go-oidc's remote set served over HTTP), and checks
// that a one-character change and the HMAC vector are refused.
func TestRFC7520Signatures(t *testing.T) {
	for _, name := range []string{"4_1.rsa_v15_signature.json", "4_2.rsa-pss_signature.json", "4_3.ecdsa_signature.json", "curve25519_eddsa.json"} {
		t.Run(name, func(t *testing.T) {
			v, pub := readVector(t, name)
			if v.Output.Compact == "" {
				t.Fatal("vector has no compact serialization")
			}
			verifyWithKeySets(t, jwksOf(t, pub), v.Output.Compact, v.Input.Payload)
		})
	}
	t.Run("hmac refused", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(joseDir, "jws", "4_4.hmac-sha2_integrity_protection.json"))
		if err != nil {
			t.Fatal(err)
		}
		var v cookbook
		json.Unmarshal(data, &v)
		if _, err := NewStaticKeySet([]byte(`{"keys":[` + string(v.Input.Key) + `]}`)); err == nil {
			t.Fatal("a symmetric key was accepted into a key set")
		}
		// And the HS256 token is refused even against an RSA key set.
		_, rsaPub := readVector(t, "4_1.rsa_v15_signature.json")
		ks, _ := NewStaticKeySet(jwksOf(t, rsaPub))
		if _, err := ks.VerifySignature(context.Background(), v.Output.Compact); err == nil {
			t.Fatal("HS256 token accepted")
		}
	})
	t.Run("jwk files", func(t *testing.T) {
		for _, f := range []string{"3_1.ec_public_key.json", "3_3.rsa_public_key.json"} {
			data, err := os.ReadFile(filepath.Join(joseDir, "jwk", f))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := NewStaticKeySet([]byte(`{"keys":[` + string(data) + `]}`)); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		data, err := os.ReadFile(filepath.Join(joseDir, "jwk", "3_4.rsa_private_key.json"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewStaticKeySet([]byte(`{"keys":[` + string(data) + `]}`)); err == nil {
			t.Fatal("a private key was accepted into a key set")
		}
	})
}
