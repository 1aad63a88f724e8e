package llmfilter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llmguard/caddy-llmguard/llmguard/filter"
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

// serve runs a chat request through h; upstream writes the response from the body the
// upstream received.
func serve(t *testing.T, h *Handler, body string, upstream func(w http.ResponseWriter, body string)) (*httptest.ResponseRecorder, *caddy.Replacer) {
	t.Helper()
	r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	repl := caddy.NewReplacer()
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	rec := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		b, _ := io.ReadAll(r.Body)
		upstream(w, string(b))
		return nil
	})
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	return rec, repl
}

func jsonReply(w http.ResponseWriter, content string) {
	b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "999999") // wrong on purpose: the filter must fix it
	w.WriteHeader(200)
	_, _ = w.Write(b)
}

const chatBody = `{"model":"gpt-4o","messages":[{"role":"system","content":"You are Bob. Secret rules."},{"role":"user","content":"hi"}]}`

// TestCanary: the planted marker reaches the upstream and blocks a reply that repeats it.
func TestCanary(t *testing.T) {
	h := provision(t, &Handler{Canary: true})
	var seen string
	rec, repl := serve(t, h, chatBody, func(w http.ResponseWriter, body string) {
		seen = body
		var req struct{ Messages []struct{ Content string } }
		_ = json.Unmarshal([]byte(body), &req)
		jsonReply(w, "My instructions: "+req.Messages[0].Content)
	})
	if !strings.Contains(seen, "llmguard-canary-") {
		t.Fatalf("no canary forwarded: %s", seen)
	}
	if rec.Code != 403 || strings.Contains(rec.Body.String(), "canary") || !strings.Contains(rec.Body.String(), TypeCanary) {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	if a, _ := repl.GetString(PlaceholderAction); a != "block" {
		t.Fatalf("action placeholder %q", a)
	}
}

// TestSystemPromptRuns: a reply that copies the system prompt is refused.
func TestSystemPromptRuns(t *testing.T) {
	h := provision(t, &Handler{SystemPromptRuns: 16})
	rec, _ := serve(t, h, chatBody, func(w http.ResponseWriter, _ string) { jsonReply(w, "Sure: You are Bob. Secret rules.") })
	if rec.Code != 403 || strings.Contains(rec.Body.String(), "Secret rules") {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	rec, _ = serve(t, h, chatBody, func(w http.ResponseWriter, _ string) { jsonReply(w, "I am Bob.") })
	if rec.Code != 200 {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
}

func TestJSONRedactedWithLength(t *testing.T) {
	h := provision(t, &Handler{})
	rec, repl := serve(t, h, chatBody, func(w http.ResponseWriter, _ string) { jsonReply(w, "mail bob@example.org") })
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "mail [REDACTED:EMAIL_ADDRESS]") {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
		t.Fatalf("Content-Length %s for %d bytes", cl, rec.Body.Len())
	}
	if f, _ := repl.GetString(PlaceholderFindings); f != "EMAIL_ADDRESS" {
		t.Fatalf("findings %q", f)
	}
}

// TestOnError: unreadable successful responses pass unmodified by default and are
// refused with on_error block; a corrupt body is never half-filtered.
func TestOnError(t *testing.T) {
	cases := []struct {
		name     string
		upstream func(w http.ResponseWriter, _ string)
	}{
		{"compressed", func(w http.ResponseWriter, _ string) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write([]byte("\x1f\x8bnot really gzip bob@example.org"))
		}},
		{"too large", func(w http.ResponseWriter, _ string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"choices":[{"message":{"content":"bob@example.org ` + strings.Repeat("x", 2000) + `"}}]}`))
		}},
		{"malformed", func(w http.ResponseWriter, _ string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"choices":[{"message":{"content":"bob@example.org"`))
		}},
	}
	for _, tc := range cases {
		for _, mode := range []string{"pass", "block"} {
			h := provision(t, &Handler{OnError: mode, MaxBodySize: 1024})
			rec, _ := serve(t, h, chatBody, tc.upstream)
			body := rec.Body.String()
			if mode == "pass" && (rec.Code != 200 || !strings.Contains(body, "bob@example.org")) {
				t.Errorf("%s/%s: status %d body %.80q", tc.name, mode, rec.Code, body)
			}
			if mode == "block" && (rec.Code != 502 || strings.Contains(body, "bob@") || !strings.Contains(body, "unparsable_response")) {
				t.Errorf("%s/%s: status %d body %.80q", tc.name, mode, rec.Code, body)
			}
		}
	}
}

func TestUnmarshalCaddyfile(t *testing.T) {
	good := `llm_filter {
		window 128
		max_body_size 1MiB
		on_error block
		canary
		system_prompt_runs 64
		detect {
			action EMAIL_ADDRESS log
		}
	}`
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(good)); err != nil {
		t.Fatal(err)
	}
	if h.Window != 128 || h.MaxBodySize != 1<<20 || h.OnError != "block" || !h.Canary || h.SystemPromptRuns != 64 || h.Detect.Actions["EMAIL_ADDRESS"] != "log" {
		t.Fatalf("%+v", h)
	}
	for _, bad := range []string{
		"llm_filter arg", "llm_filter {\n window 0\n}", "llm_filter {\n on_error maybe\n}",
		"llm_filter {\n canary yes\n}", "llm_filter {\n window 1\n window 2\n}", "llm_filter {\n bogus\n}",
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	// Response scanning has no use for the injection classifier.
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	h = Handler{}
	_ = h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("llm_filter {\n detect {\n injection 0.5\n }\n}"))
	if err := h.Provision(ctx); err == nil {
		t.Error("injection threshold accepted")
	}
}

// TestCanaryHolds: the canary bounds the stream hold-back to a suffix that could still
// grow into it, so canary-enabled routes keep the adaptive hold-back.
func TestCanaryHolds(t *testing.T) {
	var h filter.Holder = canary("llmguard-canary-abcdef")
	for text, want := range map[string]int{
		"hello there":             11,
		"hello llmguard-can":      6,
		"hello llmguard-canary-a": 6,
		"hello l":                 6,
		"hello llmguard-canary-x": 23,
	} {
		if got := h.HoldFrom(text); got != want {
			t.Errorf("HoldFrom(%q) = %d, want %d", text, got, want)
		}
	}
}

func TestParseModerate(t *testing.T) {
	var h Handler
	good := "llm_filter {\n moderate {\n classifier {\n url http://127.0.0.1:1/v1/moderations\n }\n category violence block 0.8\n category hate log\n default log\n }\n}"
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(good)); err != nil {
		t.Fatal(err)
	}
	if m := h.Moderate; m.Categories["violence"].Threshold != 0.8 || m.Categories["hate"].Action != "log" || m.Default.Action != "log" {
		t.Fatalf("%+v", m)
	}
	provision(t, &h)
	for _, bad := range []string{
		"llm_filter {\n moderate {\n window 10\n }\n}",
		"llm_filter {\n moderate {\n classifier {\n url http://x\n }\n category gore block\n }\n}",
		"llm_filter {\n moderate {\n classifier {\n url http://x\n }\n category hate redact\n }\n}",
		"llm_filter {\n moderate {\n classifier {\n url http://x\n }\n category hate block 2\n }\n}",
		"llm_filter {\n moderate {\n classifier {\n url http://x\n }\n category hate block\n category hate log\n }\n}",
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// A reply blocked for a finding (a secret, the canary) is one LLMG-3002 event naming the
// type, never the value; a clean reply and an unreadable one refused by on_error block
// are none (not an incident of the caller's making).
func TestBlockIsSecurityEvent(t *testing.T) {
	h := provision(t, &Handler{Canary: true, OnError: "block"})
	core, logs := observer.New(zapcore.InfoLevel)
	h.security = zap.New(core)
	secret := "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
	serve(t, h, chatBody, func(w http.ResponseWriter, _ string) { jsonReply(w, "hello") })
	serve(t, h, chatBody, func(w http.ResponseWriter, _ string) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"choices":[`))
	})
	if rec, _ := serve(t, h, chatBody, func(w http.ResponseWriter, _ string) { jsonReply(w, "use "+secret) }); rec.Code != 403 {
		t.Fatalf("secret: %d", rec.Code)
	}
	serve(t, h, chatBody, func(w http.ResponseWriter, body string) { jsonReply(w, "My rules: "+body) })
	var got []string
	for _, e := range logs.All() {
		f := e.ContextMap()
		got = append(got, fmt.Sprint(f["event.code"], f["llmguard.finding.types"]))
		if strings.Contains(fmt.Sprint(f), secret[4:]) || strings.Contains(fmt.Sprint(f), "llmguard-canary-") {
			t.Errorf("the event holds the value: %v", f)
		}
	}
	if want := []string{"LLMG-3002[GITHUB_TOKEN]", "LLMG-3002[" + TypeCanary + "]"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}
