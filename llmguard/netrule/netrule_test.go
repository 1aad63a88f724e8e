package netrule

import (
	"net/netip"
	"testing"
)

func TestContains(t *testing.T) {
	nets, err := Parse([]string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "::ffff:198.51.100.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"10.1.2.3":             true,
		"::ffff:10.1.2.3":      true, // IPv4-mapped client, IPv4 rule
		"11.0.0.1":             false,
		"2001:db8:1::5":        true,
		"2001:db9::1":          false,
		"192.0.2.7":            true,
		"192.0.2.8":            false,
		"198.51.100.9":         true, // IPv4 client, IPv4-mapped rule
		"::ffff:198.51.100.10": true,
		"198.51.101.1":         false,
		"fe80::1%eth0":         false,
	} {
		if got := Contains(nets, ParseAddr(addr)); got != want {
			t.Errorf("%s: got %v, want %v", addr, got, want)
		}
	}
	if Contains(nets, netip.Addr{}) {
		t.Error("the invalid address matched")
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.5":             "203.0.113.5",
		"203.0.113.5:443":         "203.0.113.5",
		"[2001:db8::1]:443":       "2001:db8::1",
		"::ffff:203.0.113.5":      "203.0.113.5",
		"[::ffff:203.0.113.5]:80": "203.0.113.5",
		"not an address":          "invalid IP",
	} {
		if got := ParseAddr(in).String(); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, bad := range []string{"", "10.0.0.0/33", "10.0.0", "example.com", "fe80::1%eth0", "::ffff:0.0.0.0/90"} {
		if _, err := Parse([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := Parse(make([]string, MaxNetworks+1)); err == nil {
		t.Error("an overlong list was accepted")
	}
}

// FuzzParse: whatever parses, every prefix is masked and IPv4 rules are never left in
// IPv4-mapped form (which would never match an unmapped client), and a rule's own address
// is inside it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "2001:db8::/32", "::ffff:10.0.0.0/104", "192.0.2.1", "1.2.3.4/0", "::/0", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nets, err := Parse([]string{s})
		if err != nil {
			return
		}
		p := nets[0]
		if p != p.Masked() || p.Addr().Is4In6() {
			t.Fatalf("%q parsed to %v", s, p)
		}
		if !Contains(nets, p.Addr()) {
			t.Fatalf("%q: %v does not contain its own address", s, p)
		}
	})
}
