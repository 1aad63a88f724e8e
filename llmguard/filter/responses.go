package filter

import "encoding/json"

// responsesDeltas maps a Responses API delta event type to the lane field it feeds.
var responsesDeltas = map[string]string{
	"response.output_text.delta":             "text",
	"response.refusal.delta":                 "refusal",
	"response.function_call_arguments.delta": "args",
	"response.reasoning_text.delta":          "reasoning",
	"response.reasoning_summary_text.delta":  "summary",
}

// responsesDones maps the event that completes a lane to the field holding its full text.
var responsesDones = map[string]struct{ lane, field string }{
	"response.output_text.done":             {"text", "text"},
	"response.refusal.done":                 {"refusal", "refusal"},
	"response.function_call_arguments.done": {"args", "arguments"},
	"response.reasoning_text.done":          {"reasoning", "text"},
	"response.reasoning_summary_text.done":  {"summary", "text"},
}

// responsesLane returns the lane of a Responses event feeding field f: output item and
// content part, or summary part for reasoning summaries.
func responsesLane(m map[string]any, f string) laneKey {
	if f == "summary" {
		return laneKey{intOf(m["output_index"]), intOf(m["summary_index"]), f}
	}
	return laneKey{intOf(m["output_index"]), intOf(m["content_index"]), f}
}

// responses filters an OpenAI Responses API event. Deltas go through their lane; a
// ".done" event first releases the lane's held text, and its full-text copy (and that of
// the item, part and response snapshots) is filtered as a whole, which yields the same
// text the deltas added up to.
func (s *Stream) responses(m map[string]any) (pre []byte, changed, blocked bool) {
	typ, _ := m["type"].(string)
	if f, ok := responsesDeltas[typ]; ok {
		text, isStr := m["delta"].(string)
		if !isStr {
			return nil, false, false
		}
		out, bl := s.write(responsesLane(m, f), text, m)
		m["delta"] = out
		return nil, out != text, bl
	}
	if d, ok := responsesDones[typ]; ok {
		k := responsesLane(m, d.lane)
		keys, texts, bl := s.flush(func(x laneKey) bool { return x == k })
		if bl {
			return nil, false, true
		}
		for i, k := range keys {
			pre = s.synthDelta(pre, k, texts[i])
		}
		if text, ok := m[d.field].(string); ok {
			out, bl := s.wholeText(text, d.field == "arguments")
			m[d.field] = out
			return pre, out != text, bl
		}
		return pre, false, false
	}
	var scratch Report
	for _, f := range []string{"part", "item", "response"} {
		if v, ok := m[f].(map[string]any); ok {
			var bl bool
			switch f {
			case "part":
				bl = s.p.walkParts([]any{v}, &scratch)
			case "item":
				bl = s.p.walkOutput([]any{v}, &scratch)
			default:
				out, _ := v["output"].([]any)
				bl = s.p.walkOutput(out, &scratch)
			}
			if bl {
				s.Report.Blocked = scratch.Blocked
				return nil, false, true
			}
			changed = changed || scratch.edits > 0
		}
	}
	return nil, changed, false
}

// wholeText filters a snapshot of text the stream already filtered in its deltas: it is
// not counted again, but a block still blocks.
func (s *Stream) wholeText(text string, inJSON bool) (string, bool) {
	var scratch Report
	out, bl := s.p.text(text, inJSON, &scratch)
	if bl {
		s.Report.Blocked = scratch.Blocked
	}
	return out, bl
}

// Responses events carry a sequence_number that clients may use to order and deduplicate
// them. Events the filter synthesizes to release held text are numbered in sequence, and
// every later upstream event is shifted by the number of events inserted before it.

// beginSeq notes the sequence number the current upstream event will have.
func (s *Stream) beginSeq(m map[string]any) {
	if n, ok := m["sequence_number"].(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			s.nextSeq = i + s.seqShift
		}
	}
}

// synthSeq numbers a synthesized event.
func (s *Stream) synthSeq(m map[string]any) {
	if _, ok := m["sequence_number"]; ok {
		m["sequence_number"] = s.nextSeq
		s.nextSeq++
		s.seqShift++
	}
}

// endSeq renumbers the current upstream event after the events inserted so far, and
// reports whether it changed.
func (s *Stream) endSeq(m map[string]any) bool {
	n, ok := m["sequence_number"].(json.Number)
	if !ok {
		return false
	}
	i, err := n.Int64()
	if err != nil {
		return false
	}
	s.nextSeq = i + s.seqShift + 1
	if s.seqShift == 0 {
		return false
	}
	m["sequence_number"] = i + s.seqShift
	return true
}

// The Responses API's done events (response.content_part.done, output_item.done,
// response.completed) repeat a whole part, item or response as decoded maps: walkParts,
// walkOutput and str filter them in place, for the stream's re-encoding. A complete JSON
// reply is filtered on its bytes instead (jwalk in json.go, same fields).

// str filters the string at m[key], if there is one; inJSON marks JSON text (tool call
// arguments).
func (p *Policy) str(m map[string]any, key string, inJSON bool, rep *Report) bool {
	s, ok := m[key].(string)
	if !ok || s == "" {
		return false
	}
	out, bl := p.text(s, inJSON, rep)
	if out != s {
		m[key] = out
		rep.edits++ // an unchanged done event is forwarded as the upstream's bytes
	}
	return bl
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
