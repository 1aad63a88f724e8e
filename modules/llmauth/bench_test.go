package llmauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// BenchmarkServeHTTP is llm_auth's cost per request on its hot path — an API key from the
// Caddyfile, a 1 KB chat request, next answering at once — against "next" alone, which
// is what the request costs without llm_auth in this setup (request, replacer, vars).
func BenchmarkServeHTTP(b *testing.B) {
	key := "sk-llmg-DemoKeyForLocalUseOnlyNeverDeployThis0000002fy1Rf"
	h := newHandler(b, "llm_auth {\n api_keys {\n key bench "+hashOf(key)+"\n }\n}")
	body := `{"model":"gpt-4o-mini","max_tokens":256,"messages":[{"role":"user","content":"` +
		strings.Repeat("the report on quarterly sales shows growth ", 1000/43) + `"}]}`
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusOK)
		return nil
	})
	request := func() (*httptest.ResponseRecorder, *http.Request) {
		r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		return w, caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, nil)
	}
	b.Run("next", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w, r := request()
			_ = next.ServeHTTP(w, r)
		}
	})
	// The tokenizer's vocabulary is built on the first request a gateway serves; that
	// one-off cost is not the per-request cost measured here.
	if w, r := request(); h.ServeHTTP(w, r, next) != nil || w.Code != http.StatusOK {
		b.Fatal("warm-up request refused")
	}
	b.Run("llm_auth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w, r := request()
			if err := h.ServeHTTP(w, r, next); err != nil || w.Code != http.StatusOK {
				b.Fatal(err, w.Code, w.Body.String())
			}
		}
	})
}
