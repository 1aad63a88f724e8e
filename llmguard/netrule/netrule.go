// Package netrule parses and applies lists of client networks (CIDRs) for per-identity
// origin limits: a key or token that may be used only from some networks.
//
// It must treat an IPv4 client the same whether it arrives as 192.0.2.1 or as the
// IPv4-mapped ::ffff:192.0.2.1 (dual-stack listeners report the latter), in both the rule
// and the address, so that neither spelling can slip past a rule written in the other.
package netrule

import (
	"fmt"
	"net/netip"
	"strings"
)

// MaxNetworks bounds one list: a token claim with a million networks is refused.
const MaxNetworks = 1024

// Parse turns CIDRs ("10.0.0.0/8", "2001:db8::/32") and bare addresses (a /32 or /128)
// into prefixes. Host bits are cleared, and IPv4-mapped IPv6 rules (::ffff:10.0.0.0/104)
// become their IPv4 form. An empty string, a zone or more than MaxNetworks entries is an
// error that names the offending entry.
func Parse(list []string) ([]netip.Prefix, error) {
	if len(list) > MaxNetworks {
		return nil, fmt.Errorf("more than %d networks", MaxNetworks)
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := parseOne(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parseOne(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, fmt.Errorf("network %q is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32", s)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, fmt.Errorf("network %q is not an IP address or a CIDR", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	a := p.Addr()
	if a.Is4In6() {
		if p.Bits() < 96 {
			return p, fmt.Errorf("network %q: an IPv4-mapped prefix needs at least 96 bits", s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Contains reports whether addr lies in one of nets. An invalid address is in none.
func Contains(nets []netip.Prefix, addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range nets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ParseAddr parses a client address as Caddy reports it: a bare IP (possibly with a zone)
// or host:port. It returns the zero Addr when s is neither.
func ParseAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}
