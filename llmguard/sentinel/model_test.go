package sentinel

import (
	"context"
	"fmt"
	"hash/fnv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)

// A templated scraper is quarantined, refused with the time left, released when the
// quarantine ends at elevated (not low: trust is rebuilt gradually), and quarantined for
// twice as long if it goes on.
func TestQuarantineCycle(t *testing.T) {
	m := NewModel(Config{})
	var s State
	now := t0
	var a Assessment
	n := 0
	for ; n < 1000 && !a.Quarantined; n++ {
		a = m.Observe(&s, nil, now, Request{Network: "198.18.0.0/24", Prompt: fmt.Sprintf("What is the capital of country number %d?", n), TopLogprobs: 5, N: 3})
		now = now.Add(500 * time.Millisecond)
	}
	if !a.Quarantined || !a.Entered || a.Level != High || a.RetryAfter != 10*time.Minute || !a.Transition() {
		t.Fatalf("after %d requests: %+v", n, a)
	}
	if len(a.Reasons) == 0 || a.Reasons[0] != SignalExtraction && a.Reasons[0] != SignalTemplated {
		t.Fatalf("reasons %v", a.Reasons)
	}
	before := s
	b := m.Observe(&s, nil, now.Add(time.Minute), Request{Prompt: "x"})
	if !b.Quarantined || b.Entered || b.RetryAfter >= a.RetryAfter || b.Transition() {
		t.Fatalf("during quarantine: %+v", b)
	}
	if s != before {
		t.Fatal("a refused request was learned from")
	}
	c := m.Observe(&s, nil, now.Add(11*time.Minute), Request{Network: "198.18.0.0/24", Prompt: "Hello there, how are you today?"})
	if !c.Released || c.Quarantined || c.From != High || c.Level == Low {
		t.Fatalf("at release: %+v", c)
	}
	now = now.Add(11 * time.Minute)
	for i := 0; i < 1000 && !c.Quarantined; i++ {
		now = now.Add(500 * time.Millisecond)
		c = m.Observe(&s, nil, now, Request{Network: "198.18.0.0/24", Prompt: fmt.Sprintf("What is the capital of country number %d?", i), TopLogprobs: 5, N: 3})
	}
	if !c.Quarantined || c.RetryAfter != 20*time.Minute {
		t.Fatalf("second quarantine: %+v", c)
	}
	if (Model{cfg: Config{Quarantine: -1}.withDefaults()}).cfg.Quarantine > 0 {
		t.Fatal("a negative quarantine must disable it")
	}
}

// A developer re-running the same prompt is not "templated"; a slot varied in one
// template is.
func TestTemplatedIgnoresIdenticalRepeats(t *testing.T) {
	m := NewModel(Config{})
	var rep, tmpl State
	for i := range 200 {
		now := t0.Add(time.Duration(i) * 3 * time.Second)
		m.Observe(&rep, nil, now, Request{Prompt: "Summarise the attached meeting notes in three bullet points."})
		m.Observe(&tmpl, nil, now, Request{Prompt: fmt.Sprintf("Summarise the attached meeting notes in %d bullet points.", i)})
	}
	if rep.Dup != 0 {
		t.Errorf("identical repeats scored %v templated", rep.Dup)
	}
	if tmpl.Dup < 0.6 {
		t.Errorf("a varied template scored only %v", tmpl.Dup)
	}
}

// Retrying one wrong key is a misconfigured client, not stuffing; many keys are.
func TestFailSpreadAcrossKeys(t *testing.T) {
	m := NewModel(Config{})
	var one, many State
	var a, b Assessment
	for i := range 200 {
		now := t0.Add(time.Duration(i) * time.Second)
		a = m.Fail(&one, now, Fingerprint("sk-old-key"))
		b = m.Fail(&many, now, Fingerprint(fmt.Sprint("sk-guess-", i)))
	}
	if a.Level != Low {
		t.Errorf("one key retried: %+v", a)
	}
	if b.Level != High || b.Reasons[0] != SignalStuffing {
		t.Errorf("many keys: %+v", b)
	}
	// The identity behind a key that succeeds from the stuffing address inherits the
	// address's evidence.
	var id State
	c := m.Observe(&id, &many, t0.Add(201*time.Second), Request{Prompt: "hi"})
	if c.Score < 0.3 || len(c.Reasons) == 0 || c.Reasons[0] != SignalStuffing {
		t.Errorf("identity from a stuffing address: %+v", c)
	}
}

// Encode and Decode round-trip; a value of another size starts afresh.
func TestEncode(t *testing.T) {
	m := NewModel(Config{})
	var s State
	for i := range 50 {
		m.Observe(&s, nil, t0.Add(time.Duration(i)*time.Minute), Request{Network: fmt.Sprint(i % 3), Prompt: fmt.Sprint("p", i), Tokens: 100})
	}
	got, err := Decode(s.Encode())
	if err != nil || got != s {
		t.Fatalf("round trip: %v", err)
	}
	if len(s.Encode()) != EncodedSize || EncodedSize > 2048 {
		t.Fatalf("encoded size %d", EncodedSize)
	}
	if _, err := Decode([]byte("short")); err == nil {
		t.Fatal("a short value decoded")
	}
}

// A flood of distinct actors stays within Max, and a quarantined actor is not the one
// evicted while others can be.
func TestMemoryBound(t *testing.T) {
	st := NewMemoryStore()
	st.Max = 100
	ctx := context.Background()
	st.Update(ctx, "quarantined", func(s *State) { s.QuarantinedUntil = t0.Add(time.Hour).UnixNano(); s.Last = 1 })
	for i := range 10000 {
		st.Update(ctx, fmt.Sprint("addr:", i), func(s *State) { s.Last = int64(i + 2) })
	}
	if st.Len() > 100 {
		t.Fatalf("%d actors kept", st.Len())
	}
	if _, ok, _ := st.Get(ctx, "quarantined"); !ok {
		t.Fatal("the flood evicted a quarantine")
	}
	st.Sweep(t0.Add(8 * 24 * time.Hour))
	if _, ok, _ := st.Get(ctx, "quarantined"); ok {
		t.Fatal("an ended quarantine idle for a week was kept")
	}
}

// Levels parse and print.
func TestLevels(t *testing.T) {
	for _, l := range []Level{Low, Elevated, High} {
		if p, ok := ParseLevel(l.String()); !ok || p != l {
			t.Errorf("%v", l)
		}
	}
	if _, ok := ParseLevel("severe"); ok {
		t.Error("parsed severe")
	}
}

func FuzzObserve(f *testing.F) {
	f.Add("What is the capital of 12?", "203.0.113.9", int64(100), int64(3), int64(5), 7)
	f.Add("", "", int64(-1), int64(0), int64(0), 0)
	f.Add("\xff\xfe ünïcode 123 ４５６", "::ffff:10.0.0.1", int64(1<<62), int64(128), int64(20), 1<<30)
	f.Fuzz(func(t *testing.T, prompt, addr string, tokens, n, top int64, dt int) {
		m := NewModel(Config{})
		var s State
		now := t0
		for range 3 {
			now = now.Add(time.Duration(dt))
			a := m.Observe(&s, &s, now, Request{Network: NetworkOf(addr), Prompt: prompt, Tokens: tokens, N: n, TopLogprobs: top})
			if a.Score < 0 || a.Score > 1 || a.Score != a.Score {
				t.Fatalf("score %v", a.Score)
			}
			m.Outcome(&s, now, Outcome{Probe: true})
			m.Fail(&s, now, Fingerprint(prompt))
		}
		if _, err := Decode(s.Encode()); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkObserve(b *testing.B) {
	m := NewModel(Config{})
	var s State
	q := Request{Network: "203.0.113.0/24", Prompt: "Can you explain how a compiler turns source code into machine code, step by step, with an example in Go?", Tokens: 600}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		m.Observe(&s, nil, now, q)
	}
}

// hash32 is FNV-1a (the stored fingerprints and network hashes must not change).
func TestHash32IsFNV1a(t *testing.T) {
	for _, s := range []string{"", "a", "203.0.113.0/24", "sk-llmg-x\x00"} {
		h := fnv.New32a()
		h.Write([]byte(s))
		if hash32(s) != h.Sum32() {
			t.Errorf("%q", s)
		}
	}
}

func BenchmarkSketch(b *testing.B) {
	p := "Can you explain how a compiler turns source code into machine code, step by step, with an example in Go?"
	for b.Loop() {
		Sketch(p)
	}
}

// The bit-plane vote counts exactly like 64 separate counters.
func TestCountersMatchPlainVotes(t *testing.T) {
	var c counters
	var plain [64]int
	h := uint64(0x9e3779b97f4a7c15)
	for i := range 1000 {
		h = mix(h + uint64(i))
		c.add(h)
		for b := range 64 {
			plain[b] += int(h >> b & 1)
		}
		var want uint64
		for b := range 64 {
			if 2*plain[b] > i+1 {
				want |= 1 << b
			}
		}
		if got := c.majority(); got != want {
			t.Fatalf("after %d votes: %x, want %x", i+1, got, want)
		}
	}
}
