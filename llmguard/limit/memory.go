package limit

import (
	"context"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"
)

const memShards = 64

// MemoryStore keeps state in process memory: exact, fast, and lost on restart (not on
// reload when the caller keeps the store, e.g. in a caddy.UsagePool). Memory per key is
// constant; idle keys are removed by Sweep.
type MemoryStore struct {
	seed   maphash.Seed
	shards [memShards]memShard
}

type memShard struct {
	mu sync.Mutex
	m  map[string]*memEntry
}

type memEntry struct {
	level  float64
	last   time.Time // Bucket: last update
	expire time.Time // Counter: forget after
	algo   Algo
	limit  float64
	window time.Duration
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	s := &MemoryStore{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = map[string]*memEntry{}
	}
	return s
}

func memKey(op *Op) string {
	if op.Period != "" {
		return op.Rule + "\x1f" + op.Key + "\x1f" + op.Period
	}
	return op.Rule + "\x1f" + op.Key
}

func (s *MemoryStore) shard(key string) int {
	return int(maphash.String(s.seed, key) % memShards)
}

// Apply implements Store. The shards an op list touches are locked in ascending order, so
// concurrent multi-rule reservations cannot deadlock and see each other atomically.
func (s *MemoryStore) Apply(_ context.Context, now time.Time, ops []Op, mode Mode) ([]float64, bool, error) {
	var keysBuf [8]string
	var idxBuf [8]int
	keys, idx := keysBuf[:0], idxBuf[:0]
	for i := range ops {
		k := memKey(&ops[i])
		keys = append(keys, k)
		sh := s.shard(k)
		if !slices.Contains(idx, sh) {
			idx = append(idx, sh)
		}
	}
	slices.Sort(idx)
	for _, i := range idx {
		s.shards[i].mu.Lock()
	}
	defer func() {
		for _, i := range idx {
			s.shards[i].mu.Unlock()
		}
	}()
	levels := make([]float64, len(ops))
	ok := true
	for i := range ops {
		op := &ops[i]
		cur := s.level(s.shards[s.shard(keys[i])].m[keys[i]], op, now)
		// Ops of one call may share a key (two rules with one identity): later ops see the
		// earlier ones' amounts.
		for j := 0; j < i; j++ {
			if keys[j] == keys[i] {
				cur = levels[j]
			}
		}
		nl := cur
		if mode != ModePeek {
			nl = max(cur+op.Amount, 0)
		}
		levels[i] = nl
		if mode == ModeReserve && !fits(op, nl) {
			ok = false
		}
	}
	if mode == ModePeek || !ok {
		return levels, false, nil
	}
	for i := range ops {
		op := &ops[i]
		m := s.shards[s.shard(keys[i])].m
		e := m[keys[i]]
		if e == nil {
			e = &memEntry{}
			m[keys[i]] = e
		}
		e.level, e.algo, e.limit, e.window = levels[i], op.Algo, op.Limit, op.Window
		if op.Algo == Bucket {
			if now.After(e.last) {
				e.last = now
			}
		} else {
			e.expire = op.Expire
		}
	}
	return levels, true, nil
}

// level is an entry's current level for op at now.
func (s *MemoryStore) level(e *memEntry, op *Op, now time.Time) float64 {
	if e == nil {
		return 0
	}
	if op.Algo == Bucket {
		if e.algo != Bucket {
			return 0
		}
		return drain(e.level, e.last, now, op.Limit, op.Window)
	}
	if e.algo != Counter || !now.Before(e.expire) {
		return 0
	}
	return e.level
}

// Sweep forgets keys that hold no information any more: drained buckets, expired or
// zero counters. It returns how many keys remain.
func (s *MemoryStore) Sweep(now time.Time) int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			var idle bool
			if e.algo == Bucket {
				idle = drain(e.level, e.last, now, e.limit, e.window) == 0
			} else {
				idle = e.level == 0 || !now.Before(e.expire)
			}
			if idle {
				delete(sh.m, k)
			}
		}
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// Entry is a key's state as listed for the admin API.
type Entry struct {
	Rule, Key, Period string
	Level             float64
}

// List returns up to max entries whose limit key value has the given prefix, with their
// levels at now. Order is unspecified.
func (s *MemoryStore) List(now time.Time, keyPrefix string, max int) []Entry {
	var out []Entry
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			parts := strings.SplitN(k, "\x1f", 3)
			if len(parts) < 2 || !strings.HasPrefix(parts[1], keyPrefix) {
				continue
			}
			en := Entry{Rule: parts[0], Key: parts[1]}
			if len(parts) == 3 {
				en.Period = parts[2]
			}
			if e.algo == Bucket {
				en.Level = drain(e.level, e.last, now, e.limit, e.window)
			} else if now.Before(e.expire) {
				en.Level = e.level
			}
			out = append(out, en)
			if len(out) >= max {
				sh.mu.Unlock()
				return out
			}
		}
		sh.mu.Unlock()
	}
	return out
}
