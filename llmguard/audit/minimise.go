package audit

import (
	"bytes"
	"encoding/json"
	"io"
)

// DeleteFields returns body without the named top-level fields of its JSON object, and
// the names actually removed. Every other byte stays as the client sent it (key order,
// number formats, whitespace), so that a minimised request is otherwise the same request.
// A body that is not a JSON object is returned unchanged with ok = false.
//
// It is used for data minimisation: fields such as "user" or "metadata" carry personal
// identifiers the upstream does not need.
func DeleteFields(body []byte, fields map[string]bool) (out []byte, removed []string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return body, nil, false
	}
	type span struct{ start, end int }
	var cut []span
	// prevEnd is the end offset of the previous member's value (or of '{'); the next
	// member, with its leading comma, lies between prevEnd and the end of its value.
	prevEnd := int(dec.InputOffset())
	keptBefore := false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return body, nil, false
		}
		key, _ := kt.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return body, nil, false
		}
		end := int(dec.InputOffset())
		switch {
		case !fields[key]:
			keptBefore = true
		case keptBefore:
			// Remove `, "key": value`.
			removed = append(removed, key)
			cut = append(cut, span{prevEnd, end})
		default:
			// No member kept before this one, so it has no leading comma to remove:
			// remove `"key": value,` instead.
			removed = append(removed, key)
			e := end
			for e < len(body) && isSpace(body[e]) {
				e++
			}
			if e < len(body) && body[e] == ',' {
				end = e + 1
			}
			cut = append(cut, span{prevEnd, end})
		}
		prevEnd = int(dec.InputOffset())
		if end > prevEnd {
			prevEnd = end
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return body, nil, false
	}
	if _, err := dec.Token(); err != io.EOF { // nothing may follow the object
		return body, nil, false
	}
	if len(cut) == 0 {
		return body, nil, true
	}
	out = make([]byte, 0, len(body))
	pos := 0
	for _, c := range cut {
		start := max(c.start, pos)
		out = append(out, body[pos:start]...)
		pos = c.end
	}
	out = append(out, body[pos:]...)
	return out, removed, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
