package llmratelimit

import "github.com/llmguard/caddy-llmguard/llmguard/jsonspan"

// Byte-level edits of JSON objects: the request body and the stream chunks are changed
// in exactly one member and otherwise forwarded byte for byte (key order, spacing,
// number formatting and unknown fields are the client's and the upstream's business).

// setIncludeUsage returns body with stream_options.include_usage set to true, adding
// stream_options when absent and replacing it when it is not an object.
func setIncludeUsage(body []byte) ([]byte, error) {
	open := jsonspan.SkipWS(body, 0)
	ms, _, err := jsonspan.Members(body, open)
	if err != nil {
		return nil, err
	}
	i := jsonspan.Find(ms, "stream_options")
	if i < 0 {
		return jsonspan.Insert(body, open, ms, `"stream_options":{"include_usage":true}`), nil
	}
	so := ms[i]
	if body[so.ValStart] != '{' {
		return jsonspan.Splice(body, so.ValStart, so.ValEnd, `{"include_usage":true}`), nil
	}
	inner, _, err := jsonspan.Members(body, so.ValStart)
	if err != nil {
		return nil, err
	}
	if j := jsonspan.Find(inner, "include_usage"); j >= 0 {
		return jsonspan.Splice(body, inner[j].ValStart, inner[j].ValEnd, "true"), nil
	}
	return jsonspan.Insert(body, so.ValStart, inner, `"include_usage":true`), nil
}

// removeMember returns b without the top-level member key (with its separating comma),
// whether it was present, and whether the object is then a usage-only chunk (its
// "choices" is an empty array), which the caller drops entirely.
func removeMember(b []byte, key string) (out []byte, found, choicesEmpty bool) {
	ms, _, err := jsonspan.Members(b, jsonspan.SkipWS(b, 0))
	if err != nil {
		return b, false, false
	}
	if c := jsonspan.Find(ms, "choices"); c >= 0 {
		v := b[ms[c].ValStart:ms[c].ValEnd]
		choicesEmpty = len(v) >= 2 && v[0] == '[' && jsonspan.SkipWS(v, 1) == len(v)-1
	}
	i := jsonspan.Find(ms, key)
	if i < 0 {
		return b, false, choicesEmpty
	}
	return jsonspan.Remove(b, ms, func(j int) bool { return j == i }), true, choicesEmpty
}
