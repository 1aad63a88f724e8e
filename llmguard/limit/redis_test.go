package limit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmguard/caddy-llmguard/llmguard/limit/limittest"
)

func newRedisB(b *testing.B, srv *limittest.Redis) *RedisStore {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { c.Close() })
	return NewRedisStore(c, "bench:", false)
}

func newRedis(t *testing.T, srv *limittest.Redis, prefix string, cluster bool) *RedisStore {
	// Generous timeouts: a freshly started redis-server on a loaded machine can take
	// hundreds of milliseconds to answer, while a stopped one on loopback refuses the
	// connection at once, so the outage tests do not wait on them.
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 5 * time.Second,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return NewRedisStore(c, prefix, cluster)
}

func TestRedisStore(t *testing.T) {
	srv := limittest.StartRedis(t)
	n := 0
	storeContract(t, func(t *testing.T) Store {
		n++
		return newRedis(t, srv, "t"+string(rune('a'+n))+":", false)
	})
}

// TestRedisStoreSplitSlots runs the contract with cluster-style grouping by hash tag
// (reservations split per limit key, refunded on refusal) against a single Redis.
func TestRedisStoreSplitSlots(t *testing.T) {
	srv := limittest.StartRedis(t)
	n := 0
	storeContract(t, func(t *testing.T) Store {
		n++
		return newRedis(t, srv, "c"+string(rune('a'+n))+":", true)
	})
}

func TestRedisKeys(t *testing.T) {
	s := NewRedisStore(nil, "llm:", false)
	got := s.Key(&Op{Rule: "tpm:tokens.total", Key: "a}{%b", Period: "2025-03"})
	if want := "llm:{a%7D%7B%25b}:tpm:tokens.total:2025-03"; got != want {
		t.Fatalf("%s != %s", got, want)
	}
}

// TestRedisOutage: while Redis is down the store fails fast with ErrUnavailable (no
// timeouts once the breaker is open), and it recovers by itself when Redis is back.
func TestRedisOutage(t *testing.T) {
	srv := limittest.StartRedis(t)
	s := newRedis(t, srv, "o:", false)
	r := mustRule(t, Rule{Name: "rpm", Kind: Requests, Limit: 10, Window: time.Minute})
	ctx := context.Background()
	c := []Charge{{Rule: r, Key: "k", Limit: 10, Amount: 1}}
	now := time.Now()
	if _, d, _, err := Reserve(ctx, s, now, c); err != nil || d != nil {
		t.Fatal(d, err)
	}
	srv.Stop()
	if _, _, _, err := Reserve(ctx, s, now, c); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
	// Within RetryInterval the store answers from its breaker without asking Redis
	// (checked by the reason, not by timing, which a busy machine would break).
	if _, _, _, err := Reserve(ctx, s, now.Add(100*time.Millisecond), c); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "redis failed recently") {
		t.Fatalf("want ErrUnavailable from the open breaker, got %v", err)
	}
	srv.Start()
	if _, d, _, err := Reserve(ctx, s, now.Add(2*time.Second), c); err != nil || d != nil {
		t.Fatalf("no recovery: %v %v", d, err)
	}
}
