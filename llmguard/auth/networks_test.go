package auth

import (
	"strings"
	"testing"
	"time"
)

func TestParseNetworks(t *testing.T) {
	got, err := ParseNetworks([]string{"10.0.0.0/8", " 192.0.2.7 ", "2001:db8::/32", "::1", "::ffff:172.16.0.0/108", "::ffff:198.51.100.9"})
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range got {
		s = append(s, p.String())
	}
	if want := "10.0.0.0/8 192.0.2.7/32 2001:db8::/32 ::1/128 172.16.0.0/12 198.51.100.9/32"; strings.Join(s, " ") != want {
		t.Fatalf("got %v, want %s", s, want)
	}
	for _, bad := range []string{"10.1.2.3/8", "10.0.0.0/33", "example.com", "", "::ffff:0:0/90", "1.2.3.4/", "fe80::1%eth0/64"} {
		if _, err := ParseNetworks([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseNetworks(make([]string, maxNetworks+1)); err == nil {
		t.Error("too many networks accepted")
	}
}

func TestNetworkAllowed(t *testing.T) {
	nets, err := ParseNetworks([]string{"10.0.0.0/8", "2001:db8::/32", "::ffff:192.0.2.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{
		"10.1.2.3": true, "11.0.0.1": false,
		"::ffff:10.1.2.3": true, // IPv4-mapped form of an allowed IPv4 address
		"192.0.2.200":     true, "::ffff:192.0.2.1": true, "192.0.3.1": false,
		"2001:db8::5": true, "2001:db9::5": false, "fe80::1%eth0": false,
		"": false, "not-an-ip": false, "10.1.2.3:443": false,
	} {
		if got := NetworkAllowed(nets, ip); got != want {
			t.Errorf("%q: allowed %v, want %v", ip, got, want)
		}
	}
	if !NetworkAllowed(nil, "203.0.113.1") || !NetworkAllowed(nil, "garbage") {
		t.Error("no networks must allow every caller")
	}
}

// TestKeyNetworks: a key file entry's allowed_networks are validated when installed and
// reach the identity; an invalid list refuses the whole set.
func TestKeyNetworks(t *testing.T) {
	key := mustKey(t)
	hash := HashKey(key)
	s, err := NewKeyStore(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Replace([]*Entry{{ID: "a", Hash: hash, AllowedNetworks: []string{"10.0.0.0/8"}}}); err != nil {
		t.Fatal(err)
	}
	e, err := s.Verify(key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if id := e.Identity(); len(id.Networks) != 1 || id.Networks[0].String() != "10.0.0.0/8" {
		t.Fatalf("identity networks %v", id.Networks)
	}
	if err := s.Replace([]*Entry{{ID: "b", Hash: hash, AllowedNetworks: []string{"10.1.2.3/8"}}}); err == nil || !strings.Contains(err.Error(), "allowed_networks") {
		t.Fatalf("bad networks: %v", err)
	}
	if _, err := s.Verify(key, time.Now()); err != nil {
		t.Fatal("a refused set replaced the old one")
	}
	if _, err := NewKeyStore([]*Entry{{ID: "c", Hash: hash, AllowedNetworks: []string{"nowhere"}}}); err == nil {
		t.Fatal("bad inline networks accepted")
	}
}

func TestClaimNetworks(t *testing.T) {
	m := ClaimMapping{Networks: "net"}
	for _, tc := range []struct {
		claim any
		want  string
	}{
		{"10.0.0.0/8 2001:db8::/32", "10.0.0.0/8 2001:db8::/32"},
		{[]any{"192.0.2.7"}, "192.0.2.7/32"},
		{nil, ""},
	} {
		claim, want := tc.claim, tc.want
		claims := map[string]any{"sub": "u"}
		if claim != nil {
			claims["net"] = claim
		}
		id, err := m.Identity(claims)
		if err != nil {
			t.Fatalf("%v: %v", claim, err)
		}
		var s []string
		for _, p := range id.Networks {
			s = append(s, p.String())
		}
		if strings.Join(s, " ") != want {
			t.Errorf("%v: networks %v, want %s", claim, s, want)
		}
	}
	for _, bad := range []any{"", []any{}, "10.1.2.3/8", []any{1}, map[string]any{}} {
		if _, err := m.Identity(map[string]any{"sub": "u", "net": bad}); err == nil {
			t.Errorf("claim %#v accepted", bad)
		}
	}
}

func FuzzParseNetworks(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "::ffff:1.2.3.4", "2001:db8::/32", "1.2.3.4/33", "", "::ffff:0:0/96"} {
		f.Add(s, "10.1.2.3")
	}
	f.Fuzz(func(t *testing.T, network, ip string) {
		nets, err := ParseNetworks([]string{network})
		if err != nil {
			return
		}
		for _, p := range nets {
			if !p.IsValid() || p.Masked() != p || p.Addr().Is4In6() {
				t.Fatalf("%q parsed to %v", network, p)
			}
		}
		_ = NetworkAllowed(nets, ip)
	})
}
