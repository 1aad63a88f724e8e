package usage

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// OutputText returns the generated text of a complete (non-streamed) response body, for
// counting output tokens when the body carries no usage: message content, refusals,
// reasoning text, tool-call arguments and (Anthropic) tool inputs, in order, separated by
// "\n". It returns "" for embeddings, model lists, error bodies and malformed JSON.
func OutputText(kind request.Kind, body []byte) string {
	_, _, text := Reply(kind, body)
	return text
}

// decodeReply is Reply with encoding/json decoding into structs: the reference the byte
// walk of Reply must agree with (FuzzReply), and what Reply falls back to for the
// bodies whose meaning depends on how encoding/json merges repeated fields.
func decodeReply(kind request.Kind, body []byte) (u Usage, reported bool, text string) {
	var parts []string
	add := func(s string) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	var wu *wireUsage
	switch kind {
	case request.KindChat, request.KindCompletions, request.KindUnknown:
		var w struct {
			Usage   *wireUsage `json:"usage"`
			Choices []struct {
				Text    string       `json:"text"` // legacy completions
				Message *chatMessage `json:"message"`
			} `json:"choices"`
		}
		if !decode(body, &w) {
			return Usage{}, false, ""
		}
		wu = w.Usage
		for _, c := range w.Choices {
			add(c.Text)
			if m := c.Message; m != nil {
				add(m.ReasoningContent)
				add(m.Reasoning)
				add(m.Content.text())
				add(m.Refusal)
				for _, tc := range m.ToolCalls {
					add(tc.Function.Arguments)
				}
				if m.FunctionCall != nil {
					add(m.FunctionCall.Arguments)
				}
			}
		}
	case request.KindResponses:
		var w struct {
			Usage  *wireUsage `json:"usage"`
			Output []struct {
				Type      string `json:"type"`
				Arguments string `json:"arguments"` // function_call
				Input     string `json:"input"`     // custom_tool_call
				Content   []struct {
					Text    string `json:"text"`    // output_text, reasoning_text
					Refusal string `json:"refusal"` // refusal
				} `json:"content"`
				Summary []struct {
					Text string `json:"text"`
				} `json:"summary"` // reasoning
			} `json:"output"`
		}
		if !decode(body, &w) {
			return Usage{}, false, ""
		}
		wu = w.Usage
		for _, it := range w.Output {
			for _, s := range it.Summary {
				add(s.Text)
			}
			for _, c := range it.Content {
				add(c.Text)
				add(c.Refusal)
			}
			add(it.Arguments)
			add(it.Input)
		}
	case request.KindMessages:
		var w struct {
			Usage   *wireUsage `json:"usage"`
			Content []struct {
				Type     string          `json:"type"`
				Text     string          `json:"text"`
				Thinking string          `json:"thinking"`
				Input    json.RawMessage `json:"input"` // tool_use: the model wrote this JSON
			} `json:"content"`
		}
		if !decode(body, &w) {
			return Usage{}, false, ""
		}
		wu = w.Usage
		for _, b := range w.Content {
			add(b.Thinking)
			add(b.Text)
			if b.Type == "tool_use" && len(b.Input) > 0 {
				var buf bytes.Buffer
				if json.Compact(&buf, b.Input) == nil {
					add(buf.String())
				}
			}
		}
	default: // embeddings and others: usage only, no generated text
		var w struct {
			Usage *wireUsage `json:"usage"`
		}
		if !decode(body, &w) {
			return Usage{}, false, ""
		}
		wu = w.Usage
	}
	u, reported = wu.normalize(kind)
	return u, reported, strings.Join(parts, "\n")
}

func decode(body []byte, v any) bool {
	err := jsonspan.Unmarshal(body, v)
	return err == nil || isTypeError(err)
}

// chatMessage is an OpenAI chat completion message (non-streamed) or delta (streamed).
type chatMessage struct {
	Content          content `json:"content"`
	Refusal          string  `json:"refusal"`
	ReasoningContent string  `json:"reasoning_content"` // DeepSeek, vLLM and others
	Reasoning        string  `json:"reasoning"`         // Groq, OpenRouter and others
	ToolCalls        []struct {
		Index    int `json:"index"`
		Function struct {
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	FunctionCall *struct {
		Arguments string `json:"arguments"`
	} `json:"function_call"` // deprecated single function call
}

// content is a chat message content: a string, or (some compatible servers) an array of
// parts with "text" fields. It never fails to decode.
type content struct {
	s     string
	parts []string
}

func (c *content) UnmarshalJSON(b []byte) error {
	*c = content{}
	switch {
	case len(b) > 0 && b[0] == '"':
		_ = json.Unmarshal(b, &c.s)
	case len(b) > 0 && b[0] == '[':
		var parts []struct {
			Text string `json:"text"`
		}
		if decode(b, &parts) {
			for _, p := range parts {
				c.parts = append(c.parts, p.Text)
			}
		}
	}
	return nil
}

func (c content) text() string {
	if c.parts != nil {
		return strings.Join(c.parts, "")
	}
	return c.s
}
