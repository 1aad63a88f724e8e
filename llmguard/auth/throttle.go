package auth

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// Throttle limits failed authentication attempts per client address with a token bucket:
// each failure takes a token, tokens come back at Rate per second up to Burst, and an
// address with no token left is refused before its credential is even looked at. Only
// failures count, and only the failing address is slowed: valid keys used from other
// addresses are never affected, and a valid key from a throttled address works again as
// soon as a token is back.
//
// The map of addresses is bounded by MaxEntries. When it is full, entries whose bucket has
// refilled (idle addresses) are dropped first, then arbitrary ones; an attacker spraying
// from many addresses can thus only make the throttle forget other attackers, never grow
// memory or block anyone.
type Throttle struct {
	Burst      float64
	Rate       float64 // tokens per second
	MaxEntries int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewThrottle returns a throttle; burst failures are allowed at once, then rate per second.
func NewThrottle(burst, rate float64, maxEntries int) *Throttle {
	return &Throttle{Burst: burst, Rate: rate, MaxEntries: maxEntries, buckets: map[string]*bucket{}}
}

// ClientKey normalises a client address: IPv6 addresses are grouped by /64, because one
// host commonly owns a whole /64 and could otherwise rotate addresses for free.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() {
		// ParseAddr accepts only the canonical dotted quad, so a plain IPv4 address is its
		// own key (no String() allocation on every request).
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (t *Throttle) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(t.Burst, b.tokens+el*t.Rate)
	}
	b.last = now
}

// Wait reports how long the address must wait before its next attempt; zero means it may
// try now. It does not consume anything.
func (t *Throttle) Wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[key]
	if !ok {
		return 0
	}
	t.refill(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / t.Rate * float64(time.Second))
}

// Fail records a failed attempt from the address.
func (t *Throttle) Fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[key]
	if !ok {
		if len(t.buckets) >= t.MaxEntries {
			t.evict(now)
		}
		b = &bucket{tokens: t.Burst, last: now}
		t.buckets[key] = b
	}
	t.refill(b, now)
	b.tokens = math.Max(0, b.tokens-1)
}

// evict makes room for one entry. The full sweep for idle buckets runs at most once per
// second so that a flood of new addresses costs O(1) per failure between sweeps.
func (t *Throttle) evict(now time.Time) {
	if now.Sub(t.lastSweep) >= time.Second {
		t.lastSweep = now
		for k, b := range t.buckets {
			t.refill(b, now)
			if b.tokens >= t.Burst {
				delete(t.buckets, k)
			}
		}
	}
	for k := range t.buckets {
		if len(t.buckets) < t.MaxEntries {
			break
		}
		delete(t.buckets, k)
	}
}

// Len is the number of tracked addresses.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}
