package llmauth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
)

// newHandler parses a Caddyfile llm_auth block, round-trips it through JSON (as Caddy
// does) and provisions it.
func newHandler(t testing.TB, cf string) *Handler {
	t.Helper()
	h := new(Handler)
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf)); err != nil {
		t.Fatalf("parse: %v", err)
	}
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	h = new(Handler)
	if err := json.Unmarshal(raw, h); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
	h.logger = zap.NewNop()
	return h
}

func hashOf(key string) string { return auth.HashKey(key) }

func newKey(t *testing.T) string {
	t.Helper()
	k, err := auth.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// result is what a request produced: the response, and what next saw.
type result struct {
	code     int
	body     string
	header   http.Header
	nextSaw  *http.Request
	identity *exchange.Identity
	repl     *caddy.Replacer
}

type reqOpt func(*http.Request)

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }
func fromIP(ip string) reqOpt       { return func(r *http.Request) { r.RemoteAddr = ip + ":5555" } }

// withPlaceholder sets a placeholder as an earlier handler in the route would.
func withPlaceholder(k, v string) reqOpt {
	return func(r *http.Request) { r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer).Set(k, v) }
}

// serve runs one request through h; next answers 200 with upstreamBody (or "ok").
func serve(t *testing.T, h *Handler, method, path, body string, upstreamBody string, opts ...reqOpt) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	repl := caddy.NewReplacer()
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{})
	r = r.WithContext(ctx)
	for _, o := range opts {
		o(r)
	}
	res := result{repl: repl}
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		res.nextSaw = r
		if ex := exchange.FromContext(r.Context()); ex != nil {
			res.identity = ex.Identity
		}
		if upstreamBody == "" {
			upstreamBody = "ok"
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "999")
		w.WriteHeader(http.StatusOK)
		_, err := io.WriteString(w, upstreamBody)
		return err
	})
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	res.code, res.body, res.header = w.Code, w.Body.String(), w.Header()
	return res
}

const chatBody = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`

func chatFor(model string) string {
	return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
}

// provisionJSON provisions a handler from its JSON configuration.
func provisionJSON(t *testing.T, js string) error {
	t.Helper()
	h := new(Handler)
	if err := json.Unmarshal([]byte(js), h); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	return h.Provision(ctx)
}
