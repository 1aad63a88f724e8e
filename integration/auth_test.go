package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

// startOIDCProvider runs the real npm oidc-provider (integration/oidc) on port with the
// given issuer and stops it at the end of the test. It fails, never skips, when node or
// the package is missing: .ci/run installs them.
func startOIDCProvider(t *testing.T, port int) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required for the OIDC integration test (install Node.js ≥ 20)")
	}
	dir, _ := filepath.Abs("oidc")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		t.Fatal("oidc-provider is not installed: run (cd integration/oidc && npm ci --no-audit --no-fund), as .ci/run does")
	}
	issuer := fmt.Sprintf("http://localhost:%d", port)
	cmd := exec.Command(node, "provider.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprint("PORT=", port), "ISSUER="+issuer)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") {
				ready <- true
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("oidc-provider exited before it was ready")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("oidc-provider did not start within 20s")
	}
	return issuer
}

// clientCredentialsToken asks the provider for an access token (RFC 6749 §4.4) for the
// gateway's resource (RFC 8707).
func clientCredentialsToken(t *testing.T, issuer, client, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "resource": {"urn:llm-gateway"}}
	req, _ := http.NewRequest("POST", issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, client+"-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != 200 || !auth.LooksLikeJWT(tok.AccessToken) {
		t.Fatalf("token endpoint: %d %s", resp.StatusCode, tok.Error)
	}
	return tok.AccessToken
}

type keyFile struct {
	t       *testing.T
	path    string
	entries []*auth.Entry
}

func (k *keyFile) add(id string, roles, models []string) string {
	key, err := auth.NewKey(nil)
	if err != nil {
		k.t.Fatal(err)
	}
	k.entries = append(k.entries, &auth.Entry{ID: id, Hash: auth.HashKey(key), Attributes: auth.Attributes{Roles: roles, Models: models}})
	return key
}

// write replaces the file atomically, as an admin's tooling should.
func (k *keyFile) write() {
	b, _ := json.MarshalIndent(k.entries, "", "  ")
	if err := os.WriteFile(k.path+".tmp", b, 0o600); err != nil {
		k.t.Fatal(err)
	}
	if err := os.Rename(k.path+".tmp", k.path); err != nil {
		k.t.Fatal(err)
	}
}

// openAIMessage is the error message the OpenAI SDK parsed from the gateway's body.
func openAIMessage(err error) string {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.Code + ": " + oe.Message
	}
	return ""
}

func statusOf(err error) int {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.StatusCode
	}
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// TestAuthExample runs examples/auth/Caddyfile (API keys from a hot-reloaded key file, JWTs
// from a real oidc-provider, roles, an ABAC rule) and drives it with the official SDKs.
func TestAuthExample(t *testing.T) {
	kf := &keyFile{t: t, path: filepath.Join(t.TempDir(), "keys.json")}
	dev := kf.add("dev-1", []string{"developer"}, nil)
	svc := kf.add("svc-1", []string{"service"}, []string{"text-embedding-3-small", "gpt-4o-mini"})
	doomed := kf.add("doomed", []string{"developer"}, nil)
	kf.write()
	t.Setenv("LLMG_KEY_FILE", kf.path)
	t.Setenv("OPENAI_API_KEY", "sk-upstream-not-a-client-key")

	cfg, ports := example(t, "auth", 8080, 8081, 8082)
	issuer := startOIDCProvider(t, ports[8082])
	start(t, cfg)
	base := fmt.Sprintf("http://localhost:%d", ports[8080])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	oai := func(key string) openai.Client {
		return openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	}
	chat := func(model string, _ bool) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	}

	t.Run("bearer key, shared pool", func(t *testing.T) {
		var resp *http.Response
		c := oai(dev)
		if _, err := c.Chat.Completions.New(ctx, chat("gpt-4o-mini", false), option.WithResponseInto(&resp)); err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("X-LLM-Pool") != "shared" {
			t.Fatalf("pool %q", resp.Header.Get("X-LLM-Pool"))
		}
	})
	t.Run("x-api-key via the Anthropic SDK", func(t *testing.T) {
		ant := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey(dev), aoption.WithMaxRetries(0))
		m, err := ant.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
		if err != nil || len(m.Content) == 0 {
			t.Fatalf("%v %+v", err, m)
		}
	})
	t.Run("403 for the endpoint", func(t *testing.T) {
		ant := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey(svc), aoption.WithMaxRetries(0))
		_, err := ant.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
		if statusOf(err) != 403 || !strings.Contains(err.Error(), "messages endpoint") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("403 for the model", func(t *testing.T) {
		c := oai(dev)
		_, err := c.Chat.Completions.New(ctx, chat("gpt-4o", false))
		if statusOf(err) != 403 || openAIMessage(err) != "model_not_allowed: Your credentials do not allow the model 'gpt-4o'." {
			t.Fatalf("%v", err)
		}
	})
	t.Run("models list filtered", func(t *testing.T) {
		c := oai(svc)
		page, err := c.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if strings.Join(ids, ",") != "gpt-4o-mini,text-embedding-3-small" {
			t.Fatalf("models %v", ids)
		}
		e, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "text-embedding-3-small",
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")}})
		if err != nil || len(e.Data) != 1 {
			t.Fatalf("embeddings: %v", err)
		}
	})
	t.Run("ABAC: free tier may not stream", func(t *testing.T) {
		c := oai(dev)
		s := c.Chat.Completions.NewStreaming(ctx, chat("gpt-4o-mini", true))
		for s.Next() {
		}
		if err := s.Err(); statusOf(err) != 403 || !strings.HasPrefix(openAIMessage(err), "tier_not_allowed: ") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("401 without and with a wrong key", func(t *testing.T) {
		resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"gpt-4o-mini","messages":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		wrong, _ := auth.NewKey(nil)
		c := oai(wrong)
		if _, err := c.Chat.Completions.New(ctx, chat("gpt-4o-mini", false)); statusOf(err) != 401 {
			t.Fatalf("%v", err)
		}
	})
	t.Run("key file: revocation and a new key within a second", func(t *testing.T) {
		c := oai(doomed)
		if _, err := c.Chat.Completions.New(ctx, chat("gpt-4o-mini", false)); err != nil {
			t.Fatal(err)
		}
		kf.entries[2].Disabled = true
		fresh := kf.add("fresh", []string{"developer"}, nil)
		kf.write()
		changed := time.Now()
		time.Sleep(900 * time.Millisecond) // the key file is polled every 500ms
		if _, err := c.Chat.Completions.New(ctx, chat("gpt-4o-mini", false)); statusOf(err) != 401 {
			t.Fatalf("revoked key after %v: %v", time.Since(changed), err)
		}
		f := oai(fresh)
		if _, err := f.Chat.Completions.New(ctx, chat("gpt-4o-mini", false)); err != nil {
			t.Fatalf("new key after %v: %v", time.Since(changed), err)
		}
	})
	t.Run("OIDC client credentials", func(t *testing.T) {
		premium := clientCredentialsToken(t, issuer, "svc-premium", "llm:chat llm:models")
		var resp *http.Response
		c := oai(premium)
		if _, err := c.Chat.Completions.New(ctx, chat("gpt-4o", false), option.WithResponseInto(&resp)); err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("X-LLM-Pool") != "premium" {
			t.Fatalf("premium token routed to %q", resp.Header.Get("X-LLM-Pool"))
		}
		// llm:chat scope only: embeddings are refused although the role allows them.
		if _, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "text-embedding-3-small",
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}}); statusOf(err) != 403 {
			t.Fatalf("scope: %v", err)
		}
		standard := clientCredentialsToken(t, issuer, "svc-standard", "llm:chat")
		s := oai(standard)
		if _, err := s.Chat.Completions.New(ctx, chat("gpt-4o", false)); statusOf(err) != 403 {
			t.Fatalf("service role with gpt-4o: %v", err)
		}
		if _, err := s.Chat.Completions.New(ctx, chat("gpt-4o-mini", false)); err != nil {
			t.Fatal(err)
		}
		// A tampered token (payload changed, signature kept) is refused.
		parts := strings.Split(premium, ".")
		bad := parts[0] + "." + parts[1][:len(parts[1])-2] + "AA." + parts[2]
		b := oai(bad)
		if _, err := b.Chat.Completions.New(ctx, chat("gpt-4o", false)); statusOf(err) != 401 {
			t.Fatalf("tampered token: %v", err)
		}
	})
	// Last, because it throttles this test's own address.
	t.Run("brute force throttled", func(t *testing.T) {
		var last *http.Response
		for range 12 {
			k, _ := auth.NewKey(nil)
			req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","messages":[]}`))
			req.Header.Set("Authorization", "Bearer "+k)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			last = resp
		}
		if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
			t.Fatalf("after 12 bad keys: %d", last.StatusCode)
		}
	})
}
