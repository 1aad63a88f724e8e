package auth

import (
	"encoding/json"
	"reflect"
	"testing"
)

func claimsOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestClaimMapping(t *testing.T) {
	c := claimsOf(t, `{"sub":"u1","name":"Ann","scope":"openid llm:chat","tier":"gold",
		"realm_access":{"roles":["dev","ops"]},"https://ex.com/roles":"a,b","client_id":"svc","allowed":["gpt-*"]}`)
	id, err := ClaimMapping{Roles: "realm_access.roles", Models: "allowed"}.Identity(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"u1", "u1", "Ann", []string{"dev", "ops"}, []string{"openid", "llm:chat"}, "gold", []string{"gpt-*"}, "jwt"}
	got := []any{id.ID, id.Subject, id.Name, id.Roles, id.Scopes, id.Tier, id.Models, id.Source}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	// Dotted claim names resolve literally; custom id claim.
	id, err = ClaimMapping{ID: "client_id", Roles: "https://ex.com/roles"}.Identity(c)
	if err != nil || id.ID != "svc" || !reflect.DeepEqual(id.Roles, []string{"a", "b"}) {
		t.Fatalf("%+v %v", id, err)
	}
	// scp array (Hydra, Azure AD) when there is no scope string.
	id, err = ClaimMapping{}.Identity(claimsOf(t, `{"sub":"x","scp":["llm:chat","llm:models"]}`))
	if err != nil || !reflect.DeepEqual(id.Scopes, []string{"llm:chat", "llm:models"}) {
		t.Fatalf("%+v %v", id, err)
	}
	for _, bad := range []string{`{}`, `{"sub":""}`, `{"sub":"x","roles":{"a":1}}`, `{"sub":"x","roles":[1]}`,
		`{"sub":"x","scope":5}`, `{"sub":"x","tier":["a"]}`} {
		if _, err := (ClaimMapping{}).Identity(claimsOf(t, bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestCheckRequired(t *testing.T) {
	c := claimsOf(t, `{"email_verified":true,"groups":["a","llm"],"org":{"id":"o1"}}`)
	ok := []map[string][]string{
		{"email_verified": {"true"}},
		{"groups": {"llm"}},
		{"org.id": {"o1", "o2"}},
		{"org": nil},
	}
	for _, r := range ok {
		if err := CheckRequired(c, r); err != nil {
			t.Errorf("%v: %v", r, err)
		}
	}
	bad := []map[string][]string{
		{"email_verified": {"false"}},
		{"groups": {"admin"}},
		{"missing": nil},
		{"org": {"o1"}},
	}
	for _, r := range bad {
		if CheckRequired(c, r) == nil {
			t.Errorf("%v accepted", r)
		}
	}
}

func TestClaimNetworksAndCountries(t *testing.T) {
	m := ClaimMapping{Networks: "llm.nets", Countries: "llm.cc"}
	id, err := m.Identity(map[string]any{"sub": "u", "llm": map[string]any{"nets": []any{"10.0.0.0/8", "::ffff:192.0.2.0/120"}, "cc": "de fr"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Networks) != 2 || id.Networks[1].String() != "192.0.2.0/24" || len(id.Countries) != 2 || id.Countries[0] != "DE" {
		t.Fatalf("%+v", id)
	}
	// A limit claim the gateway cannot read refuses the token instead of lifting the limit.
	for _, bad := range []map[string]any{
		{"sub": "u", "llm": map[string]any{"nets": []any{"10.0.0.0/99"}}},
		{"sub": "u", "llm": map[string]any{"nets": 7.0}},
		{"sub": "u", "llm": map[string]any{"cc": []any{"GER"}}},
	} {
		if _, err := m.Identity(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
