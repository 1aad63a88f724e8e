// Package apierr is the gateway's single error contract: every refusal, from any llm_*
// module, is written through it so that clients (and the official SDKs, which parse these
// bodies) always see the error shape of the API they called — OpenAI's
// {"error":{"message","type","param","code"}} or Anthropic's
// {"type":"error","error":{"type","message"}} — with a status they act on correctly.
//
// It must never put a secret or a prompt into a message: callers pass messages that say
// what to change, and nothing here echoes request content.
package apierr

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Error is a refusal the gateway sends instead of forwarding a request (or instead of the
// rest of a stream).
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Type is OpenAI's error type, e.g. "invalid_request_error". Empty means the default
	// for Status. The Anthropic type is always derived from Status, since Anthropic's SDKs
	// map types to statuses one to one.
	Type string
	// Code is OpenAI's machine-readable code, e.g. "model_not_found"; may be empty.
	Code string
	// Param names the request field at fault (e.g. "messages[2].content"); may be empty.
	Param string
	// Message says what went wrong and what to change. Never a secret or prompt text.
	Message string
	// RetryAfter, when positive, is sent as Retry-After (whole seconds, rounded up) and
	// retry-after-ms, which the official SDKs honour exactly.
	RetryAfter time.Duration
	// NoRetry sends x-should-retry: false, for refusals that waiting will not fix
	// (an exhausted budget), so SDKs do not retry pointlessly.
	NoRetry bool
	// Retry sends x-should-retry: true, for failures a retry may fix (an upstream that
	// could not be reached), so SDKs retry whatever their own status rules say.
	Retry bool
	// Header holds extra response headers, e.g. WWW-Authenticate.
	Header http.Header
}

func (e *Error) Error() string {
	if e.Code != "" {
		return e.Code + ": " + e.Message
	}
	return e.Message
}

// New returns an error with the default type for status.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// BadRequest is a 400 naming the offending parameter.
func BadRequest(param, code, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Param: param, Code: code, Message: message}
}

// openAIType is the OpenAI error type used for a status when the caller gave none. The
// values are the ones OpenAI's API itself returns.
func openAIType(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	}
	if status >= 500 {
		return "server_error"
	}
	return "invalid_request_error"
}

// anthropicType is the Anthropic error type for a status, as documented by Anthropic
// (https://docs.anthropic.com/en/api/errors).
func anthropicType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

type openAIBody struct {
	Error openAIError `json:"error"`
}

type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

type anthropicBody struct {
	Type  string         `json:"type"`
	Error anthropicError `json:"error"`
}

type anthropicError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Body returns the JSON error body in the shape of the API the client called.
func (e *Error) Body(anthropic bool) []byte {
	var v any
	if anthropic {
		v = anthropicBody{Type: "error", Error: anthropicError{Type: anthropicType(e.Status), Message: e.Message}}
	} else {
		t := e.Type
		if t == "" {
			t = openAIType(e.Status)
		}
		v = openAIBody{Error: openAIError{Message: e.Message, Type: t, Param: nullable(e.Param), Code: nullable(e.Code)}}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // cannot fail: plain strings and pointers
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// SSE returns the error as a stream event that ends a stream already under way: OpenAI
// clients raise `data: {"error":…}`, Anthropic clients raise `event: error`. The HTTP
// status is already sent by then, so the body is all the client will see.
func (e *Error) SSE(anthropic bool) []byte {
	var b []byte
	if anthropic {
		b = append(b, "event: error\n"...)
	}
	b = append(b, "data: "...)
	b = append(b, e.Body(anthropic)...)
	return append(b, "\n\n"...)
}

// Write sends e as the complete response. The caller must not have written anything yet.
func Write(w http.ResponseWriter, anthropic bool, e *Error) {
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = append([]string(nil), vs...)
	}
	if e.RetryAfter > 0 {
		ms := (e.RetryAfter + time.Millisecond - 1) / time.Millisecond
		secs := (e.RetryAfter + time.Second - 1) / time.Second
		h.Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		h.Set("retry-after-ms", strconv.FormatInt(int64(ms), 10))
	}
	switch {
	case e.NoRetry:
		h.Set("x-should-retry", "false")
	case e.Retry:
		h.Set("x-should-retry", "true")
	}
	body := e.Body(anthropic)
	// A refusal replaces whatever the handler chain had planned; stale validators or
	// encodings from an upstream must not leak onto it.
	h.Del("Content-Encoding")
	h.Del("ETag")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
