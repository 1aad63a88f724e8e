// Package exchange is the per-request state the llm_* handlers share: the first handler
// that sees a request parses it once and stores an Exchange in the request context; every
// later handler reads it from there instead of re-reading the body.
//
// It holds references, not copies, and must never be shared across requests.
package exchange

import (
	"context"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
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
	// an estimate otherwise: see Tokens.Encoding.Exact).
	PromptTokens int64
	// Body is what will be forwarded upstream. It starts as the client's body; a guard
	// that rewrites the request (redaction) replaces it.
	Body []byte
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
