package audit

import (
	"encoding/json"

	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
)

// DeleteFields returns body without the named top-level fields of its JSON object, and
// the names actually removed. Every other byte stays as the client sent it (key order,
// number formats, whitespace), so that a minimised request is otherwise the same request.
// A body that is not a JSON object is returned unchanged with ok = false.
//
// It is used for data minimisation: fields such as "user" or "metadata" carry personal
// identifiers the upstream does not need.
func DeleteFields(body []byte, fields map[string]bool) (out []byte, removed []string, ok bool) {
	if !json.Valid(body) {
		return body, nil, false
	}
	ms, _, err := jsonspan.Members(body, jsonspan.SkipWS(body, 0))
	if err != nil {
		return body, nil, false
	}
	for _, m := range ms {
		if fields[m.Key] {
			removed = append(removed, m.Key)
		}
	}
	return jsonspan.Remove(body, ms, func(i int) bool { return fields[ms[i].Key] }), removed, true
}
