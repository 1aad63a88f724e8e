// Package jsonspan edits JSON objects at the byte level: it finds an object's members as
// byte spans and splices, inserts or removes members, leaving every other byte as it was
// (key order, spacing, number formatting, unknown fields). The gateway uses it wherever
// it changes one thing in a body that belongs to the client or the upstream: the rate
// limiter's stream_options and usage chunks, the audit's data minimisation.
//
// It does not validate: callers pass bodies that were already parsed (or check them with
// json.Valid first). On malformed input it returns an error, never reads out of bounds,
// and never panics.
package jsonspan

import (
	"bytes"
	"encoding/json"
	"errors"
)

// ErrNotObject is returned when the bytes at the given offset are not a JSON object.
var ErrNotObject = errors.New("not a JSON object")

// Member is one member of an object: b[Start:ValEnd] is `"key" : value` and the value is
// b[ValStart:ValEnd].
type Member struct {
	Key                     string
	Start, ValStart, ValEnd int
}

// Members lists the members of the object at b[open] ('{') and returns the offset of its
// closing '}'.
func Members(b []byte, open int) ([]Member, int, error) {
	var ms []Member
	end, err := EachMember(b, open, func(m Member) bool { ms = append(ms, m); return true })
	if err != nil {
		return nil, 0, err
	}
	return ms, end, nil
}

// unquote decodes a JSON string with escapes. Apart from EachMember's loop, so that the
// pointer encoding/json needs does not move every key of the loop to the heap.
func unquote(raw []byte) (string, error) {
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// EachMember calls fn for each member of the object at b[open] ('{'), in order, until fn
// returns false, and returns the offset of the closing '}' (0 when fn stopped early). It
// allocates nothing for the keys Intern knows.
func EachMember(b []byte, open int, fn func(Member) bool) (int, error) {
	if open >= len(b) || b[open] != '{' {
		return 0, ErrNotObject
	}
	i := SkipWS(b, open+1)
	if i < len(b) && b[i] == '}' {
		return i, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, ErrNotObject
		}
		kEnd, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		var key string
		if bytes.IndexByte(b[i:kEnd], '\\') >= 0 {
			if key, err = unquote(b[i:kEnd]); err != nil {
				return 0, ErrNotObject
			}
		} else {
			key = Intern(b[i+1 : kEnd-1])
		}
		j := SkipWS(b, kEnd)
		if j >= len(b) || b[j] != ':' {
			return 0, ErrNotObject
		}
		vs := SkipWS(b, j+1)
		ve, err := SkipValue(b, vs)
		if err != nil {
			return 0, err
		}
		if !fn(Member{Key: key, Start: i, ValStart: vs, ValEnd: ve}) {
			return 0, nil
		}
		i = SkipWS(b, ve)
		if i >= len(b) {
			return 0, ErrNotObject
		}
		if b[i] == '}' {
			return i, nil
		}
		if b[i] != ',' {
			return 0, ErrNotObject
		}
		i = SkipWS(b, i+1)
	}
}

// SkipWS returns the offset of the first non-whitespace byte at or after i.
func SkipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the string whose opening quote is b[i]. It jumps from
// quote to quote (bytes.IndexByte is vectorised; prompts and replies are long strings
// that every walk crosses): a quote ends the string unless an odd run of backslashes
// precedes it, which is what reading escapes from the start would find.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			break
		}
		j += k
		odd := false
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			odd = !odd
		}
		if !odd {
			return j + 1, nil
		}
	}
	return 0, ErrNotObject
}

// SkipValue returns the end of the JSON value starting at b[i]. It trusts the value to be
// valid JSON but never reads out of bounds.
func SkipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, ErrNotObject
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
		return 0, ErrNotObject
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, ErrNotObject
	}
	return j, nil
}

// Find returns the index of the first member named key, or -1.
func Find(ms []Member, key string) int {
	for i := range ms {
		if ms[i].Key == key {
			return i
		}
	}
	return -1
}

// Splice returns a copy of b with b[start:end] replaced by with.
func Splice(b []byte, start, end int, with string) []byte {
	out := make([]byte, 0, len(b)-(end-start)+len(with))
	out = append(out, b[:start]...)
	out = append(out, with...)
	return append(out, b[end:]...)
}

// Insert adds kv (`"key":value`) as the first member of the object at b[open], whose
// members are ms.
func Insert(b []byte, open int, ms []Member, kv string) []byte {
	if len(ms) > 0 {
		kv += ","
	}
	return Splice(b, open+1, open+1, kv)
}

// Remove returns a copy of b without the members ms[i] for which drop(i) is true, each
// with the comma that separated it; the whitespace around the remaining members stays.
// It returns b itself when nothing is dropped.
func Remove(b []byte, ms []Member, drop func(i int) bool) []byte {
	type cut struct{ start, end int }
	var cuts []cut
	n := len(ms)
	for i := 0; i < n; {
		if !drop(i) {
			i++
			continue
		}
		j := i
		for j+1 < n && drop(j+1) {
			j++
		}
		switch {
		case j+1 < n: // up to the next kept member's key
			cuts = append(cuts, cut{ms[i].Start, ms[j+1].Start})
		case i > 0: // a run at the end: from the end of the previous kept value
			cuts = append(cuts, cut{ms[i-1].ValEnd, ms[j].ValEnd})
		default: // every member
			cuts = append(cuts, cut{ms[0].Start, ms[j].ValEnd})
		}
		i = j + 1
	}
	if len(cuts) == 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	pos := 0
	for _, c := range cuts {
		out = append(out, b[pos:c.start]...)
		pos = c.end
	}
	return append(out, b[pos:]...)
}

// Span is one array element: b[Start:End].
type Span struct{ Start, End int }

// Elements lists the elements of the array at b[open] ('[') and returns the offset of its
// closing ']'.
func Elements(b []byte, open int) ([]Span, int, error) {
	var es []Span
	end, err := EachElement(b, open, func(e Span) bool { es = append(es, e); return true })
	if err != nil {
		return nil, 0, err
	}
	return es, end, nil
}

// EachElement calls fn for each element of the array at b[open] ('['), in order, until fn
// returns false, and returns the offset of the closing ']' (0 when fn stopped early).
func EachElement(b []byte, open int, fn func(Span) bool) (int, error) {
	if open >= len(b) || b[open] != '[' {
		return 0, ErrNotObject
	}
	i := SkipWS(b, open+1)
	if i < len(b) && b[i] == ']' {
		return i, nil
	}
	for {
		e, err := SkipValue(b, i)
		if err != nil {
			return 0, err
		}
		if !fn(Span{i, e}) {
			return 0, nil
		}
		i = SkipWS(b, e)
		if i >= len(b) {
			return 0, ErrNotObject
		}
		if b[i] == ']' {
			return i, nil
		}
		if b[i] != ',' {
			return 0, ErrNotObject
		}
		i = SkipWS(b, i+1)
	}
}
