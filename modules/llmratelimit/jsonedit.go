package llmratelimit

import (
	"encoding/json"
	"errors"
)

// Byte-level edits of JSON objects: the request body and the stream chunks are changed
// in exactly one member and otherwise forwarded byte for byte (key order, spacing,
// number formatting and unknown fields are the client's and the upstream's business).

var errNotObject = errors.New("not a JSON object")

// member is one member of an object: body[start:end] is `"key" : value`, value is
// body[valStart:valEnd].
type member struct {
	key                     string
	start, valStart, valEnd int
}

// members lists the members of the object at b[open] ('{'), and returns the offset of
// its closing '}'.
func members(b []byte, open int) ([]member, int, error) {
	if open >= len(b) || b[open] != '{' {
		return nil, 0, errNotObject
	}
	var ms []member
	i := skipWS(b, open+1)
	if i < len(b) && b[i] == '}' {
		return nil, i, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, 0, errNotObject
		}
		kEnd, err := skipString(b, i)
		if err != nil {
			return nil, 0, err
		}
		key := string(b[i+1 : kEnd-1])
		for _, c := range b[i:kEnd] {
			if c == '\\' {
				if json.Unmarshal(b[i:kEnd], &key) != nil {
					return nil, 0, errNotObject
				}
				break
			}
		}
		j := skipWS(b, kEnd)
		if j >= len(b) || b[j] != ':' {
			return nil, 0, errNotObject
		}
		vs := skipWS(b, j+1)
		ve, err := skipValue(b, vs)
		if err != nil {
			return nil, 0, err
		}
		ms = append(ms, member{key: key, start: i, valStart: vs, valEnd: ve})
		i = skipWS(b, ve)
		if i >= len(b) {
			return nil, 0, errNotObject
		}
		if b[i] == '}' {
			return ms, i, nil
		}
		if b[i] != ',' {
			return nil, 0, errNotObject
		}
		i = skipWS(b, i+1)
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errNotObject
}

// skipValue returns the end of the JSON value starting at b[i]. It trusts the body to be
// valid JSON (callers only edit bodies that were parsed or are passed through unchanged
// when an edit fails) but never reads out of bounds.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errNotObject
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errNotObject
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, errNotObject
	}
	return j, nil
}

func find(ms []member, key string) int {
	for i := range ms {
		if ms[i].key == key {
			return i
		}
	}
	return -1
}

func splice(b []byte, start, end int, with string) []byte {
	out := make([]byte, 0, len(b)-(end-start)+len(with))
	out = append(out, b[:start]...)
	out = append(out, with...)
	return append(out, b[end:]...)
}

// insertMember adds `"key":value` as the first member of the object at b[open].
func insertMember(b []byte, open int, ms []member, kv string) []byte {
	if len(ms) > 0 {
		kv += ","
	}
	return splice(b, open+1, open+1, kv)
}

// setIncludeUsage returns body with stream_options.include_usage set to true, adding
// stream_options when absent and replacing it when it is not an object.
func setIncludeUsage(body []byte) ([]byte, error) {
	open := skipWS(body, 0)
	ms, _, err := members(body, open)
	if err != nil {
		return nil, err
	}
	i := find(ms, "stream_options")
	if i < 0 {
		return insertMember(body, open, ms, `"stream_options":{"include_usage":true}`), nil
	}
	so := ms[i]
	if body[so.valStart] != '{' {
		return splice(body, so.valStart, so.valEnd, `{"include_usage":true}`), nil
	}
	inner, _, err := members(body, so.valStart)
	if err != nil {
		return nil, err
	}
	if j := find(inner, "include_usage"); j >= 0 {
		return splice(body, inner[j].valStart, inner[j].valEnd, "true"), nil
	}
	return insertMember(body, so.valStart, inner, `"include_usage":true`), nil
}

// removeMember returns b without the top-level member key (with its separating comma),
// whether it was present, and whether the object is then a usage-only chunk (its
// "choices" is an empty array), which the caller drops entirely.
func removeMember(b []byte, key string) (out []byte, found, choicesEmpty bool) {
	open := skipWS(b, 0)
	ms, _, err := members(b, open)
	if err != nil {
		return b, false, false
	}
	if c := find(ms, "choices"); c >= 0 {
		v := b[ms[c].valStart:ms[c].valEnd]
		choicesEmpty = len(v) >= 2 && v[0] == '[' && skipWS(v, 1) == len(v)-1
	}
	i := find(ms, key)
	if i < 0 {
		return b, false, choicesEmpty
	}
	switch {
	case i+1 < len(ms): // up to the next member's key
		return splice(b, ms[i].start, ms[i+1].start, ""), true, choicesEmpty
	case i > 0: // the last one: from the end of the previous value
		return splice(b, ms[i-1].valEnd, ms[i].valEnd, ""), true, choicesEmpty
	default:
		return splice(b, ms[i].start, ms[i].valEnd, ""), true, choicesEmpty
	}
}
