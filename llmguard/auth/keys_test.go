package auth

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustKey(t testing.TB) string {
	t.Helper()
	k, err := NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewKeyFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		k := mustKey(t)
		if len(k) != KeyLength || !strings.HasPrefix(k, KeyPrefix) {
			t.Fatalf("bad key %q", k)
		}
		if err := CheckKeyFormat(k); err != nil {
			t.Fatalf("%q: %v", k, err)
		}
		if seen[k] {
			t.Fatal("duplicate key")
		}
		seen[k] = true
	}
	// Deterministic source: the alphabet is only base62 and rejection sampling skips bytes
	// ≥ 248, so a source of all-0xFF bytes followed by zeros yields "0…".
	src := bytes.NewReader(append(bytes.Repeat([]byte{0xff}, 64), make([]byte, 64)...))
	k, err := NewKey(src)
	if err != nil || k[len(KeyPrefix):len(KeyPrefix)+keyRandomChars] != strings.Repeat("0", keyRandomChars) {
		t.Fatalf("rejection sampling: %q %v", k, err)
	}
	if _, err := NewKey(bytes.NewReader(nil)); err == nil {
		t.Fatal("an exhausted random source must fail")
	}
}

func TestCheckKeyFormat(t *testing.T) {
	k := mustKey(t)
	flip := []byte(k)
	i := len(KeyPrefix) + 3
	if flip[i] == 'a' {
		flip[i] = 'b'
	} else {
		flip[i] = 'a'
	}
	for _, bad := range []string{"", KeyPrefix, k[:len(k)-1], k + "0", string(flip),
		strings.Replace(k, "sk-llmg-", "sk-llmx-", 1), k[:len(k)-2] + "!!", "Bearer " + k} {
		if CheckKeyFormat(bad) == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseCredential(t *testing.T) {
	cases := []struct {
		in   string
		bare bool
		want string
	}{
		{"Bearer abc", false, "abc"},
		{"bearer   abc  ", false, "abc"},
		{"BEARER abc", false, "abc"},
		{"Basic abc", false, ""},
		{"Bearer", false, ""},
		{"Bearer a b", false, ""},
		{"abc", false, ""},
		{"abc", true, "abc"},
		{" abc ", true, "abc"},
		{"a\tb", true, ""},
		{"", true, ""},
		{strings.Repeat("x", 17<<10), true, ""},
	}
	for _, c := range cases {
		if got := ParseCredential(c.in, c.bare); got != c.want {
			t.Errorf("ParseCredential(%q, %v) = %q, want %q", c.in, c.bare, got, c.want)
		}
	}
}

func TestHashKey(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2 appendix B.1.
	if got := HashKey("abc"); got != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatal(got)
	}
	if _, err := parseHash("sha256:zz"); err == nil {
		t.Fatal("bad hex accepted")
	}
	if _, err := parseHash("md5:00"); err == nil {
		t.Fatal("wrong algorithm accepted")
	}
}

func TestKeyStoreVerify(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	good, expired, disabled, other := mustKey(t), mustKey(t), mustKey(t), mustKey(t)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	s, err := NewKeyStore([]*Entry{
		{ID: "good", Hash: HashKey(good), Attributes: Attributes{Expires: &future, Roles: []string{"dev"}}},
		{ID: "expired", Hash: HashKey(expired), Attributes: Attributes{Expires: &past}},
		{ID: "disabled", Hash: HashKey(disabled), Disabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := s.Verify(good, now); err != nil || e.ID != "good" || e.Identity().Source != "api_key" {
		t.Fatalf("good key: %v %v", e, err)
	}
	if _, err := s.Verify(good, future); !errors.Is(err, ErrExpiredKey) {
		t.Fatalf("at expiry instant: %v", err)
	}
	if _, err := s.Verify(expired, now); !errors.Is(err, ErrExpiredKey) {
		t.Fatalf("expired: %v", err)
	}
	// Unknown, malformed and disabled keys are indistinguishable to the client.
	for _, k := range []string{other, disabled, "sk-llmg-short", good[:len(good)-1] + "x"} {
		if _, err := s.Verify(k, now); err != ErrInvalidKey {
			t.Errorf("%q: %v", k, err)
		}
	}
}

func TestKeyStoreReplaceRejects(t *testing.T) {
	k := HashKey(mustKey(t))
	bad := [][]*Entry{
		{{ID: "", Hash: k}},
		{{ID: "a", Hash: "nohash"}},
		{{ID: "a", Hash: k}, {ID: "a", Hash: HashKey(mustKey(t))}},
		{{ID: "a", Hash: k}, {ID: "b", Hash: k}},
		{{ID: "a", Hash: k, Attributes: Attributes{Models: []string{""}}}},
		{{ID: "a", Hash: k, Attributes: Attributes{AllowedNetworks: []string{"10.0.0.0/33"}}}},
		{{ID: "a", Hash: k, Attributes: Attributes{AllowedCountries: []string{"Germany"}}}},
	}
	for i, b := range bad {
		if _, err := NewKeyStore(b); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
}

// TestVerifyWorkSameForUnknownKeys pins the constant-time property structurally: every
// well-formed key, known, unknown, disabled or expired, costs exactly one digest and one
// full-length comparison against a stored (or the fake) digest. An early return that skips
// the comparison for a miss changes the counts and fails here, however fast the machine.
func TestVerifyWorkSameForUnknownKeys(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	past := now.Add(-time.Hour)
	good, disabled, expired := mustKey(t), mustKey(t), mustKey(t)
	s, err := NewKeyStore([]*Entry{
		{ID: "good", Hash: HashKey(good)},
		{ID: "disabled", Hash: HashKey(disabled), Disabled: true},
		{ID: "expired", Hash: HashKey(expired), Attributes: Attributes{Expires: &past}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var digests, compares int
	s.ops = verifyOps{
		digest: func(b []byte) [sha256.Size]byte { digests++; return constantTimeOps.digest(b) },
		compare: func(x, y []byte) int {
			if len(x) != sha256.Size || len(y) != sha256.Size {
				t.Errorf("compared %d with %d bytes: not a full digest comparison", len(x), len(y))
			}
			compares++
			return constantTimeOps.compare(x, y)
		},
	}
	for name, key := range map[string]string{
		"known": good, "unknown": mustKey(t), "disabled": disabled, "expired": expired,
	} {
		digests, compares = 0, 0
		_, verr := s.Verify(key, now)
		if digests != 1 || compares != 1 {
			t.Errorf("%s key (%v): %d digests, %d comparisons; want 1 and 1", name, verr, digests, compares)
		}
	}
}

func TestKeyFileReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	k1, k2 := mustKey(t), mustKey(t)
	write := func(s string) {
		t.Helper()
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(`[{"id":"one","hash":"` + HashKey(k1) + `"}]`)
	store, _ := NewKeyStore(nil)
	f := &KeyFile{Path: path, Store: store}
	if changed, err := f.Load(); err != nil || !changed {
		t.Fatalf("first load: %v %v", changed, err)
	}
	if changed, err := f.Load(); err != nil || changed {
		t.Fatalf("unchanged file reloaded: %v %v", changed, err)
	}
	now := time.Now()
	if _, err := store.Verify(k1, now); err != nil {
		t.Fatal(err)
	}
	// Revoke one, add another; object form.
	write(`{"keys":[{"id":"one","hash":"` + HashKey(k1) + `","disabled":true},{"id":"two","hash":"` + HashKey(k2) + `"}]}`)
	if _, err := f.Load(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Verify(k1, now); err != ErrInvalidKey {
		t.Fatalf("revoked key still accepted: %v", err)
	}
	if _, err := store.Verify(k2, now); err != nil {
		t.Fatal(err)
	}
	// A broken file keeps the last good set.
	for _, broken := range []string{`[{"id":"two","hash":`, `[{"id":"two","hash":"` + HashKey(k2) + `","disabld":true}]`, ``, `[] []`} {
		write(broken)
		if _, err := f.Load(); err == nil {
			t.Fatalf("broken file %q accepted", broken)
		}
		if _, err := store.Verify(k2, now); err != nil {
			t.Fatalf("last good set lost after %q: %v", broken, err)
		}
	}
	os.Remove(path)
	if _, err := f.Load(); err == nil {
		t.Fatal("missing file not reported")
	}
	if _, err := store.Verify(k2, now); err != nil {
		t.Fatal("missing file dropped the keys")
	}
}

// A rotated-out secret is accepted until its grace period ends, then refused like an
// unknown key; revoking the key refuses it at once.
func TestKeyStorePreviousSecret(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cur, old := mustKey(t), mustKey(t)
	until := now.Add(time.Hour)
	e := &Entry{ID: "k", Hash: HashKey(cur), Previous: []PreviousHash{{Hash: HashKey(old), Until: until}}}
	s, err := NewKeyStore([]*Entry{e})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1 key", s.Len())
	}
	for _, k := range []string{cur, old} {
		if got, err := s.Verify(k, now); err != nil || got.ID != "k" {
			t.Fatalf("within grace: %v %v", got, err)
		}
	}
	if _, err := s.Verify(old, until); err != ErrInvalidKey {
		t.Fatalf("old secret at the end of grace: %v", err)
	}
	if _, err := s.Verify(cur, until); err != nil {
		t.Fatalf("current secret after grace: %v", err)
	}
	// Revoked (the store copies entries when a set is installed, so install it again).
	e.Disabled = true
	if s, err = NewKeyStore([]*Entry{e}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(old, now); err != ErrInvalidKey {
		t.Fatalf("old secret of a revoked key: %v", err)
	}
	// An old secret may not be another key's (or its own) current secret.
	if _, err := NewKeyStore([]*Entry{{ID: "a", Hash: HashKey(cur)}, {ID: "b", Hash: HashKey(old), Previous: []PreviousHash{{Hash: HashKey(cur), Until: until}}}}); err == nil {
		t.Fatal("a previous hash equal to another key's hash was accepted")
	}
	if _, err := NewKeyStore([]*Entry{{ID: "a", Hash: HashKey(cur), Previous: []PreviousHash{{Hash: "sha256:zz", Until: until}}}}); err == nil {
		t.Fatal("a malformed previous hash was accepted")
	}
}

// An atomic rewrite of the same size within one mtime tick (a revocation flipping a flag
// of equal length) is still picked up: the renamed file is a different file.
func TestKeyFileSameSizeRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	k := mustKey(t)
	a := `[{"id":"one","hash":"` + HashKey(k) + `","tier":"aaaaaa"}]`
	b := `[{"id":"one","hash":"` + HashKey(k) + `","disabled":true}]`
	if len(a) != len(b) {
		t.Fatalf("fixture sizes differ: %d %d", len(a), len(b))
	}
	stamp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	write := func(s string) {
		t.Helper()
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(tmp, stamp, stamp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(a)
	store, _ := NewKeyStore(nil)
	f := &KeyFile{Path: path, Store: store}
	if _, err := f.Load(); err != nil {
		t.Fatal(err)
	}
	write(b)
	if changed, err := f.Load(); err != nil || !changed {
		t.Fatalf("same-size, same-mtime rewrite not reloaded: %v %v", changed, err)
	}
	if _, err := store.Verify(k, time.Now()); err != ErrInvalidKey {
		t.Fatalf("revoked key still accepted: %v", err)
	}
}

func TestCheckKeyID(t *testing.T) {
	for _, ok := range []string{"a", "alice@example.com", "svc-1.batch_2", strings.Repeat("a", 128)} {
		if err := CheckKeyID(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", ".a", "a/b", "a b", "a\n", "ä", strings.Repeat("a", 129), "a?x"} {
		if CheckKeyID(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
