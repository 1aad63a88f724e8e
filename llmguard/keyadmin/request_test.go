package keyadmin

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	s, err := ParseSpec([]byte(`{"id":"alice","roles":["dev"],"models":["gpt-4o*"],"expires":"2031-01-01T00:00:00Z","metadata":{"team":"a"}}`))
	if err != nil || s.ID != "alice" || s.Expires == nil || s.Metadata["team"] != "a" {
		t.Fatalf("%+v %v", s, err)
	}
	for body, want := range map[string]string{
		``:                                  "not valid JSON",
		`{"id":`:                            "not valid JSON",
		`[]`:                                "cannot unmarshal",
		`{}`:                                "id:",
		`{"id":"a b"}`:                      "id:",
		`{"id":"a","hash":"sha256:00"}`:     `unknown field "hash"`,
		`{"id":"a","key":"sk-llmg-x"}`:      `unknown field "key"`,
		`{"id":"a","expire":"2031-01-01"}`:  `unknown field "expire"`,
		`{"id":"a","models":["gpt\u0001"]}`: "models:",
		`{"id":"a","roles":[""]}`:           "roles:",
		`{"id":"a","metadata":{"id":"x"}}`:  "metadata:",
		`{"id":"a"} {"id":"b"}`:             "trailing data",
		`{"id":"a","expires":"tomorrow"}`:   "expires",
		`{"id":"a","roles":"dev"}`:          "cannot unmarshal",
		`{"id":"a","ID":"b"}`:               "duplicate object key",
	} {
		_, err := ParseSpec([]byte(body))
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an InvalidError containing %q", body, err, want)
		}
	}
}

func TestParsePatch(t *testing.T) {
	p, err := ParsePatch([]byte(`{"name":null,"roles":null,"expires":null,"disabled":false,"tier":"x"}`))
	if err != nil || p.Name == nil || *p.Name != "" || p.Roles == nil || len(*p.Roles) != 0 || !p.ClearExpires ||
		p.Disabled == nil || *p.Disabled || p.Tier == nil || *p.Tier != "x" || p.Scopes != nil || p.Metadata != nil {
		t.Fatalf("%+v %v", p, err)
	}
	p, err = ParsePatch([]byte(`{"expires":"2031-01-01T00:00:00Z"}`))
	if err != nil || p.Expires == nil || !p.Expires.Equal(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)) || p.ClearExpires {
		t.Fatalf("%+v %v", p, err)
	}
	for body, want := range map[string]string{
		`{}`:                       "changes nothing",
		`{"hash":"sha256:00"}`:     "cannot be changed",
		`{"id":"b"}`:               "cannot be changed",
		`{"disabled":null}`:        "true or false",
		`{"disabled":"yes"}`:       "disabled:",
		`{"tiers":"x"}`:            `unknown field "tiers"`,
		`{"models":["gpt\u0001"]}`: "models:",
		`{"metadata":{"":"x"}}`:    "metadata:",
		`not json`:                 "not valid JSON",
		`{"tier":"x"}{}`:           "trailing data",
		`{"tier":"x","tier":"y"}`:  "duplicate object key",
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
