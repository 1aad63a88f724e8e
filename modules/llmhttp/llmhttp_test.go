package llmhttp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
)

func newRequest(method, path, ctype, body string) (*http.Request, *caddy.Replacer) {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	repl := caddy.NewReplacer()
	return r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)), repl
}

func TestLoadChat(t *testing.T) {
	body := `{"model":"gpt-4o-mini","stream":true,"max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`
	r, repl := newRequest("POST", "/v1/chat/completions", "application/json", body)
	ex, r2, e := Load(r, 0)
	if e != nil {
		t.Fatal(e)
	}
	if exchange.FromContext(r2.Context()) != ex {
		t.Fatal("exchange not in context")
	}
	// The body can be read again by the next handler, unchanged.
	got, _ := io.ReadAll(r2.Body)
	if string(got) != body || r2.ContentLength != int64(len(body)) {
		t.Errorf("body after load = %q (len %d)", got, r2.ContentLength)
	}
	// A second Load returns the same exchange without reading again.
	ex2, _, _ := Load(r2, 0)
	if ex2 != ex {
		t.Error("exchange created twice")
	}
	for k, want := range map[string]string{
		PlaceholderEndpoint: "chat", PlaceholderModel: "gpt-4o-mini", PlaceholderStream: "true",
		PlaceholderPromptTokens: "8", PlaceholderMaxOutput: "20", PlaceholderTokensExact: "true",
	} {
		if v, _ := repl.GetString(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
}

func TestLoadModels(t *testing.T) {
	r, repl := newRequest("GET", "/v1/models", "", "")
	ex, _, e := Load(r, 0)
	if e != nil || ex.Request != nil {
		t.Fatalf("models: %v %v", ex, e)
	}
	if v, _ := repl.GetString(PlaceholderEndpoint); v != "models" {
		t.Errorf("endpoint = %q", v)
	}
}

func TestLoadRefusals(t *testing.T) {
	big := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		anthropic                       bool
		want                            string
	}{
		{"unknown endpoint", "POST", "/v1/audio/speech", "application/json", `{}`, 404, false, "Unknown request URL"},
		{"wrong method", "GET", "/v1/chat/completions", "", "", 405, false, "use POST"},
		{"wrong method on models", "POST", "/v1/models", "application/json", "{}", 405, false, "use GET"},
		{"wrong content type", "POST", "/v1/chat/completions", "text/plain", `{}`, 415, false, "application/json"},
		{"multipart", "POST", "/v1/chat/completions", "multipart/form-data; boundary=x", `{}`, 415, false, "application/json"},
		{"empty body", "POST", "/v1/chat/completions", "application/json", ``, 400, false, "empty"},
		{"malformed JSON", "POST", "/v1/chat/completions", "application/json", `{"model":`, 400, false, "not valid JSON"},
		{"form-encoded non JSON", "POST", "/v1/chat/completions", "application/x-www-form-urlencoded", `a=b`, 400, false, "not valid JSON"},
		{"oversize", "POST", "/v1/chat/completions", "application/json", big, 413, false, "larger than"},
		{"anthropic shape", "POST", "/v1/messages", "application/json", `{"model":"claude"}`, 400, true, "messages"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, repl := newRequest(tc.method, tc.path, tc.ctype, tc.body)
			_, _, e := Load(r, 1024)
			if e == nil {
				t.Fatal("accepted")
			}
			rec := httptest.NewRecorder()
			if err := Fail(rec, r, e); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body not JSON: %q", rec.Body.String())
			}
			if _, isAnthropic := body["type"]; isAnthropic != tc.anthropic {
				t.Errorf("shape: %s", rec.Body.String())
			}
			if !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("body %s does not mention %q", rec.Body.String(), tc.want)
			}
			if code, _ := repl.GetString(PlaceholderErrorCode); code == "" {
				t.Error("error code placeholder not set")
			}
		})
	}
}

func TestBadRequestNamesParam(t *testing.T) {
	r, _ := newRequest("POST", "/v1/chat/completions", "", `{"model":"m","messages":[{"role":"user","content":7}]}`)
	_, _, e := Load(r, 0)
	if e == nil || e.Status != 400 || e.Param != "messages[0].content" {
		t.Fatalf("got %+v", e)
	}
}

func TestCompressedBodyRefused(t *testing.T) {
	r, _ := newRequest("POST", "/v1/chat/completions", "application/json", "x")
	r.Header.Set("Content-Encoding", "gzip")
	if _, _, e := Load(r, 0); e == nil || e.Status != 415 {
		t.Fatalf("got %+v", e)
	}
}

// TestCaddyBodyLimitIs413: a body cut off by Caddy's request_body max_size (a
// MaxBytesReader) is refused as too large, not as unreadable.
func TestCaddyBodyLimitIs413(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 200) + `"}]}`
	r, _ := newRequest("POST", "/v1/chat/completions", "application/json", body)
	r.ContentLength = -1
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 100)
	_, _, e := Load(r, 0)
	if e == nil || e.Status != http.StatusRequestEntityTooLarge || !strings.Contains(e.Message, "100 B") {
		t.Fatalf("got %+v", e)
	}
}
