package auth

import (
	"errors"
	"net/netip"
	"slices"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/geo"
	"github.com/llmguard/caddy-llmguard/llmguard/netrule"
)

// Errors returned by CheckOrigin. Their texts are safe for clients: they name neither the
// client's address nor the identity's allowed networks.
var (
	ErrNetworkNotAllowed = errors.New("these credentials may not be used from your network")
	ErrCountryNotAllowed = errors.New("these credentials may not be used from your country")
)

// CheckOrigin enforces an identity's network and country limits for a request from addr
// located in country (geo.Unknown or "" when no lookup ran). An invalid addr is outside
// every network, and an empty country is Unknown, so a missing lookup refuses a limited
// identity instead of admitting it.
func CheckOrigin(id *exchange.Identity, addr netip.Addr, country string) error {
	if len(id.Networks) > 0 && !netrule.Contains(id.Networks, addr) {
		return ErrNetworkNotAllowed
	}
	if len(id.Countries) > 0 {
		if country == "" {
			country = geo.Unknown
		}
		if !slices.Contains(id.Countries, country) {
			return ErrCountryNotAllowed
		}
	}
	return nil
}
