package llmratelimit

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/mock"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newHandler parses a Caddyfile block, round-trips it through JSON as Caddy does, and
// provisions it with a fresh memory store (not the process-wide one, so tests are
// independent) and a fixed clock.
func newHandler(t *testing.T, cf string) (*Handler, *clock) {
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
	t.Cleanup(func() { h.Cleanup(); h.storeM.(caddy.CleanerUpper).Cleanup() })
	if _, ok := h.storeM.(*MemoryStore); ok {
		h.store = newIsolatedStore()
	}
	c := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	h.now, h.logger = c.now, zap.NewNop()
	return h, c
}

type result struct {
	code     int
	body     string
	header   http.Header
	upstream string // body the upstream received; "" when not called
}

type opt func(*http.Request)

func hdr(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

// tier makes the request come from an authenticated identity of that tier.
func identity(id, tier string) opt {
	return func(r *http.Request) {
		ex, r2, e := llmhttp.Load(r, 0)
		if e != nil {
			panic(e)
		}
		ex.Identity = &exchange.Identity{ID: id, Tier: tier}
		*r = *r2
		if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
			repl.Set("http.auth.user.id", id)
		}
	}
}

// risk sets llm_sentinel's assessment of the caller by hand (the sentinel itself is
// tested in its own package).
func risk(level sentinel.Level) opt {
	return func(r *http.Request) {
		ex, r2, e := llmhttp.Load(r, 0)
		if e != nil {
			panic(e)
		}
		ex.Risk = &sentinel.Assessment{Level: level}
		*r = *r2
	}
}

var mockServer = func() *mock.Server {
	s, err := mock.New(mock.Config{Reply: strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40)})
	if err != nil {
		panic(err)
	}
	return s
}()

// serve sends one request through h to the mock upstream.
func serve(t *testing.T, h *Handler, path, body string, opts ...opt) result {
	t.Helper()
	return serveChain(t, []*Handler{h}, path, body, opts...)
}

// serveChain sends one request through hs, the first outermost, to the mock upstream.
func serveChain(t *testing.T, hs []*Handler, path, body string, opts ...opt) result {
	t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = "192.0.2.1:4000"
	repl := caddy.NewReplacer()
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{})
	r = r.WithContext(ctx)
	for _, o := range opts {
		o(r)
	}
	var res result
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		b, _ := io.ReadAll(r.Body)
		res.upstream = string(b)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		mockServer.ServeHTTP(w, r)
		return nil
	})
	for i := len(hs) - 1; i > 0; i-- {
		h, inner := hs[i], next
		next = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return h.ServeHTTP(w, r, inner) })
	}
	w := httptest.NewRecorder()
	if err := hs[0].ServeHTTP(w, r, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	res.code, res.body, res.header = w.Code, w.Body.String(), w.Header()
	return res
}

func chat(maxTokens int, extra string) string {
	s := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say something."}]`
	if maxTokens > 0 {
		s += `,"max_tokens":` + itoa(maxTokens)
	}
	return s + extra + "}"
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// errorBody decodes an OpenAI error body.
func errorBody(t *testing.T, body string) (code, typ, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			Code, Type, Message string
		}
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not an error body: %s", body)
	}
	return e.Error.Code, e.Error.Type, e.Error.Message
}
