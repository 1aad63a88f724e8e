package filter

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/defaults"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

// testPolicy redacts every default PII and secret finding (no blocks), so the whole
// output text can be compared.
func testPolicy(t testing.TB) *Policy {
	set, err := defaults.New(defaults.Config{DisableInjection: true})
	if err != nil {
		t.Fatal(err)
	}
	return &Policy{Set: set}
}

// blockPolicy uses the default actions: secrets block, PII is redacted.
func blockPolicy(t testing.TB) *Policy {
	p, err := defaults.Config{DisableInjection: true}.Policy()
	if err != nil {
		t.Fatal(err)
	}
	return &Policy{Set: p.Set, Action: p.Action}
}

// split cuts s into rune-aligned chunks of 1..maxLen bytes.
func split(r *rand.Rand, s string, maxLen int) []string {
	var out []string
	for len(s) > 0 {
		n := 1 + r.IntN(maxLen)
		if n > len(s) {
			n = len(s)
		}
		for n < len(s) && !isRuneStart(s[n]) {
			n++
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func chatEvent(delta map[string]any, finish any) string {
	b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": "m",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
	return "data: " + string(b) + "\n\n"
}

// chatStream renders content chunks as an OpenAI chat stream.
func chatStream(chunks []string) string {
	var b strings.Builder
	b.WriteString(chatEvent(map[string]any{"role": "assistant", "content": ""}, nil))
	for _, c := range chunks {
		b.WriteString(chatEvent(map[string]any{"content": c}, nil))
	}
	b.WriteString(chatEvent(map[string]any{}, "stop"))
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

// anthropicStream renders text chunks (block 0) and tool-input chunks (block 1).
func anthropicStream(text, args []string) string {
	var b strings.Builder
	ev := func(name string, v any) {
		d, _ := json.Marshal(v)
		fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", name, d)
	}
	ev("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": "m1", "type": "message", "role": "assistant", "content": []any{}, "model": "claude", "usage": map[string]any{"input_tokens": 1, "output_tokens": 1}}})
	ev("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	for _, c := range text {
		ev("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": c}})
	}
	ev("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	if args != nil {
		ev("content_block_start", map[string]any{"type": "content_block_start", "index": 1, "content_block": map[string]any{"type": "tool_use", "id": "t1", "name": "f", "input": map[string]any{}}})
		for _, c := range args {
			ev("content_block_delta", map[string]any{"type": "content_block_delta", "index": 1, "delta": map[string]any{"type": "input_json_delta", "partial_json": c}})
		}
		ev("content_block_stop", map[string]any{"type": "content_block_stop", "index": 1})
	}
	ev("message_stop", map[string]any{"type": "message_stop"})
	return b.String()
}

// run feeds raw through a parser in byte chunks of 1..maxChunk and the stream filter.
func run(t testing.TB, s *Stream, raw string, r *rand.Rand, maxChunk int) (out string, ended bool) {
	var p sse.Parser
	var b strings.Builder
	emit := func(ev *sse.Event) error {
		o, end := s.Event(ev, ev.Raw)
		b.Write(o)
		if end {
			ended = true
			return sse.ErrEventTooLarge // any error stops the parser
		}
		return nil
	}
	for _, c := range split(r, raw, maxChunk) {
		if err := p.Feed([]byte(c), emit); err != nil {
			if ended {
				return b.String(), true
			}
			t.Fatal(err)
		}
	}
	_ = p.Flush(emit)
	b.Write(s.Close())
	return b.String(), ended
}

// collected is what an SDK would assemble from a filtered stream.
type collected struct {
	text, args string
	errors     int
	events     int
}

// collect parses a filtered stream strictly: every event must be valid JSON (or [DONE]).
func collect(t testing.TB, kind request.Kind, raw string) collected {
	t.Helper()
	var c collected
	var p sse.Parser
	err := p.Feed([]byte(raw), func(ev *sse.Event) error {
		c.events++
		if sse.IsDone(ev) {
			return nil
		}
		var m struct {
			Type    string `json:"type"`
			Error   any    `json:"error"`
			Delta   json.RawMessage
			Choices []struct {
				Delta struct {
					Content   string `json:"content"`
					ToolCalls []struct {
						Function struct{ Arguments string } `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			return fmt.Errorf("event %q: %v", ev.Data, err)
		}
		if m.Error != nil || ev.Name == "error" {
			c.errors++
			return nil
		}
		for _, ch := range m.Choices {
			c.text += ch.Delta.Content
			for _, tc := range ch.Delta.ToolCalls {
				c.args += tc.Function.Arguments
			}
		}
		switch m.Type {
		case "content_block_delta":
			var d struct {
				Text        string `json:"text"`
				PartialJSON string `json:"partial_json"`
			}
			_ = json.Unmarshal(m.Delta, &d)
			c.text += d.Text
			c.args += d.PartialJSON
		case "response.output_text.delta":
			var s string
			_ = json.Unmarshal(m.Delta, &s)
			c.text += s
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Pending() != nil && len(p.Pending()) > 0 {
		t.Fatalf("filtered stream ends with an unfinished event: %q", p.Pending())
	}
	return c
}
