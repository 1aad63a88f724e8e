package filter

import (
	"bytes"
	"encoding/json"

	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
)

// edited returns the bytes to forward for body, whose decoded form (decode) the filter
// walked and possibly edited in place as m. A value the filter did not change keeps the
// upstream's bytes exactly (key order, spacing, escapes, number spelling); a changed
// string or number is re-encoded alone and spliced in; nothing changed returns body
// itself. Only a body whose structure the edit does not map onto (duplicate keys, which
// decode collapsed, or members added or removed) is re-encoded whole from m — the form the
// filter checked.
func edited(body []byte, m map[string]any) []byte {
	var es []edit
	i := jsonspan.SkipWS(body, 0)
	if !diff(body, i, m, &es) {
		return encode(m)
	}
	return splice(body, es)
}

// splice returns body with the edits es (in byte order, not overlapping) applied; body
// itself when there are none.
func splice(body []byte, es []edit) []byte {
	if len(es) == 0 {
		return body
	}
	n := len(body)
	for _, e := range es {
		n += len(e.with) - (e.end - e.start)
	}
	out := make([]byte, 0, n)
	pos := 0
	for _, e := range es {
		out = append(out, body[pos:e.start]...)
		out = append(out, e.with...)
		pos = e.end
	}
	return append(out, body[pos:]...)
}

// edit replaces body[start:end] with with.
type edit struct {
	start, end int
	with       []byte
}

// diff compares the JSON value at b[i] with v, its decoded and possibly edited form, and
// appends an edit for every scalar that differs, in byte order. It returns false when the
// structure differs (a member added, removed or repeated, a container replaced).
func diff(b []byte, i int, v any, es *[]edit) bool {
	if i >= len(b) {
		return false
	}
	switch b[i] {
	case '{':
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		// A repeated key makes the object longer than m: parsers disagree on which one
		// wins (encoding/json keeps the last), so such a body is sent re-encoded in the
		// form that was checked, lest a first-key-wins client read a value nobody checked.
		n, ok := 0, true
		_, err := jsonspan.EachMember(b, i, func(mb jsonspan.Member) bool {
			mv, found := m[mb.Key]
			n++
			ok = found && diff(b, mb.ValStart, mv, es)
			return ok
		})
		return err == nil && ok && n == len(m)
	case '[':
		a, ok := v.([]any)
		if !ok {
			return false
		}
		n, ok := 0, true
		_, err := jsonspan.EachElement(b, i, func(e jsonspan.Span) bool {
			ok = n < len(a) && diff(b, e.Start, a[n], es)
			n++
			return ok
		})
		return err == nil && ok && n == len(a)
	}
	end, err := jsonspan.SkipValue(b, i)
	if err != nil {
		return false
	}
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	raw := b[i:end]
	if sameScalar(raw, v) {
		return true
	}
	*es = append(*es, edit{i, end, appendValue(nil, v)})
	return true
}

// sameScalar reports whether raw (a JSON scalar) decodes to v.
func sameScalar(raw []byte, v any) bool {
	switch t := v.(type) {
	case string:
		if len(raw) < 2 || raw[0] != '"' {
			return false
		}
		if bytes.IndexByte(raw, '\\') < 0 {
			return string(raw[1:len(raw)-1]) == t // invalid UTF-8 differs: re-encoded as U+FFFD
		}
		var s string
		return json.Unmarshal(raw, &s) == nil && s == t
	case json.Number:
		return string(raw) == string(t)
	case nil:
		return string(raw) == "null"
	case bool:
		return string(raw) == "true" && t || string(raw) == "false" && !t
	}
	return string(raw) == string(appendValue(nil, v))
}
