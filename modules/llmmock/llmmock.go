// Package llmmock is the llm_mock Caddy HTTP handler: a fake OpenAI- and
// Anthropic-compatible upstream for demos, tests and CI, so that a gateway built from the
// llm_* modules can be exercised end to end on one machine without a provider key.
//
// It is a testing aid, not a model. It must never be presented to users as one, never
// call the network, and never log, record or store request content. All behaviour lives
// in package mock; this package only adapts it to Caddy's configuration and lifecycle.
package llmmock

import (
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmguard/caddy-llmguard/llmguard/mock"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler answers LLM API calls with deterministic mock replies. It is terminal: it
// never calls the next handler. It sets no placeholders.
//
// Endpoints, chosen by path suffix so that prefixes such as /openai/v1/ work: POST
// chat/completions, completions, embeddings, responses and (Anthropic) messages, and
// GET models. A wrong method gets 405, an unknown path 404, a malformed body 400 naming
// the field, a body over max_body_size 413 — always in the error shape of the API
// called, never a 500.
//
// Usage in every response is counted with the gateway's own token counter: prompt tokens
// as the gateway counts the request, completion tokens as the count of the reply text.
// A reply longer than the request's output allowance (max_tokens,
// max_completion_tokens, max_output_tokens) is cut to fit and marked as such
// (finish_reason "length", stop_reason "max_tokens", status "incomplete").
//
// Request headers steer single responses (tests set them):
//
//   - X-Mock-Reply: <text> replies with exactly that text.
//   - X-Mock-Mode: echo|fixed overrides mode.
//   - X-Mock-Status: <400–599> answers with that error status in the API's shape
//     (429 with Retry-After: 1).
//   - X-Mock-Stream-Error: after=N ends a stream after N deltas with the API's
//     mid-stream error event.
//   - X-Mock-No-Usage: true drops usage from bodies and streams.
//
// Because anyone who can reach the handler can make it echo or emit arbitrary text,
// mount it only where tests and demos run.
type Handler struct {
	// Models are the model names GET /v1/models lists, in OpenAI's list format. The
	// list is not an allow-list: requests may name any model, and the response echoes
	// the requested name. Default: gpt-4o-mini, gpt-4o, claude-sonnet-4-5.
	Models []string `json:"models,omitempty"`

	// Mode chooses the reply when no X-Mock-Reply header is sent: "fixed" replies with
	// Reply, "echo" replies with the text of the last user message (useful to see what
	// the gateway forwarded after its filters). Default: fixed.
	Mode string `json:"mode,omitempty"`

	// Reply is the reply of fixed mode. Default: a sentence that names the requested
	// model and says that it comes from a mock.
	Reply string `json:"reply,omitempty"`

	// ChunkSize is the number of characters (Unicode code points, never a split UTF-8
	// sequence) in each streamed text delta. Small values split words and secrets across
	// events, which is what stream filters must cope with. Default: 4.
	ChunkSize int `json:"chunk_size,omitempty"`

	// ChunkDelay is the pause before each streamed text delta, to simulate a slow model
	// (time-outs, cancellation, time to first token). A stream stops at once when the
	// client goes away. Default: 0 (no pause).
	ChunkDelay caddy.Duration `json:"chunk_delay,omitempty"`

	// EmbeddingDimensions is the length of embedding vectors when a request sends no
	// "dimensions". Vectors are deterministic per input text and of unit length, but
	// not semantic. At most 65536. Default: 8.
	EmbeddingDimensions int `json:"embedding_dimensions,omitempty"`

	// MaxBodySize is the largest request body, in bytes, that the handler reads; a
	// larger body is refused with 413 without being read, which bounds the memory one
	// request can take. Default: 8 MiB.
	MaxBodySize int64 `json:"max_body_size,omitempty"`

	srv    *mock.Server
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.llm_mock",
		New: func() caddy.Module { return new(Handler) },
	}
}

// config maps the exported fields to the core configuration. Zero values stay zero: the
// core applies the defaults, so the JSON config a user sees stays as short as written.
func (h *Handler) config() mock.Config {
	return mock.Config{
		Models:              h.Models,
		Mode:                mock.Mode(h.Mode),
		Reply:               h.Reply,
		ChunkSize:           h.ChunkSize,
		ChunkDelay:          time.Duration(h.ChunkDelay),
		EmbeddingDimensions: h.EmbeddingDimensions,
		MaxBodySize:         h.MaxBodySize,
	}
}

// Provision builds the mock server and loads the tokenizers (embedded, no network), so
// that the first request does not pay for it.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	srv, err := mock.New(h.config())
	if err != nil {
		return fmt.Errorf("configuring llm_mock: %v", err)
	}
	h.srv = srv
	h.logger.Info("llm_mock answers LLM API calls with mock replies; it is a testing aid, not a model")
	return nil
}

// Validate checks the configuration without changing it.
func (h *Handler) Validate() error {
	if err := h.config().Validate(); err != nil {
		return fmt.Errorf("llm_mock: %v", err)
	}
	return nil
}

// ServeHTTP answers the call. It writes every error itself, in the shape of the API
// called, instead of returning a caddyhttp.Error: the clients of an LLM API are SDKs
// that parse those bodies, and Caddy's error routes would give them text they cannot
// read.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) (err error) {
	g, w := llmhttp.Protect(w, r, h.logger)
	defer g.Recover(&err)
	h.srv.ServeHTTP(w, r)
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)
