package sharedkeys

import (
	"fmt"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/keyadmin"
	"github.com/llmguard/caddy-llmguard/llmguard/limit/limittest"
)

// BenchmarkShared measures, on a real redis-server with key sets of several sizes, what an
// instance pays per poll when nothing changed (one GET of the version: the steady-state
// cost, four times a second per instance by default), per poll that loads a changed set,
// and per admin change (WATCH, read, validate, write, and this instance's own reload).
func BenchmarkShared(b *testing.B) {
	srv := limittest.StartRedis(b)
	for _, n := range []int{10, 1000, 10000} {
		in := newInstance(b, srv.Addr)
		entries := make([]*auth.Entry, n)
		for i := range entries {
			entries[i] = &auth.Entry{ID: fmt.Sprintf("k%d", i), Hash: auth.HashKey(fmt.Sprint(i))}
		}
		if err := in.shared.Change(func([]*auth.Entry) ([]*auth.Entry, error) { return entries, nil }); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("poll-unchanged/keys=%d", n), func(b *testing.B) {
			for range b.N {
				if _, err := in.shared.Sync(time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("poll-changed/keys=%d", n), func(b *testing.B) {
			for range b.N {
				in.shared.mu.Lock()
				in.shared.version-- // pretend the set moved on: the next poll loads it
				in.shared.mu.Unlock()
				if _, err := in.shared.Sync(time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
		tiers := [2]*keyadmin.Patch{}
		for i, t := range []string{`{"tier":"a"}`, `{"tier":"b"}`} {
			tiers[i], _ = keyadmin.ParsePatch([]byte(t))
		}
		b.Run(fmt.Sprintf("change/keys=%d", n), func(b *testing.B) {
			for i := range b.N {
				if _, err := in.admin.Update("k0", tiers[i%2]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
