package auth

import (
	"encoding/json"
	"os"
	"path/filepath"
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

// FuzzParseKeyFile: a key file that parses and loads survives the admin tools' rewrite
// (WriteKeyFile then ParseKeyFile) with every id, hash, previous secret and flag intact, so
// an admin change can never silently re-enable a key or drop a rotated-out secret.
func FuzzParseKeyFile(f *testing.F) {
	h := HashKey("k")
	f.Add([]byte(`[{"id":"a","hash":"` + h + `","disabled":true,"previous":[{"hash":"` + HashKey("o") + `","until":"2031-01-01T00:00:00Z"}]}]`))
	f.Add([]byte(`{"keys":[{"id":"a","hash":"` + h + `","expires":"2031-01-01T00:00:00Z","metadata":{"t":"x"}}]}`))
	f.Add([]byte(`[{"id":"a","hash":"` + h + `","previous":[{"hash":"` + h + `","until":"2031-01-01T00:00:00Z"}]}]`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseKeyFile(data)
		if err != nil {
			return
		}
		if _, err := NewKeyStore(entries); err != nil {
			return
		}
		// Compare against copies: the writer gets the same pointers and must not be able
		// to hide a change by making it in place.
		want := make([]Entry, len(entries))
		for i, e := range entries {
			want[i] = *e
			want[i].Previous = append([]PreviousHash(nil), e.Previous...)
		}
		path := filepath.Join(dir, "keys.json")
		if err := WriteKeyFile(path, entries); err != nil {
			t.Fatal(err)
		}
		back, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseKeyFile(back)
		if err != nil || len(again) != len(entries) {
			t.Fatalf("rewrite does not parse: %v", err)
		}
		for i := range want {
			e, a := &want[i], again[i]
			if a.ID != e.ID || a.Hash != e.Hash || a.Disabled != e.Disabled || len(a.Previous) != len(e.Previous) ||
				(e.Expires == nil) != (a.Expires == nil) || (e.Expires != nil && !e.Expires.Equal(*a.Expires)) {
				t.Fatalf("entry %d changed in the rewrite: %+v -> %+v", i, e, a)
			}
			for j := range e.Previous {
				if a.Previous[j].Hash != e.Previous[j].Hash || !a.Previous[j].Until.Equal(e.Previous[j].Until) {
					t.Fatalf("previous secret %d of %q changed", j, e.ID)
				}
			}
		}
	})
}
