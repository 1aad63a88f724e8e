package keyadmin

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// newFile returns a File on a fresh key file holding one key, "base", and a clock the
// test moves.
func newFile(t *testing.T) (*File, *time.Time) {
	t.Helper()
	now := t0
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := auth.WriteKeyFile(path, []*auth.Entry{{ID: "base", Hash: auth.HashKey("not a real key")}}); err != nil {
		t.Fatal(err)
	}
	return &File{Path: path, Now: func() time.Time { return now }}, &now
}

// loaded is the key set a gateway would load from the file now.
func loaded(t *testing.T, f *File) *auth.KeyStore {
	t.Helper()
	s, _ := auth.NewKeyStore(nil)
	kf := &auth.KeyFile{Path: f.Path, Store: s}
	if _, err := kf.Load(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLifecycle(t *testing.T) {
	f, now := newFile(t)
	reloads := 0
	f.AfterWrite = func() { reloads++ }
	exp := t0.Add(48 * time.Hour)
	iss, err := f.Create(&Spec{ID: "alice", Attributes: auth.Attributes{Roles: []string{"dev"}, Models: []string{"gpt-4o*"}, Expires: &exp,
		Metadata: map[string]string{"team": "a"}, AllowedNetworks: []string{"10.0.0.0/8"}}})
	if err != nil {
		t.Fatal(err)
	}
	if auth.CheckKeyFormat(iss.Key) != nil || iss.Status != "active" || iss.Created == nil || !iss.Created.Equal(t0) {
		t.Fatalf("issued %+v", iss)
	}
	if e, err := loaded(t, f).Verify(iss.Key, t0); err != nil || e.ID != "alice" || e.Roles[0] != "dev" {
		t.Fatalf("created key not accepted by a gateway: %v %v", e, err)
	}
	if _, err := f.Create(&Spec{ID: "alice"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate id: %v", err)
	}
	past := t0.Add(-time.Second)
	if _, err := f.Create(&Spec{ID: "late", Attributes: auth.Attributes{Expires: &past}}); err == nil {
		t.Fatal("key expiring in the past created")
	}

	// Update: a field left out is kept, null clears.
	p, err := ParsePatch([]byte(`{"tier":"premium","expires":null,"roles":["ops"],"allowed_networks":null,"allowed_countries":["DE","unknown"]}`))
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.Update("alice", p)
	if err != nil || v.Tier != "premium" || v.Expires != nil || v.Roles[0] != "ops" || v.Models[0] != "gpt-4o*" || v.Metadata["team"] != "a" ||
		v.AllowedNetworks != nil || len(v.AllowedCountries) != 2 {
		t.Fatalf("update: %+v %v", v, err)
	}
	if e, _ := loaded(t, f).Verify(iss.Key, t0); e == nil || e.Tier != "premium" || e.Roles[0] != "ops" ||
		e.AllowedNetworks != nil || e.Identity().Countries == nil {
		t.Fatalf("update not in the file: %+v", e)
	}
	if _, err := f.Update("nobody", p); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of an unknown id: %v", err)
	}

	// Rotate with grace: both secrets work, then only the new one.
	rot, err := f.Rotate("alice", time.Hour)
	if err != nil || rot.Key == iss.Key || rot.PreviousValidUntil == nil || !rot.PreviousValidUntil.Equal(t0.Add(time.Hour)) {
		t.Fatalf("rotate: %+v %v", rot, err)
	}
	s := loaded(t, f)
	for _, k := range []string{iss.Key, rot.Key} {
		if _, err := s.Verify(k, t0.Add(59*time.Minute)); err != nil {
			t.Fatalf("within grace: %v", err)
		}
	}
	if _, err := s.Verify(iss.Key, t0.Add(time.Hour)); err == nil {
		t.Fatal("old secret accepted after the grace period")
	}
	// The next change after the grace period drops the dead hash from the file.
	*now = t0.Add(2 * time.Hour)
	if _, err := f.Rotate("alice", 0); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(f.Path)
	if strings.Contains(string(data), auth.HashKey(iss.Key)) {
		t.Fatal("a dead previous hash stayed in the file")
	}

	// Revoke: refused at once, rotation refused, record kept; re-enable works.
	final, _ := f.Rotate("alice", time.Hour)
	v, err = f.Revoke("alice")
	if err != nil || v.Status != "revoked" || v.PreviousValidUntil != nil {
		t.Fatalf("revoke: %+v %v", v, err)
	}
	if _, err := loaded(t, f).Verify(final.Key, *now); err != auth.ErrInvalidKey {
		t.Fatalf("revoked key: %v", err)
	}
	if _, err := f.Rotate("alice", 0); !errors.Is(err, ErrRevoked) {
		t.Fatalf("rotate of a revoked key: %v", err)
	}
	if _, err := f.Create(&Spec{ID: "alice"}); !errors.Is(err, ErrExists) {
		t.Fatalf("revoked id reused: %v", err)
	}
	if reloads != 6 {
		t.Fatalf("AfterWrite ran %d times for 6 successful changes", reloads)
	}

	list, err := f.List()
	if err != nil || len(list) != 2 || list[0].ID != "base" || list[1].Status != "revoked" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if g, err := f.Get("alice"); err != nil || g.Status != "revoked" {
		t.Fatalf("get: %+v %v", g, err)
	}
	if _, err := f.Get("nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get of an unknown id: %v", err)
	}
	// No view ever carries a hash.
	out, _ := json.Marshal(list)
	if strings.Contains(string(out), "sha256:") || strings.Contains(string(out), "hash") {
		t.Fatalf("a view shows a hash: %s", out)
	}
}

// A failed change writes nothing: a broken file is reported, not overwritten.
func TestBrokenFileUntouched(t *testing.T) {
	f, _ := newFile(t)
	broken := []byte(`[{"id":"x","hash":"sha256:00","disabld":true}]`)
	if err := os.WriteFile(f.Path, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Create(&Spec{ID: "new"}); err == nil {
		t.Fatal("change on a broken file succeeded")
	}
	if data, _ := os.ReadFile(f.Path); string(data) != string(broken) {
		t.Fatal("a broken key file was overwritten")
	}
	f.MissingOK = false
	f.Path = filepath.Join(t.TempDir(), "absent.json")
	if _, err := f.Create(&Spec{ID: "new"}); err == nil {
		t.Fatal("missing file created without MissingOK")
	}
	f.MissingOK = true
	if _, err := f.Create(&Spec{ID: "new"}); err != nil {
		t.Fatal(err)
	}
}

// Concurrent changes never lose one another: every create, and every update of the shared
// key, is in the file at the end. Two Files on the same path (as a CLI process and the
// gateway would hold) are serialised by the file lock.
func TestConcurrentChangesKeepEveryUpdate(t *testing.T) {
	a, _ := newFile(t)
	b := &File{Path: a.Path, Now: a.Now}
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		f := a
		if i%2 == 1 {
			f = b
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := f.Create(&Spec{ID: fmt.Sprintf("k%d", i)})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			// Each update reads the current metadata and adds its own entry: only a
			// serialised read-modify-write keeps them all.
			_, err := f.updateMeta("base", fmt.Sprintf("m%d", i))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, err := a.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n+1 {
		t.Fatalf("%d keys after %d concurrent creates, want %d", len(list), n, n+1)
	}
	if got := len(list[0].Metadata); got != n {
		t.Fatalf("%d of %d concurrent metadata updates survived", got, n)
	}
}

// updateMeta adds one metadata entry in a single locked change (a test helper standing
// for a client that reads, modifies and writes).
func (f *File) updateMeta(id, k string) (View, error) {
	var out View
	err := f.keys().change(func(entries []*auth.Entry, now time.Time) ([]*auth.Entry, error) {
		i := find(entries, id)
		if i < 0 {
			return nil, ErrNotFound
		}
		if entries[i].Metadata == nil {
			entries[i].Metadata = map[string]string{}
		}
		entries[i].Metadata[k] = "1"
		out = view(entries[i], now)
		return entries, nil
	})
	return out, err
}
