package llmgeo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmguard/caddy-llmguard/llmguard/geo/geotest"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

func request(ip string) (*http.Request, *caddy.Replacer) {
	r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	repl := caddy.NewReplacer()
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: ip})
	return r.WithContext(ctx), repl
}

func TestMatcherAndPlaceholders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.mmdb")
	geotest.WriteDB(t, path, map[string][2]string{"203.0.113.0/24": {"DE", "EU"}, "2001:db8::/32": {"US", "NA"}})
	m := new(Matcher)
	if err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`llm_geo {
		db ` + path + `
		allow_continents EU NA
		deny_countries us
	}`)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := m.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Cleanup()
	for ip, want := range map[string]bool{"203.0.113.5": true, "::ffff:203.0.113.5": true, "2001:db8::1": false, "192.0.2.1": false} {
		r, repl := request(ip)
		got, err := m.MatchWithError(r)
		if err != nil || got != want {
			t.Errorf("%s: %v %v", ip, got, err)
		}
		if c, _ := repl.GetString(llmhttp.PlaceholderGeoCountry); c == "" {
			t.Errorf("%s: no country placeholder", ip)
		}
	}
}

func TestProvisionFailsClearly(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	h := &Handler{Database: Database{DB: filepath.Join(t.TempDir(), "nope.mmdb")}}
	if err := h.Provision(ctx); err == nil || !strings.Contains(err.Error(), "loading geo database") {
		t.Errorf("missing db: %v", err)
	}
	m := &Matcher{Database: Database{DB: "x"}, AllowCountries: []string{"GER"}}
	if err := m.Provision(ctx); err == nil || !strings.Contains(err.Error(), "GER") {
		t.Errorf("bad code: %v", err)
	}
}
