package llmhttp

import (
	"bytes"
	"context"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const testKey = "sk-llmg-0123456789abcdefSECRET"

func bufferLogger(buf *bytes.Buffer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(buf), zap.DebugLevel))
}

// setServerLogger sets one of caddyhttp.Server's unexported loggers, as Caddy's http app
// does before it provisions the handlers.
func setServerLogger(t *testing.T, srv *caddyhttp.Server, name string, l *zap.Logger) {
	t.Helper()
	f := reflect.ValueOf(srv).Elem().FieldByName(name)
	if !f.IsValid() {
		t.Fatalf("caddyhttp.Server has no field %s", name)
	}
	*(**zap.Logger)(unsafe.Pointer(f.UnsafeAddr())) = l
}

func serverLogger(srv *caddyhttp.Server, name string) *zap.Logger {
	f := reflect.ValueOf(srv).Elem().FieldByName(name)
	return *(**zap.Logger)(unsafe.Pointer(f.UnsafeAddr()))
}

// TestProtectServerLogs: the request copy Caddy binds to its access and error loggers
// shows no credential header a handler registered, in any spelling, while other headers
// and the live request stay as they were.
func TestProtectServerLogs(t *testing.T) {
	var access, errs bytes.Buffer
	srv := &caddyhttp.Server{}
	setServerLogger(t, srv, "accessLogger", bufferLogger(&access))
	setServerLogger(t, srv, "errorLogger", bufferLogger(&errs))
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.WithValue(context.Background(), caddyhttp.ServerCtxKey, srv)})
	defer cancel()
	if err := ProtectServerLogs(ctx, []string{"Authorization", "X-Api-Key"}); err != nil {
		t.Fatal(err)
	}
	// A second handler in the same server adds its header; the loggers are wrapped once.
	if err := ProtectServerLogs(ctx, []string{"x-gateway-key"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := serverLogger(srv, "accessLogger").Core().(*redactCore); !ok {
		t.Fatal("access logger not wrapped")
	}

	r := httptest.NewRequest("POST", "/v1/messages", nil)
	r.Header.Set("X-Api-Key", testKey)
	r.Header.Set("X-Gateway-Key", testKey)
	r.Header["x-api-key"] = []string{testKey} // not canonical: HTTP/2 and odd clients
	r.Header.Set("Anthropic-Version", "2023-06-01")
	field := zap.Object("request", caddyhttp.LoggableHTTPRequest{Request: r.Clone(r.Context()), ShouldLogCredentials: true})
	serverLogger(srv, "accessLogger").WithLazy(field).Info("handled request")
	serverLogger(srv, "errorLogger").WithLazy(field).With(zap.Int("status", 502)).Error("dial tcp: connection refused")

	for name, out := range map[string]string{"access": access.String(), "error": errs.String()} {
		if out == "" {
			t.Fatalf("%s log empty", name)
		}
		if strings.Contains(out, "SECRET") {
			t.Errorf("%s log holds the key: %s", name, out)
		}
		if strings.Count(out, Redacted) != 3 || !strings.Contains(out, `"Anthropic-Version":["2023-06-01"]`) {
			t.Errorf("%s log: %s", name, out)
		}
	}
	if r.Header.Get("X-Api-Key") != testKey {
		t.Error("the live request was changed")
	}
}

// TestProtectServerLogsOutsideServer: outside an HTTP server there is nothing to wrap.
func TestProtectServerLogsOutsideServer(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := ProtectServerLogs(ctx, []string{"X-Api-Key"}); err != nil {
		t.Fatal(err)
	}
}

// TestProtectServerLogsOff: a log that is off (nil logger) stays off.
func TestProtectServerLogsOff(t *testing.T) {
	srv := &caddyhttp.Server{}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.WithValue(context.Background(), caddyhttp.ServerCtxKey, srv)})
	defer cancel()
	if err := ProtectServerLogs(ctx, []string{"X-Api-Key"}); err != nil {
		t.Fatal(err)
	}
	if serverLogger(srv, "accessLogger") != nil {
		t.Error("a disabled access log was created")
	}
}
