package limit

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

var t0 = time.Date(2025, 3, 31, 21, 59, 0, 0, time.UTC)

func mustRule(t testing.TB, r Rule) *Rule {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return &r
}

// storeContract runs the behaviour every Store must have; the memory and Redis stores
// both run it.
func storeContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	tpm := Rule{Name: "tpm", Kind: Tokens, Limit: 100, Window: time.Minute}
	t.Run("bucket is exact and truthful", func(t *testing.T) {
		s := newStore(t)
		r := mustRule(t, tpm)
		res, d, _, err := Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 100, Amount: 60}})
		if err != nil || d != nil || res == nil {
			t.Fatalf("first: %v %v", d, err)
		}
		if got := res.Statuses[0]; got.Remaining != 40 || got.Reset != 36*time.Second {
			t.Fatalf("status %+v", got)
		}
		_, d, sts, err := Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 100, Amount: 50}})
		if err != nil || d == nil {
			t.Fatalf("want denial, got %v %v", d, err)
		}
		// 10 tokens too many at 100/min: exactly 6s (plus the 1ms rounding guard).
		if d.RetryAfter != 6*time.Second+time.Millisecond || d.Never || d.Remaining != 40 || sts[0].Remaining != 40 {
			t.Fatalf("denial %+v", d)
		}
		// The refused attempt consumed nothing: 40 still fit.
		if _, d, _, _ := Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 100, Amount: 40}}); d != nil {
			t.Fatalf("refused attempt consumed budget: %+v", d)
		}
		// Full now; after exactly the advertised wait, 50 fit again.
		later := t0.Add(30 * time.Second)
		if _, d, _, _ := Reserve(ctx, s, later.Add(-time.Millisecond), []Charge{{Rule: r, Key: "k", Limit: 100, Amount: 51}}); d == nil {
			t.Fatal("admitted early")
		}
		if _, d, _, _ := Reserve(ctx, s, later, []Charge{{Rule: r, Key: "k", Limit: 100, Amount: 50}}); d != nil {
			t.Fatalf("not admitted after the wait: %+v", d)
		}
	})
	t.Run("settle refunds and charges", func(t *testing.T) {
		s := newStore(t)
		r := mustRule(t, tpm)
		res, _, _, _ := Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 100, Amount: 100}})
		if err := res.Settle(ctx, t0, []float64{30}); err != nil {
			t.Fatal(err)
		}
		sts, _ := Peek(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 100}})
		if sts[0].Remaining != 70 {
			t.Fatalf("remaining %v after refund", sts[0].Remaining)
		}
		res, _, _, _ = Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 100, Amount: 10}})
		_ = res.Settle(ctx, t0, []float64{50}) // the upstream used more: charged, unchecked
		sts, _ = Peek(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 100}})
		if sts[0].Remaining != 20 {
			t.Fatalf("remaining %v after extra charge", sts[0].Remaining)
		}
	})
	t.Run("reset empties a key and only that key", func(t *testing.T) {
		s := newStore(t)
		r := mustRule(t, tpm)
		for _, k := range []string{"k", "other"} {
			if _, _, _, err := Reserve(ctx, s, t0, []Charge{{Rule: r, Key: k, Limit: 100, Amount: 80}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := Reset(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 100}}); err != nil {
			t.Fatal(err)
		}
		sts, _ := Peek(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 100}, {Rule: r, Key: "other", Limit: 100}})
		if sts[0].Remaining != 100 || sts[1].Remaining != 20 {
			t.Fatalf("remaining after reset: %v (reset key), %v (other key)", sts[0].Remaining, sts[1].Remaining)
		}
	})
	t.Run("all or nothing", func(t *testing.T) {
		s := newStore(t)
		rpm := mustRule(t, Rule{Name: "rpm", Kind: Requests, Limit: 5, Window: time.Minute})
		tk := mustRule(t, tpm)
		charges := func(n float64) []Charge {
			return []Charge{{Rule: rpm, Key: "a", Limit: 5, Amount: 1}, {Rule: tk, Key: "b", Limit: 100, Amount: n}}
		}
		if _, d, _, _ := Reserve(ctx, s, t0, charges(90)); d != nil {
			t.Fatal(d)
		}
		_, d, _, _ := Reserve(ctx, s, t0, charges(20))
		if d == nil || d.Rule != tk {
			t.Fatalf("want a tokens denial, got %+v", d)
		}
		sts, _ := Peek(ctx, s, t0, charges(0))
		if sts[0].Remaining != 4 || sts[1].Remaining != 10 {
			t.Fatalf("a refused reservation changed state: %+v", sts)
		}
	})
	t.Run("budget periods", func(t *testing.T) {
		s := newStore(t)
		berlin, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			t.Fatal(err)
		}
		r := mustRule(t, Rule{Name: "daily", Kind: TokenBudget, Limit: 1000, Period: Day, Location: berlin})
		// t0 is 23:59 in Berlin (UTC+2 in summer time).
		res, _, _, _ := Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 1000, Amount: 900}})
		if res.Statuses[0].Reset != time.Minute {
			t.Fatalf("reset %v, want 1m to Berlin midnight", res.Statuses[0].Reset)
		}
		_, d, _, _ := Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 1000, Amount: 200}})
		if d == nil || !d.Budget() || d.RetryAfter != time.Minute || d.Never {
			t.Fatalf("denial %+v", d)
		}
		// Settling after midnight still corrects the period it was reserved in.
		if err := res.Settle(ctx, t0.Add(2*time.Minute), []float64{950}); err != nil {
			t.Fatal(err)
		}
		if _, d, _, _ := Reserve(ctx, s, t0.Add(2*time.Minute), []Charge{{Rule: r, Key: "k", Limit: 1000, Amount: 1000}}); d != nil {
			t.Fatalf("new day not fresh: %+v", d)
		}
	})
	t.Run("concurrency", func(t *testing.T) {
		s := newStore(t)
		r := mustRule(t, Rule{Name: "conc", Kind: Concurrent, Limit: 2})
		c := []Charge{{Rule: r, Key: "k", Limit: 2, Amount: 1}}
		a, _, _, _ := Reserve(ctx, s, t0, c)
		b, _, _, _ := Reserve(ctx, s, t0, c)
		if a == nil || b == nil {
			t.Fatal("two slots not admitted")
		}
		if _, d, _, _ := Reserve(ctx, s, t0, c); d == nil {
			t.Fatal("third slot admitted")
		}
		_ = a.Settle(ctx, t0, []float64{0})
		if _, d, _, _ := Reserve(ctx, s, t0, c); d != nil {
			t.Fatalf("slot not released: %+v", d)
		}
	})
	t.Run("too large never fits", func(t *testing.T) {
		s := newStore(t)
		r := mustRule(t, tpm)
		_, d, _, _ := Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 100, Amount: 101}})
		if d == nil || !d.Never {
			t.Fatalf("denial %+v", d)
		}
	})
	t.Run("concurrent reservations never exceed the limit", func(t *testing.T) {
		s := newStore(t)
		r := mustRule(t, Rule{Name: "tpm", Kind: Tokens, Limit: 1000, Window: time.Hour})
		var mu sync.Mutex
		var admitted float64
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				amt := float64(7 + i%13)
				res, _, _, err := Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: 1000, Amount: amt}})
				if err != nil {
					t.Error(err)
				}
				if res != nil {
					mu.Lock()
					admitted += amt
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if admitted > 1000 || admitted < 1000-20 {
			t.Fatalf("admitted %v tokens against a limit of 1000", admitted)
		}
	})
}

func TestMemoryStore(t *testing.T) {
	storeContract(t, func(*testing.T) Store { return NewMemoryStore() })
}

func TestSweep(t *testing.T) {
	s := NewMemoryStore()
	r := mustRule(t, Rule{Name: "tpm", Kind: Tokens, Limit: 100, Window: time.Minute})
	b := mustRule(t, Rule{Name: "b", Kind: TokenBudget, Limit: 100, Period: Month})
	ctx := context.Background()
	Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "a", Limit: 100, Amount: 50}, {Rule: b, Key: "a", Limit: 100, Amount: 5}})
	if n := s.Sweep(t0.Add(29 * time.Second)); n != 2 {
		t.Fatalf("%d keys before drain", n)
	}
	if n := s.Sweep(t0.Add(31 * time.Second)); n != 1 {
		t.Fatalf("%d keys after drain, want the budget only", n)
	}
	if got := s.List(t0, "", 10); len(got) != 1 || got[0].Key != "a" || got[0].Period != "2025-03" || got[0].Level != 5 {
		t.Fatalf("list %+v", got)
	}
	if n := s.Sweep(t0.Add(24 * time.Hour)); n != 0 {
		t.Fatalf("%d keys after the period", n)
	}
}

func TestLimitFor(t *testing.T) {
	r := mustRule(t, Rule{Name: "tpm", Kind: Tokens, Limit: 100, Window: time.Minute,
		Tiers:  map[string]float64{"free": 10, "enterprise": Unlimited},
		Models: []ModelLimit{{Pattern: "gpt-4o*", Limit: 50}}})
	for _, c := range []struct {
		tier, model string
		want        float64
		ok          bool
	}{
		{"", "gpt-3.5", 100, true},
		{"free", "gpt-3.5", 10, true},
		{"free", "GPT-4o-mini", 50, true},
		{"enterprise", "x", 0, false},
	} {
		got, ok := r.LimitFor(c.tier, sentinel.Low, c.model)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%s/%s: %v %v", c.tier, c.model, got, ok)
		}
	}
}

// TestRiskCaps: a risk override caps whatever the tier and model give (an exempt tier
// included) for callers at its level or above, and never loosens a limit.
func TestRiskCaps(t *testing.T) {
	r := mustRule(t, Rule{Name: "rpm", Kind: Requests, Limit: 100, Window: time.Minute,
		Tiers:  map[string]float64{"free": 5, "enterprise": Unlimited},
		Models: []ModelLimit{{Pattern: "gpt-4o*", Limit: 50}},
		Risks:  []RiskLimit{{Level: sentinel.High, Limit: 0}, {Level: sentinel.Elevated, Limit: 10}}})
	for _, c := range []struct {
		tier  string
		risk  sentinel.Level
		model string
		want  float64
		ok    bool
	}{
		{"", sentinel.Low, "x", 100, true},
		{"", sentinel.Elevated, "x", 10, true},
		{"", sentinel.High, "x", 0, true},         // the tightest applicable override
		{"free", sentinel.Elevated, "x", 5, true}, // already tighter: kept
		{"enterprise", sentinel.Low, "x", 0, false},
		{"enterprise", sentinel.Elevated, "x", 10, true}, // exempt, but not when suspected
		{"", sentinel.Elevated, "gpt-4o", 10, true},
	} {
		got, ok := r.LimitFor(c.tier, c.risk, c.model)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%s/%s/%s: %v %v, want %v %v", c.tier, c.risk, c.model, got, ok, c.want, c.ok)
		}
	}
	// unlimited at a level: the rule does not tighten there.
	u := mustRule(t, Rule{Name: "rpm", Kind: Requests, Limit: 100, Window: time.Minute,
		Risks: []RiskLimit{{Level: sentinel.Elevated, Limit: Unlimited}, {Level: sentinel.High, Limit: 20}}})
	if got, _ := u.LimitFor("", sentinel.Elevated, ""); got != 100 {
		t.Errorf("elevated under unlimited: %v", got)
	}
	if got, _ := u.LimitFor("", sentinel.High, ""); got != 20 {
		t.Errorf("high: %v", got)
	}
	// A level without an override of its own gets the lower level's: high ≥ elevated.
	e := mustRule(t, Rule{Name: "rpm", Kind: Requests, Limit: 100, Window: time.Minute,
		Risks: []RiskLimit{{Level: sentinel.Elevated, Limit: 10}}})
	if got, _ := e.LimitFor("", sentinel.High, ""); got != 10 {
		t.Errorf("high under elevated's cap: %v", got)
	}
}

// TestRiskKeepsUsage: a caller that becomes elevated keeps its counter; only the limit
// it is measured against shrinks.
func TestRiskKeepsUsage(t *testing.T) {
	ctx := context.Background()
	r := mustRule(t, Rule{Name: "rpd", Kind: Requests, Limit: 10, Window: 24 * time.Hour,
		Risks: []RiskLimit{{Level: sentinel.Elevated, Limit: 4}}})
	s := NewMemoryStore()
	charge := func(risk sentinel.Level) (*Denial, []Status) {
		lim, _ := r.LimitFor("", risk, "")
		_, d, sts, err := Reserve(ctx, s, t0, []Charge{{Rule: r, Key: "k", Limit: lim, Amount: 1}})
		if err != nil {
			t.Fatal(err)
		}
		return d, sts
	}
	for range 3 {
		if d, _ := charge(sentinel.Low); d != nil {
			t.Fatal("low caller refused")
		}
	}
	d, sts := charge(sentinel.Elevated)
	if d != nil || sts[0].Limit != 4 || sts[0].Remaining != 0 {
		t.Fatalf("elevated 4th request: denial %v, status %+v", d, sts)
	}
	if d, _ := charge(sentinel.Elevated); d == nil || d.Limit != 4 {
		t.Fatalf("elevated 5th request: %+v", d)
	}
	if d, _ := charge(sentinel.Low); d != nil {
		t.Fatal("back to low: the rule's own limit applies again")
	}
}

func TestValidate(t *testing.T) {
	for _, r := range []Rule{
		{Name: "Bad Name", Kind: Requests, Limit: 1, Window: time.Second},
		{Name: "x", Kind: Requests, Limit: 1},
		{Name: "x", Kind: TokenBudget, Limit: 1},
		{Name: "x", Kind: Requests, Limit: 1, Window: time.Second, Measure: Input},
		{Name: "x", Kind: Tokens, Limit: 1, Window: time.Second, Measure: "both"},
		{Name: "x", Kind: "nope", Limit: 1},
		{Name: "x", Kind: Concurrent, Limit: -2},
		{Name: "x", Kind: Concurrent, Limit: 1, Models: []ModelLimit{{Pattern: "", Limit: 1}}},
		{Name: "x", Kind: Concurrent, Limit: 1, Risks: []RiskLimit{{Level: sentinel.Low, Limit: 1}}},
		{Name: "x", Kind: Concurrent, Limit: 1, Risks: []RiskLimit{{Level: sentinel.High, Limit: -2}}},
		{Name: "x", Kind: Concurrent, Limit: 1, Risks: []RiskLimit{{Level: sentinel.High, Limit: 1}, {Level: sentinel.High, Limit: 2}}},
		{Name: "x", Kind: Concurrent, Limit: 9, Risks: []RiskLimit{{Level: sentinel.High, Limit: 5}, {Level: sentinel.Elevated, Limit: 2}}},
		{Name: "x", Kind: Concurrent, Limit: 9, Risks: []RiskLimit{{Level: sentinel.High, Limit: Unlimited}, {Level: sentinel.Elevated, Limit: 2}}},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("%+v validated", r)
		}
	}
}

func TestPrices(t *testing.T) {
	pt, err := NewPriceTable(map[string]Price{"my-model": {Input: 1, Output: 2}, "GPT-4o": {Input: 5, Output: 20}}, false)
	if err != nil {
		t.Fatal(err)
	}
	for model, want := range map[string]float64{
		"gpt-4o-mini-2024-07-18": 0.15, "openai/gpt-4o-mini": 0.15, "gpt-4o": 5, "gpt-4o-2024-11-20": 5,
		"claude-sonnet-4-5-20250929": 3, "my-model": 1,
	} {
		p := pt.Lookup(model)
		if p == nil || p.Input != want {
			t.Errorf("%s: %+v", model, p)
		}
	}
	if pt.Lookup("llama-3") != nil || pt.Lookup("gpt-4oo") != nil {
		t.Error("unknown model priced")
	}
	p := pt.Lookup("gpt-4o-mini")
	cost := p.Cost(Usage{Input: 1_000_000, CachedInput: 400_000, Output: 100_000})
	if want := 0.6*0.15 + 0.4*0.075 + 0.1*0.60; math.Abs(cost-want) > 1e-12 {
		t.Fatalf("cost %v want %v", cost, want)
	}
	if _, err := NewPriceTable(map[string]Price{"x": {Input: -1}}, true); err == nil {
		t.Fatal("negative price accepted")
	}
}

// TestPriceTableWith checks that a handler's overrides layer over a shared table without
// changing it (two handlers share the llm_prices table).
func TestPriceTableWith(t *testing.T) {
	shared, err := NewPriceTable(map[string]Price{"house": {Input: 7}}, true)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := shared.With(map[string]Price{"House": {Input: 9}, "extra": {Input: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if p := mine.Lookup("house-2026"); p == nil || p.Input != 9 {
		t.Errorf("override: %+v", p)
	}
	if p := shared.Lookup("house"); p == nil || p.Input != 7 || shared.Lookup("extra") != nil {
		t.Errorf("With changed the shared table: %+v", p)
	}
	if mine.Lookup("gpt-4o") != nil {
		t.Error("no_default_prices of the shared table lost")
	}
	if _, err := shared.With(map[string]Price{"x": {Output: -1}}); err == nil {
		t.Error("negative override accepted")
	}
	if DefaultPrices["gpt-4o"].Input != 2.50 {
		t.Error("a table changed DefaultPrices")
	}
}

func TestParsePrice(t *testing.T) {
	p, err := ParsePrice("1.5", "0", "6e0")
	if err != nil || p != (Price{Input: 1.5, Output: 6}) {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range [][3]string{{"-1", "0", "0"}, {"1", "NaN", "0"}, {"1", "0", "Inf"}, {"", "0", "0"}, {"1", "0", "x"}} {
		if _, err := ParsePrice(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

type failingStore struct{}

func (failingStore) Apply(context.Context, time.Time, []Op, Mode) ([]float64, bool, error) {
	return nil, false, ErrUnavailable
}

func TestStoreErrorChangesNothing(t *testing.T) {
	r := mustRule(t, Rule{Name: "rpm", Kind: Requests, Limit: 1, Window: time.Second})
	res, d, _, err := Reserve(context.Background(), failingStore{}, t0, []Charge{{Rule: r, Key: "k", Limit: 1, Amount: 1}})
	if res != nil || d != nil || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("%v %v %v", res, d, err)
	}
}
