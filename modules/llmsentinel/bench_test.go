package llmsentinel

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// BenchmarkServeHTTP is llm_sentinel's cost per request on the memory store, with the
// exchange already loaded by llm_auth (as in a real route): the address read, the
// identity's update, the placeholders and metrics. README "llm_sentinel" cites it.
func BenchmarkServeHTTP(b *testing.B) {
	// An ordinary caller, one request every ten seconds of simulated time: a benchmark
	// at full speed would be a volume spike, quarantined, and measure the refusal.
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	h := &Handler{model: sentinel.NewModel(sentinel.Config{}), store: sentinel.NewMemoryStore(), metrics: testMetrics(),
		now: func() time.Time { now = now.Add(10 * time.Second); return now }}
	body := []byte(`{"model":"gpt-4o-mini","max_tokens":512,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Can you explain how a compiler turns source code into machine code, step by step, with an example in Go?"}]}`)
	req, err := request.Parse(request.KindChat, body)
	if err != nil {
		b.Fatal(err)
	}
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	w := httptest.NewRecorder()
	// One request, prepared once as Caddy and llm_auth would: the loop measures the
	// handler alone (each iteration overwrites the exchange's risk and the placeholders).
	r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	r.RemoteAddr = "203.0.113.7:4000"
	ex := &exchange.Exchange{Kind: request.KindChat, Request: req, Body: body, Identity: &exchange.Identity{ID: "alice"}}
	r = caddyhttp.PrepareRequest(r.WithContext(exchange.NewContext(r.Context(), ex)), caddy.NewReplacer(), w, nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ServeHTTP(w, r, next); err != nil {
			b.Fatal(err)
		}
	}
	if ex.RiskLevel() != sentinel.Low {
		b.Fatalf("the benchmark caller became %v", ex.RiskLevel())
	}
}
