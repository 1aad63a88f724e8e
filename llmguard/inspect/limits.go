// Package inspect decides, once per request and before anything is forwarded, whether a
// parsed LLM request may pass as it is, must be rewritten (a clamped output allowance, a
// redacted prompt), or is refused — and says, in the refusal, what the caller must change.
//
// It must never echo prompt text or a matched value in a refusal, and never forward
// anything itself: it returns edits and errors for the Caddy module to apply.
package inspect

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/glob"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// Output allowance actions.
const (
	OutputClamp  = "clamp"
	OutputRefuse = "refuse"
)

// Limits are the request-shape rules of a route. Zero values mean "no limit".
type Limits struct {
	MaxMessages     int
	MaxPromptTokens int64
	// MaxOutputTokens caps the output allowance. With OutputAction clamp (the default) a
	// larger or missing allowance is set to the cap in the forwarded body; with refuse a
	// larger one is refused (a missing one is then set to the cap, since the upstream's
	// default could be anything).
	MaxOutputTokens int64
	OutputAction    string
	MaxN            int64
	AllowModels     []string // glob patterns; empty allows all
	DenyModels      []string // glob patterns, checked after AllowModels
	AllowEndpoints  []request.Kind
	DenyEndpoints   []request.Kind
	DenyStream      bool
	DenyTools       bool
}

// Validate checks the patterns and the action.
func (l *Limits) Validate() error {
	for _, p := range append(append([]string(nil), l.AllowModels...), l.DenyModels...) {
		if err := glob.Valid(p); err != nil {
			return err
		}
	}
	switch l.OutputAction {
	case "", OutputClamp, OutputRefuse:
	default:
		return fmt.Errorf("output action must be %s or %s, not %q", OutputClamp, OutputRefuse, l.OutputAction)
	}
	if l.MaxMessages < 0 || l.MaxPromptTokens < 0 || l.MaxOutputTokens < 0 || l.MaxN < 0 {
		return fmt.Errorf("limits must not be negative")
	}
	return nil
}

// Check applies the limits to ex. It returns the fields to rewrite in the body (an
// output allowance clamped to the cap), or the refusal.
func (l *Limits) Check(ex *exchange.Exchange) (map[string]json.RawMessage, *apierr.Error) {
	if e := l.checkEndpoint(ex.Kind); e != nil {
		return nil, e
	}
	r := ex.Request
	if r == nil {
		return nil, nil
	}
	if e := l.checkModel(r.Model); e != nil {
		return nil, e
	}
	if l.MaxMessages > 0 && r.Messages > l.MaxMessages {
		return nil, &apierr.Error{Status: http.StatusBadRequest, Code: "too_many_messages", Param: "messages",
			Message: fmt.Sprintf("This request has %d messages; this gateway allows at most %d. Shorten the conversation.", r.Messages, l.MaxMessages)}
	}
	if l.MaxPromptTokens > 0 && ex.PromptCount() > l.MaxPromptTokens {
		return nil, &apierr.Error{Status: http.StatusBadRequest, Code: "context_length_exceeded", Param: "messages",
			Message: fmt.Sprintf("This request's prompt has %d tokens; this gateway allows at most %d. Shorten the prompt.", ex.PromptCount(), l.MaxPromptTokens)}
	}
	if l.MaxN > 0 && r.N > l.MaxN {
		return nil, &apierr.Error{Status: http.StatusBadRequest, Code: "invalid_value", Param: "n",
			Message: fmt.Sprintf("n is %d; this gateway allows at most %d.", r.N, l.MaxN)}
	}
	if l.DenyStream && r.Stream {
		return nil, &apierr.Error{Status: http.StatusBadRequest, Code: "stream_not_allowed", Param: "stream",
			Message: "Streaming is disabled on this route; send the request with stream set to false."}
	}
	if l.DenyTools && r.Tools > 0 {
		return nil, &apierr.Error{Status: http.StatusBadRequest, Code: "tools_not_allowed", Param: "tools",
			Message: "Tools are disabled on this route; send the request without tools."}
	}
	return l.checkOutput(ex)
}

func (l *Limits) checkEndpoint(k request.Kind) *apierr.Error {
	denied := false
	if len(l.AllowEndpoints) > 0 {
		denied = true
		for _, a := range l.AllowEndpoints {
			if a == k {
				denied = false
			}
		}
	}
	for _, d := range l.DenyEndpoints {
		if d == k {
			denied = true
		}
	}
	if !denied {
		return nil
	}
	return &apierr.Error{Status: http.StatusForbidden, Code: "endpoint_not_allowed",
		Message: fmt.Sprintf("The %s endpoint is not available through this gateway.", k)}
}

func (l *Limits) checkModel(model string) *apierr.Error {
	if (len(l.AllowModels) == 0 || glob.MatchAny(l.AllowModels, model)) && !glob.MatchAny(l.DenyModels, model) {
		return nil
	}
	return &apierr.Error{Status: http.StatusForbidden, Code: "model_not_allowed", Param: "model",
		Message: fmt.Sprintf("The model `%s` is not available through this gateway.", truncate(model))}
}

// checkOutput enforces MaxOutputTokens.
func (l *Limits) checkOutput(ex *exchange.Exchange) (map[string]json.RawMessage, *apierr.Error) {
	r := ex.Request
	if l.MaxOutputTokens <= 0 || r.Kind == request.KindEmbeddings {
		return nil, nil
	}
	if r.MaxOutputField != "" && r.MaxOutputTokens <= l.MaxOutputTokens {
		return nil, nil
	}
	if r.MaxOutputField != "" && l.OutputAction == OutputRefuse {
		return nil, &apierr.Error{Status: http.StatusBadRequest, Code: "invalid_value", Param: r.MaxOutputField,
			Message: fmt.Sprintf("%s is %d; this gateway allows at most %d.", r.MaxOutputField, r.MaxOutputTokens, l.MaxOutputTokens)}
	}
	field := r.MaxOutputField
	if field == "" {
		field = outputField(ex)
	}
	return map[string]json.RawMessage{field: json.RawMessage(strconv.FormatInt(l.MaxOutputTokens, 10))}, nil
}

// outputField names the allowance field to insert when the client sent none. OpenAI's
// reasoning models refuse max_tokens in chat, so OpenAI families get
// max_completion_tokens; other OpenAI-compatible servers commonly know only max_tokens.
func outputField(ex *exchange.Exchange) string {
	switch ex.Kind {
	case request.KindResponses:
		return "max_output_tokens"
	case request.KindChat:
		if ex.Tokens != nil && ex.Tokens.Encoding.Exact {
			return "max_completion_tokens"
		}
	}
	return "max_tokens"
}

func truncate(s string) string {
	const n = 100
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
