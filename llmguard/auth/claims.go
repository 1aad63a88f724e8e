package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/geo"
	"github.com/llmguard/caddy-llmguard/llmguard/netrule"
)

// ClaimMapping says which token claims fill which identity fields. Claim paths are
// dot-separated ("realm_access.roles"); a claim whose own name contains dots (namespaced
// claims such as "https://example.com/roles") is found too, because the whole path is
// tried as a literal name first at each level.
type ClaimMapping struct {
	// ID is the claim that becomes the identity id. Default "sub".
	ID string `json:"id,omitempty"`
	// Name is the display-name claim. Default "name".
	Name string `json:"name,omitempty"`
	// Roles is the roles claim path, e.g. "realm_access.roles" (Keycloak) or "groups".
	// Default "roles". Its value may be an array or a space- or comma-separated string.
	Roles string `json:"roles,omitempty"`
	// Scopes is the scopes claim. Default: "scope" (RFC 8693 space-separated string),
	// falling back to "scp" (array or string, as Hydra and Azure AD send it).
	Scopes string `json:"scopes,omitempty"`
	// Tier is the tier claim path. Default "tier".
	Tier string `json:"tier,omitempty"`
	// Models is an optional claim listing the model globs the caller is limited to.
	Models string `json:"models,omitempty"`
	// Networks is an optional claim listing the client networks (CIDRs) the token may be
	// used from, as the key file's allowed_networks. Default none (no limit).
	Networks string `json:"networks,omitempty"`
	// Countries is an optional claim listing the client countries the token may be used
	// from, as the key file's allowed_countries. Default none (no limit).
	Countries string `json:"countries,omitempty"`
}

// maxClaimItems bounds list claims: a token with a million roles is refused.
const maxClaimItems = 256

// Lookup finds a claim by dot path.
func Lookup(claims map[string]any, path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	if v, ok := claims[path]; ok {
		return v, true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		sub, ok := claims[path[:i]].(map[string]any)
		if !ok {
			continue
		}
		if v, ok := Lookup(sub, path[i+1:]); ok {
			return v, true
		}
	}
	return nil, false
}

// stringList converts a claim to a list: arrays of strings, or a string split at spaces
// and commas.
func stringList(v any) ([]string, error) {
	var out []string
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		out = strings.FieldsFunc(t, func(r rune) bool { return r == ' ' || r == ',' })
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("expected strings, found %T", x)
			}
			out = append(out, s)
		}
	default:
		return nil, fmt.Errorf("expected a string or an array of strings, found %T", v)
	}
	if len(out) > maxClaimItems {
		return nil, fmt.Errorf("more than %d items", maxClaimItems)
	}
	return out, nil
}

// scalarString renders a claim for comparison and placeholders; objects and arrays are
// not scalars.
func scalarString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		return strconv.FormatBool(t), true
	case json.Number:
		return t.String(), true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	}
	return "", false
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Identity builds an identity from verified claims. It fails (and the token is refused)
// when a mapped claim is present with an unusable type or the id claim is missing, rather
// than silently ignoring it: a role claim the gateway cannot read must not turn into "no
// roles" and then into the default roles.
func (m ClaimMapping) Identity(claims map[string]any) (*exchange.Identity, error) {
	id := &exchange.Identity{Source: "jwt"}
	if sub, ok := claims["sub"].(string); ok {
		id.Subject = sub
	}
	v, ok := Lookup(claims, or(m.ID, "sub"))
	if !ok {
		return nil, fmt.Errorf("token has no %q claim", or(m.ID, "sub"))
	}
	if id.ID, ok = scalarString(v); !ok || id.ID == "" {
		return nil, fmt.Errorf("claim %q is not a non-empty string", or(m.ID, "sub"))
	}
	if v, ok := Lookup(claims, or(m.Name, "name")); ok {
		id.Name, _ = scalarString(v)
	}
	var err error
	if v, ok := Lookup(claims, or(m.Roles, "roles")); ok {
		if id.Roles, err = stringList(v); err != nil {
			return nil, fmt.Errorf("claim %q: %v", or(m.Roles, "roles"), err)
		}
	}
	if m.Scopes != "" {
		if v, ok := Lookup(claims, m.Scopes); ok {
			if id.Scopes, err = stringList(v); err != nil {
				return nil, fmt.Errorf("claim %q: %v", m.Scopes, err)
			}
		}
	} else if v, ok := claims["scope"]; ok {
		if id.Scopes, err = stringList(v); err != nil {
			return nil, fmt.Errorf("claim \"scope\": %v", err)
		}
	} else if v, ok := claims["scp"]; ok {
		if id.Scopes, err = stringList(v); err != nil {
			return nil, fmt.Errorf("claim \"scp\": %v", err)
		}
	}
	if v, ok := Lookup(claims, or(m.Tier, "tier")); ok {
		if id.Tier, ok = scalarString(v); !ok {
			return nil, fmt.Errorf("claim %q is not a string", or(m.Tier, "tier"))
		}
	}
	if m.Models != "" {
		if v, ok := Lookup(claims, m.Models); ok {
			if id.Models, err = stringList(v); err != nil {
				return nil, fmt.Errorf("claim %q: %v", m.Models, err)
			}
			if slices.Contains(id.Models, "") {
				return nil, errors.New("empty model pattern in token")
			}
		}
	}
	if id.Networks, err = listClaim(claims, m.Networks, netrule.Parse); err != nil {
		return nil, err
	}
	if id.Countries, err = listClaim(claims, m.Countries, geo.ParseCountries); err != nil {
		return nil, err
	}
	return id, nil
}

// listClaim reads an optional list claim at path and parses it. A claim that is present
// but unreadable refuses the token: a network limit the gateway cannot read must not
// become "no limit".
func listClaim[T any](claims map[string]any, path string, parse func([]string) ([]T, error)) ([]T, error) {
	if path == "" {
		return nil, nil
	}
	v, ok := Lookup(claims, path)
	if !ok {
		return nil, nil
	}
	l, err := stringList(v)
	if err == nil {
		var out []T
		if out, err = parse(l); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("claim %q: %v", path, err)
}

// CheckRequired verifies required claims: each listed claim must be present and, when
// values are given, equal (as a scalar) one of them or, for an array claim, contain one.
func CheckRequired(claims map[string]any, required map[string][]string) error {
	for name, want := range required {
		v, ok := Lookup(claims, name)
		if !ok {
			return fmt.Errorf("token lacks the required claim %q", name)
		}
		if len(want) == 0 {
			continue
		}
		var have []string
		if s, ok := scalarString(v); ok {
			have = []string{s}
		} else if l, err := stringList(v); err == nil {
			have = l
		}
		if !slices.ContainsFunc(have, func(h string) bool { return slices.Contains(want, h) }) {
			return fmt.Errorf("token claim %q does not have a required value", name)
		}
	}
	return nil
}
