package limit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/limit/limittest"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// BenchmarkDecision is the limiter's cost per request: one reservation over three rules
// (requests/min, tokens/min, a monthly token budget) plus its settlement, for 1000
// distinct keys, against each store.
func BenchmarkDecision(b *testing.B) {
	rules := []*Rule{
		mustRule(b, Rule{Name: "rpm", Kind: Requests, Limit: 1e9, Window: time.Minute}),
		mustRule(b, Rule{Name: "tpm", Kind: Tokens, Limit: 1e12, Window: time.Minute}),
		mustRule(b, Rule{Name: "month", Kind: TokenBudget, Limit: 1e15, Period: Month}),
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	run := func(b *testing.B, s Store) {
		ctx := context.Background()
		now := time.Now()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			charges := make([]Charge, len(rules))
			for pb.Next() {
				k := keys[i%len(keys)]
				i++
				for j, r := range rules {
					charges[j] = Charge{Rule: r, Key: k, Limit: r.Limit, Amount: 1 + float64(j)*500}
				}
				res, d, _, err := Reserve(ctx, s, now, charges)
				if err != nil || d != nil {
					b.Fatal(err, d)
				}
				if err := res.Settle(ctx, now, []float64{1, 300, 300}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("memory", func(b *testing.B) { run(b, NewMemoryStore()) })
	b.Run("redis", func(b *testing.B) {
		srv := limittest.StartRedis(b)
		run(b, newRedisB(b, srv))
	})
}

// BenchmarkLimitFor is the cost of resolving one rule's limit for a request: a model
// glob, a tier, and (risk) the two risk caps of an elevated caller.
func BenchmarkLimitFor(b *testing.B) {
	base := Rule{Name: "rpm", Kind: Requests, Limit: 60, Window: time.Minute,
		Tiers: map[string]float64{"pro": 600, "enterprise": Unlimited}, Models: []ModelLimit{{Pattern: "gpt-4o*", Limit: 100}}}
	for _, c := range []struct {
		name  string
		risks []RiskLimit
		level sentinel.Level
	}{
		{"plain", nil, sentinel.Low},
		{"risk", []RiskLimit{{Level: sentinel.Elevated, Limit: 10}, {Level: sentinel.High, Limit: 0}}, sentinel.Elevated},
	} {
		r := base
		r.Risks = c.risks
		rule := mustRule(b, r)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := rule.LimitFor("enterprise", c.level, "claude-sonnet-4-5"); ok != (c.risks != nil) {
					b.Fatal(ok)
				}
			}
		})
	}
}
