// Package auth is the caller-identity and access-control core of the gateway, free of any
// Caddy dependency: gateway API keys (format, generation, hashing, constant-time lookup, a
// hot-reloaded key file), JWT verification against an OIDC issuer or a static JWKS, claim
// mapping, identities from client certificates, role-based permissions (endpoints, model
// globs, tier) and per-address throttling of failed attempts.
//
// Time is always passed in (a clock function or an argument), so tests use fixed instants.
//
// It must never log, store or return a secret: API keys exist here only long enough to be
// hashed, JWTs are never logged, and every error message is safe to show to a client.
package auth
