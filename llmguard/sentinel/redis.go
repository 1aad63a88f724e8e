package sentinel

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is returned while the shared store is known to be down.
var ErrUnavailable = errors.New("sentinel: store unavailable")

// RedisStore keeps State in Redis, shared by every gateway instance with the same Redis
// and prefix. An update is an optimistic transaction (WATCH, read, MULTI SET): two
// instances updating one actor at once never lose either update, one of them retries.
// Keys are one per actor and carry a Redis Cluster hash tag. When Redis fails, the
// store answers ErrUnavailable without asking again for RetryInterval, so an outage
// costs no latency per request; the handler then serves unassessed (detection fails open).
type RedisStore struct {
	client redis.UniversalClient
	prefix string
	// Idle is how long an actor's state is kept without a request (the key's TTL).
	Idle time.Duration
	// RetryInterval is how long the store fails fast after an error. Default 1s.
	RetryInterval time.Duration
	downUntil     atomic.Int64
	// stripes serialise this instance's updates of one actor, so that optimistic
	// conflicts only arise between instances, not between the requests of one.
	stripes [64]sync.Mutex
}

// NewRedisStore returns a store on client whose keys start with prefix.
func NewRedisStore(client redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{client: client, prefix: prefix, Idle: 7 * 24 * time.Hour, RetryInterval: time.Second}
}

// key wraps the actor id in braces, Redis Cluster's hash tag: the whole key then hashes
// to one slot whatever the prefix.
func (s *RedisStore) key(id string) string { return s.prefix + "{" + id + "}" }

// maxAttempts bounds the optimistic retries of one update under contention between
// instances; each retry waits a little, at random, so that instances do not collide in
// step.
const maxAttempts = 20

// Update implements Store.
func (s *RedisStore) Update(ctx context.Context, id string, fn func(*State)) error {
	if err := s.up(); err != nil {
		return err
	}
	key := s.key(id)
	mu := &s.stripes[hash32(id)%uint32(len(s.stripes))]
	mu.Lock()
	defer mu.Unlock()
	for attempt := range maxAttempts {
		if attempt > 0 {
			time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond))))
		}
		err := s.client.Watch(ctx, func(tx *redis.Tx) error {
			st, err := s.read(ctx, tx, key)
			if err != nil {
				return err
			}
			fn(&st)
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, st.Encode(), s.Idle)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return s.note(err)
		}
	}
	return redis.TxFailedErr
}

func (s *RedisStore) read(ctx context.Context, c redis.Cmdable, key string) (State, error) {
	b, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return State{}, nil
	}
	if err != nil {
		return State{}, err
	}
	st, err := Decode(b)
	if errors.Is(err, errStateSize) {
		return State{}, nil
	}
	return st, err
}

// Get implements Store.
func (s *RedisStore) Get(ctx context.Context, id string) (State, bool, error) {
	if err := s.up(); err != nil {
		return State{}, false, err
	}
	n, err := s.client.Exists(ctx, s.key(id)).Result()
	if err != nil {
		return State{}, false, s.note(err)
	}
	st, err := s.read(ctx, s.client, s.key(id))
	return st, n > 0, s.note(err)
}

// Clear implements Store.
func (s *RedisStore) Clear(ctx context.Context, id string) error {
	return s.note(s.client.Del(ctx, s.key(id)).Err())
}

func (s *RedisStore) up() error {
	if time.Now().UnixNano() < s.downUntil.Load() {
		return ErrUnavailable
	}
	return nil
}

// note opens the breaker on a connection-level error.
func (s *RedisStore) note(err error) error {
	if err != nil && !errors.Is(err, redis.TxFailedErr) && !errors.Is(err, context.Canceled) {
		s.downUntil.Store(time.Now().Add(s.RetryInterval).UnixNano())
	}
	return err
}
