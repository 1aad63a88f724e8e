package secevent

import (
	"hash/maphash"
	"sync"
	"time"
)

// Once deduplicates an incident at its source: First answers true for the first report
// of a key and false for the repeats until the key's deadline, so that an incident that
// repeats on every request (each refusal of an exhausted budget, an identical alert) is
// one event, not a flood an attacker or a busy client controls.
//
// Memory is bounded: keys are kept as 64-bit hashes (an identity never stays in memory;
// a collision, about n²/2⁶⁴, only suppresses one event), and at most max are held. When
// full, expired keys are swept (at most once a second, so a flood of new keys costs O(1)
// per report between sweeps), then arbitrary ones are forgotten; a forgotten key can be
// reported again — one more event, never an unbounded map.
type Once struct {
	mu        sync.Mutex
	max       int
	seed      maphash.Seed
	until     map[uint64]int64 // deadline, Unix ns (a third of a time.Time's size)
	lastSweep time.Time
}

// NewOnce returns a Once that holds at most n keys (at least 1).
func NewOnce(n int) *Once {
	return &Once{max: max(n, 1), seed: maphash.MakeSeed(), until: map[uint64]int64{}}
}

// First reports whether key has not been reported before now or its deadline passed;
// if so, the key is held until until (repeats before then answer false).
func (o *Once) First(key string, now, until time.Time) bool {
	h := maphash.String(o.seed, key)
	o.mu.Lock()
	defer o.mu.Unlock()
	t, held := o.until[h]
	if held && now.UnixNano() < t {
		return false
	}
	if !held && len(o.until) >= o.max {
		o.evict(now)
	}
	o.until[h] = until.UnixNano()
	return true
}

// Forget re-arms key: its next report is first again (after an admin reset of what the
// key stands for, say).
func (o *Once) Forget(key string) {
	h := maphash.String(o.seed, key)
	o.mu.Lock()
	delete(o.until, h)
	o.mu.Unlock()
}

// Len is the number of keys held.
func (o *Once) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.until)
}

// evict makes room for one key.
func (o *Once) evict(now time.Time) {
	if now.Sub(o.lastSweep) >= time.Second {
		o.lastSweep = now
		for h, t := range o.until {
			if now.UnixNano() >= t {
				delete(o.until, h)
			}
		}
	}
	for h := range o.until {
		if len(o.until) < o.max {
			break
		}
		delete(o.until, h)
	}
}
