package llmhttp

import (
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
)

// SecurityLoggerName is the logger of the security event stream (llmguard/secevent): a
// Caddy `log` block with `include llmguard.security` sends every module's security events,
// and nothing else, to its output (a file, or `net` for a syslog/TCP collector).
const SecurityLoggerName = "llmguard.security"

// securityStream names the stream for Caddy's logging; it is not a registered module.
type securityStream struct{}

func (securityStream) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: SecurityLoggerName}
}

// SecurityLogger returns the security event logger of the configuration ctx belongs to.
func SecurityLogger(ctx caddy.Context) *zap.Logger { return ctx.Logger(securityStream{}) }

// CallerFields are the ECS fields that name who a request's security event is about:
// source.address (the peer address) and, after llm_auth, user.id (the key id or token
// subject) — ids only, never a credential.
func CallerFields(r *http.Request, ex *exchange.Exchange) []zap.Field {
	fields := []zap.Field{zap.String("source.address", r.RemoteAddr)}
	if ex != nil && ex.Identity != nil {
		fields = append(fields, zap.String("user.id", ex.Identity.ID))
	}
	return fields
}

// CheckSecureURL requires an absolute https URL, or plain http on a loopback host (a local
// test issuer or receiver), for anything the gateway fetches keys from or sends events to:
// plain http elsewhere would let the network read or forge it. The error names the field.
func CheckSecureURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s must be an absolute URL, got %q", field, s)
	}
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if u.Scheme == "http" && (host == "localhost" || (ip != nil && ip.IsLoopback())) {
		return nil
	}
	return fmt.Errorf("%s must use https (plain http is allowed only on loopback), got %q", field, s)
}
