package llmaudit

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
	"github.com/llmguard/caddy-llmguard/llmguard/audit"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_audit", parseCaddyfile)
	// Right after request_body, ahead of every other handling directive: llm_audit must
	// wrap llm_auth (before basic_auth), llm_inspect (after forward_auth), llm_rate_limit
	// (after encode), llm_filter and reverse_proxy to see their outcome, and must strip
	// fields before any of them reads the body. "Before basic_auth" would land after
	// llm_auth, which is registered there too.
	httpcaddyfile.RegisterDirectiveOrder("llm_audit", httpcaddyfile.After, "request_body")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_audit [<matcher>] {
//	    privacy          none|hash|redacted|full
//	    hash_key         <secret>            # e.g. {env.LLMGUARD_AUDIT_HASH_KEY}
//	    max_content_size <size>
//	    consent          <placeholder> <allowed value>...
//	    strip_request    <field>...
//	    strip_response   <field>...
//	    price            <model glob> <input per 1M> <output per 1M>   # repeatable
//	    metrics_models   <glob>...
//	    max_model_labels <n>
//	}
//
// consent's placeholder may be written as header:<Name> for
// {http.request.header.<Name>}. Every subdirective but price may appear once.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := cfparse.Seen{}
	for d.NextBlock(0) {
		if d.Val() != "price" {
			if err := seen.Check(d); err != nil {
				return err
			}
		}
		var err error
		switch d.Val() {
		case "privacy":
			h.Privacy, err = cfparse.OneOf(d, audit.PrivacyNone, audit.PrivacyHash, audit.PrivacyRedacted, audit.PrivacyFull)
		case "hash_key":
			h.HashKey, err = cfparse.Arg(d)
		case "max_content_size":
			var n int64
			n, err = cfparse.Size(d)
			h.MaxContentSize = int(n)
		case "consent":
			args := d.RemainingArgs()
			if len(args) < 2 {
				return d.Errf("consent needs a placeholder (or header:<Name>) and at least one allowed value")
			}
			v := args[0]
			if len(v) > 7 && v[:7] == "header:" {
				v = "{http.request.header." + v[7:] + "}"
			}
			h.Consent = &Consent{Value: v, Allowed: args[1:]}
		case "strip_request":
			h.StripRequestFields, err = cfparse.Args(d)
		case "strip_response":
			h.StripResponseFields, err = cfparse.Args(d)
		case "price":
			args := d.RemainingArgs()
			if len(args) != 3 {
				return d.ArgErr()
			}
			p := Price{Model: args[0]}
			var e1, e2 error
			p.Input, e1 = strconv.ParseFloat(args[1], 64)
			p.Output, e2 = strconv.ParseFloat(args[2], 64)
			if e1 != nil || e2 != nil || p.Input < 0 || p.Output < 0 {
				return d.Errf("price needs non-negative numbers per million tokens, not '%s %s'", args[1], args[2])
			}
			h.Prices = append(h.Prices, p)
		case "metrics_models":
			h.MetricsModels, err = cfparse.Args(d)
		case "max_model_labels":
			h.MaxModelLabels, err = cfparse.PositiveInt(d)
		default:
			return d.Errf("unrecognized subdirective '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// UnmarshalCaddyfile sets up the writer from Caddyfile tokens. Syntax:
//
//	output llm_audit_chain {
//	    hmac_key <secret>                 # e.g. {env.LLMGUARD_AUDIT_HMAC_KEY}
//	    encrypt  <key id> <key>           # optional; key e.g. {env.LLMGUARD_AUDIT_ENC_KEY}
//	    output   <writer module> ...      # e.g. output file /var/log/caddy/audit.log { roll_keep_for 2160h }
//	}
func (cw *ChainWriter) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // writer name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := cfparse.Seen{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.Check(d); err != nil {
			return err
		}
		switch d.Val() {
		case "hmac_key":
			v, err := cfparse.Arg(d)
			if err != nil {
				return err
			}
			cw.HMACKey = v
		case "encrypt":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.ArgErr()
			}
			if !audit.ValidKeyID(args[0]) {
				return d.Errf("encrypt key id '%s': use 1-64 letters, digits, '.', '_' or '-'", args[0])
			}
			cw.Encryption = &Encryption{KeyID: args[0], Key: args[1]}
		case "output":
			if !d.NextArg() {
				return d.ArgErr()
			}
			name := d.Val()
			var wo caddy.WriterOpener
			switch name {
			// Caddy's standard writers live in the caddy package and cannot implement
			// caddyfile.Unmarshaler (see httpcaddyfile's log parser), so build them here.
			case "stdout":
				wo = caddy.StdoutWriter{}
			case "stderr":
				wo = caddy.StderrWriter{}
			case "discard":
				wo = caddy.DiscardWriter{}
			case "llm_audit_chain":
				return d.Err("llm_audit_chain cannot wrap itself")
			default:
				unm, err := caddyfile.UnmarshalModule(d, "caddy.logging.writers."+name)
				if err != nil {
					return err
				}
				var ok bool
				if wo, ok = unm.(caddy.WriterOpener); !ok {
					return d.Errf("module %s is not a log writer", name)
				}
			}
			cw.WriterRaw = caddyconfig.JSONModuleObject(wo, "output", name, nil)
		default:
			return d.Errf("unrecognized subdirective '%s'", d.Val())
		}
	}
	if cw.HMACKey == "" {
		return d.Err("llm_audit_chain needs hmac_key")
	}
	if cw.WriterRaw == nil {
		return d.Err("llm_audit_chain needs an output writer")
	}
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
	_ caddyfile.Unmarshaler = (*ChainWriter)(nil)
)
