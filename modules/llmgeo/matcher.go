package llmgeo

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmguard/caddy-llmguard/llmguard/geo"
)

// Matcher matches requests by the client's country and continent. A request matches when
// its country and continent pass every list that is set: not in a deny list, and in the
// allow list if there is one. "unknown" in a list stands for addresses the database
// cannot place. It sets the same placeholders as the handler.
type Matcher struct {
	Database
	// AllowCountries, when set, are the only countries that match (ISO codes, any case).
	AllowCountries []string `json:"allow_countries,omitempty"`
	// DenyCountries never match.
	DenyCountries []string `json:"deny_countries,omitempty"`
	// AllowContinents, when set, are the only continents that match.
	AllowContinents []string `json:"allow_continents,omitempty"`
	// DenyContinents never match.
	DenyContinents []string `json:"deny_continents,omitempty"`

	lists [4][]string
}

// CaddyModule returns the Caddy module information.
func (Matcher) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.matchers.llm_geo", New: func() caddy.Module { return new(Matcher) }}
}

// Provision validates the lists and opens (or shares) the database.
func (m *Matcher) Provision(ctx caddy.Context) error {
	var err error
	for i, l := range [][]string{m.AllowCountries, m.DenyCountries} {
		if m.lists[i], err = geo.ParseCountries(l); err != nil {
			return fmt.Errorf("llm_geo matcher: %v", err)
		}
	}
	for i, l := range [][]string{m.AllowContinents, m.DenyContinents} {
		if m.lists[2+i], err = geo.ParseContinents(l); err != nil {
			return fmt.Errorf("llm_geo matcher: %v", err)
		}
	}
	if len(m.AllowCountries)+len(m.DenyCountries)+len(m.AllowContinents)+len(m.DenyContinents) == 0 {
		return fmt.Errorf("llm_geo matcher: set at least one of allow_countries, deny_countries, allow_continents, deny_continents")
	}
	return m.open(ctx)
}

// Cleanup releases this instance's use of the shared database.
func (m *Matcher) Cleanup() error { return m.close() }

// MatchWithError implements caddyhttp.RequestMatcherWithError.
func (m *Matcher) MatchWithError(r *http.Request) (bool, error) {
	loc := m.locate(r)
	return passes(loc.Country, m.lists[0], m.lists[1]) && passes(loc.Continent, m.lists[2], m.lists[3]), nil
}

func passes(v string, allow, deny []string) bool {
	if slices.Contains(deny, v) {
		return false
	}
	return len(allow) == 0 || slices.Contains(allow, v)
}

// Interface guards
var (
	_ caddy.Provisioner                 = (*Matcher)(nil)
	_ caddy.CleanerUpper                = (*Matcher)(nil)
	_ caddyhttp.RequestMatcherWithError = (*Matcher)(nil)
)
