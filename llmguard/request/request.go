// Package request is the gateway's model of an LLM API request: it parses the body of an
// OpenAI chat completion, legacy completion, embedding or Responses call, or an Anthropic
// Messages call, once, into what every guard needs — endpoint, model, stream flag, output
// allowance and the text segments (with role and JSON location) — and rewrites individual
// segments without disturbing the rest of the body.
//
// It never forwards, logs or stores anything, and it never changes bytes of the body other
// than the segments a caller asks it to rewrite.
package request

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Source says what a text segment is, so that policies can treat instructions, user input,
// tool output and model output differently.
type Source string

const (
	SourceContent    Source = "content"     // a message's text (or a prompt / input string)
	SourceToolResult Source = "tool_result" // output of a tool the client ran (role tool, tool_result blocks, function_call_output)
	SourceToolCall   Source = "tool_call"   // arguments of a tool call the model made earlier in the conversation
	SourceToolSpec   Source = "tool_spec"   // description of a tool the client offers
	SourceName       Source = "name"        // a participant name (OpenAI "name" field)
	SourceReasoning  Source = "reasoning"   // earlier reasoning/thinking text sent back by the client
	SourceDocument   Source = "document"    // text of an attached document or search result (Anthropic document and search_result blocks, and the cited_text of citations that quote them)
)

// Segment is one text string of the request.
type Segment struct {
	// Role is the speaker: "system" (also for OpenAI developer messages, Anthropic's
	// top-level system and Responses instructions), "user", "assistant" or "tool".
	Role string
	// Source says what the text is.
	Source Source
	// Path is the JSON location, e.g. "messages[2].content[0].text"; it is what error
	// messages name as the param.
	Path string
	// Message is the index of the message the segment belongs to, or -1.
	Message int
	// Text is the decoded string.
	Text string

	start, end int // span of the JSON string literal (with quotes) in the body
}

// JSONText reports whether the segment's text is itself JSON: the arguments of an OpenAI
// tool or function call (chat and Responses), which the API carries as a string. Edits
// of such text must not split its escape sequences.
func (s *Segment) JSONText() bool {
	return s.Source == SourceToolCall && strings.HasSuffix(s.Path, ".arguments")
}

// Request is a parsed LLM API request.
type Request struct {
	Kind  Kind
	Model string
	// Stream is the value of "stream".
	Stream bool
	// IncludeUsage is OpenAI's stream_options.include_usage.
	IncludeUsage bool
	// MaxOutputTokens is the output allowance the client asked for, from max_tokens,
	// max_completion_tokens or max_output_tokens; 0 when absent (embeddings have none).
	MaxOutputTokens int64
	// MaxOutputField names the field MaxOutputTokens came from ("" when absent).
	MaxOutputField string
	// N is the number of choices requested (OpenAI "n"); 1 when absent.
	N int64
	// Logprobs is set when the client asks for token log probabilities ("logprobs": true,
	// or the legacy completions' integer); TopLogprobs is how many alternatives per token
	// it asks for (top_logprobs, or that integer). Both are model-extraction signals
	// (llm_sentinel); the gateway does not otherwise act on them.
	Logprobs    bool
	TopLogprobs int64
	// Messages is the number of conversation messages (chat, messages, Responses input
	// items; prompts/inputs for completions and embeddings).
	Messages int
	// Tools is the number of tool definitions offered.
	Tools int
	// ToolsJSON is the raw JSON of the tool definitions, for token estimates.
	ToolsJSON []byte
	// Images counts image/audio/file parts, which are not text and are estimated apart.
	Images int
	// TokenInputs counts tokens the client passed pre-tokenised (arrays of token ids in
	// completions and embeddings input).
	TokenInputs int64
	// Roles lists, per message index, the role of that message (for per-message
	// overhead in token counts).
	Roles []string
	// Names lists, per message index, the participant name, "" when none.
	Names []string
	// Segments are the text strings of the request in body order.
	Segments []Segment

	body []byte
	root *value
}

// Error is a client error in the request body. Param names the field at fault.
type Error struct {
	Param   string
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(param, format string, args ...any) *Error {
	return &Error{Param: param, Message: fmt.Sprintf(format, args...)}
}

// Body returns the body the request was parsed from.
func (r *Request) Body() []byte { return r.body }

// Parse parses body as a request of the given kind. A body that is not JSON, or whose
// known fields have the wrong type, gives an *Error that says which field and why. Fields
// this package does not know are left alone and kept.
func Parse(kind Kind, body []byte) (*Request, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &Error{Message: "the request body is empty; send a JSON object"}
	}
	root, err := parseJSON(body)
	if err != nil {
		return nil, &Error{Message: "the request body is not valid JSON: " + err.Error()}
	}
	if root.kind != jsonObject {
		return nil, &Error{Message: "the request body must be a JSON object, not " + root.kind.String()}
	}
	r := &Request{Kind: kind, N: 1, body: body, root: root}
	b := &builder{r: r}
	if err := b.common(); err != nil {
		return nil, err
	}
	switch kind {
	case KindChat:
		err = b.chat()
	case KindCompletions:
		err = b.prompts("prompt", true)
		if err == nil {
			err = b.maxTokens("max_tokens")
		}
	case KindEmbeddings:
		err = b.prompts("input", true)
	case KindResponses:
		err = b.responses()
	case KindMessages:
		err = b.messages()
	default:
		err = &Error{Message: "this endpoint takes no request body the gateway understands"}
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// appendJSONString appends s as a JSON string literal without HTML escaping, so that
// rewritten text reads the same as what clients send.
func appendJSONString(dst []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a Go string always encodes
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...)
}

type builder struct {
	r *Request
}

func (b *builder) root() *value { return b.r.root }

// common reads the fields every kind shares.
func (b *builder) common() error {
	r, root := b.r, b.r.root
	mv := root.get("model")
	switch {
	case mv == nil:
		return errorf("model", "you must provide a model parameter")
	case mv.kind != jsonString:
		return errorf("model", "model must be a string, not %s", mv.kind)
	case mv.str == "":
		return errorf("model", "model must not be empty")
	}
	r.Model = mv.str
	if sv := root.get("stream"); sv != nil && sv.kind != jsonNull {
		if sv.kind != jsonBool {
			return errorf("stream", "stream must be a boolean, not %s", sv.kind)
		}
		r.Stream = sv.b
	}
	if so := root.get("stream_options"); so != nil && so.kind == jsonObject {
		if iu := so.get("include_usage"); iu != nil && iu.kind == jsonBool {
			r.IncludeUsage = iu.b
		}
	}
	if nv := root.get("n"); nv != nil && nv.kind != jsonNull {
		n, err := nv.int64Value(r.body)
		if err != nil || n < 1 || n > 128 {
			return errorf("n", "n must be an integer from 1 to 128")
		}
		r.N = n
	}
	// Malformed values are left for the upstream to refuse: these fields only feed
	// detection, never a decision about what is forwarded.
	if lv := root.get("logprobs"); lv != nil {
		switch lv.kind {
		case jsonBool:
			r.Logprobs = lv.b
		case jsonNumber:
			if n, err := lv.int64Value(r.body); err == nil && n > 0 {
				r.Logprobs, r.TopLogprobs = true, n
			}
		}
	}
	if tl := root.get("top_logprobs"); tl != nil && tl.kind == jsonNumber {
		if n, err := tl.int64Value(r.body); err == nil && n > 0 {
			r.TopLogprobs = n
		}
	}
	if tv := root.get("tools"); tv != nil && tv.kind != jsonNull {
		if tv.kind != jsonArray {
			return errorf("tools", "tools must be an array, not %s", tv.kind)
		}
		r.Tools = len(tv.vals)
		r.ToolsJSON = tv.raw(r.body)
	}
	return nil
}

// maxTokens reads an output allowance field; the first present field wins, so callers
// list the preferred field first.
func (b *builder) maxTokens(fields ...string) error {
	for _, f := range fields {
		v := b.root().get(f)
		if v == nil || v.kind == jsonNull {
			continue
		}
		n, err := v.int64Value(b.r.body)
		if err != nil || n < 0 {
			return errorf(f, "%s must be a non-negative integer", f)
		}
		b.r.MaxOutputTokens, b.r.MaxOutputField = n, f
		return nil
	}
	return nil
}

func (b *builder) add(role string, src Source, path string, msg int, v *value) {
	b.r.Segments = append(b.r.Segments, Segment{Role: role, Source: src, Path: path, Message: msg, Text: v.str, start: v.start, end: v.end})
}

// newMessage records a message's role and returns its index.
func (b *builder) newMessage(role string) int {
	b.r.Roles = append(b.r.Roles, role)
	b.r.Names = append(b.r.Names, "")
	b.r.Messages = len(b.r.Roles)
	return b.r.Messages - 1
}

// strings adds every string inside v (an arbitrary JSON value such as tool-call input)
// as segments, so that nothing a guard should see can hide in nested structure.
func (b *builder) strings(role string, src Source, path string, msg int, v *value) {
	switch v.kind {
	case jsonString:
		b.add(role, src, path, msg, v)
	case jsonArray:
		for i, el := range v.vals {
			b.strings(role, src, path+"["+strconv.Itoa(i)+"]", msg, el)
		}
	case jsonObject:
		for i, el := range v.vals {
			b.strings(role, src, path+"."+v.keys[i], msg, el)
		}
	}
}

// prompts reads completions' "prompt" or embeddings' "input": a string, an array of
// strings, an array of token ids, or an array of token-id arrays.
func (b *builder) prompts(field string, required bool) error {
	v := b.root().get(field)
	if v == nil || v.kind == jsonNull {
		if required {
			return errorf(field, "you must provide %s", field)
		}
		return nil
	}
	switch v.kind {
	case jsonString:
		b.add("user", SourceContent, field, b.newMessage("user"), v)
		return nil
	case jsonArray:
		if len(v.vals) == 0 {
			return errorf(field, "%s must not be an empty array", field)
		}
		allNumbers := true
		for _, el := range v.vals {
			if el.kind != jsonNumber {
				allNumbers = false
			}
		}
		if allNumbers { // one pre-tokenised input
			b.newMessage("user")
			b.r.TokenInputs += int64(len(v.vals))
			return nil
		}
		for i, el := range v.vals {
			p := field + "[" + strconv.Itoa(i) + "]"
			switch el.kind {
			case jsonString:
				b.add("user", SourceContent, p, b.newMessage("user"), el)
			case jsonArray:
				for _, t := range el.vals {
					if t.kind != jsonNumber {
						return errorf(p, "%s must be a string, an array of strings, or an array of token arrays", field)
					}
				}
				b.newMessage("user")
				b.r.TokenInputs += int64(len(el.vals))
			default:
				return errorf(p, "%s must be a string, an array of strings, or an array of token arrays", field)
			}
		}
		return nil
	}
	return errorf(field, "%s must be a string or an array, not %s", field, v.kind)
}
