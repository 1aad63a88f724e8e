package usage

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

// DefaultTextCap is the default bound on the generated text a Tap keeps for counting.
// Normal answers stay far below it, so counting is exact for them; past it the Tap
// counts or estimates chunk by chunk instead of holding more memory per stream.
const DefaultTextCap = 8 << 20

// maxSlots bounds the number of separate text buffers (one per choice, tool call or
// content block), so that a stream with absurd indexes cannot allocate without end.
const maxSlots = 256

// StreamError is an error reported inside a stream that started successfully (HTTP 200):
// OpenAI-compatible `data: {"error":{...}}`, Anthropic `event: error`, Responses API
// `error` and `response.failed` events.
type StreamError struct {
	Type    string // e.g. "overloaded_error", "invalid_request_error"; may be empty
	Code    string // e.g. "tool_use_failed", "insufficient_quota"; may be empty
	Message string
}

func (e *StreamError) Error() string {
	s := "upstream stream error"
	for _, part := range []string{e.Type, e.Code, e.Message} {
		if part != "" {
			s += ": " + part
		}
	}
	return s
}

// Tap follows one streamed response and works out its usage. Feed it every event of the
// upstream stream with Observe (Empty events are ignored), then call Finish. A Tap is
// not safe for concurrent use; it never changes the events it sees.
type Tap struct {
	// TextCap bounds the bytes of generated text kept for counting; zero or negative
	// means DefaultTextCap.
	TextCap int

	kind      request.Kind
	usage     Usage // the upstream's usage so far
	haveUsage bool  // usage has at least one upstream number
	haveInput bool  // usage.InputTokens (and the cache fields) came from the upstream
	final     bool  // usage.OutputTokens is the upstream's final count
	anth      wireUsage
	err       *StreamError
	done      bool

	slots      []slot
	textBytes  int
	counter    func(string) int
	overTokens int64 // tokens of text past the cap, counted with counter
	overBytes  int64 // bytes of text past the cap when there was no counter
}

type slot struct {
	key  int
	text []byte
}

// NewTap returns a Tap for a stream of the given endpoint kind. Kinds other than
// KindResponses and KindMessages are read as OpenAI chat/completions streams.
func NewTap(kind request.Kind) *Tap { return &Tap{kind: kind} }

// SetCounter sets the token counter used for text beyond TextCap, chunk by chunk. Without
// it such text is estimated at the token/byte ratio of the text below the cap.
func (t *Tap) SetCounter(count func(string) int) { t.counter = count }

// Usage returns the usage the upstream reported so far; ok is false when it reported
// none. For Anthropic streams this is partial until message_delta arrives.
func (t *Tap) Usage() (Usage, bool) { return t.usage, t.haveUsage }

// Err returns the first error event seen in the stream, or nil.
func (t *Tap) Err() *StreamError { return t.err }

// Done reports whether the stream's terminal event was seen: "[DONE]" (OpenAI chat and
// completions), message_stop (Anthropic), or response.completed, response.incomplete or
// response.failed (Responses API; check Err for the failed case). A stream that ends
// without it was cut short.
func (t *Tap) Done() bool { return t.done }

// Finish returns the usage to settle. When the upstream reported complete usage, that is
// returned with reported = true. Otherwise reported is false and the usage is assembled
// from what is known: the input side (InputTokens and the cache fields) from the upstream
// when it sent it (Anthropic message_start), else promptTokens, the caller's own count of
// the prompt; OutputTokens from the upstream's final count when it sent one, else from
// counting the generated text with count (never less than an interim upstream figure,
// such as message_start's output_tokens). A nil count estimates four bytes per token.
// Finish does not change the Tap.
func (t *Tap) Finish(promptTokens int64, count func(string) int) (u Usage, reported bool) {
	if t.haveUsage && t.final && t.haveInput {
		return t.usage, true
	}
	if t.haveInput {
		u.InputTokens, u.CachedInputTokens, u.CacheWriteTokens = t.usage.InputTokens, t.usage.CachedInputTokens, t.usage.CacheWriteTokens
	} else {
		u.InputTokens = clamp(float64(promptTokens))
	}
	if t.final {
		u.OutputTokens, u.ReasoningTokens = t.usage.OutputTokens, t.usage.ReasoningTokens
		return u, false
	}
	u.OutputTokens = max(t.countText(count), t.usage.OutputTokens)
	return u, false
}

// countText counts the collected text, plus what was counted or estimated past the cap.
func (t *Tap) countText(count func(string) int) int64 {
	if count == nil {
		count = func(s string) int { return (len(s) + 3) / 4 }
	}
	var out, keptBytes int64
	for _, s := range t.slots {
		out += clamp(float64(count(string(s.text))))
		keptBytes += int64(len(s.text))
	}
	out += t.overTokens
	if t.overBytes > 0 {
		if keptBytes > 0 {
			out += clamp(float64(out) / float64(keptBytes) * float64(t.overBytes))
		} else {
			out += (t.overBytes + 3) / 4
		}
	}
	return min(out, MaxTokens)
}

// Observe reads one parsed event of the upstream stream. Events that are not JSON or not
// understood are ignored.
func (t *Tap) Observe(ev *sse.Event) {
	if ev == nil || ev.Empty {
		return
	}
	if sse.IsDone(ev) {
		t.done = true
		return
	}
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 || data[0] != '{' {
		if ev.Name == "error" {
			t.setErr(&StreamError{Message: truncate(string(data))})
		}
		return
	}
	switch t.kind {
	case request.KindMessages:
		t.observeAnthropic(ev.Name, data)
	case request.KindResponses:
		t.observeResponses(ev.Name, data)
	default:
		t.observeChat(data)
	}
	if ev.Name == "error" && t.err == nil {
		t.setErr(&StreamError{Message: truncate(string(data))})
	}
}

func (t *Tap) observeChat(data []byte) {
	var c struct {
		Choices []struct {
			Index int          `json:"index"`
			Text  string       `json:"text"` // legacy completions
			Delta *chatMessage `json:"delta"`
		} `json:"choices"`
		Usage *wireUsage `json:"usage"`
		Error *wireError `json:"error"`
	}
	if !decode(data, &c) {
		return
	}
	t.setErr(c.Error.streamError())
	for _, ch := range c.Choices {
		// One slot per choice and per tool call: with n > 1 the choices' deltas are
		// interleaved, and each choice is tokenised on its own.
		key := ch.Index << 10
		t.addText(key, ch.Text)
		if d := ch.Delta; d != nil {
			t.addText(key, d.ReasoningContent)
			t.addText(key, d.Reasoning)
			t.addText(key, d.Content.text())
			t.addText(key, d.Refusal)
			for _, tc := range d.ToolCalls {
				t.addText(key+1+(tc.Index&511), tc.Function.Arguments)
			}
			if d.FunctionCall != nil {
				t.addText(key+1, d.FunctionCall.Arguments)
			}
		}
	}
	if u, ok := c.Usage.normalize(t.kind); ok {
		t.usage, t.haveUsage, t.haveInput, t.final = u, true, true, true
	}
}

func (t *Tap) observeAnthropic(name string, data []byte) {
	var a struct {
		Type    string `json:"type"`
		Index   int    `json:"index"`
		Message *struct {
			Usage *wireUsage `json:"usage"`
		} `json:"message"`
		Usage *wireUsage `json:"usage"`
		Delta *struct {
			Text        string `json:"text"`
			PartialJSON string `json:"partial_json"`
			Thinking    string `json:"thinking"`
		} `json:"delta"`
		ContentBlock *struct {
			Text     string `json:"text"`
			Thinking string `json:"thinking"`
		} `json:"content_block"`
		Error *wireError `json:"error"`
	}
	if !decode(data, &a) {
		return
	}
	typ := a.Type
	if typ == "" {
		typ = name
	}
	switch typ {
	case "message_start":
		if a.Message != nil {
			t.mergeAnthropic(a.Message.Usage, false)
		}
	case "message_delta":
		t.mergeAnthropic(a.Usage, true)
	case "content_block_start":
		if b := a.ContentBlock; b != nil {
			t.addText(a.Index, b.Thinking)
			t.addText(a.Index, b.Text)
		}
	case "content_block_delta":
		if d := a.Delta; d != nil {
			t.addText(a.Index, d.Thinking)
			t.addText(a.Index, d.Text)
			t.addText(a.Index, d.PartialJSON)
		}
	case "message_stop":
		t.done = true
	case "error":
		if t.setErr(a.Error.streamError()); t.err == nil {
			t.setErr(&StreamError{Type: "error"})
		}
	}
}

// mergeAnthropic folds an Anthropic usage object into the running usage. message_start
// carries the input side and a provisional output count; message_delta carries the
// cumulative (final) output count and sometimes the input side again. Fields absent from
// an object keep their earlier values.
func (t *Tap) mergeAnthropic(w *wireUsage, final bool) {
	if w == nil {
		return
	}
	for _, f := range []struct{ dst, src *count }{
		{&t.anth.InputTokens, &w.InputTokens},
		{&t.anth.CacheReadInputTokens, &w.CacheReadInputTokens},
		{&t.anth.CacheCreationInputTokens, &w.CacheCreationInputTokens},
		{&t.anth.OutputTokens, &w.OutputTokens},
	} {
		if f.src.set {
			*f.dst = *f.src
		}
	}
	u, ok := t.anth.normalize(request.KindMessages)
	if !ok {
		return
	}
	t.usage, t.haveUsage = u, true
	if t.anth.InputTokens.set || t.anth.CacheReadInputTokens.set || t.anth.CacheCreationInputTokens.set {
		t.haveInput = true
	}
	if final && w.OutputTokens.set {
		t.final = true
	}
}

func (t *Tap) observeResponses(name string, data []byte) {
	var r struct {
		Type        string `json:"type"`
		Delta       string `json:"delta"`
		OutputIndex int    `json:"output_index"`
		Response    *struct {
			Usage *wireUsage `json:"usage"`
			Error *wireError `json:"error"`
		} `json:"response"`
		Error   *wireError `json:"error"`
		Code    flexString `json:"code"`
		Message flexString `json:"message"`
	}
	if !decode(data, &r) {
		return
	}
	typ := r.Type
	if typ == "" {
		typ = name
	}
	switch {
	case strings.HasSuffix(typ, ".delta"):
		// Text deltas of every output kind: output_text, refusal, reasoning (summary)
		// text, function/custom tool-call arguments, audio transcripts. Audio deltas
		// are base64 sound, not text.
		if !strings.HasSuffix(typ, "audio.delta") {
			t.addText(r.OutputIndex, r.Delta)
		}
	case typ == "error":
		if t.setErr(r.Error.streamError()); t.err == nil {
			t.setErr(&StreamError{Code: string(r.Code), Message: string(r.Message)})
		}
	case typ == "response.completed" || typ == "response.incomplete" || typ == "response.failed":
		t.done = true
		if typ == "response.failed" && t.err == nil {
			if r.Response != nil {
				t.setErr(r.Response.Error.streamError())
			}
			if t.err == nil {
				t.setErr(&StreamError{Type: "response.failed"})
			}
		}
	}
	if r.Response != nil {
		if u, ok := r.Response.Usage.normalize(t.kind); ok {
			t.usage, t.haveUsage, t.haveInput, t.final = u, true, true, true
		}
	}
}

// setErr keeps the first error: later ones (response.failed after error) say less.
func (t *Tap) setErr(e *StreamError) {
	if t.err == nil && e != nil {
		t.err = e
	}
}

// addText keeps generated text for counting in the slot of its choice, tool call or
// content block.
func (t *Tap) addText(key int, s string) {
	if s == "" {
		return
	}
	limit := t.TextCap
	if limit <= 0 {
		limit = DefaultTextCap
	}
	if t.textBytes+len(s) > limit {
		if t.counter != nil {
			t.overTokens = min(t.overTokens+clamp(float64(t.counter(s))), MaxTokens)
		} else {
			t.overBytes += int64(len(s))
		}
		return
	}
	t.textBytes += len(s)
	for i := len(t.slots) - 1; i >= 0; i-- {
		if t.slots[i].key == key {
			t.slots[i].text = append(t.slots[i].text, s...)
			return
		}
	}
	if len(t.slots) == maxSlots {
		last := &t.slots[len(t.slots)-1]
		last.text = append(last.text, s...)
		return
	}
	t.slots = append(t.slots, slot{key: key, text: []byte(s)})
}

// wireError is an error object inside a stream. Some servers send a bare string
// ("error": "...") instead of an object; that becomes the message.
type wireError struct {
	Type    flexString `json:"type"`
	Code    flexString `json:"code"`
	Message flexString `json:"message"`
	set     bool
}

func (w *wireError) UnmarshalJSON(b []byte) error {
	*w = wireError{}
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		_ = json.Unmarshal(b, &s)
		w.Message, w.set = flexString(s), true
	case len(b) > 0 && b[0] == '{':
		type plain wireError
		var p plain
		_ = json.Unmarshal(b, &p)
		*w = wireError(p)
		w.set = true
	}
	return nil
}

func (w *wireError) streamError() *StreamError {
	if w == nil || !w.set {
		return nil
	}
	return &StreamError{Type: string(w.Type), Code: string(w.Code), Message: truncate(string(w.Message))}
}

// flexString is a string field that also accepts numbers and booleans (some servers send
// numeric error codes) and never fails to decode.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*f = flexString(s)
	} else if len(b) > 0 && b[0] != '{' && b[0] != '[' && string(b) != "null" {
		*f = flexString(b)
	} else {
		*f = ""
	}
	return nil
}

// truncate bounds error messages kept from the stream, which end up in logs.
func truncate(s string) string {
	const n = 1024
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
