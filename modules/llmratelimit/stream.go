package llmratelimit

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

// hideUsageHook removes what include_usage added from a stream whose client did not ask
// for it: the usage-only chunk ("choices": [] with usage) is dropped and the "usage"
// member of other chunks (null, or usage on the last choice chunk) is removed. Other
// bytes are untouched.
func hideUsageHook(ev *sse.Event, out []byte) ([]byte, bool) {
	if ev.Empty || sse.IsDone(ev) || !bytes.Contains(ev.Data, []byte(`"usage"`)) {
		return out, false
	}
	data, found, choicesEmpty := removeMember(ev.Data, "usage")
	if !found {
		return out, false
	}
	if choicesEmpty {
		return nil, false
	}
	if i := bytes.Index(out, ev.Data); i >= 0 && bytes.Equal(out, ev.Raw) {
		return jsonspan.Splice(out, i, i+len(ev.Data), string(data)), false
	}
	c := *ev
	c.Data = data
	return sse.AppendEvent(nil, &c), false
}

// streamCut enforces limits during a stream (on_exceed cut): when the generated text
// outgrows the output allowance reserved for it, the reservation is extended by another
// allowance; when the limits have no room for that, the stream ends after the current
// event with the API's error event.
type streamCut struct {
	h      *Handler
	ex     *exchange.Exchange
	res    *limit.Reservation
	p      *plan
	ctx    context.Context
	output int64  // tokens generated so far: a running per-event count, re-counted exactly at each threshold
	held   int64  // output tokens covered by the reservation
	text   []byte // the generated text, up to maxCutText, for the exact re-count
}

// maxCutText bounds the text kept for exact re-counting; past it the running per-event
// count (which over-counts slightly, so it errs towards cutting) is used.
const maxCutText = 8 << 20

func (s *streamCut) hook(ev *sse.Event, out []byte) ([]byte, bool) {
	if s.held == 0 {
		s.held = s.p.reserved.Output
	}
	if ev.Empty {
		return out, false
	}
	text := deltaText(s.ex.Kind, ev.Data)
	if text == "" {
		return out, false
	}
	s.output += int64(s.ex.Tokens.Count(text))
	if len(s.text)+len(text) <= maxCutText {
		s.text = append(s.text, text...)
	}
	if s.output <= s.held {
		return out, false
	}
	// Counting event by event over-counts (tokens split across chunks count twice), so
	// the threshold is confirmed with a count of the whole text.
	if len(s.text) < maxCutText {
		if s.output = int64(s.ex.Tokens.Count(string(s.text))); s.output <= s.held {
			return out, false
		}
	}
	step := max(s.h.DefaultOutputTokens, s.output-s.held)
	extra := make([]float64, len(s.res.Charges()))
	for i, c := range s.res.Charges() {
		switch c.Rule.Kind {
		case limit.Tokens, limit.TokenBudget, limit.CostBudget:
			extra[i] = c.Rule.Amount(limit.Usage{Output: step}, s.p.price)
		}
	}
	d, err := s.res.Extend(s.ctx, s.h.now(), extra)
	if err != nil {
		// The store is down: the stream goes on and settlement charges it later.
		s.h.logger.Warn("extending a stream's reservation failed", zap.Error(err))
		s.held += step
		return out, false
	}
	if d == nil {
		s.held += step
		return out, false
	}
	s.h.metrics.cuts.Inc()
	e := &apierr.Error{Status: http.StatusTooManyRequests, Code: "rate_limit_exceeded", Type: "rate_limit_error",
		Message: "The response was cut short because it reached your rate limit '" + d.Rule.Name + "'."}
	if d.Rule.IsBudget() {
		e.Code, e.Type = "insufficient_quota", "insufficient_quota"
		e.Message = "The response was cut short because it used up your budget '" + d.Rule.Name + "'."
	}
	return append(append([]byte(nil), out...), e.SSE(s.ex.Anthropic())...), true
}

// deltaText returns the generated text of one stream event, for counting output as it
// streams (usage.Tap counts the whole text only at the end).
func deltaText(kind request.Kind, data []byte) string {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return ""
	}
	var b strings.Builder
	switch kind {
	case request.KindMessages:
		var a struct {
			Delta *struct {
				Text        string `json:"text"`
				PartialJSON string `json:"partial_json"`
				Thinking    string `json:"thinking"`
			} `json:"delta"`
		}
		if jsonspan.Unmarshal(data, &a) == nil && a.Delta != nil {
			b.WriteString(a.Delta.Text + a.Delta.PartialJSON + a.Delta.Thinking)
		}
	case request.KindResponses:
		var r struct {
			Type  string `json:"type"`
			Delta string `json:"delta"`
		}
		if jsonspan.Unmarshal(data, &r) == nil && strings.HasSuffix(r.Type, ".delta") && !strings.HasSuffix(r.Type, "audio.delta") {
			b.WriteString(r.Delta)
		}
	default:
		var c struct {
			Choices []struct {
				Text  string `json:"text"`
				Delta *struct {
					Content          string `json:"content"`
					ReasoningContent string `json:"reasoning_content"`
					Reasoning        string `json:"reasoning"`
					Refusal          string `json:"refusal"`
					ToolCalls        []struct {
						Function struct {
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if jsonspan.Unmarshal(data, &c) != nil {
			return ""
		}
		for _, ch := range c.Choices {
			b.WriteString(ch.Text)
			if d := ch.Delta; d != nil {
				b.WriteString(d.Content + d.ReasoningContent + d.Reasoning + d.Refusal)
				for _, tc := range d.ToolCalls {
					b.WriteString(tc.Function.Arguments)
				}
			}
		}
	}
	return b.String()
}
