package llmerror

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_error", parseCaddyfile)
	// After respond: both are terminal, and a handle_errors block that answers some
	// paths with respond (behind a matcher) keeps llm_error as the fallback for the rest.
	httpcaddyfile.RegisterDirectiveOrder("llm_error", httpcaddyfile.After, "respond")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_error [<matcher>] {
//	    message <text>
//	    code <snake_case_code>
//	}
//
// The block may be left out; the usual form is
//
//	handle_errors {
//	    llm_error
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := cfparse.Seen{}
	for d.NextBlock(0) {
		if err := seen.Check(d); err != nil {
			return err
		}
		switch d.Val() {
		case "message":
			v, err := cfparse.Arg(d)
			if err != nil {
				return err
			}
			h.Message = v
		case "code":
			v, err := cfparse.Arg(d)
			if err != nil {
				return err
			}
			h.Code = v
			if err := h.Validate(); err != nil {
				return d.Err(err.Error())
			}
		default:
			return d.Errf("unknown subdirective '%s'", d.Val())
		}
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
