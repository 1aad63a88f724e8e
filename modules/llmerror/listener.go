package llmerror

import (
	"crypto/tls"
	"net"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
)

func init() {
	caddy.RegisterModule(ListenerWrapper{})
}

// ListenerWrapper (`caddy.listeners.llm_error`) answers the requests Go's net/http
// refuses before any Caddy handler runs — 431 for a request line and headers over the
// server's max_header_size, 400 for a malformed request — in the API error shape
// instead of net/http's text/plain, so that the SDKs raise a typed error with a message.
// Caddyfile:
//
//	{
//	    servers {
//	        listener_wrappers {
//	            llm_error
//	        }
//	    }
//	}
//
// net/http writes those responses itself, in one write on the connection, and closes it;
// this wrapper recognises exactly those bytes (apierr.ConnError) and writes the JSON
// refusal in their place. Everything else passes through unchanged.
//
// It covers plaintext HTTP/1.1 only (a gateway on loopback, or behind a load balancer
// that terminates TLS). A TLS connection is left unwrapped: net/http needs the
// *tls.Conn itself to negotiate HTTP/2 and report the TLS state, and over HTTP/2 the
// header-size refusal is an HTTP/2 frame the connection cannot rewrite.
type ListenerWrapper struct{}

// CaddyModule returns the Caddy module information.
func (ListenerWrapper) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.listeners.llm_error", New: func() caddy.Module { return new(ListenerWrapper) }}
}

// WrapListener implements caddy.ListenerWrapper.
func (ListenerWrapper) WrapListener(l net.Listener) net.Listener { return errorListener{l} }

// UnmarshalCaddyfile reads `llm_error` inside listener_wrappers; it takes no options.
func (*ListenerWrapper) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume wrapper name
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(0) {
		return d.Errf("llm_error takes no options")
	}
	return nil
}

type errorListener struct{ net.Listener }

func (l errorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	if _, ok := c.(*tls.Conn); ok {
		return c, nil
	}
	return &errorConn{Conn: c}, nil
}

// errorConn rewrites net/http's own error responses. CloseWrite is kept, because
// net/http half-closes after a 431 so that the client reads the answer instead of a reset.
type errorConn struct{ net.Conn }

func (c *errorConn) Write(p []byte) (int, error) {
	if out, ok := apierr.ConnError(p); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *errorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Interface guards
var (
	_ caddy.ListenerWrapper = (*ListenerWrapper)(nil)
	_ caddyfile.Unmarshaler = (*ListenerWrapper)(nil)
)
