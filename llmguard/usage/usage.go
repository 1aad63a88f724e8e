// Package usage reads token usage out of LLM API responses, for metering, budgets and
// billing in the gateway.
//
// FromJSON and OutputText read complete (non-streamed) bodies; Tap watches a streamed
// response event by event (as parsed by package sse) and settles its usage when the
// stream ends, falling back to counting the generated text itself when the upstream did
// not report usage (streams without stream_options.include_usage, streams cut short,
// upstream errors in the middle of a stream).
//
// Shapes understood: OpenAI chat completions, legacy completions and embeddings
// ("usage.prompt_tokens"...), the OpenAI Responses API ("usage.input_tokens"...,
// response.* stream events), Anthropic Messages ("usage.input_tokens" plus cache
// fields, message_start/message_delta stream events) and the common OpenAI-compatible
// variations (usage on the last choice chunk, "reasoning"/"reasoning_content" deltas).
//
// What the package must never do:
//   - modify, buffer or delay the response: it only observes bytes the caller forwards;
//   - panic or fail on malformed upstream output: bad JSON yields "no usage", never an
//     error that could break a response to the client;
//   - hold unbounded memory for a stream: collected text is capped (Tap.TextCap);
//   - trust absurd numbers: counts are clamped to [0, MaxTokens] so sums cannot overflow;
//   - import Caddy or net/http.
package usage

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// MaxTokens is the largest token count the package reports for one field. Upstream
// numbers are clamped to it so that a buggy or hostile upstream cannot make sums
// overflow or budgets go negative.
const MaxTokens = 1 << 40

// Usage is the token usage of one request in a provider-neutral form.
type Usage struct {
	// InputTokens are all prompt tokens, cached ones included (OpenAI prompt_tokens /
	// input_tokens; Anthropic input_tokens + cache_read_input_tokens +
	// cache_creation_input_tokens, because Anthropic reports those three disjointly).
	InputTokens int64
	// CachedInputTokens is the part of InputTokens served from the prompt cache (OpenAI
	// *_tokens_details.cached_tokens; Anthropic cache_read_input_tokens).
	CachedInputTokens int64
	// CacheWriteTokens is the part of InputTokens written to the prompt cache (Anthropic
	// cache_creation_input_tokens; OpenAI input_tokens_details.cache_write_tokens where
	// reported).
	CacheWriteTokens int64
	// OutputTokens are all generated tokens, reasoning tokens included as OpenAI reports
	// them (completion_tokens / output_tokens).
	OutputTokens int64
	// ReasoningTokens is the part of OutputTokens spent on reasoning, when reported.
	ReasoningTokens int64
}

// Total returns InputTokens + OutputTokens (the cache and reasoning fields are parts of
// those two, not additions).
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// FromJSON extracts the usage of a complete (non-streamed) response body of the given
// endpoint kind from its top-level "usage" object. ok is false when the body has no
// usage (error bodies, model lists, "usage": null, malformed JSON).
func FromJSON(kind request.Kind, body []byte) (u Usage, ok bool) {
	var w struct {
		Usage *wireUsage `json:"usage"`
	}
	if !decode(body, &w) {
		return Usage{}, false
	}
	return w.Usage.normalize(kind)
}

// isTypeError reports a JSON value of an unexpected type. encoding/json still fills in
// every other field in that case, and upstreams do add fields of surprising types, so
// such bodies are used as far as they go.
func isTypeError(err error) bool {
	_, ok := err.(*json.UnmarshalTypeError)
	return ok
}

// count is a token count as found on the wire. It accepts integers, floats (truncated),
// numeric strings and null, and never fails, so that one odd field cannot hide the
// others; set reports whether a number was present.
type count struct {
	n   int64
	set bool
}

func (c *count) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		*c = count{}
		return nil
	}
	*c = count{n: clamp(f), set: true}
	return nil
}

func clamp(f float64) int64 {
	switch {
	case f <= 0:
		return 0
	case f >= MaxTokens:
		return MaxTokens
	}
	return int64(f)
}

type cachedDetails struct {
	CachedTokens     count `json:"cached_tokens"`
	CacheWriteTokens count `json:"cache_write_tokens"` // newer Responses API bodies
}

type reasoningDetails struct {
	ReasoningTokens count `json:"reasoning_tokens"`
}

// wireUsage is the union of the usage objects of all supported APIs.
type wireUsage struct {
	PromptTokens             count             `json:"prompt_tokens"`
	CompletionTokens         count             `json:"completion_tokens"`
	InputTokens              count             `json:"input_tokens"`
	OutputTokens             count             `json:"output_tokens"`
	CacheReadInputTokens     count             `json:"cache_read_input_tokens"`
	CacheCreationInputTokens count             `json:"cache_creation_input_tokens"`
	PromptTokensDetails      *cachedDetails    `json:"prompt_tokens_details"`
	InputTokensDetails       *cachedDetails    `json:"input_tokens_details"`
	CompletionTokensDetails  *reasoningDetails `json:"completion_tokens_details"`
	OutputTokensDetails      *reasoningDetails `json:"output_tokens_details"`
}

// normalize maps a wire usage object to Usage. The endpoint kind decides how
// input_tokens is read, because it means different things: OpenAI's Responses API counts
// cached tokens in it, Anthropic does not. OpenAI-shaped kinds also accept the other
// naming family, since compatible servers mix them up.
func (w *wireUsage) normalize(kind request.Kind) (Usage, bool) {
	if w == nil {
		return Usage{}, false
	}
	var u Usage
	if kind.Anthropic() {
		if !w.InputTokens.set && !w.OutputTokens.set && !w.CacheReadInputTokens.set && !w.CacheCreationInputTokens.set {
			return Usage{}, false
		}
		u.CachedInputTokens = w.CacheReadInputTokens.n
		u.CacheWriteTokens = w.CacheCreationInputTokens.n
		u.InputTokens = w.InputTokens.n + u.CachedInputTokens + u.CacheWriteTokens
		u.OutputTokens = w.OutputTokens.n
		return u, true
	}
	in, out := first(w.PromptTokens, w.InputTokens), first(w.CompletionTokens, w.OutputTokens)
	if !in.set && !out.set {
		return Usage{}, false
	}
	u.InputTokens, u.OutputTokens = in.n, out.n
	d := w.PromptTokensDetails
	if d == nil || !d.CachedTokens.set {
		d = w.InputTokensDetails
	}
	if d != nil {
		u.CachedInputTokens, u.CacheWriteTokens = d.CachedTokens.n, d.CacheWriteTokens.n
	}
	if d := w.CompletionTokensDetails; d != nil && d.ReasoningTokens.set {
		u.ReasoningTokens = d.ReasoningTokens.n
	} else if d := w.OutputTokensDetails; d != nil {
		u.ReasoningTokens = d.ReasoningTokens.n
	}
	// Anthropic-style cache fields on an OpenAI-shaped endpoint (some proxies in front of
	// Claude do this) are still worth keeping, but are not added to InputTokens because
	// it is unknown whether the server already did.
	if u.CachedInputTokens == 0 {
		u.CachedInputTokens = w.CacheReadInputTokens.n
	}
	if u.CacheWriteTokens == 0 {
		u.CacheWriteTokens = w.CacheCreationInputTokens.n
	}
	return u, true
}

func first(a, b count) count {
	if a.set {
		return a
	}
	return b
}
