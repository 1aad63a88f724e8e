package secevent

import (
	"fmt"
	"testing"
	"time"
)

// A key is first once until its deadline, then first again; keys are independent.
func TestOnceUntilDeadline(t *testing.T) {
	o := NewOnce(100)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) // a monthly budget's period end
	if !o.First("budget\x00alice", t0, end) {
		t.Fatal("first report not first")
	}
	for i := range 50 {
		if o.First("budget\x00alice", t0.Add(time.Duration(i)*time.Hour), end) {
			t.Fatalf("repeat %d reported again", i)
		}
	}
	if !o.First("budget\x00bob", t0, end) || !o.First("other\x00alice", t0, end) {
		t.Fatal("another identity or rule was suppressed")
	}
	if o.First("budget\x00alice", end.Add(-time.Nanosecond), end) {
		t.Fatal("reported again before the deadline")
	}
	if !o.First("budget\x00alice", end, end.AddDate(0, 1, 0)) {
		t.Fatal("not first again once the period ended")
	}
	if o.First("budget\x00alice", end.Add(time.Hour), end.AddDate(0, 1, 0)) {
		t.Fatal("the new period's repeat reported again")
	}
	o.Forget("budget\x00alice")
	if !o.First("budget\x00alice", end.Add(2*time.Hour), end.AddDate(0, 1, 0)) {
		t.Fatal("not first again after Forget")
	}
}

// A flood of distinct keys never holds more than the bound; expired keys make room
// first, so live ones are kept while there is room for them.
func TestOnceBounded(t *testing.T) {
	o := NewOnce(64)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i := range 10000 {
		o.First(fmt.Sprint("k", i), t0, t0.Add(time.Minute))
		if o.Len() > 64 {
			t.Fatalf("%d keys held after %d reports", o.Len(), i+1)
		}
	}
	// 32 live keys with a long deadline; the 64 held short ones expire.
	later := t0.Add(2 * time.Minute)
	for i := range 32 {
		if !o.First(fmt.Sprint("live", i), later, later.Add(time.Hour)) {
			t.Fatalf("live key %d not first", i)
		}
	}
	for i := range 32 {
		if o.First(fmt.Sprint("live", i), later.Add(time.Minute), later.Add(time.Hour)) {
			t.Fatalf("live key %d forgotten while expired keys were held", i)
		}
	}
	if o.Len() > 64 {
		t.Fatalf("%d keys held", o.Len())
	}
}

func BenchmarkOnceFirst(b *testing.B) {
	o := NewOnce(1 << 14)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("monthly-spend:cost_budget\x00key-", i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		o.First(keys[i%len(keys)], t0, t0.Add(time.Hour))
	}
}
