package llmgeo

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_geo", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(Handler)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
	// After try_files, so right before llm_auth (which sits before basic_auth) whatever
	// the init order: the country is known when per-key allowed_countries are checked,
	// and llm_audit (after request_body) still wraps it and records the country.
	httpcaddyfile.RegisterDirectiveOrder("llm_geo", httpcaddyfile.After, "try_files")
}

// UnmarshalCaddyfile sets up the handler. Syntax:
//
//	llm_geo [<matcher>] {
//	    db <path.mmdb>
//	    poll_interval <duration>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return h.Database.unmarshal(d, nil)
}

// UnmarshalCaddyfile sets up the matcher. Syntax:
//
//	@name llm_geo {
//	    db <path.mmdb>
//	    poll_interval <duration>
//	    allow_countries <code|unknown>...
//	    deny_countries <code|unknown>...
//	    allow_continents <code|unknown>...
//	    deny_continents <code|unknown>...
//	}
func (m *Matcher) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return m.Database.unmarshal(d, map[string]*[]string{
		"allow_countries": &m.AllowCountries, "deny_countries": &m.DenyCountries,
		"allow_continents": &m.AllowContinents, "deny_continents": &m.DenyContinents,
	})
}

func (db *Database) unmarshal(d *caddyfile.Dispenser, lists map[string]*[]string) error {
	d.Next() // consume directive or matcher name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := cfparse.Seen{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.Check(d); err != nil {
			return err
		}
		name := d.Val()
		switch name {
		case "db":
			v, err := cfparse.Arg(d)
			if err != nil {
				return err
			}
			db.DB = v
		case "poll_interval":
			v, err := cfparse.Arg(d)
			if err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur <= 0 {
				return d.Errf("invalid duration '%s'", v)
			}
			db.PollInterval = caddy.Duration(dur)
		default:
			dst, ok := lists[name]
			if !ok {
				return d.Errf("unrecognized llm_geo subdirective '%s'", name)
			}
			if *dst = d.RemainingArgs(); len(*dst) == 0 {
				return d.ArgErr()
			}
		}
	}
	if db.DB == "" {
		return d.Err("llm_geo needs db <path.mmdb>")
	}
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
	_ caddyfile.Unmarshaler = (*Matcher)(nil)
)
