package exchange

import (
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/tokens"
)

// The prompt is counted on first use, once, as the client sent it; a count set by hand
// is kept.
func TestPromptCount(t *testing.T) {
	req, err := request.Parse(request.KindChat, []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Count these few words, please."}]}`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tokens.ForModel(req.Model)
	if err != nil {
		t.Fatal(err)
	}
	want := m.Prompt(req)
	ex := &Exchange{Kind: request.KindChat, Request: req, Tokens: m}
	if ex.PromptTokens != 0 {
		t.Fatal("counted before use")
	}
	if got := ex.PromptCount(); got != want || want == 0 {
		t.Fatalf("PromptCount = %d, want %d", got, want)
	}
	ex.Request = nil // a second call must not count again
	if got := ex.PromptCount(); got != want {
		t.Fatalf("second PromptCount = %d, want %d", got, want)
	}
	if got := (&Exchange{PromptTokens: 7}).PromptCount(); got != 7 {
		t.Fatalf("a count set by hand became %d", got)
	}
}
