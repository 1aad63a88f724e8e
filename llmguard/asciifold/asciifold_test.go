package asciifold

import "testing"

func TestHasPrefix(t *testing.T) {
	for _, c := range []struct {
		s, p string
		want bool
	}{
		{"Here is", "here", true}, {"HERE", "here", true}, {"her", "here", false}, {"", "", true},
		{"xHere", "here", false}, {"É", "é", false}, {"[ab", "{ab", false}, {"@x", "`x", false},
	} {
		if got := HasPrefix(c.s, c.p); got != c.want {
			t.Errorf("HasPrefix(%q, %q) = %v", c.s, c.p, got)
		}
	}
	// Every byte against every lower-case letter: equal, or A–Z lowered to it.
	for a := 0; a < 256; a++ {
		for b := 'a'; b <= 'z'; b++ {
			s := string([]byte{byte(a)})
			want := byte(a) == byte(b) || a >= 'A' && a <= 'Z' && byte(a)+'a'-'A' == byte(b)
			if got := HasPrefix(s, string(b)); got != want {
				t.Fatalf("HasPrefix(%q, %q) = %v", s, string(b), got)
			}
		}
	}
}
