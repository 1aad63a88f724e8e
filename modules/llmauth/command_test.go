package llmauth

import (
	"bytes"
	"encoding/json"
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
