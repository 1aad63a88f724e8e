package eval

import (
	"encoding/json"
	"errors"
)

type input struct {
	id    any
	texts []string
	roles []string // set for request bodies
}

// parseInput accepts {"id","text"} lines and request bodies. This is a deliberately small
// reading of the OpenAI/Anthropic shapes (string content and text parts); the gateway's
// request model is the full one.
func parseInput(line []byte, scanSystem bool) (input, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		return input{}, errors.New("line is not a JSON object")
	}
	var in input
	if id, ok := raw["id"]; ok {
		_ = json.Unmarshal(id, &in.id)
	}
	if t, ok := raw["text"]; ok {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return in, errors.New(`"text" must be a string`)
		}
		in.texts = []string{s}
		return in, nil
	}
	add := func(role string, content json.RawMessage) {
		for _, s := range contentStrings(content) {
			in.texts = append(in.texts, s)
			in.roles = append(in.roles, role)
		}
	}
	if sys, ok := raw["system"]; ok && scanSystem { // Anthropic top-level system
		add("system", sys)
	}
	if m, ok := raw["messages"]; ok {
		var msgs []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		if err := json.Unmarshal(m, &msgs); err != nil {
			return in, errors.New(`"messages" must be an array of objects`)
		}
		for _, msg := range msgs {
			if (msg.Role == "system" || msg.Role == "developer") && !scanSystem {
				continue
			}
			// Anthropic sends tool results as blocks of a user message; they are the
			// tool's output (role "tool" here), as the gateway reads them.
			var parts []struct {
				Type    string          `json:"type"`
				Content json.RawMessage `json:"content"`
			}
			if json.Unmarshal(msg.Content, &parts) == nil && len(parts) > 0 {
				var raws []json.RawMessage
				_ = json.Unmarshal(msg.Content, &raws)
				for i, p := range parts {
					if p.Type == "tool_result" {
						add("tool", p.Content)
					} else {
						add(msg.Role, json.RawMessage("["+string(raws[i])+"]"))
					}
				}
				continue
			}
			add(msg.Role, msg.Content)
		}
	}
	for _, k := range []string{"prompt", "input"} {
		if v, ok := raw[k]; ok {
			add("user", v)
		}
	}
	if in.texts == nil {
		return in, errors.New(`no "text", "messages", "prompt" or "input" to scan`)
	}
	return in, nil
}

// contentStrings extracts text from a string, an array of strings, or an array of parts
// with "text" (or "content") fields.
func contentStrings(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var parts []json.RawMessage
	if json.Unmarshal(raw, &parts) != nil {
		return nil
	}
	var out []string
	for _, p := range parts {
		if json.Unmarshal(p, &s) == nil {
			out = append(out, s)
			continue
		}
		var obj struct {
			Text    *string         `json:"text"`
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(p, &obj) != nil {
			continue
		}
		if obj.Text != nil {
			out = append(out, *obj.Text)
		}
		if len(obj.Content) > 0 {
			out = append(out, contentStrings(obj.Content)...)
		}
	}
	return out
}
