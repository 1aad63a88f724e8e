package llmratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/modules/llmredis"
)

func init() {
	caddy.RegisterModule(MemoryStore{})
	caddy.RegisterModule(RedisStore{})
}

// pool holds the stores across config reloads: the old and the new config overlap
// during a reload, and both hold a reference, so counters are never reset by a reload.
var pool = caddy.NewUsagePool()

// MemoryStore keeps limiter state in this Caddy process (the default store). One store
// serves every llm_rate_limit handler of the process; rules are told apart by name and
// kind. State survives `caddy reload`, not a restart, and is not shared between
// instances (use redis for that).
type MemoryStore struct {
	store *limit.MemoryStore
}

// CaddyModule returns the Caddy module information.
func (MemoryStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_rate_limit.stores.memory", New: func() caddy.Module { return new(MemoryStore) }}
}

type memHolder struct {
	store *limit.MemoryStore
	stop  chan struct{}
}

// Destruct stops the sweeper when the last config using the store is gone.
func (m *memHolder) Destruct() error {
	close(m.stop)
	return nil
}

const memPoolKey = "llm_rate_limit.memory"

// Provision gets the process-wide store.
func (s *MemoryStore) Provision(caddy.Context) error {
	v, _, err := pool.LoadOrNew(memPoolKey, func() (caddy.Destructor, error) {
		m := &memHolder{store: limit.NewMemoryStore(), stop: make(chan struct{})}
		go func() {
			// Idle keys (drained buckets, ended periods) are forgotten each minute, so
			// memory follows the active keys, not every key ever seen.
			t := time.NewTicker(time.Minute)
			defer t.Stop()
			for {
				select {
				case now := <-t.C:
					m.store.Sweep(now)
				case <-m.stop:
					return
				}
			}
		}()
		return m, nil
	})
	if err != nil {
		return err
	}
	s.store = v.(*memHolder).store
	return nil
}

// Cleanup releases this config's reference.
func (s *MemoryStore) Cleanup() error {
	_, err := pool.Delete(memPoolKey)
	return err
}

// LimitStore implements StoreModule.
func (s *MemoryStore) LimitStore() limit.Store { return s.store }

// Memory returns the underlying memory store (for the admin API listing).
func (s *MemoryStore) Memory() *limit.MemoryStore { return s.store }

// RedisStore keeps limiter state in Redis, shared by every Caddy instance configured
// with the same Redis and prefix. Each decision is one Lua script (atomic); keys carry
// Redis Cluster hash tags. When Redis cannot be reached, each rule's fail_open decides,
// and Redis is retried automatically (at most once per retry_interval) — no restart.
type RedisStore struct {
	// Options are the connection settings (addresses, cluster, username, password, db,
	// timeout), shared with llm_auth's key store.
	llmredis.Options
	// Prefix starts every key, so that several gateways can share a Redis without
	// sharing limits. Default "llmguard:rl:".
	Prefix string `json:"prefix,omitempty"`
	// RetryInterval is how long the store fails fast after a Redis error before it tries
	// Redis again. Default 1s.
	RetryInterval caddy.Duration `json:"retry_interval,omitempty"`

	store   *limit.RedisStore
	poolKey string
}

// CaddyModule returns the Caddy module information.
func (RedisStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_rate_limit.stores.redis", New: func() caddy.Module { return new(RedisStore) }}
}

type redisHolder struct{ store *limit.RedisStore }

func (r *redisHolder) Destruct() error { return r.store.Client().Close() }

// Provision creates (or shares, across reloads) the client. go-redis connects lazily, so
// provisioning does no network I/O; a new client checks in the background whether the
// server persists, and warns if a Redis restart would reset every limit.
func (s *RedisStore) Provision(ctx caddy.Context) error {
	if s.Prefix == "" {
		s.Prefix = "llmguard:rl:"
	}
	if s.RetryInterval <= 0 {
		s.RetryInterval = caddy.Duration(time.Second)
	}
	c, err := s.NewClient()
	if err != nil {
		return fmt.Errorf("redis store: %v", err)
	}
	s.poolKey = fmt.Sprintf("llm_rate_limit.redis|%s|%s|%d", c.Key, s.Prefix, s.RetryInterval)
	logger := ctx.Logger()
	v, loaded, err := pool.LoadOrNew(s.poolKey, func() (caddy.Destructor, error) {
		st := limit.NewRedisStore(c, s.Prefix, c.IsCluster)
		st.RetryInterval = time.Duration(s.RetryInterval)
		// Once per client, not per reload; in the background because caddy validate
		// provisions too and must not wait on a Redis that is down.
		go func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			warnIfVolatile(cctx, logger, st)
		}()
		return &redisHolder{store: st}, nil
	})
	if err != nil {
		return err
	}
	if loaded {
		c.Close() // an equal client is in the pool already; this one never connected
	}
	s.store = v.(*redisHolder).store
	return nil
}

// Cleanup releases this config's reference; the last one closes the client.
func (s *RedisStore) Cleanup() error {
	if s.poolKey == "" {
		return nil
	}
	_, err := pool.Delete(s.poolKey)
	return err
}

// LimitStore implements StoreModule.
func (s *RedisStore) LimitStore() limit.Store { return s.store }

// Interface guards
var (
	_ StoreModule        = (*MemoryStore)(nil)
	_ StoreModule        = (*RedisStore)(nil)
	_ caddy.Provisioner  = (*RedisStore)(nil)
	_ caddy.CleanerUpper = (*RedisStore)(nil)
	_ caddy.CleanerUpper = (*MemoryStore)(nil)
)

// warnIfVolatile logs a warning when the Redis behind st keeps nothing across its own
// restart: limits and budgets would then be granted afresh after every Redis restart.
func warnIfVolatile(ctx context.Context, logger *zap.Logger, st *limit.RedisStore) {
	p, err := st.CheckPersistence(ctx)
	switch {
	case err != nil:
		logger.Info("could not check whether redis persists its data", zap.Error(err))
	case !p.Known:
		logger.Warn("redis does not say whether it persists its data (CONFIG is not permitted); " +
			"without RDB snapshots or AOF a Redis restart resets every rate-limit window and budget")
	case !p.Persists():
		logger.Warn("redis persists nothing (no RDB snapshots, appendonly off): a Redis restart resets every " +
			"rate-limit window and budget, granting them again; enable appendonly or save")
	default:
		logger.Debug("redis persists its data", zap.Bool("rdb", p.RDB), zap.Bool("aof", p.AOF))
	}
}
