package llmauth

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

// UnmarshalCaddyfile sets up the API key source. Syntax:
//
//	api_keys {
//	    file <path>
//	    store redis { … }        # instead of file: see RedisKeys.UnmarshalCaddyfile
//	    poll_interval <duration>
//	    headers <header>...
//	    key <id> <sha256:hash> {
//	        name <text>
//	        roles <role>...
//	        scopes <scope>...
//	        tier <tier>
//	        models <glob>...
//	        allowed_networks <cidr|ip>...
//	        allowed_countries <ISO code|unknown>...
//	        expires <YYYY-MM-DD | RFC 3339 time>
//	        disabled
//	        metadata <name> <value>
//	    }
//	}
//
// `key` may repeat (its block is optional); `metadata` may repeat within a key.
func (a *APIKeys) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume source name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		name := d.Val()
		if name != "key" {
			if seen[name] {
				return d.Errf("duplicate subdirective '%s'", name)
			}
			seen[name] = true
		}
		switch name {
		case "file":
			if !d.AllArgs(&a.File) {
				return d.ArgErr()
			}
		case "poll_interval":
			dur, err := durationArg(d)
			if err != nil {
				return err
			}
			a.PollInterval = dur
		case "store":
			if !d.NextArg() {
				return d.ArgErr()
			}
			if typ := d.Val(); typ != "redis" {
				return d.Errf("api_keys store must be redis, not '%s'", typ)
			}
			unm, err := caddyfile.UnmarshalModule(d, "http.handlers.llm_auth.key_stores.redis")
			if err != nil {
				return err
			}
			a.StoreRaw = caddyconfig.JSONModuleObject(unm, "type", "redis", nil)
		case "headers":
			a.Headers = d.RemainingArgs()
			if len(a.Headers) == 0 {
				return d.ArgErr()
			}
		case "key":
			e, err := parseKeyEntry(d)
			if err != nil {
				return err
			}
			a.Keys = append(a.Keys, e)
		default:
			return d.Errf("unrecognized api_keys subdirective '%s'", name)
		}
	}
	return nil
}

func parseKeyEntry(d *caddyfile.Dispenser) (*auth.Entry, error) {
	e := &auth.Entry{}
	if !d.AllArgs(&e.ID, &e.Hash) {
		return nil, d.Errf("key takes an id and a hash (sha256:…), as printed by `caddy llmguard key new`")
	}
	if auth.LooksLikeKey(e.Hash) {
		return nil, d.Errf("key %s: that is a key, not its hash; store only the hash printed by `caddy llmguard key new`", e.ID)
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if name != "metadata" {
			if seen[name] {
				return nil, d.Errf("duplicate key subdirective '%s'", name)
			}
			seen[name] = true
		}
		switch name {
		case "name", "tier":
			var v string
			if !d.AllArgs(&v) {
				return nil, d.ArgErr()
			}
			if name == "name" {
				e.Name = v
			} else {
				e.Tier = v
			}
		case "roles", "scopes", "models", "allowed_networks", "allowed_countries":
			l := d.RemainingArgs()
			if len(l) == 0 {
				return nil, d.ArgErr()
			}
			switch name {
			case "roles":
				e.Roles = l
			case "scopes":
				e.Scopes = l
			case "allowed_networks":
				e.AllowedNetworks = l
			case "allowed_countries":
				e.AllowedCountries = l
			default:
				e.Models = l
			}
		case "expires":
			var v string
			if !d.AllArgs(&v) {
				return nil, d.ArgErr()
			}
			t, err := ParseExpiry(v)
			if err != nil {
				return nil, d.Errf("expires: %v", err)
			}
			e.Expires = &t
		case "disabled":
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			e.Disabled = true
		case "metadata":
			var k, v string
			if !d.AllArgs(&k, &v) {
				return nil, d.ArgErr()
			}
			if e.Metadata == nil {
				e.Metadata = map[string]string{}
			}
			e.Metadata[k] = v
		default:
			return nil, d.Errf("unrecognized key subdirective '%s'", name)
		}
	}
	return e, nil
}

// ParseExpiry accepts a date (YYYY-MM-DD, meaning midnight UTC at its start) or an
// RFC 3339 time.
func ParseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.RFC3339, s)
}

func durationArg(d *caddyfile.Dispenser) (caddy.Duration, error) {
	var v string
	if !d.AllArgs(&v) {
		return 0, d.ArgErr()
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil || dur <= 0 {
		return 0, d.Errf("invalid duration '%s'", v)
	}
	return caddy.Duration(dur), nil
}

// UnmarshalCaddyfile sets up the JWT source. Syntax:
//
//	jwt {
//	    issuer <url>
//	    audience <aud>...
//	    algorithms <alg>...
//	    clock_skew <duration>
//	    require_claim <path> [<value>...]
//	    jwks_url <url>
//	    jwks_file <path>
//	    claim <id|name|roles|scopes|tier|models|networks|countries> <claim path>
//	    timeout <duration>
//	}
//
// `require_claim` and `claim` may repeat (with different names).
func (j *JWT) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume source name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		name := d.Val()
		if name != "require_claim" && name != "claim" {
			if seen[name] {
				return d.Errf("duplicate subdirective '%s'", name)
			}
			seen[name] = true
		}
		switch name {
		case "issuer", "jwks_url", "jwks_file":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			switch name {
			case "issuer":
				j.Issuer = v
			case "jwks_url":
				j.JWKSURL = v
			default:
				j.JWKSFile = v
			}
		case "audience", "algorithms":
			l := d.RemainingArgs()
			if len(l) == 0 {
				return d.ArgErr()
			}
			if name == "audience" {
				j.Audiences = l
			} else {
				j.Algorithms = l
			}
		case "clock_skew", "timeout":
			dur, err := durationArg(d)
			if err != nil {
				return err
			}
			if name == "clock_skew" {
				j.ClockSkew = dur
			} else {
				j.Timeout = dur
			}
		case "require_claim":
			if !d.NextArg() {
				return d.ArgErr()
			}
			c := d.Val()
			if _, dup := j.RequiredClaims[c]; dup {
				return d.Errf("duplicate require_claim '%s'", c)
			}
			if j.RequiredClaims == nil {
				j.RequiredClaims = map[string][]string{}
			}
			j.RequiredClaims[c] = d.RemainingArgs()
		case "claim":
			var field, path string
			if !d.AllArgs(&field, &path) {
				return d.ArgErr()
			}
			var dst *string
			switch field {
			case "id":
				dst = &j.Claims.ID
			case "name":
				dst = &j.Claims.Name
			case "roles":
				dst = &j.Claims.Roles
			case "scopes":
				dst = &j.Claims.Scopes
			case "tier":
				dst = &j.Claims.Tier
			case "models":
				dst = &j.Claims.Models
			case "networks":
				dst = &j.Claims.Networks
			case "countries":
				dst = &j.Claims.Countries
			default:
				return d.Errf("claim: unknown identity field '%s' (want id, name, roles, scopes, tier, models, networks or countries)", field)
			}
			if *dst != "" {
				return d.Errf("duplicate claim '%s'", field)
			}
			*dst = path
		default:
			return d.Errf("unrecognized jwt subdirective '%s'", name)
		}
	}
	if j.Issuer == "" || len(j.Audiences) == 0 {
		return d.Err("jwt needs an issuer and at least one audience")
	}
	return nil
}

// UnmarshalCaddyfile sets up the mTLS source. Syntax:
//
//	mtls {
//	    id_from cn|san_dns|san_email|san_uri
//	    role <id glob> <role>...
//	}
//
// `role` may repeat with different patterns.
func (m *MTLS) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume source name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "id_from":
			if m.IDFrom != "" {
				return d.Errf("duplicate subdirective 'id_from'")
			}
			if !d.AllArgs(&m.IDFrom) {
				return d.ArgErr()
			}
			if err := (auth.CertMapping{IDFrom: auth.CertIDField(m.IDFrom)}).Validate(); err != nil {
				return d.Err(err.Error())
			}
		case "role":
			args := d.RemainingArgs()
			if len(args) < 2 {
				return d.ArgErr()
			}
			if _, dup := m.Roles[args[0]]; dup {
				return d.Errf("duplicate role pattern '%s'", args[0])
			}
			if m.Roles == nil {
				m.Roles = map[string][]string{}
			}
			m.Roles[args[0]] = args[1:]
		default:
			return d.Errf("unrecognized mtls subdirective '%s'", d.Val())
		}
	}
	return nil
}
