package keyadmin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
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

// Spec is a new key's attributes, as POSTed to the admin API. Its fields are the key
// file's (auth.Attributes), so every attribute a key file holds can be set at creation.
type Spec struct {
	ID string `json:"id"`
	auth.Attributes
}

// Patch changes some attributes of a key: a JSON merge patch (RFC 7396) one level deep
// over the key's auth.Attributes — a member sent replaces that attribute (a list or
// metadata as a whole), null clears it (so "expires": null removes the expiry), a member
// left out is kept — plus "disabled", where false re-enables a revoked key.
type Patch struct {
	// attrs are the attribute members sent, by their JSON names, as sent.
	attrs map[string]json.RawMessage
	// Disabled, when set, revokes (true) or re-enables (false) the key.
	Disabled *bool
}

// attrNames are the JSON names of auth.Attributes' fields, the attributes a patch may
// change; derived from the type so that the field list keeps its one home.
var attrNames = func() []string {
	t := reflect.TypeFor[auth.Attributes]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		names = append(names, strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
	}
	return names
}()

// apply merges the patch's attributes into a.
func (p *Patch) apply(a *auth.Attributes) error {
	if len(p.attrs) == 0 {
		return nil
	}
	cur, err := json.Marshal(a)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(cur, &m); err != nil {
		return err
	}
	for k, v := range p.attrs {
		if isNull(v) {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	merged, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var out auth.Attributes
	if err := json.Unmarshal(merged, &out); err != nil {
		return invalid("%v", err) // each member was decoded alone in ParsePatch
	}
	*a = out
	return nil
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

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
	return checkAttrs(&s.Attributes)
}

// ParsePatch decodes and checks an update request. Names are matched exactly (a key
// file is written with these names, and "Tier" would otherwise sit beside "tier").
func ParsePatch(data []byte) (*Patch, error) {
	var raw map[string]json.RawMessage
	if err := decodeStrict(data, &raw); err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, invalid("the update changes nothing: send at least one of %s, disabled", strings.Join(attrNames, ", "))
	}
	p := Patch{attrs: map[string]json.RawMessage{}}
	// probe holds every attribute sent, decoded alone, to check types and bounds.
	var probe auth.Attributes
	for k, v := range raw {
		switch {
		case k == "disabled":
			if isNull(v) {
				return nil, invalid("disabled must be true or false")
			}
			p.Disabled = new(bool)
			if err := decodeField(v, p.Disabled); err != nil {
				return nil, invalid("disabled: %v", err)
			}
		case slices.Contains(attrNames, k):
			p.attrs[k] = v
			if isNull(v) {
				continue
			}
			member, _ := json.Marshal(map[string]json.RawMessage{k: v})
			if err := decodeField(member, &probe); err != nil {
				return nil, invalid("%s: %v", k, err)
			}
		case slices.Contains([]string{"id", "hash", "key", "previous", "created"}, k):
			return nil, invalid("%s cannot be changed by an update (rotate the key for a new secret)", k)
		default:
			return nil, invalid("unknown field %q", k)
		}
	}
	if err := checkAttrs(&probe); err != nil {
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

// checkAttrs applies the admin API's bounds and the key store's own checks, so a change
// that passes can never make the key file unloadable.
func checkAttrs(a *auth.Attributes) error {
	if len(a.Name) > maxItemLen || len(a.Tier) > maxItemLen {
		return invalid("name and tier may be at most %d bytes", maxItemLen)
	}
	for field, list := range map[string][]string{"roles": a.Roles, "scopes": a.Scopes, "models": a.Models,
		"allowed_networks": a.AllowedNetworks, "allowed_countries": a.AllowedCountries} {
		if len(list) > maxListItems {
			return invalid("%s: at most %d entries", field, maxListItems)
		}
		for _, v := range list {
			if v == "" || len(v) > maxItemLen {
				return invalid("%s: entries must be 1–%d bytes", field, maxItemLen)
			}
		}
	}
	if len(a.Metadata) > maxMetadata {
		return invalid("metadata: at most %d entries", maxMetadata)
	}
	for k, v := range a.Metadata {
		if k == "" || k == "id" || len(k) > maxItemLen || len(v) > maxMetadataText {
			return invalid("metadata: keys must be 1–%d bytes and not \"id\", values at most %d bytes", maxItemLen, maxMetadataText)
		}
	}
	if err := a.Check(); err != nil {
		return invalid("%v", err)
	}
	return nil
}
