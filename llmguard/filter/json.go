package filter

import (
	"errors"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// ErrUnparsable is returned by JSON for a body that is not a JSON object.
var ErrUnparsable = errors.New("filter: response body is not a JSON object")

// JSON filters a complete (non-streamed) response body of the given API kind: generated
// text, refusals, reasoning and tool-call arguments (Anthropic tool inputs: every string
// in them). It returns the body to send (body itself when nothing changed, else body
// with only the changed strings re-encoded, see edited) and blocked = true when the response must be refused instead.
func (p *Policy) JSON(kind request.Kind, body []byte, rep *Report) (out []byte, blocked bool, err error) {
	m, ok := decode(body)
	if !ok {
		rep.Errors++
		return body, false, ErrUnparsable
	}
	if _, isErr := m["error"]; isErr || m["type"] == "error" {
		return body, false, nil // an upstream error: nothing was generated
	}
	switch kind {
	case request.KindMessages:
		blocked = p.walkAnthropic(m["content"], rep)
	case request.KindResponses:
		out, _ := m["output"].([]any)
		blocked = p.walkOutput(out, rep)
	default:
		blocked = p.walkChat(m, rep)
	}
	if blocked {
		return nil, true, nil
	}
	return edited(body, m), false, nil
}

// str filters the string at m[key], if there is one; inJSON marks JSON text (tool call
// arguments).
func (p *Policy) str(m map[string]any, key string, inJSON bool, rep *Report) bool {
	s, ok := m[key].(string)
	if !ok || s == "" {
		return false
	}
	out, bl := p.text(s, inJSON, rep)
	m[key] = out
	return bl
}

func (p *Policy) walkChat(m map[string]any, rep *Report) bool {
	choices, _ := m["choices"].([]any)
	for _, c := range choices {
		cm, _ := c.(map[string]any)
		if cm == nil {
			continue
		}
		if p.str(cm, "text", false, rep) {
			return true
		}
		msg, _ := cm["message"].(map[string]any)
		if msg == nil {
			continue
		}
		for _, f := range chatTextFields {
			if p.str(msg, f, false, rep) {
				return true
			}
		}
		if parts, ok := msg["content"].([]any); ok && p.walkParts(parts, rep) {
			return true
		}
		calls, _ := msg["tool_calls"].([]any)
		if fc, ok := msg["function_call"]; ok {
			calls = append(calls, map[string]any{"function": fc})
		}
		for _, tc := range calls {
			tm, _ := tc.(map[string]any)
			if fn, ok := tm["function"].(map[string]any); ok && p.str(fn, "arguments", true, rep) {
				return true
			}
		}
	}
	return false
}

// walkParts filters content parts ({"type":"text"|"output_text","text":…}, refusals).
func (p *Policy) walkParts(parts []any, rep *Report) bool {
	for _, x := range parts {
		pm, _ := x.(map[string]any)
		if pm != nil && (p.str(pm, "text", false, rep) || p.str(pm, "refusal", false, rep)) {
			return true
		}
	}
	return false
}

// walkOutput filters Responses API output items: messages, function calls, reasoning.
func (p *Policy) walkOutput(items []any, rep *Report) bool {
	for _, x := range items {
		im, _ := x.(map[string]any)
		if im == nil {
			continue
		}
		if p.str(im, "arguments", true, rep) || p.str(im, "input", false, rep) {
			return true
		}
		for _, f := range []string{"content", "summary"} {
			if parts, ok := im[f].([]any); ok && p.walkParts(parts, rep) {
				return true
			}
		}
	}
	return false
}

// walkAnthropic filters Anthropic content blocks: text, thinking and every string of a
// tool_use input.
func (p *Policy) walkAnthropic(content any, rep *Report) bool {
	blocks, _ := content.([]any)
	for _, x := range blocks {
		bm, _ := x.(map[string]any)
		if bm == nil {
			continue
		}
		if p.str(bm, "text", false, rep) || p.str(bm, "thinking", false, rep) {
			return true
		}
		if in, ok := bm["input"]; ok && p.walkValue(in, rep) {
			return true
		}
	}
	return false
}

// walkValue filters every string inside a JSON value, in place.
func (p *Policy) walkValue(v any, rep *Report) bool {
	switch t := v.(type) {
	case map[string]any:
		for k := range t {
			if _, ok := t[k].(string); ok {
				if p.str(t, k, false, rep) {
					return true
				}
			} else if p.walkValue(t[k], rep) {
				return true
			}
		}
	case []any:
		for i, e := range t {
			if s, ok := e.(string); ok {
				out, bl := p.Text(s, rep)
				if bl {
					return true
				}
				t[i] = out
			} else if p.walkValue(e, rep) {
				return true
			}
		}
	}
	return false
}
