package llmauth

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

func TestNewKeyEntry(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	err := NewKeyEntry(&out, KeyOptions{ID: "ci-bot", Scopes: []string{"llm:chat"}, Models: []string{"gpt-4o*"},
		Tier: "free", Expires: "2031-06-01", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	key, entryJSON, _ := strings.Cut(out.String(), "\n")
	if auth.CheckKeyFormat(key) != nil {
		t.Fatalf("first line is not a key: %q", key)
	}
	if strings.Contains(entryJSON, key) || strings.Contains(entryJSON, key[len(auth.KeyPrefix):]) {
		t.Fatal("the entry contains the key")
	}
	entries, err := auth.ParseKeyFile([]byte("[" + entryJSON + "]"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := auth.NewKeyStore(entries)
	if err != nil {
		t.Fatal(err)
	}
	e, err := store.Verify(key, now)
	if err != nil || e.ID != "ci-bot" || e.Tier != "free" || e.Expires.Format(time.DateOnly) != "2031-06-01" {
		t.Fatalf("%+v %v", e, err)
	}
	var raw map[string]any
	json.Unmarshal([]byte(entryJSON), &raw)
	if _, ok := raw["key"]; ok {
		t.Fatal("entry has a key field")
	}
	for _, o := range []KeyOptions{{ID: ""}, {ID: "a b"}, {ID: "ok", Expires: "2001-01-01", Now: now}, {ID: "ok", Expires: "soon"}} {
		if NewKeyEntry(&bytes.Buffer{}, o) == nil {
			t.Errorf("accepted %+v", o)
		}
	}
}

// TestAppendKey creates a key file with the first key, appends a second, refuses a
// duplicate id and a malformed file without changing them, and both keys verify.
func TestAppendKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	now := time.Now()
	var keys []string
	for _, id := range []string{"alice", "bob"} {
		var out bytes.Buffer
		if err := AppendKey(&out, KeyOptions{ID: id, File: path, Now: now}); err != nil {
			t.Fatal(err)
		}
		key := strings.TrimSuffix(out.String(), "\n")
		if auth.CheckKeyFormat(key) != nil {
			t.Fatalf("output is not just a key: %q", out.String())
		}
		keys = append(keys, key)
	}
	before, _ := os.ReadFile(path)
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	if err := AppendKey(io.Discard, KeyOptions{ID: "bob", File: path, Now: now}); err == nil || !strings.Contains(err.Error(), `"bob"`) {
		t.Errorf("duplicate id: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a refused append changed the file")
	}
	for _, k := range keys {
		if bytes.Contains(before, []byte(k)) {
			t.Fatal("the key file holds a key")
		}
	}
	entries, err := auth.ParseKeyFile(before)
	if err != nil {
		t.Fatal(err)
	}
	store, err := auth.NewKeyStore(entries)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"alice", "bob"} {
		if e, err := store.Verify(keys[i], now); err != nil || e.ID != id {
			t.Errorf("%s: %+v %v", id, e, err)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"id":"x"}`), 0o600)
	if err := AppendKey(io.Discard, KeyOptions{ID: "carol", File: bad, Now: now}); err == nil {
		t.Error("appended to a malformed key file")
	}
}

// runKey runs `caddy llmguard key args…` and returns its output.
func runKey(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	c := KeyCommand()
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(io.Discard)
	err := c.Execute()
	return out.String(), err
}

// TestKeyCommandsOnFile: list, rotate (with grace) and revoke on a key file, as a gateway
// loading that file sees them.
func TestKeyCommandsOnFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	out, err := runKey(t, "new", "--id", "alice", "--tier", "free", "--roles", "dev", "--allowed-networks", "10.0.0.0/8,192.0.2.1",
		"--allowed-countries", "DE", "--file", path)
	if err != nil {
		t.Fatal(err)
	}
	first := strings.TrimSpace(out)
	list, err := runKey(t, "list", "--file", path)
	if err != nil || !strings.Contains(list, "alice") || !strings.Contains(list, "active") || !strings.Contains(list, "free") ||
		!strings.Contains(list, "10.0.0.0/8,192.0.2.1,DE") {
		t.Fatalf("list: %q %v", list, err)
	}
	if e, _ := auth.ParseKeyFile(mustRead(t, path)); len(e) != 1 || len(e[0].AllowedNetworks) != 2 || e[0].AllowedCountries[0] != "DE" {
		t.Fatalf("network limits not in the file: %+v", e)
	}
	for _, bad := range [][]string{{"--allowed-networks", "10.0.0.0/33"}, {"--allowed-countries", "Germany"}} {
		if _, err := runKey(t, append([]string{"new", "--id", "bob", "--file", path}, bad...)...); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	out, err = runKey(t, "rotate", "alice", "--grace", "1h", "--file", path)
	second := strings.TrimSpace(out)
	if err != nil || auth.CheckKeyFormat(second) != nil || second == first {
		t.Fatalf("rotate printed %q: %v", out, err)
	}
	store := func() *auth.KeyStore {
		s, _ := auth.NewKeyStore(nil)
		if _, err := (&auth.KeyFile{Path: path, Store: s}).Load(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	for _, k := range []string{first, second} {
		if _, err := store().Verify(k, now); err != nil {
			t.Fatalf("within grace: %v", err)
		}
	}
	js, _ := runKey(t, "list", "--json", "--file", path)
	if strings.Contains(js, "sha256:") || strings.Contains(js, first) || !strings.Contains(js, `"previous_valid_until"`) {
		t.Fatalf("list --json: %s", js)
	}
	if out, err := runKey(t, "revoke", "alice", "--file", path); err != nil || out != "alice: revoked\n" {
		t.Fatalf("revoke: %q %v", out, err)
	}
	for _, k := range []string{first, second} {
		if _, err := store().Verify(k, now); err != auth.ErrInvalidKey {
			t.Fatalf("revoked key accepted: %v", err)
		}
	}
	for _, args := range [][]string{{"revoke", "bob", "--file", path}, {"rotate", "alice", "--file", path}, {"rotate", "alice", "--grace", "-1h", "--file", path}, {"revoke", "--file", path}} {
		if _, err := runKey(t, args...); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
