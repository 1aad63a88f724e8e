package llmmock

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmguard/caddy-llmguard/llmguard/mock"
)

// provisioned returns h after Provision, as Caddy would run it.
func provisioned(t *testing.T, h *Handler) *Handler {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	h.logger = zap.NewNop()
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return h
}

func newRequestWithReplacer(method, path, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	repl := caddy.NewReplacer()
	return req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, repl))
}

// terminal is a next handler that fails the test: llm_mock must never call it.
func terminal(t *testing.T) caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		t.Error("llm_mock called the next handler")
		return nil
	})
}

func TestServeHTTP(t *testing.T) {
	h := provisioned(t, &Handler{Models: []string{"m1", "m2"}, Mode: "echo", ChunkSize: 2, MaxBodySize: 1 << 10})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"chat echo", "POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"ping pong"}]}`, 200, `"content":"ping pong"`},
		{"prefixed path", "POST", "/openai/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}`, 200, `"object":"chat.completion"`},
		{"models", "GET", "/v1/models", "", 200, `"id":"m2"`},
		{"stream", "POST", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"abcd"}]}`, 200, `"text":"ab"`},
		{"404", "POST", "/v1/nothing", `{}`, 404, `"type":"not_found_error"`},
		{"405", "DELETE", "/v1/embeddings", ``, 405, `"error"`},
		{"400 anthropic", "POST", "/v1/messages", `{"model":"c"}`, 400, `"type":"invalid_request_error"`},
		{"413", "POST", "/v1/chat/completions", strings.Repeat("x", 2<<10), 413, `"error"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := h.ServeHTTP(w, newRequestWithReplacer(tc.method, tc.path, tc.body), terminal(t)); err != nil {
				t.Fatalf("ServeHTTP returned %v; errors must be written in the API's shape", err)
			}
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.contains) {
				t.Fatalf("got %d %s, want %d containing %s", w.Code, w.Body, tc.status, tc.contains)
			}
		})
	}
}

func TestProvisionRejectsBadConfig(t *testing.T) {
	for _, h := range []*Handler{
		{Mode: "loud"},
		{ChunkSize: -1},
		{ChunkDelay: caddy.Duration(-time.Second)},
		{EmbeddingDimensions: mock.MaxEmbeddingDimensions + 1},
		{Models: []string{""}},
	} {
		if err := h.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", h)
		}
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		if err := h.Provision(ctx); err == nil || !strings.HasPrefix(err.Error(), "configuring llm_mock: ") {
			t.Errorf("Provision(%+v) = %v", h, err)
		}
		cancel()
	}
}

func TestUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        Handler
		err         string
	}{
		{name: "bare", input: `llm_mock`},
		{name: "empty block", input: "llm_mock {\n}"},
		{name: "full", input: `llm_mock {
			models gpt-4o-mini gpt-4o
			mode echo
			reply "Hello from the mock"
			chunk_size 4
			chunk_delay 10ms
			embedding_dimensions 8
			max_body_size 8MB
		}`, want: Handler{Models: []string{"gpt-4o-mini", "gpt-4o"}, Mode: "echo", Reply: "Hello from the mock", ChunkSize: 4,
			ChunkDelay: caddy.Duration(10 * time.Millisecond), EmbeddingDimensions: 8, MaxBodySize: 8_000_000}},
		{name: "mebibytes", input: "llm_mock {\nmax_body_size 1MiB\n}", want: Handler{MaxBodySize: 1 << 20}},
		{name: "unknown subdirective", input: "llm_mock {\ntemperature 1\n}", err: "unrecognized subdirective 'temperature'"},
		{name: "duplicate", input: "llm_mock {\nmode echo\nmode fixed\n}", err: "duplicate subdirective 'mode'"},
		{name: "bad duration", input: "llm_mock {\nchunk_delay soon\n}", err: "bad chunk_delay 'soon'"},
		{name: "negative duration", input: "llm_mock {\nchunk_delay -1s\n}", err: "must not be negative"},
		{name: "directive args", input: "llm_mock echo", err: "wrong argument count"},
		{name: "extra subdirective args", input: "llm_mock {\nmode echo fixed\n}", err: "wrong argument count"},
		{name: "missing arg", input: "llm_mock {\nreply\n}", err: "wrong argument count"},
		{name: "no models", input: "llm_mock {\nmodels\n}", err: "wrong argument count"},
		{name: "bad mode", input: "llm_mock {\nmode loud\n}", err: "mode must be one of [fixed echo]"},
		{name: "zero chunk", input: "llm_mock {\nchunk_size 0\n}", err: "chunk_size must be a positive integer"},
		{name: "bad dims", input: "llm_mock {\nembedding_dimensions many\n}", err: "embedding_dimensions must be a positive integer"},
		{name: "bad size", input: "llm_mock {\nmax_body_size lots\n}", err: "bad max_body_size 'lots'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(h)
			want, _ := json.Marshal(tc.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("got %s\nwant %s", got, want)
			}
		})
	}
}
