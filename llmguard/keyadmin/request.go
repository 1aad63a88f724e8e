package keyadmin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/glob"
	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
)

// Bounds on what one key may carry: the key file is re-read on every change by every
// gateway, and metadata becomes placeholders.
const (
	maxListItems    = 64
	maxItemLen      = 256
	maxMetadata     = 32
	maxMetadataText = 1024
	// MaxGrace bounds a rotation's grace period: an old secret should die soon.
	MaxGrace = 30 * 24 * time.Hour
)

// Spec is a new key's attributes, as POSTed to the admin API.
type Spec struct {
	ID       string            `json:"id"`
	Name     string            `json:"name,omitempty"`
	Roles    []string          `json:"roles,omitempty"`
	Scopes   []string          `json:"scopes,omitempty"`
	Models   []string          `json:"models,omitempty"`
	Tier     string            `json:"tier,omitempty"`
	Expires  *time.Time        `json:"expires,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Patch changes some attributes of a key; a field left out is kept. "expires": null
// removes the expiry; "disabled": false re-enables a revoked key.
type Patch struct {
	Name    *string
	Roles   *[]string
	Scopes  *[]string
	Models  *[]string
	Tier    *string
	Expires *time.Time
	// ClearExpires is set by "expires": null.
	ClearExpires bool
	Metadata     *map[string]string
	Disabled     *bool
}

// InvalidError is a request the caller must change (HTTP 400). Its message is safe to
// return: it names fields, never their secret values (there are none in a request).
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalid(format string, a ...any) error { return &InvalidError{Msg: fmt.Sprintf(format, a...)} }

// ParseSpec decodes and checks a create request. Unknown fields are refused: a client
// that sends "hash" or "key" must learn that the gateway makes the secret, and a misspelt
// "expires" must not silently create a key that never expires.
func ParseSpec(data []byte) (*Spec, error) {
	var s Spec
	if err := decodeStrict(data, &s); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// check validates the spec's id and attributes (File.Create calls it too, so specs built
// in code obey the same bounds as parsed ones).
func (s *Spec) check() error {
	if err := auth.CheckKeyID(s.ID); err != nil {
		return invalid("id: %v", err)
	}
	return checkAttrs(s.Name, s.Tier, s.Roles, s.Scopes, s.Models, s.Metadata)
}

// ParsePatch decodes and checks an update request.
func ParsePatch(data []byte) (*Patch, error) {
	var raw map[string]json.RawMessage
	if err := decodeStrict(data, &raw); err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, invalid("the update changes nothing: send at least one of name, roles, scopes, models, tier, expires, metadata, disabled")
	}
	var p Patch
	for k, v := range raw {
		// null empties a field (and removes the expiry); it is refused only where no
		// empty value exists.
		null := string(bytes.TrimSpace(v)) == "null"
		var err error
		switch k {
		case "name":
			p.Name = new(string)
			err = decodeField(v, p.Name)
		case "tier":
			p.Tier = new(string)
			err = decodeField(v, p.Tier)
		case "roles":
			p.Roles = new([]string)
			err = decodeField(v, p.Roles)
		case "scopes":
			p.Scopes = new([]string)
			err = decodeField(v, p.Scopes)
		case "models":
			p.Models = new([]string)
			err = decodeField(v, p.Models)
		case "metadata":
			p.Metadata = new(map[string]string)
			err = decodeField(v, p.Metadata)
		case "disabled":
			if null {
				return nil, invalid("disabled must be true or false")
			}
			p.Disabled = new(bool)
			err = decodeField(v, p.Disabled)
		case "expires":
			if null {
				p.ClearExpires = true
			} else {
				err = decodeField(v, &p.Expires)
			}
		case "id", "hash", "key", "previous", "created":
			return nil, invalid("%s cannot be changed by an update (rotate the key for a new secret)", k)
		default:
			return nil, invalid("unknown field %q", k)
		}
		if err != nil {
			return nil, invalid("%s: %v", k, err)
		}
	}
	if err := checkAttrs(deref(p.Name), deref(p.Tier), deref(p.Roles), deref(p.Scopes), deref(p.Models), deref(p.Metadata)); err != nil {
		return nil, err
	}
	return &p, nil
}

// ParseGrace decodes a rotate request body: empty, or {"grace": "<Go duration>"}.
func ParseGrace(data []byte) (time.Duration, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return 0, nil
	}
	var r struct {
		Grace string `json:"grace"`
	}
	if err := decodeStrict(data, &r); err != nil {
		return 0, err
	}
	if r.Grace == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(r.Grace)
	if err != nil {
		return 0, invalid("grace: %q is not a duration such as \"24h\" or \"30m\"", r.Grace)
	}
	return d, checkGrace(d)
}

func checkGrace(d time.Duration) error {
	if d < 0 || d > MaxGrace {
		return invalid("grace must be between 0 and %s", MaxGrace)
	}
	return nil
}

func decodeStrict(data []byte, v any) error {
	// The body is decoded into structs, which encoding/json fills case-insensitively:
	// {"id":"a","ID":"b"} must be refused, not read as "b", like a key file would be.
	var de *jsonspan.DuplicateKeyError
	if err := jsonspan.UniqueFold(data); errors.As(err, &de) {
		return invalid("%v", de)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var pe *time.ParseError
		switch {
		case errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return invalid("the body is not valid JSON")
		case errors.As(err, &pe):
			return invalid("expires must be an RFC 3339 time such as 2031-01-01T00:00:00Z")
		}
		return invalid("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return invalid("trailing data after the JSON object")
	}
	return nil
}

func decodeField(v json.RawMessage, dst any) error {
	if err := json.Unmarshal(v, dst); err != nil {
		var te *json.UnmarshalTypeError
		var pe *time.ParseError
		switch {
		case errors.As(err, &te):
			return fmt.Errorf("expected %s", te.Type)
		case errors.As(err, &pe):
			return errors.New("must be an RFC 3339 time such as 2031-01-01T00:00:00Z")
		}
		return errors.New("malformed value")
	}
	return nil
}

func checkAttrs(name, tier string, roles, scopes, models []string, meta map[string]string) error {
	if len(name) > maxItemLen || len(tier) > maxItemLen {
		return invalid("name and tier may be at most %d bytes", maxItemLen)
	}
	for field, list := range map[string][]string{"roles": roles, "scopes": scopes, "models": models} {
		if len(list) > maxListItems {
			return invalid("%s: at most %d entries", field, maxListItems)
		}
		for _, v := range list {
			if v == "" || len(v) > maxItemLen {
				return invalid("%s: entries must be 1–%d bytes", field, maxItemLen)
			}
		}
	}
	for _, m := range models {
		if err := glob.Valid(m); err != nil {
			return invalid("models: %v", err)
		}
	}
	if len(meta) > maxMetadata {
		return invalid("metadata: at most %d entries", maxMetadata)
	}
	for k, v := range meta {
		if k == "" || k == "id" || len(k) > maxItemLen || len(v) > maxMetadataText {
			return invalid("metadata: keys must be 1–%d bytes and not \"id\", values at most %d bytes", maxItemLen, maxMetadataText)
		}
	}
	return nil
}

// deref is the value p points to, or the zero value.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
