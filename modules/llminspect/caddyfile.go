package llminspect

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
	"github.com/llmguard/caddy-llmguard/llmguard/inspect"
	"github.com/llmguard/caddy-llmguard/modules/llmdetect"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_inspect", parseCaddyfile)
	// After forward_auth: llm_auth (ordered before basic_auth) and any external auth have
	// identified the caller; inspection must come before llm_rate_limit (after encode)
	// reserves tokens and before reverse_proxy forwards anything.
	httpcaddyfile.RegisterDirectiveOrder("llm_inspect", httpcaddyfile.After, "forward_auth")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_inspect [<matcher>] {
//	    max_body_size     <size>
//	    max_messages      <n>
//	    max_prompt_tokens <n>
//	    max_output_tokens <n> [clamp|refuse]
//	    max_n             <n>
//	    allow_models      <glob>...
//	    deny_models       <glob>...
//	    allow_endpoints   chat|completions|embeddings|responses|messages|models...
//	    deny_endpoints    <endpoint>...
//	    stream            allow|deny
//	    tools             allow|deny
//	    detect            off | { … see llmdetect.ParseCaddyfile … }
//	    remote            { … see ParseRemote … }
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
		var n int
		switch d.Val() {
		case "max_body_size":
			h.MaxBodySize, err = cfparse.Size(d)
		case "max_messages":
			h.MaxMessages, err = cfparse.PositiveInt(d)
		case "max_prompt_tokens":
			n, err = cfparse.PositiveInt(d)
			h.MaxPromptTokens = int64(n)
		case "max_output_tokens":
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.ArgErr()
			}
			v, perr := strconv.ParseInt(args[0], 10, 64)
			if perr != nil || v < 1 {
				return d.Errf("max_output_tokens must be a positive integer, not '%s'", args[0])
			}
			h.MaxOutputTokens = v
			if len(args) == 2 {
				if args[1] != inspect.OutputClamp && args[1] != inspect.OutputRefuse {
					return d.Errf("max_output_tokens action must be clamp or refuse, not '%s'", args[1])
				}
				h.OutputAction = args[1]
			}
		case "max_n":
			n, err = cfparse.PositiveInt(d)
			h.MaxN = int64(n)
		case "allow_models":
			h.AllowModels, err = cfparse.Args(d)
		case "deny_models":
			h.DenyModels, err = cfparse.Args(d)
		case "allow_endpoints":
			h.AllowEndpoints, err = cfparse.Args(d)
		case "deny_endpoints":
			h.DenyEndpoints, err = cfparse.Args(d)
		case "stream", "tools":
			var v string
			name := d.Val()
			if v, err = cfparse.OneOf(d, "allow", "deny"); err == nil {
				if name == "stream" {
					h.DenyStream = v == "deny"
				} else {
					h.DenyTools = v == "deny"
				}
			}
		case "detect":
			h.Detect, err = llmdetect.ParseCaddyfile(d, llmdetect.RequestDefaults)
		case "remote":
			h.Remote, err = ParseRemote(d)
		default:
			return d.Errf("unrecognized subdirective '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}
