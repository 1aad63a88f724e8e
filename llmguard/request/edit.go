package request

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Edit is a set of changes to a request body, applied in one pass so that a redaction and
// a clamped output allowance (say) produce one new body.
type Edit struct {
	// Segments maps a segment index to its new text.
	Segments map[int]string
	// Fields maps a top-level field name to its new raw JSON value. A field the body
	// lacks is inserted at the start of the object.
	Fields map[string]json.RawMessage
}

// splice is one replacement of body[start:end].
type splice struct {
	start, end int
	text       []byte
}

// Apply returns a copy of the body with e applied. Every byte the edit does not touch
// stays as the client sent it: unknown fields, key order, number formats and whitespace.
func (r *Request) Apply(e Edit) ([]byte, error) {
	var sp []splice
	for i, text := range e.Segments {
		if i < 0 || i >= len(r.Segments) {
			return nil, fmt.Errorf("segment %d out of range", i)
		}
		s := r.Segments[i]
		sp = append(sp, splice{s.start, s.end, appendJSONString(nil, text)})
	}
	var inserts []byte
	names := make([]string, 0, len(e.Fields))
	for name := range e.Fields {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic insertion order
	for _, name := range names {
		raw := e.Fields[name]
		if !json.Valid(raw) {
			return nil, fmt.Errorf("field %s: invalid JSON value", name)
		}
		if v := r.root.get(name); v != nil {
			sp = append(sp, splice{v.start, v.end, raw})
			continue
		}
		inserts = appendJSONString(inserts, name)
		inserts = append(inserts, ':')
		inserts = append(inserts, raw...)
		inserts = append(inserts, ',')
	}
	if len(inserts) > 0 {
		if len(r.root.keys) == 0 {
			inserts = inserts[:len(inserts)-1] // no member follows the inserted ones
		}
		sp = append(sp, splice{r.root.start + 1, r.root.start + 1, inserts})
	}
	sort.Slice(sp, func(a, b int) bool { return sp[a].start < sp[b].start })
	for k := 1; k < len(sp); k++ {
		if sp[k].start < sp[k-1].end {
			return nil, fmt.Errorf("overlapping edits at byte %d", sp[k].start)
		}
	}
	out := make([]byte, 0, len(r.body)+len(inserts)+64*len(sp))
	last := 0
	for _, s := range sp {
		out = append(out, r.body[last:s.start]...)
		out = append(out, s.text...)
		last = s.end
	}
	return append(out, r.body[last:]...), nil
}

// Rewrite returns a copy of the body in which segment i's string is replaced by
// replacements[i]; it is Apply with segment edits only.
func (r *Request) Rewrite(replacements map[int]string) ([]byte, error) {
	return r.Apply(Edit{Segments: replacements})
}
