// Package llmerror is the `llm_error` Caddy handler: used in handle_errors, it answers
// the errors of Caddy's own handlers (reverse_proxy's 502/504 for an upstream that is
// down, refuses, times out or fails TLS; request_body's 413; the error directive) in the
// error shape of the API the client called, so that the official SDKs raise their typed
// API errors with a message and retry when a retry can help.
//
// It must never put the error's own text into the response: Caddy's and Go's error
// messages name internal addresses and can quote request values.
package llmerror

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler writes the error of the failed handler chain ({http.error.*}) as an
// OpenAI-shaped error, or Anthropic-shaped on /v1/messages, with the error's status,
// `x-should-retry: true` for 408, 409, 429, 500, 502, 503 and 504 and `false` otherwise.
// Outside handle_errors (no error) it answers 500. It is terminal: it never calls next.
//
// Placeholders set: {http.llm.error_code}, the code of the error it sent.
type Handler struct {
	// Message replaces the message chosen for the status (for example a support address
	// for 502s). It is sent as written: placeholders are not expanded, so that no
	// request value can be echoed. Default: a message per status and cause that says
	// what to do.
	Message string `json:"message,omitempty"`
	// Code replaces the machine-readable code chosen for the status, so that a refusal
	// of Caddy's own (an `error` directive behind a client_ip or llm_geo matcher) can
	// say why, e.g. network_not_allowed, which the SDKs expose as the error's code. It is
	// sent as written and must be snake_case ASCII. Default: a code per status and cause.
	Code string `json:"code,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_error", New: func() caddy.Module { return new(Handler) }}
}

// ServeHTTP writes the error response.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	status := http.StatusInternalServerError
	err, _ := r.Context().Value(caddyhttp.ErrorCtxKey).(error)
	var he caddyhttp.HandlerError
	if errors.As(err, &he) && he.StatusCode != 0 {
		status = he.StatusCode
	}
	e := apierr.Failure(status, err)
	if h.Message != "" {
		e.Message = h.Message
	}
	if h.Code != "" {
		e.Code = h.Code
	}
	return llmhttp.Fail(w, r, e)
}

// codePattern is what a code may look like: the SDKs and clients switch on it, so it is
// a plain identifier, never free text.
var codePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Validate refuses a code that is not a snake_case identifier.
func (h *Handler) Validate() error {
	if h.Code != "" && !codePattern.MatchString(h.Code) {
		return fmt.Errorf("llm_error: code %q must be snake_case ASCII (a-z, 0-9, _), at most 64 characters", h.Code)
	}
	return nil
}

// Interface guards
var (
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
