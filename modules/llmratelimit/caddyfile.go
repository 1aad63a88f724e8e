package llmratelimit

import (
	"encoding/json"
	"math"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
	"github.com/llmguard/caddy-llmguard/modules/llmprices"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_rate_limit", parseCaddyfile)
	// After encode, so that Caddy's response compression wraps the limiter's response tap
	// (the tap reads plain upstream bytes, and clients still get compressed responses),
	// and after llm_auth (ordered before basic_auth), so the identity and tier are
	// known; before the routing and proxying directives, so that a request is admitted
	// before anything spends upstream capacity on it.
	httpcaddyfile.RegisterDirectiveOrder("llm_rate_limit", httpcaddyfile.After, "encode")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_rate_limit [<matcher>] {
//	    key <template>
//	    rule <name> {
//	        requests <n> <window>
//	        tokens <n> <window> [input|output|total]
//	        concurrent <n>
//	        token_budget <n> day|month [input|output|total]
//	        cost_budget <usd> day|month
//	        key <template>
//	        time_zone <zone>
//	        tier <tier> <limit>|unlimited
//	        model <glob> <limit>|unlimited
//	        risk elevated|high <limit>|unlimited
//	        fail_open
//	    }
//	    store memory | store redis { … }   # see RedisStore.UnmarshalCaddyfile
//	    default_output_tokens <n>
//	    on_exceed continue|cut
//	    price <model> <input> <cached_input> <output>
//	    no_default_prices
//	    max_body_size <size>
//	}
//
// Each rule has exactly one of requests, tokens, concurrent, token_budget and
// cost_budget. rule, price, tier, model and risk may repeat (with different names or
// levels); every other subdirective may appear once. Prices are USD per 1M tokens. A risk
// line caps the rule's limit for callers llm_sentinel rates at that level or above (see
// Rule.Risks).
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := cfparse.Seen{}
	for d.NextBlock(0) {
		name := d.Val()
		if name != "rule" && name != "price" {
			if err := seen.Check(d); err != nil {
				return err
			}
		}
		var err error
		switch name {
		case "key":
			h.Key, err = cfparse.Arg(d)
		case "rule":
			err = h.parseRule(d)
		case "store":
			h.StoreRaw, err = ParseStore(d)
		case "default_output_tokens":
			var n int
			n, err = cfparse.PositiveInt(d)
			h.DefaultOutputTokens = int64(n)
		case "on_exceed":
			h.OnExceed, err = cfparse.OneOf(d, "continue", "cut")
		case "price":
			err = h.parsePrice(d)
		case "no_default_prices":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.NoDefaultPrices = true
		case "max_body_size":
			h.MaxBodySize, err = cfparse.Size(d)
		default:
			return d.Errf("unrecognized subdirective '%s'", name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) parsePrice(d *caddyfile.Dispenser) error {
	if h.Prices == nil {
		h.Prices = map[string]limit.Price{}
	}
	return llmprices.ParsePriceLine(d, h.Prices)
}

func (h *Handler) parseRule(d *caddyfile.Dispenser) error {
	var r Rule
	if !d.AllArgs(&r.Name) {
		return d.ArgErr()
	}
	for _, o := range h.Rules {
		if o.Name == r.Name {
			return d.Errf("duplicate rule '%s'", r.Name)
		}
	}
	seen := cfparse.Seen{}
	kind := false
	for d.NextBlock(1) {
		sub := d.Val()
		if sub != "tier" && sub != "model" && sub != "risk" {
			if err := seen.Check(d); err != nil {
				return err
			}
		}
		var err error
		switch sub {
		case "requests", "tokens", "concurrent", "token_budget", "cost_budget":
			if kind {
				return d.Errf("rule '%s' already has a kind; use one rule per limit", r.Name)
			}
			kind = true
			r.Kind = sub
			err = parseKind(d, &r)
		case "key":
			r.Key, err = cfparse.Arg(d)
		case "time_zone":
			r.TimeZone, err = cfparse.Arg(d)
		case "tier":
			var args []string
			if args, err = cfparse.Args(d); err == nil {
				if len(args) != 2 {
					return d.Errf("tier needs <tier> <limit>|unlimited")
				}
				if r.Tiers == nil {
					r.Tiers = map[string]float64{}
				}
				if _, dup := r.Tiers[args[0]]; dup {
					return d.Errf("duplicate tier '%s'", args[0])
				}
				r.Tiers[args[0]], err = parseLimit(args[1])
			}
		case "model":
			var args []string
			if args, err = cfparse.Args(d); err == nil {
				if len(args) != 2 {
					return d.Errf("model needs <glob> <limit>|unlimited")
				}
				var v float64
				v, err = parseLimit(args[1])
				r.Models = append(r.Models, ModelLimit{Match: args[0], Limit: v})
			}
		case "risk":
			var args []string
			if args, err = cfparse.Args(d); err == nil {
				if len(args) != 2 {
					return d.Errf("risk needs elevated|high <limit>|unlimited")
				}
				if lvl, ok := sentinel.ParseLevel(args[0]); !ok || lvl == sentinel.Low {
					return d.Errf("risk level must be elevated or high, not '%s' (the rule's own limit is the low one)", args[0])
				}
				if r.Risks == nil {
					r.Risks = map[string]float64{}
				}
				if _, dup := r.Risks[args[0]]; dup {
					return d.Errf("duplicate risk '%s'", args[0])
				}
				r.Risks[args[0]], err = parseLimit(args[1])
			}
		case "fail_open":
			if d.NextArg() {
				return d.ArgErr()
			}
			r.FailOpen = true
		default:
			return d.Errf("unrecognized rule subdirective '%s'", sub)
		}
		if err != nil {
			return d.Errf("rule '%s', %s: %v", r.Name, sub, err)
		}
	}
	if !kind {
		return d.Errf("rule '%s' needs one of requests, tokens, concurrent, token_budget, cost_budget", r.Name)
	}
	h.Rules = append(h.Rules, &r)
	return nil
}

// parseKind reads the arguments of the kind line: <limit> then a window (requests,
// tokens) or a period (budgets), then an optional token measure.
func parseKind(d *caddyfile.Dispenser, r *Rule) error {
	args := d.RemainingArgs()
	want := map[string][2]int{"requests": {2, 2}, "tokens": {2, 3}, "concurrent": {1, 1}, "token_budget": {2, 3}, "cost_budget": {2, 2}}[r.Kind]
	if len(args) < want[0] || len(args) > want[1] {
		return d.ArgErr()
	}
	v, err := limit.ParseAmount(args[0])
	if err != nil {
		return err
	}
	if r.Kind != "cost_budget" && v != math.Trunc(v) {
		return d.Errf("%s must be a whole number", r.Kind)
	}
	r.Limit = v
	if len(args) == 1 {
		return nil
	}
	switch r.Kind {
	case "requests", "tokens":
		w, err := caddy.ParseDuration(args[1])
		if err != nil || w <= 0 {
			return d.Errf("bad window '%s': want a duration such as 1m or 30d", args[1])
		}
		r.Window = caddy.Duration(w)
	default:
		if args[1] != "day" && args[1] != "month" {
			return d.Errf("budget period must be day or month, not '%s'", args[1])
		}
		r.Period = args[1]
	}
	if len(args) == 3 {
		if args[2] != "input" && args[2] != "output" && args[2] != "total" {
			return d.Errf("token count must be input, output or total, not '%s'", args[2])
		}
		r.Count = args[2]
	}
	return nil
}

func parseLimit(s string) (float64, error) {
	if s == "unlimited" {
		return limit.Unlimited, nil
	}
	return limit.ParseAmount(s)
}

// ParseStore parses `store memory` or `store redis { … }` at the dispenser's "store"
// token into a module object of the http.handlers.llm_rate_limit.stores namespace. It is
// shared by every handler that keeps state the way the rate limiter does (llm_sentinel).
func ParseStore(d *caddyfile.Dispenser) (json.RawMessage, error) {
	if !d.NextArg() {
		return nil, d.ArgErr()
	}
	typ := d.Val()
	if typ != "memory" && typ != "redis" {
		return nil, d.Errf("store must be memory or redis, not '%s'", typ)
	}
	unm, err := caddyfile.UnmarshalModule(d, "http.handlers.llm_rate_limit.stores."+typ)
	if err != nil {
		return nil, err
	}
	return caddyconfig.JSONModuleObject(unm, "type", typ, nil), nil
}

// UnmarshalCaddyfile sets up the memory store: `store memory` takes no options.
func (s *MemoryStore) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume store name
	if d.NextArg() || d.NextBlock(0) {
		return d.Err("store memory takes no options")
	}
	return nil
}

// UnmarshalCaddyfile sets up the Redis store. Syntax:
//
//	store redis {
//	    address <host:port>...
//	    cluster
//	    username <name>
//	    password <secret>      # use {env.REDIS_PASSWORD}
//	    db <n>
//	    prefix <text>
//	    timeout <duration>
//	    retry_interval <duration>
//	}
func (s *RedisStore) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume store name
	return s.UnmarshalBlock(d, func(d *caddyfile.Dispenser) (bool, error) {
		var err error
		switch d.Val() {
		case "prefix":
			s.Prefix, err = cfparse.Arg(d)
		case "retry_interval":
			s.RetryInterval, err = cfparse.Duration(d)
		default:
			return false, nil
		}
		return true, err
	})
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
	_ caddyfile.Unmarshaler = (*MemoryStore)(nil)
	_ caddyfile.Unmarshaler = (*RedisStore)(nil)
)
