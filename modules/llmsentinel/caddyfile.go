package llmsentinel

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
	"github.com/llmguard/caddy-llmguard/modules/llmratelimit"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_sentinel", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(Handler)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
	// After basic_auth, so after llm_auth (before basic_auth) whatever the init order and
	// before forward_auth, llm_inspect (after forward_auth) and llm_rate_limit (after
	// encode): the identity is known, and the policies that tighten with the risk see it.
	httpcaddyfile.RegisterDirectiveOrder("llm_sentinel", httpcaddyfile.After, "basic_auth")
}

// UnmarshalCaddyfile sets up the handler. Syntax (every option optional):
//
//	llm_sentinel [<matcher>] {
//	    store memory | store redis { … }   # as llm_rate_limit's store
//	    elevated <0–1>                     # default 0.4
//	    high <0–1>                         # default 0.8
//	    quarantine <duration> | off        # default 10m; off publishes high without refusing
//	    forget <duration>                  # half-life of evidence, default 1h
//	    base_rate <requests per minute>    # default 10
//	    base_tokens <tokens per minute>    # default 20000
//	    max_actors <n>                     # memory store bound, default 100000
//	    max_body_size <size>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := cfparse.Seen{}
	for d.NextBlock(0) {
		if err := seen.Check(d); err != nil {
			return err
		}
		var err error
		switch d.Val() {
		case "store":
			h.StoreRaw, err = llmratelimit.ParseStore(d)
		case "elevated", "high":
			what := d.Val()
			var v string
			if v, err = cfparse.Arg(d); err == nil {
				var f float64
				if f, err = cfparse.Threshold(d, what, v); what == "elevated" {
					h.Elevated = f
				} else {
					h.High = f
				}
			}
		case "quarantine":
			var v string
			if v, err = cfparse.Arg(d); err == nil {
				if v == "off" {
					h.NoQuarantine = true
				} else if q, perr := caddy.ParseDuration(v); perr != nil || q <= 0 {
					return d.Errf("quarantine must be a positive duration or off, not '%s'", v)
				} else {
					h.Quarantine = caddy.Duration(q)
				}
			}
		case "forget":
			h.Forget, err = cfparse.Duration(d)
		case "base_rate":
			var v string
			if v, err = cfparse.Arg(d); err == nil {
				if h.BaseRate, err = strconv.ParseFloat(v, 64); err != nil || h.BaseRate <= 0 {
					return d.Errf("base_rate must be a positive number of requests per minute, not '%s'", v)
				}
			}
		case "base_tokens":
			var n int
			n, err = cfparse.PositiveInt(d)
			h.BaseTokens = int64(n)
		case "max_actors":
			h.MaxActors, err = cfparse.PositiveInt(d)
		case "max_body_size":
			h.MaxBodySize, err = cfparse.Size(d)
		default:
			return d.Errf("unrecognized llm_sentinel option '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Handler)(nil)
