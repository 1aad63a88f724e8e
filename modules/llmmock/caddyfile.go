package llmmock

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_mock", parseCaddyfile)
	// Before respond: both are terminal responders, and a site that mocks the LLM API
	// usually keeps a catch-all respond for everything else.
	httpcaddyfile.RegisterDirectiveOrder("llm_mock", httpcaddyfile.Before, "respond")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_mock [<matcher>] {
//	    models <name>...
//	    mode fixed|echo
//	    reply <text>
//	    chunk_size <characters>
//	    chunk_delay <duration>
//	    embedding_dimensions <n>
//	    max_body_size <size>
//	}
//
// Every subdirective is optional and may appear once; the block may be left out.
// Sizes take units (8MB, 8MiB).
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
		var err error
		switch d.Val() {
		case "models":
			h.Models, err = cfparse.Args(d)
		case "mode":
			h.Mode, err = cfparse.OneOf(d, "fixed", "echo")
		case "reply":
			h.Reply, err = cfparse.Arg(d)
		case "chunk_size":
			h.ChunkSize, err = cfparse.PositiveInt(d)
		case "chunk_delay":
			h.ChunkDelay, err = cfparse.Duration(d)
		case "embedding_dimensions":
			h.EmbeddingDimensions, err = cfparse.PositiveInt(d)
		case "max_body_size":
			h.MaxBodySize, err = cfparse.Size(d)
		default:
			return d.Errf("unrecognized subdirective '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}
