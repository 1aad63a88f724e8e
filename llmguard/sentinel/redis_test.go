package sentinel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmguard/caddy-llmguard/llmguard/limit/limittest"
)

// Two gateway instances (two clients, two stores) updating one actor at once never lose
// an update; state round-trips; Clear forgets; an outage fails fast and recovers.
func TestRedisStore(t *testing.T) {
	srv := limittest.StartRedis(t)
	newStore := func() *RedisStore {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
		t.Cleanup(func() { c.Close() })
		s := NewRedisStore(c, "test:sentinel:")
		s.RetryInterval = 200 * time.Millisecond
		return s
	}
	a, b := newStore(), newStore()
	ctx := context.Background()
	m := NewModel(Config{})
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := a
			if i%2 == 1 {
				st = b
			}
			now := t0.Add(time.Duration(i) * time.Millisecond)
			if err := st.Update(ctx, "id:shared", func(s *State) { m.Observe(s, nil, now, Request{Prompt: fmt.Sprint("p", i)}) }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, ok, err := b.Get(ctx, "id:shared")
	if err != nil || !ok || got.Seen != 100 {
		t.Fatalf("after 100 concurrent updates: seen %d, ok %v, err %v", got.Seen, ok, err)
	}
	keys, _ := a.client.Keys(ctx, "test:sentinel:*").Result()
	if len(keys) != 1 || keys[0] != "test:sentinel:{id:shared}" {
		t.Fatalf("keys %v: want one hash-tagged key", keys)
	}
	if ttl := a.client.TTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > 7*24*time.Hour {
		t.Fatalf("ttl %v", ttl)
	}
	if err := a.Clear(ctx, "id:shared"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Get(ctx, "id:shared"); ok {
		t.Fatal("Clear did not forget")
	}
	// A value of another layout is read as a new actor, not misread.
	a.client.Set(ctx, "test:sentinel:{id:odd}", "not a state", 0)
	if err := a.Update(ctx, "id:odd", func(s *State) {
		if s.Seen != 0 {
			t.Error("garbage decoded")
		}
		s.Seen = 1
	}); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	if err := a.Update(ctx, "id:x", func(*State) {}); err == nil {
		t.Fatal("update succeeded with redis down")
	}
	start := time.Now()
	if err := a.Update(ctx, "id:x", func(*State) {}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("second update during the outage: %v, want ErrUnavailable without asking redis", err)
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Logf("fail-fast update took %v (busy machine?)", time.Since(start))
	}
	srv.Start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := a.Update(ctx, "id:x", func(s *State) { s.Seen++ })
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered after redis restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
