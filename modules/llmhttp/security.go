package llmhttp

import (
	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
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
