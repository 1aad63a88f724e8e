package keyadmin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

func TestParseSpec(t *testing.T) {
	s, err := ParseSpec([]byte(`{"id":"alice","roles":["dev"],"models":["gpt-4o*"],"expires":"2031-01-01T00:00:00Z","metadata":{"team":"a"},
		"allowed_networks":["10.0.0.0/8"],"allowed_countries":["DE","unknown"]}`))
	if err != nil || s.ID != "alice" || s.Expires == nil || s.Metadata["team"] != "a" || s.AllowedNetworks[0] != "10.0.0.0/8" || s.AllowedCountries[1] != "unknown" {
		t.Fatalf("%+v %v", s, err)
	}
	for body, want := range map[string]string{
		``:                                       "not valid JSON",
		`{"id":`:                                 "not valid JSON",
		`[]`:                                     "cannot unmarshal",
		`{}`:                                     "id:",
		`{"id":"a b"}`:                           "id:",
		`{"id":"a","hash":"sha256:00"}`:          `unknown field "hash"`,
		`{"id":"a","key":"sk-llmg-x"}`:           `unknown field "key"`,
		`{"id":"a","expire":"2031-01-01"}`:       `unknown field "expire"`,
		`{"id":"a","models":["gpt\u0001"]}`:      "models:",
		`{"id":"a","roles":[""]}`:                "roles:",
		`{"id":"a","metadata":{"id":"x"}}`:       "metadata:",
		`{"id":"a"} {"id":"b"}`:                  "trailing data",
		`{"id":"a","expires":"tomorrow"}`:        "expires",
		`{"id":"a","roles":"dev"}`:               "cannot unmarshal",
		`{"id":"a","ID":"b"}`:                    "duplicate object key",
		`{"id":"a","allowed_networks":["x"]}`:    "allowed_networks:",
		`{"id":"a","allowed_countries":["XYZ"]}`: "allowed_countries:",
	} {
		_, err := ParseSpec([]byte(body))
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an InvalidError containing %q", body, err, want)
		}
	}
}

// patched is base after the patch body.
func patched(t *testing.T, base auth.Attributes, body string) (auth.Attributes, *Patch) {
	t.Helper()
	p, err := ParsePatch([]byte(body))
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if err := p.apply(&base); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return base, p
}

func TestParsePatch(t *testing.T) {
	exp := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	base := auth.Attributes{Name: "n", Roles: []string{"dev"}, Scopes: []string{"s"}, Tier: "free", Expires: &exp,
		Metadata: map[string]string{"a": "1"}, AllowedNetworks: []string{"10.0.0.0/8"}, AllowedCountries: []string{"DE"}}
	// null clears, a member sent replaces, a member left out is kept.
	a, p := patched(t, base, `{"name":null,"roles":null,"expires":null,"disabled":false,"tier":"x","allowed_networks":["192.0.2.1","2001:db8::/32"]}`)
	if a.Name != "" || a.Roles != nil || a.Expires != nil || a.Tier != "x" || len(a.AllowedNetworks) != 2 ||
		a.Scopes[0] != "s" || a.Metadata["a"] != "1" || a.AllowedCountries[0] != "DE" || p.Disabled == nil || *p.Disabled {
		t.Fatalf("%+v %+v", a, p)
	}
	a, p = patched(t, base, `{"expires":"2032-01-01T00:00:00Z","metadata":{"b":"2"},"allowed_countries":null}`)
	if !a.Expires.Equal(exp.AddDate(1, 0, 0)) || len(a.Metadata) != 1 || a.Metadata["b"] != "2" || a.AllowedCountries != nil || p.Disabled != nil {
		t.Fatalf("%+v %+v", a, p)
	}
	if !base.Expires.Equal(exp) || base.Roles[0] != "dev" {
		t.Fatal("apply changed the attributes it was given a copy of")
	}
	for body, want := range map[string]string{
		`{}`:                                   "changes nothing",
		`{"hash":"sha256:00"}`:                 "cannot be changed",
		`{"id":"b"}`:                           "cannot be changed",
		`{"disabled":null}`:                    "true or false",
		`{"disabled":"yes"}`:                   "disabled:",
		`{"tiers":"x"}`:                        `unknown field "tiers"`,
		`{"models":["gpt\u0001"]}`:             "models:",
		`{"metadata":{"":"x"}}`:                "metadata:",
		`not json`:                             "not valid JSON",
		`{"tier":"x"}{}`:                       "trailing data",
		`{"tier":"x","tier":"y"}`:              "duplicate object key",
		`{"Tier":"x"}`:                         `unknown field "Tier"`,
		`{"allowed_networks":["10.0.0.0/33"]}`: "allowed_networks:",
		`{"allowed_networks":"10.0.0.0/8"}`:    "allowed_networks:",
		`{"allowed_countries":["Germany"]}`:    "allowed_countries:",
		`{"allowed_countries":[""]}`:           "allowed_countries:",
	} {
		_, err := ParsePatch([]byte(body))
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an InvalidError containing %q", body, err, want)
		}
	}
}

func TestParseGrace(t *testing.T) {
	for body, want := range map[string]time.Duration{``: 0, ` `: 0, `{}`: 0, `{"grace":"90m"}`: 90 * time.Minute} {
		if d, err := ParseGrace([]byte(body)); err != nil || d != want {
			t.Errorf("%q: %v %v", body, d, err)
		}
	}
	for _, body := range []string{`{"grace":"-1h"}`, `{"grace":"721h"}`, `{"grace":"soon"}`, `{"grace":3600}`, `{"graze":"1h"}`} {
		if _, err := ParseGrace([]byte(body)); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
}
