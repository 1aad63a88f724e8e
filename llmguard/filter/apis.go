package filter

import (
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

// chatTextFields are the text fields of an OpenAI chat delta, in the order they are
// released when a choice ends.
var chatTextFields = []string{"reasoning_content", "reasoning", "content", "refusal"}

// hold adds text to a lane without releasing any: used for the last chunk of a choice,
// whose text is released together with the held rest in one synthesized chunk.
func (s *Stream) hold(k laneKey, text string) {
	if _, ok := s.lanes[k]; !ok {
		s.lanes[k] = newLane(k)
		s.order = append(s.order, k)
	}
	s.lanes[k].buf += text
}

// chatChunk filters an OpenAI chat or completions chunk. A chunk with a finish_reason
// ends its choice: everything held for it is released in a chunk synthesized just before.
func (s *Stream) chatChunk(m map[string]any) (pre []byte, changed, blocked bool) {
	s.keepChat(m)
	choices, _ := m["choices"].([]any)
	for _, c := range choices {
		cm, ok := c.(map[string]any)
		if !ok {
			continue
		}
		idx := intOf(cm["index"])
		finishing := cm["finish_reason"] != nil
		feed := func(k laneKey, text string) string {
			if finishing {
				s.hold(k, text)
				changed = changed || text != ""
				return ""
			}
			out, bl := s.write(k, text, nil)
			blocked = blocked || bl
			// An event whose text goes out as it came (nothing held, nothing redacted)
			// is forwarded as the upstream's bytes.
			changed = changed || out != text
			return out
		}
		if text, ok := cm["text"].(string); ok && s.kind == request.KindCompletions {
			cm["text"] = feed(laneKey{idx, 0, "text"}, text)
		}
		if delta, ok := cm["delta"].(map[string]any); ok {
			for _, f := range chatTextFields {
				if text, ok := delta[f].(string); ok {
					delta[f] = feed(laneKey{idx, 0, f}, text)
				}
			}
			calls, _ := delta["tool_calls"].([]any)
			for _, tc := range calls {
				tm, _ := tc.(map[string]any)
				fn, _ := tm["function"].(map[string]any)
				if args, ok := fn["arguments"].(string); ok {
					fn["arguments"] = feed(laneKey{idx, intOf(tm["index"]), "args"}, args)
				}
			}
			if fn, ok := delta["function_call"].(map[string]any); ok {
				if args, ok := fn["arguments"].(string); ok {
					fn["arguments"] = feed(laneKey{idx, -1, "args"}, args)
				}
			}
		}
		if blocked {
			return nil, false, true
		}
		if finishing {
			b, bl := s.flushChoice(idx)
			if bl {
				return nil, false, true
			}
			pre = append(pre, b...)
		}
	}
	return pre, changed, false
}

// keepChat keeps what flushChoice copies from the last chunk: its top-level members but
// choices and usage. Not the whole decoded chunk, which every held stream would carry
// between events.
func (s *Stream) keepChat(m map[string]any) {
	if s.chat == nil {
		s.chat = make(map[string]any, len(m))
	}
	clear(s.chat)
	for k, v := range m {
		if k != "choices" && k != "usage" {
			s.chat[k] = v
		}
	}
}

// flushChoice releases the lanes of one choice in a synthesized chunk that copies the
// stream's id, model and other top-level fields.
func (s *Stream) flushChoice(idx int) ([]byte, bool) {
	keys, texts, blocked := s.flush(func(k laneKey) bool { return k.choice == idx })
	if blocked {
		return nil, true
	}
	if len(keys) == 0 {
		return nil, false
	}
	chunk := make(map[string]any, len(s.chat)+1)
	for k, v := range s.chat {
		chunk[k] = v
	}
	choice := map[string]any{"index": idx, "finish_reason": nil}
	if s.kind == request.KindCompletions {
		choice["text"] = strings.Join(texts, "")
	} else {
		delta := map[string]any{}
		var calls []any
		for i, k := range keys {
			switch {
			case k.field != "args":
				delta[k.field] = texts[i]
			case k.sub < 0:
				delta["function_call"] = map[string]any{"arguments": texts[i]}
			default:
				calls = append(calls, map[string]any{"index": k.sub, "function": map[string]any{"arguments": texts[i]}})
			}
		}
		if calls != nil {
			delta["tool_calls"] = calls
		}
		choice["delta"] = delta
	}
	chunk["choices"] = []any{choice}
	return sse.AppendEvent(nil, sse.NewEvent("", encode(chunk))), false
}

// anthropicFields maps an Anthropic delta type to its text field.
var anthropicFields = map[string]string{"text_delta": "text", "input_json_delta": "partial_json", "thinking_delta": "thinking"}

// anthropic filters an Anthropic Messages event: content_block_delta text, tool input
// JSON and thinking; content_block_stop releases the block's held text first.
func (s *Stream) anthropic(m map[string]any) (pre []byte, changed, blocked bool) {
	switch m["type"] {
	case "content_block_delta":
		d, _ := m["delta"].(map[string]any)
		dt, _ := d["type"].(string)
		f, ok := anthropicFields[dt]
		text, isStr := d[f].(string)
		if !ok || !isStr {
			return nil, false, false
		}
		out, bl := s.write(laneKey{intOf(m["index"]), 0, f}, text, m)
		d[f] = out
		return nil, out != text, bl
	case "content_block_stop":
		idx := intOf(m["index"])
		keys, texts, bl := s.flush(func(k laneKey) bool { return k.choice == idx })
		for i, k := range keys {
			pre = s.synthDelta(pre, k, texts[i])
		}
		return pre, false, bl
	case "message_stop":
		pre, bl := s.flushAll()
		return pre, false, bl
	}
	return nil, false, false
}

// synthDelta appends an event that carries released text for lane k, shaped like the
// lane's last delta event.
func (s *Stream) synthDelta(dst []byte, k laneKey, text string) []byte {
	t := s.tmpl[k]
	if t == nil {
		return dst
	}
	m := clone(t)
	name, _ := m["type"].(string)
	if s.kind == request.KindMessages {
		d, _ := m["delta"].(map[string]any)
		d = clone(d)
		d[k.field] = text
		m["delta"] = d
	} else {
		m["delta"] = text
		s.synthSeq(m)
	}
	return sse.AppendEvent(dst, sse.NewEvent(name, encode(m)))
}
