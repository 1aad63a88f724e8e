package sentinel

import (
	"context"
	"sync"
	"time"
)

// Store keeps State per identity. Update must be atomic per identity: fn sees and
// changes the current state while no other Update of the same identity runs.
// fn may run more than once (an optimistic store retries on a conflict), so it must
// only compute from the state it is given.
type Store interface {
	Update(ctx context.Context, id string, fn func(*State)) error
	// Get returns an actor's state, and false when the store has none.
	Get(ctx context.Context, id string) (State, bool, error)
	// Clear forgets an actor (an admin lifting a quarantine).
	Clear(ctx context.Context, id string) error
}

// MemoryStore is the in-process Store. It holds at most Max identities: when full, the
// least recently seen of a small sample is evicted, so a flood of distinct identities
// (or of addresses, for anonymous callers) costs bounded memory and O(1) time.
type MemoryStore struct {
	// Max is the number of actors kept. Default 100000 (about 34 MB: 338 bytes per actor measured, state, map entry and id).
	Max int
	// Idle is how long an identity may go unseen before Sweep forgets it. Default 7 days.
	Idle time.Duration

	mu sync.Mutex
	m  map[string]*State
}

// NewMemoryStore returns an empty store with the defaults.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{Max: 100000, Idle: 7 * 24 * time.Hour, m: map[string]*State{}}
}

// Update implements Store.
func (s *MemoryStore) Update(_ context.Context, id string, fn func(*State)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[id]
	if !ok {
		if len(s.m) >= s.Max {
			s.evictOne()
		}
		st = new(State)
		s.m[id] = st
	}
	fn(st)
	return nil
}

// evictOne drops the least recently seen of up to 8 entries (Go's map iteration order is
// random, so this is a sampled LRU) — never a quarantined identity if another will do,
// so that a flood cannot wash a quarantine out.
func (s *MemoryStore) evictOne() {
	var victim string
	var best *State
	n := 0
	for id, st := range s.m {
		if best == nil || (best.QuarantinedUntil != 0 && st.QuarantinedUntil == 0) ||
			((best.QuarantinedUntil == 0) == (st.QuarantinedUntil == 0) && st.Last < best.Last) {
			victim, best = id, st
		}
		if n++; n == 8 {
			break
		}
	}
	delete(s.m, victim)
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, id string) (State, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[id]; ok {
		return *st, true, nil
	}
	return State{}, false, nil
}

// Clear implements Store.
func (s *MemoryStore) Clear(_ context.Context, id string) error {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
	return nil
}

// SetMax changes the number of actors kept (the last configuration wins).
func (s *MemoryStore) SetMax(n int) {
	s.mu.Lock()
	s.Max = n
	s.mu.Unlock()
}

// Len is the number of identities kept.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Sweep forgets identities idle since before now − Idle and not quarantined.
func (s *MemoryStore) Sweep(now time.Time) {
	cut := now.Add(-s.Idle).UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, st := range s.m {
		if st.Last < cut && st.QuarantinedUntil < now.UnixNano() {
			delete(s.m, id)
		}
	}
}
