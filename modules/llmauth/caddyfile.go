package llmauth

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_auth", parseCaddyfile)
	// Before basic_auth, and so before handle/route/reverse_proxy and every other llm_*
	// directive (which are ordered after this one): nothing may see a request before its
	// caller is known, and matchers further down can use {http.llm.tier} and friends.
	httpcaddyfile.RegisterDirectiveOrder("llm_auth", httpcaddyfile.Before, "basic_auth")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_auth [<matcher>] {
//	    api_keys { … }            # see APIKeys.UnmarshalCaddyfile
//	    jwt { … }                 # see JWT.UnmarshalCaddyfile
//	    mtls { … }                # see MTLS.UnmarshalCaddyfile
//	    role <name> {
//	        endpoints <chat|completions|embeddings|responses|messages|models>...
//	        models <glob>...
//	        tier <tier>
//	    }
//	    default_roles <role>...
//	    throttle off | throttle {
//	        burst <n>
//	        interval <duration>
//	        max_clients <n>
//	    }
//	    max_body_size <size>
//	    max_models_list_size <size>
//	    realm <text>
//	}
//
// Sources are asked in the order written; there must be at least one. Roles may repeat
// with different names; every other subdirective may appear once.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		name := d.Val()
		switch name {
		case "api_keys", "jwt", "mtls", "role":
		default:
			if seen[name] {
				return d.Errf("duplicate subdirective '%s'", name)
			}
			seen[name] = true
		}
		switch name {
		case "api_keys", "jwt", "mtls":
			unm, err := caddyfile.UnmarshalModule(d, "http.handlers.llm_auth.sources."+name)
			if err != nil {
				return err
			}
			h.SourcesRaw = append(h.SourcesRaw, caddyconfig.JSONModuleObject(unm, "source", name, nil))
		case "role":
			var rname string
			if !d.AllArgs(&rname) {
				return d.ArgErr()
			}
			if _, dup := h.Roles[rname]; dup {
				return d.Errf("duplicate role '%s'", rname)
			}
			role, err := parseRole(d)
			if err != nil {
				return err
			}
			if h.Roles == nil {
				h.Roles = map[string]*auth.Role{}
			}
			h.Roles[rname] = role
		case "default_roles":
			h.DefaultRoles = d.RemainingArgs()
			if len(h.DefaultRoles) == 0 {
				return d.ArgErr()
			}
		case "throttle":
			t, err := parseThrottle(d)
			if err != nil {
				return err
			}
			h.Throttle = t
		case "max_body_size", "max_models_list_size":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			n, err := humanize.ParseBytes(v)
			if err != nil || n == 0 || n > 1<<40 {
				return d.Errf("%s: invalid size '%s'", name, v)
			}
			if name == "max_body_size" {
				h.MaxBodySize = int64(n)
			} else {
				h.MaxModelsListSize = int64(n)
			}
		case "realm":
			if !d.AllArgs(&h.Realm) {
				return d.ArgErr()
			}
		default:
			return d.Errf("unrecognized llm_auth subdirective '%s'", name)
		}
	}
	if len(h.SourcesRaw) == 0 {
		return d.Err("llm_auth needs at least one identity source: api_keys, jwt or mtls")
	}
	return nil
}

func parseRole(d *caddyfile.Dispenser) (*auth.Role, error) {
	r := &auth.Role{}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return nil, d.Errf("duplicate role subdirective '%s'", name)
		}
		seen[name] = true
		switch name {
		case "endpoints":
			r.Endpoints = d.RemainingArgs()
			if len(r.Endpoints) == 0 {
				return nil, d.ArgErr()
			}
		case "models":
			r.Models = d.RemainingArgs()
			if len(r.Models) == 0 {
				return nil, d.ArgErr()
			}
		case "tier":
			if !d.AllArgs(&r.Tier) {
				return nil, d.ArgErr()
			}
		default:
			return nil, d.Errf("unrecognized role subdirective '%s'", name)
		}
	}
	return r, nil
}

func parseThrottle(d *caddyfile.Dispenser) (*Throttle, error) {
	t := &Throttle{}
	if d.NextArg() {
		if d.Val() != "off" || d.NextArg() {
			return nil, d.Errf("throttle takes 'off' or a block")
		}
		t.Disabled = true
		return t, nil
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return nil, d.Errf("duplicate throttle subdirective '%s'", name)
		}
		seen[name] = true
		var v string
		if !d.AllArgs(&v) {
			return nil, d.ArgErr()
		}
		switch name {
		case "burst", "max_clients":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, d.Errf("%s must be a positive integer, not '%s'", name, v)
			}
			if name == "burst" {
				t.Burst = n
			} else {
				t.MaxClients = n
			}
		case "interval":
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur <= 0 {
				return nil, d.Errf("interval must be a positive duration, not '%s'", v)
			}
			t.Interval = caddy.Duration(dur)
		default:
			return nil, d.Errf("unrecognized throttle subdirective '%s'", name)
		}
	}
	return t, nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
	_ caddyfile.Unmarshaler = (*APIKeys)(nil)
	_ caddyfile.Unmarshaler = (*JWT)(nil)
	_ caddyfile.Unmarshaler = (*MTLS)(nil)
)
