package llminspect

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
)

func provision(t *testing.T, h *Handler) *Handler {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	return h
}

// serve runs one request through h and returns the response and the body the next
// handler received ("" when next was not called).
func serve(t *testing.T, h *Handler, path, body string, opts ...func(*http.Request) *http.Request) (*httptest.ResponseRecorder, string, *caddy.Replacer) {
	t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	repl := caddy.NewReplacer()
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	for _, o := range opts {
		r = o(r)
	}
	rec := httptest.NewRecorder()
	var forwarded string
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		b, _ := io.ReadAll(r.Body)
		if r.ContentLength != int64(len(b)) {
			t.Errorf("Content-Length %d for a %d-byte body", r.ContentLength, len(b))
		}
		forwarded = string(b)
		w.WriteHeader(204)
		return nil
	})
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	return rec, forwarded, repl
}

func TestClampRewritesOnlyTheAllowance(t *testing.T) {
	h := provision(t, &Handler{MaxOutputTokens: 64})
	body := `{"model":"gpt-4o-mini", "temperature":0.70, "max_tokens":4096,"messages":[{"role":"user","content":"hi"}],"x_custom":{"a":[1,2]}}`
	rec, fwd, repl := serve(t, h, "/v1/chat/completions", body)
	if rec.Code != 204 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if want := strings.Replace(body, "4096", "64", 1); fwd != want {
		t.Errorf("forwarded %s\nwant      %s", fwd, want)
	}
	if d, _ := repl.GetString(PlaceholderDecision); d != "rewrite" {
		t.Errorf("decision %q", d)
	}
	if v, _ := repl.GetString("http.llm.max_output_tokens"); v != "64" {
		t.Errorf("max_output_tokens placeholder %q", v)
	}
}

func TestAllowPassesBodyUnchanged(t *testing.T) {
	h := provision(t, &Handler{MaxOutputTokens: 64, AllowModels: []string{"gpt-4o*"}})
	body := `{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	rec, fwd, repl := serve(t, h, "/v1/chat/completions", body)
	if rec.Code != 204 || fwd != body {
		t.Fatalf("status %d forwarded %q", rec.Code, fwd)
	}
	if d, _ := repl.GetString(PlaceholderDecision); d != "allow" {
		t.Errorf("decision %q", d)
	}
}

func TestRefusalsAreAPIShaped(t *testing.T) {
	h := provision(t, &Handler{DenyModels: []string{"claude-opus-*"}, MaxBodySize: 200})
	rec, fwd, repl := serve(t, h, "/v1/messages", `{"model":"claude-opus-4-1","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
	if rec.Code != 403 || fwd != "" {
		t.Fatalf("status %d forwarded %q", rec.Code, fwd)
	}
	var body struct {
		Type  string `json:"type"`
		Error struct{ Type, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Type != "error" || body.Error.Type != "permission_error" {
		t.Errorf("anthropic error shape: %s", rec.Body)
	}
	if d, _ := repl.GetString(PlaceholderDecision); d != "block" {
		t.Errorf("decision %q", d)
	}
	rec, _, _ = serve(t, h, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"`+strings.Repeat("x", 300)+`"}]}`)
	if rec.Code != 413 {
		t.Errorf("oversize: %d", rec.Code)
	}
	rec, _, _ = serve(t, h, "/v1/chat/completions", `{"model":`)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "not valid JSON") {
		t.Errorf("malformed: %d %s", rec.Code, rec.Body)
	}
}

func TestProvisionRejectsUnknownEndpoint(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := (&Handler{AllowEndpoints: []string{"audio"}}).Provision(ctx); err == nil {
		t.Error("unknown endpoint accepted")
	}
}

func TestUnmarshalCaddyfile(t *testing.T) {
	d := caddyfile.NewTestDispenser(`llm_inspect {
		max_body_size 1MiB
		max_messages 50
		max_prompt_tokens 8000
		max_output_tokens 1024 refuse
		max_n 1
		allow_models gpt-4o* claude-*
		deny_models gpt-4o-audio*
		allow_endpoints chat messages
		deny_endpoints embeddings
		stream deny
		tools deny
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(h)
	want := `{"max_body_size":1048576,"max_messages":50,"max_prompt_tokens":8000,"max_output_tokens":1024,"max_output_action":"refuse","max_n":1,"allow_models":["gpt-4o*","claude-*"],"deny_models":["gpt-4o-audio*"],"allow_endpoints":["chat","messages"],"deny_endpoints":["embeddings"],"deny_stream":true,"deny_tools":true}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{
		"llm_inspect extra",
		"llm_inspect {\n bogus 1\n}",
		"llm_inspect {\n max_n 1\n max_n 2\n}",
		"llm_inspect {\n max_output_tokens 0\n}",
		"llm_inspect {\n max_output_tokens 10 trim\n}",
		"llm_inspect {\n stream maybe\n}",
		"llm_inspect {\n allow_models\n}",
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
