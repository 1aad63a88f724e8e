package llmmock

import (
	"math"
	"strconv"

	"github.com/dustin/go-humanize"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
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
	seen := map[string]bool{}
	for d.NextBlock(0) {
		name := d.Val()
		if seen[name] {
			return d.Errf("duplicate subdirective '%s'", name)
		}
		seen[name] = true
		switch name {
		case "models":
			h.Models = d.RemainingArgs()
			if len(h.Models) == 0 {
				return d.ArgErr()
			}
		case "mode":
			if !d.AllArgs(&h.Mode) {
				return d.ArgErr()
			}
			if h.Mode != "fixed" && h.Mode != "echo" {
				return d.Errf("mode must be fixed or echo, not '%s'", h.Mode)
			}
		case "reply":
			if !d.AllArgs(&h.Reply) {
				return d.ArgErr()
			}
		case "chunk_size":
			n, err := positiveInt(d)
			if err != nil {
				return err
			}
			h.ChunkSize = n
		case "chunk_delay":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("bad chunk_delay '%s': %v", v, err)
			}
			if dur < 0 {
				return d.Errf("chunk_delay must not be negative")
			}
			h.ChunkDelay = caddy.Duration(dur)
		case "embedding_dimensions":
			n, err := positiveInt(d)
			if err != nil {
				return err
			}
			h.EmbeddingDimensions = n
		case "max_body_size":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			size, err := humanize.ParseBytes(v)
			if err != nil || size == 0 || size > math.MaxInt64 {
				return d.Errf("bad max_body_size '%s': want a positive size such as 8MiB", v)
			}
			h.MaxBodySize = int64(size)
		default:
			return d.Errf("unrecognized subdirective '%s'", name)
		}
	}
	return nil
}

// positiveInt reads the single positive integer argument of the current subdirective.
func positiveInt(d *caddyfile.Dispenser) (int, error) {
	name := d.Val()
	var v string
	if !d.AllArgs(&v) {
		return 0, d.ArgErr()
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, d.Errf("%s must be a positive integer, not '%s'", name, v)
	}
	return n, nil
}
