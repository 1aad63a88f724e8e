package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"

	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// ErrUnparsable is returned by JSON for a body that is not a JSON object.
var ErrUnparsable = errors.New("filter: response body is not a JSON object")

// JSON filters a complete (non-streamed) response body of the given API kind: generated
// text, refusals, reasoning and tool-call arguments (Anthropic tool inputs: every string
// in them). It returns the body to send — body itself when nothing changed, else body with
// only the changed strings re-encoded and spliced in — and blocked = true when the
// response must be refused instead.
//
// It walks the body's bytes (jsonspan) instead of decoding it: a reply is mostly fields
// the filter never reads, and decoding them all into maps was half of its cost. A body
// with a repeated key anywhere is unparsable (on_error decides), since clients disagree
// on which copy counts.
func (p *Policy) JSON(kind request.Kind, body []byte, rep *Report) (out []byte, blocked bool, err error) {
	i := jsonspan.SkipWS(body, 0)
	// A repeated key anywhere makes the reply unparsable (#18): parsers disagree on which
	// copy counts, so the filter must not pass one reading for a client that takes another.
	if i >= len(body) || body[i] != '{' || jsonspan.Unique(body) != nil {
		rep.Errors++
		return body, false, ErrUnparsable
	}
	w := &jwalk{p: p, b: body, rep: rep}
	upstreamErr := false
	w.obj(i, func(key string, vs int) bool {
		upstreamErr = key == "error" || key == "type" && string(body[vs:min(vs+7, len(body))]) == `"error"`
		return !upstreamErr
	})
	if upstreamErr {
		return body, false, nil // an upstream error: nothing was generated
	}
	switch kind {
	case request.KindMessages:
		blocked = w.member(i, "content", w.anthropicBlocks)
	case request.KindResponses:
		blocked = w.member(i, "output", w.outputItems)
	default:
		blocked = w.member(i, "choices", w.choices)
	}
	if blocked {
		return nil, true, nil
	}
	return splice(body, w.es), false, nil
}

// jwalk walks a JSON reply's bytes and collects the edits of the strings it filters.
type jwalk struct {
	p   *Policy
	b   []byte
	rep *Report
	es  []edit
}

// obj calls fn for each member of the object at b[i] (nothing if it is not an object)
// until fn returns false, and reports whether fn did.
func (w *jwalk) obj(i int, fn func(key string, vs int) bool) bool {
	if w.b[i] != '{' {
		return false
	}
	stopped := false
	_, _ = jsonspan.EachMember(w.b, i, func(m jsonspan.Member) bool {
		stopped = !fn(m.Key, m.ValStart)
		return !stopped
	})
	return stopped
}

// arr calls fn for each element of the array at b[i] until fn returns true (blocked).
func (w *jwalk) arr(i int, fn func(vs int) bool) bool {
	if w.b[i] != '[' {
		return false
	}
	blocked := false
	_, _ = jsonspan.EachElement(w.b, i, func(e jsonspan.Span) bool {
		blocked = fn(e.Start)
		return !blocked
	})
	return blocked
}

// member applies fn to the value of every member named key of the object at b[i].
func (w *jwalk) member(i int, key string, fn func(vs int) bool) bool {
	return w.obj(i, func(k string, vs int) bool { return k != key || !fn(vs) })
}

// members applies fn to the values of the object's members whose keys fn accepts:
// fn(key, vs) returns blocked.
func (w *jwalk) members(i int, fn func(key string, vs int) bool) bool {
	return w.obj(i, func(k string, vs int) bool { return !fn(k, vs) })
}

// str filters the string at b[vs], if it is one; inJSON marks JSON text (tool call
// arguments). A changed string becomes an edit.
func (w *jwalk) str(vs int, inJSON bool) bool {
	if w.b[vs] != '"' {
		return false
	}
	end, err := jsonspan.SkipValue(w.b, vs)
	if err != nil {
		return false
	}
	raw := w.b[vs:end]
	var s string
	if bytes.IndexByte(raw, '\\') < 0 {
		s = string(raw[1 : len(raw)-1])
	} else if json.Unmarshal(raw, &s) != nil {
		return false
	}
	if s == "" {
		return false
	}
	out, blocked := w.p.text(s, inJSON, w.rep)
	if blocked {
		return true
	}
	if out != s {
		w.es = append(w.es, edit{vs, end, appendString(nil, out)})
	}
	return false
}

func (w *jwalk) choices(vs int) bool {
	return w.arr(vs, func(c int) bool {
		return w.members(c, func(k string, v int) bool {
			switch k {
			case "text":
				return w.str(v, false)
			case "message":
				return w.message(v)
			}
			return false
		})
	})
}

// message filters an OpenAI chat message: its text fields (chatTextFields), content
// parts, tool call and function call arguments.
func (w *jwalk) message(vs int) bool {
	return w.members(vs, func(k string, v int) bool {
		switch {
		case k == "content" && w.b[v] == '[':
			return w.parts(v)
		case slices.Contains(chatTextFields, k):
			return w.str(v, false)
		case k == "tool_calls":
			return w.arr(v, func(tc int) bool { return w.member(tc, "function", w.arguments) })
		case k == "function_call":
			return w.arguments(v)
		}
		return false
	})
}

func (w *jwalk) arguments(fn int) bool {
	return w.member(fn, "arguments", func(v int) bool { return w.str(v, true) })
}

// parts filters content parts ({"type":"text"|"output_text","text":…}, refusals).
func (w *jwalk) parts(vs int) bool {
	return w.arr(vs, func(pt int) bool {
		return w.members(pt, func(k string, v int) bool {
			return (k == "text" || k == "refusal") && w.str(v, false)
		})
	})
}

// outputItems filters Responses API output items: messages, function calls, reasoning.
func (w *jwalk) outputItems(vs int) bool {
	return w.arr(vs, func(it int) bool {
		return w.members(it, func(k string, v int) bool {
			switch k {
			case "arguments":
				return w.str(v, true)
			case "input":
				return w.str(v, false)
			case "content", "summary":
				return w.parts(v)
			}
			return false
		})
	})
}

// anthropicBlocks filters Anthropic content blocks: text, thinking and every string of a
// tool_use input.
func (w *jwalk) anthropicBlocks(vs int) bool {
	return w.arr(vs, func(bl int) bool {
		return w.members(bl, func(k string, v int) bool {
			switch k {
			case "text", "thinking":
				return w.str(v, false)
			case "input":
				return w.value(v)
			}
			return false
		})
	})
}

// value filters every string inside the JSON value at b[vs].
func (w *jwalk) value(vs int) bool {
	switch w.b[vs] {
	case '"':
		return w.str(vs, false)
	case '{':
		return w.members(vs, func(_ string, v int) bool { return w.value(v) })
	case '[':
		return w.arr(vs, w.value)
	}
	return false
}
