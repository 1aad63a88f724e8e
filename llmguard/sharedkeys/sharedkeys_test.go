package sharedkeys

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/keyadmin"
	"github.com/llmguard/caddy-llmguard/llmguard/limit/limittest"
)

// instance is one gateway's view: a shared store and the key store it feeds.
type instance struct {
	shared *Store
	keys   *auth.KeyStore
	admin  *keyadmin.Keys
}

func newInstance(t testing.TB, addr string) *instance {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	s := New(c, "test:", nil)
	s.MaxStale = time.Minute
	s.Timeout = 2 * time.Second
	ks, err := auth.NewKeyStore(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attach(ks); err != nil {
		t.Fatal(err)
	}
	return &instance{shared: s, keys: ks, admin: &keyadmin.Keys{Store: s}}
}

func (in *instance) sync(t testing.TB, now time.Time) {
	t.Helper()
	if _, err := in.shared.Sync(now); err != nil {
		t.Fatal(err)
	}
}

func works(in *instance, key string) bool {
	_, err := in.keys.Verify(key, time.Now())
	return err == nil
}

// TestSharedKeys: a change through one instance is in force there at once and on the
// other after its next poll; during an outage the last known set is served, revoked keys
// stay refused, changes fail with ErrUnavailable and, past MaxStale, the shared keys are
// withdrawn; a Redis that comes back empty is re-seeded from the last known set.
func TestSharedKeys(t *testing.T) {
	srv := limittest.StartRedis(t)
	a, b := newInstance(t, srv.Addr), newInstance(t, srv.Addr)
	t0 := time.Now()
	a.sync(t, t0)
	b.sync(t, t0)
	if !a.shared.Available() || a.shared.Version() != 0 {
		t.Fatalf("empty store: available %v, version %d", a.shared.Available(), a.shared.Version())
	}

	alice, err := a.admin.Create(&keyadmin.Spec{ID: "alice", Attributes: auth.Attributes{Tier: "free"}})
	if err != nil {
		t.Fatal(err)
	}
	if !works(a, alice.Key) {
		t.Fatal("a key created through an instance does not work there at once")
	}
	if works(b, alice.Key) {
		t.Fatal("b knew alice before it polled")
	}
	b.sync(t, t0)
	bob, err := b.admin.Create(&keyadmin.Spec{ID: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	a.sync(t, t0)
	if !works(b, alice.Key) || !works(a, bob.Key) {
		t.Fatal("a created key does not work on the other instance after its poll")
	}

	// Redis holds hashes only.
	raw, _ := redis.NewClient(&redis.Options{Addr: srv.Addr}).Get(context.Background(), "test:{keys}").Result()
	if strings.Contains(raw, alice.Key) || !strings.Contains(raw, auth.HashKey(alice.Key)) {
		t.Fatal("the shared set holds a secret, or not the hash")
	}

	if _, err := a.admin.Revoke("bob"); err != nil {
		t.Fatal(err)
	}
	b.sync(t, t0)
	if works(a, bob.Key) || works(b, bob.Key) {
		t.Fatal("a revoked key still works")
	}
	if _, err := b.admin.Create(&keyadmin.Spec{ID: "alice"}); !errors.Is(err, keyadmin.ErrExists) {
		t.Fatalf("an id taken on the other instance: %v", err)
	}

	// Outage: the last known set is served; nothing can change.
	srv.Stop()
	if _, err := b.shared.Sync(t0.Add(time.Second)); err == nil {
		t.Fatal("poll of a stopped Redis succeeded")
	}
	if !works(b, alice.Key) || works(b, bob.Key) || !b.shared.Available() {
		t.Fatal("during the outage: known keys must work and revoked ones stay refused")
	}
	if _, err := a.admin.Create(&keyadmin.Spec{ID: "carol"}); !errors.Is(err, keyadmin.ErrUnavailable) {
		t.Fatalf("create during the outage: %v", err)
	}
	if _, err := a.admin.Revoke("alice"); !errors.Is(err, keyadmin.ErrUnavailable) {
		t.Fatalf("revoke during the outage: %v", err)
	}
	// Past MaxStale, shared keys are withdrawn: a revocation made elsewhere during a
	// partition is honoured here for at most MaxStale.
	b.shared.Sync(t0.Add(time.Minute + 2*time.Second))
	if works(b, alice.Key) || b.shared.Available() {
		t.Fatal("shared keys still served past max_stale")
	}

	// Redis comes back empty (no persistence): the last known set is written back and
	// served again, bob still revoked.
	srv.Start()
	b.sync(t, t0.Add(2*time.Minute))
	if !works(b, alice.Key) || works(b, bob.Key) || !b.shared.Available() {
		t.Fatal("after Redis came back: the last known set is not served again")
	}
	a.sync(t, t0.Add(2*time.Minute))
	if entries, err := a.shared.Read(); err != nil || len(entries) != 2 {
		t.Fatalf("Redis was not re-seeded: %d entries, %v", len(entries), err)
	}
	carol, err := a.admin.Create(&keyadmin.Spec{ID: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	b.sync(t, t0.Add(2*time.Minute))
	if !works(b, carol.Key) {
		t.Fatal("changes after the outage do not propagate")
	}
}

// TestSharedKeysNeverGoBack: a set with a lower version (a stale replica, a restore of an
// old dump) is not installed, so it cannot bring back a revoked key; the instance writes
// its own set back.
func TestSharedKeysNeverGoBack(t *testing.T) {
	srv := limittest.StartRedis(t)
	a := newInstance(t, srv.Addr)
	a.sync(t, time.Now())
	k, err := a.admin.Create(&keyadmin.Spec{ID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := auth.MarshalKeyFile([]*auth.Entry{{ID: "k", Hash: auth.HashKey(k.Key)}})
	if _, err := a.admin.Revoke("k"); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	ctx := context.Background()
	c.Set(ctx, "test:{keys}", old, 0)
	c.Set(ctx, "test:{keys}:version", 1, 0)
	a.sync(t, time.Now())
	if works(a, k.Key) {
		t.Fatal("an older set revived a revoked key")
	}
	if v, _ := c.Get(ctx, "test:{keys}:version").Int64(); v != a.shared.Version() || v < 2 {
		t.Fatalf("the store was not re-seeded: version %d, local %d", v, a.shared.Version())
	}
}

// TestSharedKeysConcurrentChanges: creates through two instances at once all land.
func TestSharedKeysConcurrentChanges(t *testing.T) {
	srv := limittest.StartRedis(t)
	a, b := newInstance(t, srv.Addr), newInstance(t, srv.Addr)
	a.sync(t, time.Now())
	b.sync(t, time.Now())
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range 2 * n {
		in := a
		if i%2 == 1 {
			in = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := in.admin.Create(&keyadmin.Spec{ID: fmt.Sprintf("k%d", i)})
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
	if list, err := a.admin.List(); err != nil || len(list) != 2*n {
		t.Fatalf("%d keys after %d concurrent creates: %v", len(list), 2*n, err)
	}
}
