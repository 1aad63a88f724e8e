package llmfilter

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
	"github.com/llmguard/caddy-llmguard/modules/llmdetect"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_filter", parseCaddyfile)
	// After encode (so the client still gets compression while the filter reads plain
	// text) and llm_rate_limit (which settles on what the upstream generated), before
	// push and everything that proxies: the filter must wrap the upstream's response.
	httpcaddyfile.RegisterDirectiveOrder("llm_filter", httpcaddyfile.Before, "push")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_filter [<matcher>] {
//	    window        <bytes>
//	    max_body_size <size>
//	    on_error      pass|block
//	    canary
//	    system_prompt_runs <bytes>
//	    moderate      { … see parseModerate … }
//	    detect        off | {
//	        pii off|<ENTITY>...
//	        secrets off
//	        deny [literal] [nocase] <TYPE> <pattern>
//	        allow [literal] [nocase] <pattern>
//	        action <TYPE> block|redact|log|allow
//	    }
//	}
//
// Every subdirective is optional and may appear once.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
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
		case "window":
			h.Window, err = cfparse.PositiveInt(d)
		case "max_body_size":
			h.MaxBodySize, err = cfparse.Size(d)
		case "on_error":
			h.OnError, err = cfparse.OneOf(d, "pass", "block")
		case "canary":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.Canary = true
		case "system_prompt_runs":
			h.SystemPromptRuns, err = cfparse.PositiveInt(d)
		case "moderate":
			h.Moderate, err = parseModerate(d)
		case "detect":
			h.Detect, err = llmdetect.ParseCaddyfile(d, llmdetect.ResponseDefaults)
		default:
			return d.Errf("unrecognized llm_filter subdirective '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
