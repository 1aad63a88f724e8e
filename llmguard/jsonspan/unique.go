package jsonspan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
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
// is an empty set; up to linearKeys keys live in the struct itself, so checking a small
// object allocates nothing.
type KeySet struct {
	small [linearKeys]string
	n     int
	more  []string            // keys past linearKeys, in order
	seen  map[string]struct{} // every key, built once the object outgrows small
}

// Add records key and reports whether it is new; false means the object already has it.
func (s *KeySet) Add(key string) bool {
	if s.seen == nil {
		for _, k := range s.small[:s.n] {
			if k == key {
				return false
			}
		}
		if s.n < linearKeys {
			s.small[s.n] = key
			s.n++
			return true
		}
		s.seen = make(map[string]struct{}, 2*linearKeys)
		for _, k := range s.small {
			s.seen[k] = struct{}{}
		}
	}
	if _, dup := s.seen[key]; dup {
		return false
	}
	s.seen[key] = struct{}{}
	s.more = append(s.more, key)
	return true
}

// Keys returns the keys added, in order.
func (s *KeySet) Keys() []string {
	return append(append(make([]string, 0, s.n+len(s.more)), s.small[:s.n]...), s.more...)
}

// DuplicateKeyError reports an object member whose key an earlier member already used.
type DuplicateKeyError struct {
	Key    string // decoded key, as encoding/json reads it
	Offset int    // byte offset of the second occurrence
	// Folded is set by UniqueFold: the earlier key may differ from Key in case.
	Folded bool
}

func (e *DuplicateKeyError) Error() string {
	k := e.Key
	if len(k) > 64 {
		k = k[:64] + "…"
	}
	if e.Folded {
		return fmt.Sprintf("duplicate object key %q at offset %d (keys that differ only in case name the same field)", k, e.Offset)
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
	if !valid(b) {
		return ErrInvalid
	}
	return uniqueValid(b, false)
}

// UniqueFold is Unique with keys compared case-insensitively, the way encoding/json
// matches object keys to struct fields (bytes.EqualFold: "disabled", "Disabled" and
// "DISABLED" all set the field Disabled, the last one winning). A document decoded into
// structs whose security depends on every field being read once — a key file, whose
// {"disabled":true,"Disabled":false} would keep a revoked key alive — is checked with it.
// Map keys are folded too: the stricter rule costs nothing for such documents and keeps
// one rule for the whole file.
func UniqueFold(b []byte) error {
	if !valid(b) {
		return ErrInvalid
	}
	return uniqueValid(b, true)
}

// uniqueValid is Unique (or, with fold, UniqueFold) for b already known to be valid JSON.
func uniqueValid(b []byte, fold bool) error {
	i, err := unique(b, SkipWS(b, 0), 0, fold)
	if err != nil {
		return err
	}
	if SkipWS(b, i) != len(b) {
		return ErrInvalid
	}
	return nil
}

// unique walks the value at b[i] (valid JSON, checked by the caller) and returns its end.
func unique(b []byte, i, depth int, fold bool) (int, error) {
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
			k := decodeKey(b[i:kEnd])
			if fold {
				k = foldKey(k)
			}
			if !ks.Add(k) {
				return 0, &DuplicateKeyError{Key: strings.Clone(decodeKey(b[i:kEnd])), Offset: i, Folded: fold}
			}
			i = SkipWS(b, SkipWS(b, kEnd)+1) // past ':'
		}
		end, err := unique(b, i, depth+1, fold)
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
// nearly all of them, are taken as they are, without a copy: the string aliases raw, which
// Unique never modifies, and lives only as long as the walk (an error copies it). Escapes
// and non-ASCII bytes (where encoding/json replaces invalid UTF-8) go through
// encoding/json itself.
func decodeKey(raw []byte) string {
	for _, c := range raw {
		if c == '\\' || c >= 0x80 {
			var s string
			_ = json.Unmarshal(raw, &s) // raw is a valid JSON string
			return s
		}
	}
	if len(raw) == 2 {
		return ""
	}
	return unsafe.String(&raw[1], len(raw)-2)
}

// foldKey maps every key encoding/json would match to the same struct field to one
// string: each rune becomes the smallest rune of its Unicode simple-fold orbit, which is
// the equivalence bytes.EqualFold (and so encoding/json) uses — "K", "k" and the Kelvin
// sign U+212A fold together. Plain upper-case ASCII keys are returned as they are.
func foldKey(k string) string {
	plain := true
	for i := 0; i < len(k); i++ {
		if c := k[i]; c >= utf8.RuneSelf || ('a' <= c && c <= 'z') {
			plain = false
			break
		}
	}
	if plain {
		return k
	}
	out := make([]byte, 0, len(k))
	for _, r := range k {
		out = utf8.AppendRune(out, foldRune(r))
	}
	return string(out)
}

// foldRune is the smallest rune in r's simple-fold orbit.
func foldRune(r rune) rune {
	lowest := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		lowest = min(lowest, f)
	}
	return lowest
}

// Unmarshal is json.Unmarshal for documents the gateway interprets: it first refuses a
// document with a repeated key (Unique), then decodes it with encoding/json. Errors from
// encoding/json are returned unchanged, so callers can still tell a type mismatch apart.
func Unmarshal(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &te) {
		return err // not valid JSON: nothing to walk
	}
	// encoding/json checks the whole document's syntax before it decodes, so b is valid
	// here and one pass is saved.
	if uerr := uniqueValid(b, false); uerr != nil {
		return uerr
	}
	return err
}
