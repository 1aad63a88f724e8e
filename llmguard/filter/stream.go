package filter

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

// laneKey names one text lane: a choice's (or an Anthropic content block's, or a
// Responses output item's) field, and for tool calls the call's index.
type laneKey struct {
	choice, sub int
	field       string
}

// newLane starts the lane for k. Tool call arguments (OpenAI "args", Anthropic
// "partial_json") are JSON text.
func newLane(k laneKey) *lane {
	return &lane{json: k.field == "args" || k.field == "partial_json"}
}

// Stream filters one streamed response event by event. It is not safe for concurrent
// use; one Stream serves one response.
type Stream struct {
	p    *Policy
	kind request.Kind
	// BlockOnError ends the stream with an error event when an event cannot be parsed;
	// otherwise such an event passes through unmodified and is counted in Report.Errors.
	BlockOnError bool
	// Report collects what the stream filter found.
	Report Report

	lanes   map[laneKey]*lane
	order   []laneKey
	tmpl    map[laneKey]map[string]any // last event of each lane, to synthesize flush events
	chat    map[string]any             // last chat chunk, for synthesized chunks
	ended   bool
	maxHeld int
	// Responses API sequence numbering (see beginSeq).
	nextSeq, seqShift int64
}

// NewStream returns a stream filter for a response of the given API kind.
func NewStream(p *Policy, kind request.Kind) *Stream {
	return &Stream{p: p, kind: kind, lanes: map[laneKey]*lane{}, tmpl: map[laneKey]map[string]any{}}
}

// MaxHeld returns the largest number of text bytes held back at once, over all lanes.
func (s *Stream) MaxHeld() int { return s.maxHeld }

// Blocked reports whether the stream was ended by a block.
func (s *Stream) Blocked() bool { return s.Report.Blocked != "" }

// BlockError is the error that ends a blocked response (stream or JSON). 403 because the
// request itself was allowed but its result is refused by policy; SDKs do not retry it.
func BlockError(typ string) *apierr.Error {
	return &apierr.Error{Status: http.StatusForbidden, Code: "content_policy_violation",
		Message: "The response was blocked by the gateway's content policy: it contains " + typ + "."}
}

// Event filters one event. out holds the bytes currently planned for it (ev.Raw or what
// an earlier hook made of it); Event returns the bytes to forward in its place, possibly
// preceded by synthesized events that release held text, and end = true when the stream
// must end here (a block: the bytes then end with the API's error event).
func (s *Stream) Event(ev *sse.Event, out []byte) ([]byte, bool) {
	if s.ended {
		return nil, true
	}
	if out == nil || ev.Empty {
		return out, false
	}
	data := ev.Data
	if !bytes.Equal(out, ev.Raw) { // an earlier hook rewrote it: filter its version
		data = dataOf(out)
	}
	if sse.IsDone(ev) {
		pre, blocked := s.flushAll()
		if blocked {
			return s.block(), true
		}
		return append(pre, out...), false
	}
	m, ok := decode(data)
	if !ok {
		s.Report.Errors++
		if s.BlockOnError {
			s.ended = true
			e := &apierr.Error{Status: http.StatusBadGateway, Code: "unparsable_response",
				Message: "The gateway could not check the upstream's response and refused to forward it."}
			return e.SSE(s.kind.Anthropic()), true
		}
		return out, false
	}
	var pre []byte
	var changed, blocked bool
	if _, isErr := m["error"]; isErr || m["type"] == "error" {
		// The upstream ends the stream with an error: release what was held first, so
		// the client has all the text it would have had without the filter.
		if s.kind == request.KindResponses {
			s.beginSeq(m)
		}
		pre, blocked = s.flushAll()
		if blocked {
			return s.block(), true
		}
		if s.kind == request.KindResponses && s.endSeq(m) {
			out = reencode(ev, out, data, m)
		}
		return append(pre, out...), false
	}
	switch s.kind {
	case request.KindMessages:
		pre, changed, blocked = s.anthropic(m)
	case request.KindResponses:
		s.beginSeq(m)
		pre, changed, blocked = s.responses(m)
		changed = s.endSeq(m) || changed
	default:
		pre, changed, blocked = s.chatChunk(m)
	}
	if blocked {
		return s.block(), true
	}
	s.trackHeld()
	if changed {
		out = reencode(ev, out, data, m)
	}
	if len(pre) > 0 {
		return append(pre, out...), false
	}
	return out, false
}

// Close releases what is still held when the upstream ends the stream without a final
// event, or returns the error event if that text must block.
func (s *Stream) Close() []byte {
	if s.ended {
		return nil
	}
	pre, blocked := s.flushAll()
	if blocked {
		return s.block()
	}
	return pre
}

func (s *Stream) block() []byte {
	s.ended = true
	return BlockError(s.Report.Blocked).SSE(s.kind.Anthropic())
}

func (s *Stream) trackHeld() {
	n := 0
	for _, l := range s.lanes {
		n += l.held()
	}
	s.maxHeld = max(s.maxHeld, n)
}

// write feeds a delta into its lane and returns the text to release now.
func (s *Stream) write(k laneKey, text string, tmpl map[string]any) (string, bool) {
	l := s.lanes[k]
	if l == nil {
		l = newLane(k)
		s.lanes[k] = l
		s.order = append(s.order, k)
	}
	if tmpl != nil {
		s.tmpl[k] = tmpl
	}
	return l.write(s.p, text, &s.Report)
}

// flush releases the lanes selected by match, in the order they started.
func (s *Stream) flush(match func(laneKey) bool) (keys []laneKey, texts []string, blocked bool) {
	kept := s.order[:0]
	for _, k := range s.order {
		if !match(k) {
			kept = append(kept, k)
			continue
		}
		txt, bl := s.lanes[k].flush(s.p, &s.Report)
		if bl {
			blocked = true
		}
		delete(s.lanes, k)
		if txt != "" {
			keys, texts = append(keys, k), append(texts, txt)
		}
	}
	s.order = kept
	return keys, texts, blocked
}

// flushAll releases every lane as synthesized events of the stream's API.
func (s *Stream) flushAll() ([]byte, bool) {
	switch s.kind {
	case request.KindMessages, request.KindResponses:
		keys, texts, blocked := s.flush(func(laneKey) bool { return true })
		if blocked {
			return nil, true
		}
		var pre []byte
		for i, k := range keys {
			pre = s.synthDelta(pre, k, texts[i])
		}
		return pre, false
	}
	choices := map[int]bool{}
	for _, k := range s.order {
		choices[k.choice] = true
	}
	idx := make([]int, 0, len(choices))
	for c := range choices {
		idx = append(idx, c)
	}
	sort.Ints(idx)
	var pre []byte
	for _, c := range idx {
		b, blocked := s.flushChoice(c)
		if blocked {
			return nil, true
		}
		pre = append(pre, b...)
	}
	return pre, false
}

// reencode returns the bytes to forward for an event planned as out, whose data m is the
// filtered form of: out itself when the filter changed nothing (a lane that released all
// its text), else the event written again with only the changed values re-encoded.
func reencode(ev *sse.Event, out, data []byte, m map[string]any) []byte {
	nd := edited(data, m)
	if len(nd) == len(data) && (len(nd) == 0 || &nd[0] == &data[0]) {
		return out
	}
	c := *ev
	c.Data = nd
	var dst []byte
	if len(out) > 0 && out[0] == '\n' {
		// The LF of a CRLF split across reads belongs to the previous event's end; the
		// parser hands it over as the first byte of this event's Raw.
		dst = append(dst, '\n')
	}
	return sse.AppendEvent(dst, &c)
}

func decode(data []byte) (map[string]any, bool) {
	if jsonspan.Unique(data) != nil {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil || d.More() {
		return nil, false
	}
	return m, true
}

// dataOf returns the data of the first event in raw.
func dataOf(raw []byte) []byte {
	var p sse.Parser
	var data []byte
	_ = p.Feed(raw, func(ev *sse.Event) error {
		if data == nil {
			data = bytes.Clone(ev.Data)
		}
		return nil
	})
	if data == nil {
		_ = p.Flush(func(ev *sse.Event) error { data = bytes.Clone(ev.Data); return nil })
	}
	return data
}

func intOf(v any) int {
	if n, ok := v.(json.Number); ok {
		i, err := n.Int64()
		if err == nil {
			return int(i)
		}
	}
	return 0
}

func clone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
