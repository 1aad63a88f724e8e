package llmerror

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

const internalAddr = "10.20.30.40:8443"

// serveError runs the handler as handle_errors does: the chain's error in the context.
func serveError(t *testing.T, h *Handler, path string, err error) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", path, nil)
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
	if err != nil {
		ctx = context.WithValue(ctx, caddyhttp.ErrorCtxKey, err)
	}
	rec := httptest.NewRecorder()
	if e := h.ServeHTTP(rec, r.WithContext(ctx), nil); e != nil {
		t.Fatal(e)
	}
	return rec
}

func dialErr(inner error) error {
	addr, _ := net.ResolveTCPAddr("tcp", internalAddr)
	return &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: inner}
}

// TestErrorShapes: every kind of failure Caddy's handlers return becomes an API error of
// the right shape, status, code and retry advice, and no message names the upstream.
func TestErrorShapes(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		retry  string
	}{
		{"refused", caddyhttp.Error(502, dialErr(os.NewSyscallError("connect", syscall.ECONNREFUSED))), 502, "upstream_connection_refused", "true"},
		{"tls", caddyhttp.Error(502, fmt.Errorf("tls: %w", &tls509{})), 502, "upstream_tls_error", "true"},
		{"dns", caddyhttp.Error(502, dialErr(&net.DNSError{Err: "no such host", Name: "llm.internal"})), 502, "upstream_unresolvable", "true"},
		{"other 502", caddyhttp.Error(502, errors.New("readfrom tcp "+internalAddr+": unexpected EOF")), 502, "upstream_unavailable", "true"},
		{"timeout", caddyhttp.Error(504, dialErr(os.ErrDeadlineExceeded)), 504, "upstream_timeout", "true"},
		{"no upstreams", caddyhttp.Error(503, errors.New("no upstreams available")), 503, "service_unavailable", "true"},
		{"body too large", caddyhttp.Error(413, &http.MaxBytesError{Limit: 10}), 413, "request_too_large", "false"},
		{"static error", caddyhttp.Error(403, errors.New("secret admin text "+internalAddr)), 403, "forbidden", "false"},
		{"plain error", errors.New("boom at " + internalAddr), 500, "internal_error", "true"},
		{"no error in context", nil, 500, "internal_error", "true"},
	}
	for _, tc := range tests {
		for _, path := range []string{"/v1/chat/completions", "/v1/messages"} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				rec := serveError(t, &Handler{}, path, tc.err)
				if rec.Code != tc.status {
					t.Errorf("status %d, want %d", rec.Code, tc.status)
				}
				if got := rec.Header().Get("x-should-retry"); got != tc.retry {
					t.Errorf("x-should-retry %q, want %q", got, tc.retry)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("content type %q", ct)
				}
				body := rec.Body.String()
				if strings.Contains(body, "10.20.30.40") || strings.Contains(body, "llm.internal") || strings.Contains(body, "secret") {
					t.Errorf("body echoes the cause: %s", body)
				}
				if path == "/v1/messages" {
					var b struct {
						Type  string `json:"type"`
						Error struct{ Type, Message string }
					}
					if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Type != "error" || b.Error.Type == "" || b.Error.Message == "" {
						t.Errorf("not an Anthropic error: %s", body)
					}
					return
				}
				var b struct {
					Error struct {
						Message, Type string
						Code          *string
					}
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Message == "" || b.Error.Code == nil || *b.Error.Code != tc.code {
					t.Errorf("not the OpenAI error with code %s: %s", tc.code, body)
				}
			})
		}
	}
}

// tls509 stands for a certificate the upstream presented that does not verify.
type tls509 struct{ x509.UnknownAuthorityError }

func (e *tls509) Unwrap() error { return e.UnknownAuthorityError }

func TestMessageOverride(t *testing.T) {
	rec := serveError(t, &Handler{Message: "The model service is down; see status.example.com."}, "/v1/chat/completions", caddyhttp.Error(502, errors.New("x")))
	if !strings.Contains(rec.Body.String(), "status.example.com") {
		t.Errorf("body %s", rec.Body.String())
	}
}

// TestCodeOverride: a configured code replaces the status's, in both API shapes' bodies
// that carry one, and the status's message stays unless replaced.
func TestCodeOverride(t *testing.T) {
	rec := serveError(t, &Handler{Code: "network_not_allowed"}, "/v1/chat/completions", caddyhttp.Error(403, errors.New("network_not_allowed")))
	var b struct {
		Error struct{ Message, Code string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || rec.Code != 403 || b.Error.Code != "network_not_allowed" || b.Error.Message == "" {
		t.Errorf("status %d body %s", rec.Code, rec.Body.String())
	}
	for _, bad := range []string{"Network", "two words", "x-y", "", "_x"} {
		if err := (&Handler{Code: bad}).Validate(); (err == nil) != (bad == "") {
			t.Errorf("code %q: Validate %v", bad, err)
		}
	}
}

func TestUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		in, msg, err string
	}{
		{"llm_error", "", ""},
		{"llm_error {\n message \"Upstream down\"\n}", "Upstream down", ""},
		{"llm_error {\n code network_not_allowed\n}", "", ""},
		{"llm_error {\n code \"Not Allowed\"\n}", "", "snake_case"},
		{"llm_error extra", "", "wrong argument count"},
		{"llm_error {\n message\n}", "", "wrong argument count"},
		{"llm_error {\n message a b\n}", "", "wrong argument count"},
		{"llm_error {\n message a\n message b\n}", "", "duplicate subdirective"},
		{"llm_error {\n status 500\n}", "", "unknown subdirective"},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || h.Message != tc.msg {
			t.Errorf("%q: %v %+v", tc.in, err, h)
		}
	}
}

// FuzzUnmarshalCaddyfile: any input parses or fails cleanly, what parses is valid (no
// free-text code), and it survives a JSON round trip unchanged (the adapter re-marshals the result).
func FuzzUnmarshalCaddyfile(f *testing.F) {
	for _, s := range []string{"llm_error", "llm_error {\n message hi\n}", "llm_error {\n code country_not_allowed\n}", "llm_error {\n message a\n message b\n}", "llm_error x {"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in)); err != nil {
			return
		}
		if err := h.Validate(); err != nil {
			t.Fatalf("%q parsed into an invalid handler: %v", in, err)
		}
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		var back Handler
		if err := json.Unmarshal(b, &back); err != nil || back != h {
			t.Fatalf("round trip %q -> %s -> %+v", in, b, back)
		}
	})
}

// TestListenerWrapper runs a real net/http server on the wrapped listener: the 431 and
// 400 net/http writes itself become JSON errors, and a handler's own text/plain 400 (a
// complete response, not net/http's) passes through byte for byte.
func TestListenerWrapper(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "400 Bad Request", http.StatusBadRequest)
	}))
	srv.Config.MaxHeaderBytes = 1024
	srv.Listener = ListenerWrapper{}.WrapListener(srv.Listener)
	srv.Start()
	defer srv.Close()
	send := func(raw string) (*http.Response, string) {
		t.Helper()
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for name, tc := range map[string]struct {
		raw    string
		status int
		code   string
	}{
		"headers too large": {"POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8<<10) + "\r\n\r\n", 431, "request_headers_too_large"},
		"malformed":         {"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", 400, "invalid_request"},
		"no Host":           {"POST /v1/chat/completions HTTP/1.1\r\n\r\n", 400, "invalid_request"},
	} {
		resp, body := send(tc.raw)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"code":"`+tc.code+`"`) || !strings.HasPrefix(body, `{"type":"error","error":{`) {
			t.Errorf("%s: %d %v %s", name, resp.StatusCode, resp.Header, body)
		}
	}
	resp, body := send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || body != "400 Bad Request\n" {
		t.Errorf("the handler's own response was changed: %d %v %q", resp.StatusCode, resp.Header, body)
	}
}

func TestListenerWrapperCaddyfile(t *testing.T) {
	var w ListenerWrapper
	if err := w.UnmarshalCaddyfile(caddyfile.NewTestDispenser("llm_error")); err != nil {
		t.Error(err)
	}
	for _, in := range []string{"llm_error x", "llm_error {\n status 400\n}"} {
		if err := w.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
