package auth

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxNetworks bounds a key's or token's network list.
const maxNetworks = 256

// ParseNetworks reads allowed client networks: CIDRs ("10.0.0.0/8", "2001:db8::/32") or
// single addresses ("192.0.2.7", a /32 or /128). IPv4-mapped IPv6 forms
// ("::ffff:10.0.0.0/104", "::ffff:192.0.2.7") are read as the IPv4 network they map, so
// that one rule covers a client whichever way its address reaches the gateway. A prefix
// with host bits set ("10.1.2.3/8") is refused: it is usually a typo for a narrower one.
func ParseNetworks(list []string) ([]netip.Prefix, error) {
	if len(list) > maxNetworks {
		return nil, fmt.Errorf("more than %d networks", maxNetworks)
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				return nil, fmt.Errorf("network %q is not a CIDR", s)
			}
			if p.Masked() != p {
				return nil, fmt.Errorf("network %q has host bits set (did you mean %s?)", s, p.Masked())
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("network %q is neither a CIDR nor an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() {
			if p.Bits() < 96 {
				return nil, fmt.Errorf("network %q is wider than the IPv4-mapped range", s)
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p)
	}
	return out, nil
}

// NetworkAllowed reports whether ip (an IPv4-mapped address counts as its IPv4 form) is
// in one of nets; an empty list allows every address. An unparsable ip is never allowed
// by a non-empty list.
func NetworkAllowed(nets []netip.Prefix, ip string) bool {
	if len(nets) == 0 {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
