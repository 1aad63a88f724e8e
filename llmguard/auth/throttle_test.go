package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	th := NewThrottle(3, 1, 100) // 3 failures at once, then one per second
	for i := range 3 {
		if w := th.Wait("1.2.3.4", t0); w != 0 {
			t.Fatalf("attempt %d throttled", i)
		}
		th.Fail("1.2.3.4", t0)
	}
	if w := th.Wait("1.2.3.4", t0); w != time.Second {
		t.Fatalf("after burst: wait %v", w)
	}
	// Another address is unaffected.
	if w := th.Wait("5.6.7.8", t0); w != 0 {
		t.Fatal("other address throttled")
	}
	if w := th.Wait("1.2.3.4", t0.Add(400*time.Millisecond)); w != 600*time.Millisecond {
		t.Fatalf("partial refill: wait %v", w)
	}
	if w := th.Wait("1.2.3.4", t0.Add(time.Second)); w != 0 {
		t.Fatalf("refilled: wait %v", w)
	}
	th.Fail("1.2.3.4", t0.Add(time.Second))
	if w := th.Wait("1.2.3.4", t0.Add(time.Second)); w == 0 {
		t.Fatal("one token came back and was spent; must wait again")
	}
}

func TestThrottleBounded(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	th := NewThrottle(1, 1, 50)
	for i := range 1000 {
		th.Fail(fmt.Sprintf("10.0.%d.%d", i/256, i%256), t0.Add(time.Duration(i)*time.Millisecond))
		if th.Len() > 50 {
			t.Fatalf("map grew to %d", th.Len())
		}
	}
	// Idle (refilled) addresses are dropped first: after 2s all have refilled.
	th.Fail("attacker", t0.Add(3*time.Second))
	if th.Len() != 1 {
		t.Fatalf("idle entries kept: %d", th.Len())
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4":              "1.2.3.4",
		"::ffff:1.2.3.4":       "1.2.3.4",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"not-an-ip":            "not-an-ip",
	} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
