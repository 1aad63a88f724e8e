package llmhttp

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Redacted replaces a credential's value in logs, as Caddy writes it for Authorization.
const Redacted = "REDACTED"

// serverLoggers are the caddyhttp.Server loggers that receive the copy of the request
// Caddy takes before any handler runs (the access log, and the error log entry of a
// request that failed). Handlers log the live request, from which llm_auth has already
// removed the credential; these copies it cannot reach.
var serverLoggers = []string{"accessLogger", "errorLogger"}

var protectMu sync.Mutex

// ProtectServerLogs makes every log entry of the server that ctx provisions (Caddy puts
// it in the context of each handler it provisions) render the given request headers as
// REDACTED, whatever the log's encoder, writer or level, and also with the
// log_credentials server option (which then still reveals what Caddy alone would). It
// is called by each handler that reads credentials; headers accumulate per server.
//
// Caddy logs a clone of each request taken before the first handler, and hides only
// Authorization, Cookie, Set-Cookie and Proxy-Authorization in it; a log filter would
// have to be configured in every log of every site, and a forgotten one leaks keys. Caddy
// offers no hook between the clone and the encoder, so this wraps the cores of the
// server's own (unexported) loggers, before the server serves its first request. If a
// Caddy release renames them, provisioning fails rather than run with keys in the logs.
func ProtectServerLogs(ctx caddy.Context, headers []string) error {
	srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if !ok || srv == nil {
		return nil // not inside an HTTP server (unit tests): no server log to protect
	}
	protectMu.Lock()
	defer protectMu.Unlock()
	v := reflect.ValueOf(srv).Elem()
	loggerType := reflect.TypeOf((*zap.Logger)(nil))
	for _, name := range serverLoggers {
		f := v.FieldByName(name)
		if !f.IsValid() || f.Type() != loggerType {
			return errors.New("this Caddy version's server loggers are unknown to llmguard; refusing to run with credentials in the logs")
		}
		p := (**zap.Logger)(unsafe.Pointer(f.UnsafeAddr()))
		if *p == nil {
			continue // that log is off
		}
		if c, ok := (*p).Core().(*redactCore); ok {
			c.set.add(headers)
			continue
		}
		set := &headerSet{}
		set.add(headers)
		*p = (*p).WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return &redactCore{Core: c, set: set} }))
	}
	return nil
}

// headerSet holds lower-cased header names. It is written while the server is
// provisioned and read while it serves.
type headerSet struct {
	mu    sync.RWMutex
	names map[string]bool
}

func (s *headerSet) add(headers []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names == nil {
		s.names = map[string]bool{}
	}
	for _, h := range headers {
		s.names[strings.ToLower(h)] = true
	}
}

// redactHeader returns a copy of h with the credentials replaced, and false when h holds
// none.
func (s *headerSet) redactHeader(h http.Header) (http.Header, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out http.Header
	for k := range h {
		if !s.names[strings.ToLower(k)] {
			continue
		}
		if out == nil {
			out = h.Clone()
		}
		out[k] = []string{Redacted}
	}
	return out, out != nil
}

// redactCore rewrites the request objects in the fields a logger is given. Caddy binds
// the request to the server's loggers with With (lazily), so that is where it is caught;
// Check is left to the wrapped core, which keeps each log's include/exclude filtering.
type redactCore struct {
	zapcore.Core
	set *headerSet
}

func (c *redactCore) With(fields []zapcore.Field) zapcore.Core {
	return &redactCore{Core: c.Core.With(c.redact(fields)), set: c.set}
}

func (c *redactCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	return c.Core.Check(e, ce)
}

func (c *redactCore) redact(fields []zapcore.Field) []zapcore.Field {
	var out []zapcore.Field
	for i, f := range fields {
		if f.Type != zapcore.ObjectMarshalerType {
			continue
		}
		lr, ok := f.Interface.(caddyhttp.LoggableHTTPRequest)
		if !ok || lr.Request == nil {
			continue
		}
		h, changed := c.set.redactHeader(lr.Request.Header)
		if !changed {
			continue
		}
		if out == nil {
			out = append([]zapcore.Field(nil), fields...)
		}
		req := *lr.Request // the clone is Caddy's; change only our copy
		req.Header = h
		lr.Request = &req
		out[i] = zap.Object(f.Key, lr)
	}
	if out == nil {
		return fields
	}
	return out
}
