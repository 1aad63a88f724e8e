package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
)

// StaticKeySet verifies JWS signatures against a fixed JSON Web Key Set (a file the admin
// distributes out of band). Unlike go-oidc's StaticKeySet it honours "kid": a token naming
// a key id that is not in the set is refused instead of being tried against every key.
type StaticKeySet struct {
	keys []jose.JSONWebKey
}

// NewStaticKeySet parses a JWKS document ({"keys":[…]}). Private and symmetric keys are
// refused: a key file that contains them is a leak waiting to happen, and symmetric keys
// would open the door to HMAC forgery.
func NewStaticKeySet(data []byte) (*StaticKeySet, error) {
	var set jose.JSONWebKeySet
	if err := jsonspan.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parsing JWKS: %v", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("JWKS has no keys")
	}
	for i, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() {
			return nil, fmt.Errorf("JWKS key %d (kid %q): only valid public asymmetric keys are accepted", i, k.KeyID)
		}
	}
	return &StaticKeySet{keys: set.Keys}, nil
}

// VerifySignature implements oidc.KeySet. The algorithm allow-list is enforced by the
// oidc verifier before this is called; parsing here admits every asymmetric algorithm.
func (s *StaticKeySet) VerifySignature(_ context.Context, raw string) ([]byte, error) {
	algs := make([]jose.SignatureAlgorithm, len(asymmetricAlgorithms))
	for i, a := range asymmetricAlgorithms {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	jws, err := jose.ParseSigned(raw, algs)
	if err != nil {
		return nil, fmt.Errorf("malformed jwt: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("exactly one signature is required")
	}
	kid := jws.Signatures[0].Header.KeyID
	for i := range s.keys {
		if kid != "" && s.keys[i].KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&s.keys[i]); err == nil {
			return payload, nil
		}
	}
	return nil, errors.New("no key in the JWKS verifies the signature")
}
