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
