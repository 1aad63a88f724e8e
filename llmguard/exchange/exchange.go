// Package exchange is the per-request state the llm_* handlers share: the first handler
// that sees a request parses it once and stores an Exchange in the request context; every
// later handler reads it from there instead of re-reading the body.
//
// It holds references, not copies, and must never be shared across requests.
package exchange

import (
	"context"
	"net/netip"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
	"github.com/llmguard/caddy-llmguard/llmguard/tokens"
)

// Exchange is one client request on its way through the gateway.
type Exchange struct {
	// Kind is the endpoint, from the path.
	Kind request.Kind
	// Request is the parsed body; nil for endpoints without one (GET /v1/models).
	Request *request.Request
	// Tokens counts for the requested model; nil when there is no model.
	Tokens *tokens.Model
	// PromptTokens is the prompt's token count under Tokens (exact for OpenAI families,
	// an estimate otherwise: see Tokens.Encoding.Exact) once PromptCount has counted it;
	// read it through PromptCount.
	PromptTokens int64
	counted      bool
	// Identity is who is calling, set by llm_auth; nil when no authentication ran.
	Identity *Identity
	// Body is what will be forwarded upstream. It starts as the client's body; a guard
	// that rewrites the request (redaction) replaces it.
	Body []byte
	// Vault maps llm_inspect's pseudonymisation placeholders back to the prompt's
	// original values, for llm_filter to restore them in the response; nil when nothing
	// was pseudonymised. It is kept in memory for this request only.
	Vault *detect.Vault
	// Risk is llm_sentinel's assessment of the caller, for the policies that tighten
	// with it (llm_inspect's elevated threshold, llm_rate_limit's risk overrides); nil
	// when no sentinel ran.
	Risk *sentinel.Assessment
}

// RiskLevel returns the caller's risk level, low when no sentinel assessed it.
func (e *Exchange) RiskLevel() sentinel.Level {
	if e.Risk == nil {
		return sentinel.Low
	}
	return e.Risk.Level
}

// PromptCount returns the prompt's token count, counting it on first use: counting is
// the costliest part of loading a request (about half of it at 32 KB), and a route whose
// handlers never need the number (llm_auth alone, llm_inspect without
// max_prompt_tokens) should not pay for it. The request is counted as it stands at the
// first call: handlers that forward an edited body re-parse it into Request
// (llm_inspect's redactions and edits, llm_rate_limit's include_usage, llm_filter's
// canary), so a count first asked after such an edit sees what is forwarded, which is what
// the upstream bills. A PromptTokens set by hand (tests) is kept.
func (e *Exchange) PromptCount() int64 {
	if !e.counted {
		e.counted = true
		if e.PromptTokens == 0 && e.Tokens != nil && e.Request != nil {
			e.PromptTokens = e.Tokens.Prompt(e.Request)
		}
	}
	return e.PromptTokens
}

// Anthropic reports whether the client expects Anthropic-shaped errors and streams.
func (e *Exchange) Anthropic() bool { return e.Kind.Anthropic() }

type ctxKey struct{}

// NewContext returns ctx carrying ex.
func NewContext(ctx context.Context, ex *Exchange) context.Context {
	return context.WithValue(ctx, ctxKey{}, ex)
}

// FromContext returns the exchange stored in ctx, or nil.
func FromContext(ctx context.Context) *Exchange {
	ex, _ := ctx.Value(ctxKey{}).(*Exchange)
	return ex
}

// Identity is an authenticated caller, whatever the credential was (gateway API key, JWT,
// client certificate). Policies read it; it never holds the credential itself.
type Identity struct {
	// ID is the stable identifier: a key id, a JWT subject, a certificate's subject or SAN.
	ID string
	// Source names the credential kind: "api_key", "jwt" or "mtls".
	Source string
	// Name is a display name, if known.
	Name string
	// Subject is the JWT "sub" or the certificate subject; empty for API keys.
	Subject string
	// Roles, Scopes and Tier are as granted by the key entry, token claims or mapping.
	Roles  []string
	Scopes []string
	Tier   string
	// Models, when non-empty, limits the identity to models matching these glob patterns.
	Models []string
	// Metadata is free-form admin-supplied data (key file "metadata").
	Metadata map[string]string
	// Networks, when non-empty, are the only client networks the identity may call from.
	Networks []netip.Prefix
	// Countries, when non-empty, are the only client countries (ISO codes, or
	// "unknown") the identity may call from.
	Countries []string
}
