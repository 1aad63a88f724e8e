package jsonspan

import "testing"

// TestIntern: the interned strings are the bytes given, a known key costs no allocation,
// and an unknown one is a copy (not a view of a buffer that may be reused).
func TestIntern(t *testing.T) {
	for _, k := range []string{"role", "choices", "prompt_tokens", "not_a_known_key", ""} {
		b := []byte(k)
		if got := Intern(b); got != k {
			t.Errorf("Intern(%q) = %q", k, got)
		}
	}
	b := []byte(`"usage"`)[1:6]
	if n := testing.AllocsPerRun(100, func() { _ = Intern(b) }); n != 0 {
		t.Errorf("Intern of a known key allocates %v times", n)
	}
	u := []byte("custom")
	s := Intern(u)
	u[0] = 'X'
	if s != "custom" {
		t.Errorf("an unknown key aliases its buffer: %q", s)
	}
	obj := []byte(`{"id":"x","choices":[],"usage":{"prompt_tokens":1}}`)
	if n := testing.AllocsPerRun(100, func() {
		_, _ = EachMember(obj, 0, func(Member) bool { return true })
	}); n != 0 {
		t.Errorf("EachMember over known keys allocates %v times", n)
	}
}
