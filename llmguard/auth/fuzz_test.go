package auth

import (
	"encoding/json"
	"strings"
	"testing"
)

func FuzzParseCredential(f *testing.F) {
	for _, s := range []string{"Bearer sk-llmg-abc", "bearer  x", "Basic dXNlcjpwYXNz", "", "Bearer \x00", "Bearer a b"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, v string, bare bool) {
		c := ParseCredential(v, bare)
		if c != "" && (strings.ContainsAny(c, " \t\r\n") || len(c) > 16<<10) {
			t.Fatalf("credential %q from %q", c, v)
		}
		if c != "" && !strings.Contains(v, c) {
			t.Fatalf("credential %q not in input", c)
		}
	})
}

func FuzzCheckKeyFormat(f *testing.F) {
	k, _ := NewKey(nil)
	f.Add(k)
	f.Add(KeyPrefix)
	f.Add(k[:len(k)-1] + "!")
	f.Fuzz(func(t *testing.T, s string) {
		if CheckKeyFormat(s) == nil {
			if len(s) != KeyLength || !LooksLikeKey(s) || checksum(s[len(KeyPrefix):len(KeyPrefix)+keyRandomChars]) != s[len(s)-keyCheckChars:] {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

func FuzzClaimMapping(f *testing.F) {
	f.Add(`{"sub":"a","scope":"x y","realm_access":{"roles":["r"]},"tier":"t"}`, "realm_access.roles")
	f.Add(`{"sub":"a","scp":["x"],"roles":"a,b"}`, "")
	f.Add(`{"sub":1.5,"a.b":{"c":["x"]}}`, "a.b.c")
	f.Fuzz(func(t *testing.T, js, rolesPath string) {
		var claims map[string]any
		if json.Unmarshal([]byte(js), &claims) != nil {
			return
		}
		id, err := ClaimMapping{Roles: rolesPath, Models: "models"}.Identity(claims)
		if err != nil {
			return
		}
		if id.ID == "" || id.Source != "jwt" || len(id.Roles) > maxClaimItems || len(id.Scopes) > maxClaimItems {
			t.Fatalf("bad identity %+v", id)
		}
		_ = CheckRequired(claims, map[string][]string{rolesPath: {"x"}})
	})
}
