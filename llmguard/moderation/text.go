package moderation

import (
	"encoding/json"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// EventText returns the generated text an SSE event's data carries: chat and completions
// deltas (content, refusal, tool call arguments), Anthropic content_block_delta (text,
// thinking, partial_json) and the Responses API's *.delta events. Other events yield "".
func EventText(kind request.Kind, data []byte) string {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	var b strings.Builder
	add := func(v any) {
		if s, ok := v.(string); ok {
			b.WriteString(s)
		}
	}
	switch kind {
	case request.KindMessages:
		if d, ok := m["delta"].(map[string]any); ok && m["type"] == "content_block_delta" {
			add(d["text"])
			add(d["thinking"])
			add(d["partial_json"])
		}
	case request.KindResponses:
		if t, _ := m["type"].(string); strings.HasSuffix(t, ".delta") {
			add(m["delta"])
		}
	default:
		cs, _ := m["choices"].([]any)
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			if cm == nil {
				continue
			}
			add(cm["text"])
			d, _ := cm["delta"].(map[string]any)
			if d == nil {
				continue
			}
			add(d["content"])
			add(d["refusal"])
			calls, _ := d["tool_calls"].([]any)
			for _, tc := range calls {
				if tm, ok := tc.(map[string]any); ok {
					if fn, ok := tm["function"].(map[string]any); ok {
						add(fn["arguments"])
					}
				}
			}
		}
	}
	return b.String()
}
