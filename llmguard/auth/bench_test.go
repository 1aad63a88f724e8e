package auth

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth/authtest"
)

// BenchmarkKeyVerify is the per-request cost of API key verification with 10,000 keys
// loaded: format check, SHA-256, map lookup, constant-time compare.
func BenchmarkKeyVerify(b *testing.B) {
	good := mustKey(b)
	entries := []*Entry{{ID: "good", Hash: HashKey(good)}}
	for i := range 10000 {
		entries = append(entries, &Entry{ID: fmt.Sprint("k", i), Hash: HashKey(mustKey(b))})
	}
	s, err := NewKeyStore(entries)
	if err != nil {
		b.Fatal(err)
	}
	unknown := mustKey(b)
	now := time.Now()
	b.Run("known", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Verify(good, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unknown", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Verify(unknown, now); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}

// BenchmarkJWTVerify is the per-request cost of JWT verification with the issuer's JWKS
// already cached (no network in the loop): RS256 and ES256 signatures plus claim checks
// and mapping.
func BenchmarkJWTVerify(b *testing.B) {
	iss := authtest.NewIssuer(b)
	v, err := NewJWTVerifier(JWTConfig{Issuer: iss.URL, Audiences: []string{aud}, Mapping: ClaimMapping{Roles: "roles"}})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	now := time.Now()
	rs := iss.Token(b, baseClaims(iss.URL, now))
	es := authtest.Sign(b, iss.EC, "ES256", "ec-1", baseClaims(iss.URL, now))
	ctx := context.Background()
	if _, err := v.Verify(ctx, rs); err != nil { // discovery + JWKS fetch, once
		b.Fatal(err)
	}
	fetches := iss.JWKSFetches.Load()
	for name, tok := range map[string]string{"RS256": rs, "ES256": es} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if iss.JWKSFetches.Load() != fetches {
		b.Fatal("the key set was fetched again during the benchmark")
	}
}
