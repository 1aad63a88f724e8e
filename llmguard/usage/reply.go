package usage

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// Reply is FromJSON and OutputText of one complete (non-streamed) body in a single pass:
// the gateway needs both of every reply (usage for llm_rate_limit and llm_audit, the text
// for the audit's response digest, or for counting when no usage is reported).
//
// It walks the body's bytes (jsonspan) instead of decoding it with encoding/json, which
// on a 1 KB reply spends most of its time in reflection, and reads exactly what
// decodeReply reads: the same members (matched case-insensitively, as encoding/json
// matches struct fields), values of an unexpected type skipped, the same text in the
// same order. Only the usage object itself goes through encoding/json (wireUsage's
// lenient counts). An object that names one of the members read twice ("usage" and
// "Usage") is left to decodeReply, whose result then depends on encoding/json's merging.
func Reply(kind request.Kind, body []byte) (u Usage, reported bool, text string) {
	if jsonspan.Unique(body) != nil {
		return Usage{}, false, "" // malformed, or a repeated key: nothing is read
	}
	w := replyWalk{b: body}
	top := jsonspan.SkipWS(body, 0)
	switch kind {
	case request.KindChat, request.KindCompletions, request.KindUnknown:
		f := w.fields(top, "usage", "choices")
		w.setUsage(f[0])
		w.each(f[1], func(i int) {
			c := w.fields(i, "text", "message")
			w.add(w.str(c[0])) // legacy completions
			m := w.fields(c[1].start(), "reasoning_content", "reasoning", "content", "refusal", "tool_calls", "function_call")
			w.add(w.str(m[0]))
			w.add(w.str(m[1]))
			w.add(w.content(m[2]))
			w.add(w.str(m[3]))
			w.each(m[4], func(j int) {
				fn := w.fields(j, "function")
				w.add(w.str(w.fields(fn[0].start(), "arguments")[0]))
			})
			w.add(w.str(w.fields(m[5].start(), "arguments")[0]))
		})
	case request.KindResponses:
		f := w.fields(top, "usage", "output")
		w.setUsage(f[0])
		w.each(f[1], func(i int) {
			it := w.fields(i, "arguments", "input", "content", "summary")
			w.each(it[3], func(j int) { w.add(w.str(w.fields(j, "text")[0])) }) // reasoning
			w.each(it[2], func(j int) {
				c := w.fields(j, "text", "refusal")
				w.add(w.str(c[0]))
				w.add(w.str(c[1]))
			})
			w.add(w.str(it[0])) // function_call
			w.add(w.str(it[1])) // custom_tool_call
		})
	case request.KindMessages:
		f := w.fields(top, "usage", "content")
		w.setUsage(f[0])
		w.each(f[1], func(i int) {
			bl := w.fields(i, "type", "text", "thinking", "input")
			w.add(w.str(bl[2]))
			w.add(w.str(bl[1]))
			if w.str(bl[0]) == "tool_use" && bl[3].ok {
				var buf bytes.Buffer // the tool input the model wrote, as JSON
				if json.Compact(&buf, body[bl[3].s:bl[3].e]) == nil {
					w.add(buf.String())
				}
			}
		})
	default: // embeddings and others: usage only, no generated text
		w.setUsage(w.fields(top, "usage")[0])
	}
	if w.repeated {
		return decodeReply(kind, body)
	}
	u, reported = w.usage.normalize(kind)
	return u, reported, strings.Join(w.parts, "\n")
}

// replyWalk reads a body Unique has checked (valid JSON, no key repeated as written).
type replyWalk struct {
	b        []byte
	usage    *wireUsage
	parts    []string
	repeated bool // an object named a member read here twice, in different cases
}

// span is a member's value, b[s:e]; ok is false for a member the object lacks.
type span struct {
	s, e int
	ok   bool
}

// start is the offset of the value, or -1 (no value: fields and each read nothing).
func (v span) start() int {
	if !v.ok {
		return -1
	}
	return v.s
}

// maxFields is the most members one object is read for (a chat message's six).
const maxFields = 6

// fields returns the values of the members named (compared as encoding/json compares
// keys to field names) of the object at b[i]. Anything but an object — null, another
// type, no value — has no members, as encoding/json leaves a struct it cannot fill.
func (w *replyWalk) fields(i int, names ...string) (vals [maxFields]span) {
	if w.repeated || i < 0 || i >= len(w.b) || w.b[i] != '{' {
		return vals
	}
	_, _ = jsonspan.EachMember(w.b, i, func(m jsonspan.Member) bool {
		for k, n := range names {
			if strings.EqualFold(m.Key, n) {
				if vals[k].ok {
					w.repeated = true
					return false
				}
				vals[k] = span{m.ValStart, m.ValEnd, true}
				break
			}
		}
		return true
	})
	return vals
}

// each calls fn with the offset of each element of the array v; nothing for other types.
func (w *replyWalk) each(v span, fn func(i int)) {
	if w.repeated || !v.ok || w.b[v.s] != '[' {
		return
	}
	_, _ = jsonspan.EachElement(w.b, v.s, func(e jsonspan.Span) bool {
		fn(e.Start)
		return !w.repeated
	})
}

// str returns the string v holds, decoded as encoding/json decodes it (escapes, invalid
// UTF-8 replaced); "" for other types.
func (w *replyWalk) str(v span) string {
	if !v.ok || w.b[v.s] != '"' {
		return ""
	}
	raw := w.b[v.s:v.e]
	for _, c := range raw {
		if c == '\\' || c >= 0x80 {
			var s string
			_ = json.Unmarshal(raw, &s)
			return s
		}
	}
	return string(raw[1 : len(raw)-1])
}

// content reads a chat message's content as the type content does: a string, or the
// "text" of the parts of an array, joined.
func (w *replyWalk) content(v span) string {
	if !v.ok || w.b[v.s] != '[' {
		return w.str(v)
	}
	var sb strings.Builder
	w.each(v, func(i int) { sb.WriteString(w.str(w.fields(i, "text")[0])) })
	return sb.String()
}

// setUsage decodes the usage object at v as json.Unmarshal into &w.usage would (keys
// matched case-insensitively, a later duplicate overwriting an earlier one, null
// clearing a pointer, a value of the wrong type leaving a field unset), without its
// reflection: this runs on every reply.
func (w *replyWalk) setUsage(v span) {
	if v.ok {
		w.usage = details(w.usage, w.b[v.s:v.e], setUsageField)
	}
}

func setUsageField(u *wireUsage, key string, raw []byte) {
	switch {
	case strings.EqualFold(key, "prompt_tokens"):
		_ = u.PromptTokens.UnmarshalJSON(raw)
	case strings.EqualFold(key, "completion_tokens"):
		_ = u.CompletionTokens.UnmarshalJSON(raw)
	case strings.EqualFold(key, "input_tokens"):
		_ = u.InputTokens.UnmarshalJSON(raw)
	case strings.EqualFold(key, "output_tokens"):
		_ = u.OutputTokens.UnmarshalJSON(raw)
	case strings.EqualFold(key, "cache_read_input_tokens"):
		_ = u.CacheReadInputTokens.UnmarshalJSON(raw)
	case strings.EqualFold(key, "cache_creation_input_tokens"):
		_ = u.CacheCreationInputTokens.UnmarshalJSON(raw)
	case strings.EqualFold(key, "prompt_tokens_details"):
		u.PromptTokensDetails = cached(u.PromptTokensDetails, raw)
	case strings.EqualFold(key, "input_tokens_details"):
		u.InputTokensDetails = cached(u.InputTokensDetails, raw)
	case strings.EqualFold(key, "completion_tokens_details"):
		u.CompletionTokensDetails = reasoning(u.CompletionTokensDetails, raw)
	case strings.EqualFold(key, "output_tokens_details"):
		u.OutputTokensDetails = reasoning(u.OutputTokensDetails, raw)
	}
}

// details decodes the object raw into d as encoding/json decodes into a pointer field:
// null clears it, an object fills it (merging into an earlier one) through set for each
// member, and any other value leaves an empty one. It reads the usage object and its
// details objects.
func details[T any](d *T, raw []byte, set func(d *T, key string, raw []byte)) *T {
	if raw[0] == 'n' {
		return nil
	}
	if d == nil {
		d = new(T)
	}
	if raw[0] == '{' {
		_, _ = jsonspan.EachMember(raw, 0, func(m jsonspan.Member) bool {
			set(d, m.Key, raw[m.ValStart:m.ValEnd])
			return true
		})
	}
	return d
}

func cached(d *cachedDetails, raw []byte) *cachedDetails {
	return details(d, raw, func(d *cachedDetails, key string, raw []byte) {
		switch {
		case strings.EqualFold(key, "cached_tokens"):
			_ = d.CachedTokens.UnmarshalJSON(raw)
		case strings.EqualFold(key, "cache_write_tokens"):
			_ = d.CacheWriteTokens.UnmarshalJSON(raw)
		}
	})
}

func reasoning(d *reasoningDetails, raw []byte) *reasoningDetails {
	return details(d, raw, func(d *reasoningDetails, key string, raw []byte) {
		if strings.EqualFold(key, "reasoning_tokens") {
			_ = d.ReasoningTokens.UnmarshalJSON(raw)
		}
	})
}

func (w *replyWalk) add(s string) {
	if s != "" {
		w.parts = append(w.parts, s)
	}
}
