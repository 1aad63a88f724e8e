// Package sharedkeys keeps the API keys of several gateway instances in one Redis, so that
// a key created, rotated or revoked through any instance's admin API is honoured or
// refused by every instance within a poll interval.
//
// Redis holds two keys: "<prefix>{keys}", the key set in the key file format (hashes
// only, never a secret), and "<prefix>{keys}:version", a counter every change increments
// in the same transaction (the hash tag puts both in one cluster slot). Each instance
// keeps the last set it read in its key stores (the local cache: a request never waits
// on Redis) and polls the version every interval — one GET of a small integer — fetching
// the set only when the version moved. Polling rather than pub/sub because a missed
// message (a reconnect, a cluster failover) would leave an instance stale until the next
// change, while a missed poll is simply the next one.
//
// During an outage the last known set is served, and revocations fail closed: a set is
// never replaced by one with a lower version (a Redis that restarted empty, or a stale
// replica, cannot bring back a revoked key; the instance writes its last known set back
// instead), and once Redis has been unreachable for longer than MaxStale the shared keys
// are withdrawn altogether, so a key revoked elsewhere during a partition is honoured here
// for at most MaxStale. Changes made while Redis is unreachable fail with
// keyadmin.ErrUnavailable and change nothing.
//
// It is free of Caddy. It must never log a hash or a secret.
package sharedkeys

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/keyadmin"
)

// Store is a key set shared through Redis, and the local cache of it. It implements
// keyadmin.Store. It is safe for concurrent use.
type Store struct {
	client             redis.UniversalClient
	setKey, versionKey string
	// MaxStale is how long the last known set keeps being served while Redis cannot be
	// reached (see the package comment). Zero withdraws it at the first failed poll.
	MaxStale time.Duration
	// Timeout bounds each Redis round trip made by Sync and Change.
	Timeout time.Duration
	Logger  *zap.Logger

	// mu orders polls and local installs: a change's own Sync and the poller's never
	// install an older set over a newer one.
	mu      sync.Mutex
	version int64
	data    []byte // the set at version, as stored
	entries []*auth.Entry
	loaded  bool      // a set has been read since the process started
	lastOK  time.Time // last successful poll
	dropped bool      // the set was withdrawn after MaxStale
	failing bool      // the last poll failed (to log transitions, not every poll)
	stores  map[*auth.KeyStore]struct{}
	// available mirrors loaded && !dropped for Available, which requests call and which
	// must not wait for a poll that holds mu during a slow Redis round trip.
	available atomic.Bool
}

// New returns a store on client whose Redis keys start with prefix.
func New(client redis.UniversalClient, prefix string, logger *zap.Logger) *Store {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Store{client: client, setKey: prefix + "{keys}", versionKey: prefix + "{keys}:version",
		MaxStale: 5 * time.Minute, Timeout: time.Second, Logger: logger, stores: map[*auth.KeyStore]struct{}{}}
}

// Attach makes ks follow the shared set: it gets the current set now (when one has been
// read) and every later one, in addition to its own inline entries. detach stops that.
func (s *Store) Attach(ks *auth.KeyStore) (detach func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded && !s.dropped {
		if err := ks.Replace(s.entries); err != nil {
			return nil, err
		}
	}
	s.stores[ks] = struct{}{}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.stores, ks)
	}, nil
}

// Available reports whether the attached stores hold the shared set: one has been read,
// and it has not been withdrawn after MaxStale. While it is false, a key the stores do
// not know may be a genuine shared key, so the gateway answers 503, not 401.
func (s *Store) Available() bool { return s.available.Load() }

// Version is the version of the set in the local cache (0 before the first read).
func (s *Store) Version() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.Timeout)
}

// Sync polls Redis once at now and installs a newer set in every attached store. It
// reports whether it installed one.
func (s *Store) Sync(now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := s.ctx()
	defer cancel()
	version, err := s.readVersion(ctx, s.client)
	if err != nil {
		s.failed(now, err)
		return false, err
	}
	s.lastOK = now
	if s.failing {
		s.failing = false
		s.Logger.Info("shared key store reachable again", zap.Int64("version", version))
	}
	switch {
	case version < s.version:
		// Redis lost the set (a restart without persistence) or answers from a stale
		// replica: going back could revive a revoked key, so the last known set stays
		// and is written back.
		err := s.reseed(ctx)
		s.restore()
		return false, err
	case version == s.version && s.loaded:
		s.restore()
		return false, nil
	}
	vals, err := s.client.MGet(ctx, s.versionKey, s.setKey).Result()
	if err != nil {
		s.failed(now, err)
		return false, err
	}
	if version, err = parseVersion(vals[0]); err != nil {
		return false, err
	}
	entries, data, err := parseSet(vals[1], version)
	if err != nil {
		s.Logger.Error("shared key set not loaded; keeping the previous keys", zap.Int64("version", version), zap.Error(err))
		return false, err
	}
	if version < s.version {
		return false, nil // moved back between the two reads; the next poll re-seeds
	}
	var installErr error
	for ks := range s.stores {
		if err := ks.Replace(entries); err != nil {
			// An inline key of one configuration clashes with a shared one: that
			// configuration keeps its previous set, the others move on.
			installErr = err
			s.Logger.Error("shared key set not installed in one key store; it keeps the previous keys", zap.Int64("version", version), zap.Error(err))
		}
	}
	s.version, s.data, s.entries, s.loaded, s.dropped = version, data, entries, true, false
	s.available.Store(true)
	return true, installErr
}

// failed records a failed poll and withdraws the set once Redis has been unreachable for
// longer than MaxStale.
func (s *Store) failed(now time.Time, err error) {
	if !s.failing {
		s.failing = true
		s.Logger.Error("shared key store unreachable; serving the last known keys", zap.Int64("version", s.version),
			zap.Duration("max_stale", s.MaxStale), zap.Error(err))
	}
	if s.loaded && !s.dropped && now.Sub(s.lastOK) > s.MaxStale {
		s.dropped = true
		s.available.Store(false)
		for ks := range s.stores {
			_ = ks.Replace(nil) // inline entries alone were valid when the store was made
		}
		s.Logger.Error("shared key store unreachable for longer than max_stale; shared keys are refused with 503 until it is back",
			zap.Duration("max_stale", s.MaxStale))
	}
}

// restore reinstalls the last known set after it was withdrawn, when Redis answers again
// but has nothing newer.
func (s *Store) restore() {
	if !s.dropped {
		return
	}
	for ks := range s.stores {
		_ = ks.Replace(s.entries) // installed before, with the same inline entries
	}
	s.dropped = false
	s.available.Store(true)
}

// reseed writes the last known set back to a Redis that is behind it, unless another
// instance did so (or made a change) first.
func (s *Store) reseed(ctx context.Context) error {
	err := s.client.Watch(ctx, func(tx *redis.Tx) error {
		v, err := s.readVersion(ctx, tx)
		if err != nil || v >= s.version {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, s.setKey, s.data, 0)
			p.Set(ctx, s.versionKey, s.version, 0)
			return nil
		})
		if err == nil {
			s.Logger.Warn("shared key store was behind this instance (did Redis lose its data?); wrote the last known key set back",
				zap.Int64("redis_version", v), zap.Int64("version", s.version))
		}
		return err
	}, s.versionKey)
	if errors.Is(err, redis.TxFailedErr) {
		return nil // someone else changed it; the next poll reads it
	}
	return err
}

// readVersion reads the version counter; a missing one is 0 (an empty store).
func (s *Store) readVersion(ctx context.Context, c redis.Cmdable) (int64, error) {
	v, err := c.Get(ctx, s.versionKey).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

func parseVersion(v any) (int64, error) {
	switch v := v.(type) {
	case nil:
		return 0, nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("shared key store: version %q is not a count", v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("shared key store: version of type %T", v)
}

// parseSet decodes the stored set of version; a missing set is empty only at version 0.
func parseSet(v any, version int64) ([]*auth.Entry, []byte, error) {
	str, ok := v.(string)
	if !ok {
		if v == nil && version == 0 {
			return nil, []byte("[]\n"), nil
		}
		return nil, nil, fmt.Errorf("shared key store: version %d has no key set", version)
	}
	entries, err := auth.ParseKeyFile([]byte(str))
	if err != nil {
		return nil, nil, fmt.Errorf("shared key store: %v", err)
	}
	return entries, []byte(str), nil
}

// maxChangeAttempts bounds the optimistic retries of one change under contention.
const maxChangeAttempts = 32

// Read returns the shared set as Redis holds it now (keyadmin.Store).
func (s *Store) Read() ([]*auth.Entry, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	vals, err := s.client.MGet(ctx, s.versionKey, s.setKey).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	version, err := parseVersion(vals[0])
	if err != nil {
		return nil, err
	}
	entries, _, err := parseSet(vals[1], version)
	return entries, err
}

// Change runs fn on the shared set and stores its result with the next version, in one
// optimistic transaction on the version (WATCH/MULTI), retried when another instance
// changed the set in between (keyadmin.Store). Before it returns, this instance's stores
// hold the new set, so a revocation is in force here when the admin API answers.
func (s *Store) Change(fn func(entries []*auth.Entry) ([]*auth.Entry, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*s.Timeout)
	defer cancel()
	var err, fnErr error
	for range maxChangeAttempts {
		err = s.client.Watch(ctx, func(tx *redis.Tx) error {
			// Read before Redis is: a concurrent change's own Sync may move it past the
			// version read below, which is no sign of Redis going back.
			local := s.Version()
			vals, err := tx.MGet(ctx, s.versionKey, s.setKey).Result()
			if err != nil {
				return unavailable(err)
			}
			version, err := parseVersion(vals[0])
			if err != nil {
				return err
			}
			if version < local {
				return fmt.Errorf("%w (it is behind this instance's key set and is being restored from it)", keyadmin.ErrUnavailable)
			}
			entries, _, err := parseSet(vals[1], version)
			if err != nil {
				return err
			}
			out, err := fn(entries)
			if err != nil {
				fnErr = err
				return err
			}
			data, err := auth.MarshalKeyFile(out)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, s.setKey, data, 0)
				p.Set(ctx, s.versionKey, version+1, 0)
				return nil
			})
			return err
		}, s.versionKey)
		if !errors.Is(err, redis.TxFailedErr) {
			break
		}
	}
	switch {
	case fnErr != nil:
		return fnErr // the change itself was refused (unknown id, invalid attributes …)
	case errors.Is(err, redis.TxFailedErr):
		return fmt.Errorf("%w (too many concurrent changes)", keyadmin.ErrUnavailable)
	case err != nil:
		return unavailable(err)
	}
	if _, err := s.Sync(time.Now()); err != nil {
		s.Logger.Error("shared key set changed but not reloaded here; the next poll retries", zap.Error(err))
	}
	return nil
}

func unavailable(err error) error {
	if errors.Is(err, keyadmin.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", keyadmin.ErrUnavailable, err)
}

// Run polls every interval until ctx ends.
func (s *Store) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_, _ = s.Sync(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Interface guards
var _ keyadmin.Store = (*Store)(nil)
