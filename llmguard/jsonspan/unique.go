package jsonspan

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Duplicate object keys are the one JSON ambiguity that matters to a gateway: parsers
// disagree on which of two "model" members wins (encoding/json and Python keep the last,
// others the first or refuse), so a guard that reads one value while the upstream or a
// client reads the other can authorise, count or price something it never saw. Every JSON
// document the gateway interprets is therefore checked by this one checker: requests (via
// KeySet in the request parser), responses it settles on or filters, key files, JWKS
// documents and JWT claims (via Unique).

// linearKeys is the object size up to which KeySet scans its keys instead of hashing them:
// the common small object allocates nothing extra, a hostile one with many keys stays
// linear.
const linearKeys = 16

// KeySet collects the keys of one JSON object and reports a repeated key. The zero value
// is an empty set.
type KeySet struct {
	keys []string
	seen map[string]struct{} // built once the object outgrows linearKeys
}

// Add records key and reports whether it is new; false means the object already has it.
func (s *KeySet) Add(key string) bool {
	if s.seen == nil && len(s.keys) < linearKeys {
		for _, k := range s.keys {
			if k == key {
				return false
			}
		}
		s.keys = append(s.keys, key)
		return true
	}
	if s.seen == nil {
		s.seen = make(map[string]struct{}, 2*len(s.keys))
		for _, k := range s.keys {
			s.seen[k] = struct{}{}
		}
	}
	if _, dup := s.seen[key]; dup {
		return false
	}
	s.seen[key] = struct{}{}
	s.keys = append(s.keys, key)
	return true
}

// Keys returns the keys added, in order.
func (s *KeySet) Keys() []string { return s.keys }

// DuplicateKeyError reports an object member whose key an earlier member already used.
type DuplicateKeyError struct {
	Key    string // decoded key, as encoding/json reads it
	Offset int    // byte offset of the second occurrence
}

func (e *DuplicateKeyError) Error() string {
	k := e.Key
	if len(k) > 64 {
		k = k[:64] + "…"
	}
	return fmt.Sprintf("duplicate object key %q at offset %d", k, e.Offset)
}

// maxUniqueDepth matches encoding/json's nesting limit, so Unique refuses nothing that
// encoding/json would accept for depth alone.
const maxUniqueDepth = 10000

// ErrInvalid is returned by Unique for bytes that are not one valid JSON value.
var ErrInvalid = errors.New("invalid JSON")

// Unique checks that b is one valid JSON value in which no object, at any depth, repeats
// a key. Keys are compared as encoding/json decodes them, so "model" and "mod\u0065l"
// are the same key. It returns a *DuplicateKeyError for the first repeat.
func Unique(b []byte) error {
	if !json.Valid(b) {
		return ErrInvalid
	}
	i, err := unique(b, SkipWS(b, 0), 0)
	if err != nil {
		return err
	}
	if SkipWS(b, i) != len(b) {
		return ErrInvalid
	}
	return nil
}

// unique walks the value at b[i] (valid JSON, checked by the caller) and returns its end.
func unique(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, ErrInvalid
	}
	if b[i] != '{' && b[i] != '[' {
		return SkipValue(b, i)
	}
	if depth >= maxUniqueDepth {
		return 0, ErrInvalid
	}
	obj, closer := b[i] == '{', byte('}')
	if !obj {
		closer = ']'
	}
	var ks KeySet
	i = SkipWS(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, nil
	}
	for {
		if obj {
			kEnd, err := skipString(b, i)
			if err != nil {
				return 0, err
			}
			if !ks.Add(decodeKey(b[i:kEnd])) {
				return 0, &DuplicateKeyError{Key: decodeKey(b[i:kEnd]), Offset: i}
			}
			i = SkipWS(b, SkipWS(b, kEnd)+1) // past ':'
		}
		end, err := unique(b, i, depth+1)
		if err != nil {
			return 0, err
		}
		i = SkipWS(b, end)
		if i >= len(b) {
			return 0, ErrInvalid
		}
		if b[i] == closer {
			return i + 1, nil
		}
		i = SkipWS(b, i+1) // past ','
	}
}

// decodeKey returns a raw JSON string's value as encoding/json reads it. Plain ASCII keys,
// nearly all of them, are taken as they are; escapes and non-ASCII bytes (where
// encoding/json replaces invalid UTF-8) go through encoding/json itself.
func decodeKey(raw []byte) string {
	for _, c := range raw {
		if c == '\\' || c >= 0x80 {
			var s string
			_ = json.Unmarshal(raw, &s) // raw is a valid JSON string
			return s
		}
	}
	return string(raw[1 : len(raw)-1])
}

// Unmarshal is json.Unmarshal for documents the gateway interprets: it first refuses a
// document with a repeated key (Unique), then decodes it with encoding/json. Errors from
// encoding/json are returned unchanged, so callers can still tell a type mismatch apart.
func Unmarshal(b []byte, v any) error {
	if err := Unique(b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
