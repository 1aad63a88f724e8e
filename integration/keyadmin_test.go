package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmguard/caddy-llmguard/modules/llmauth"
)

// adminCall sends one request to the running Caddy's admin endpoint and decodes the JSON
// answer into out (when non-nil).
func adminCall(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	return adminAt(t, caddytest.Default.AdminPort, method, path, body, out)
}

// TestKeyAdminAPI runs examples/admin/Caddyfile and drives admin.api.llm_keys on the real
// admin endpoint: a created key works at once on the gateway, a revoked one is refused at
// once (no waiting for the file poll), a rotation with grace keeps the old secret, and
// concurrent creates through HTTP all land.
func TestKeyAdminAPI(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(keys, []byte("[]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LLMG_KEY_FILE", keys)
	t.Setenv("LLMG_SECURITY_LOG", filepath.Join(dir, "security.log"))
	cfg, ports := example(t, "admin", 8080, 8081)
	// The poll is slowed right down so that only the admin API's own reload can explain a
	// change taking effect at once.
	cfg = strings.Replace(cfg, "file {$LLMG_KEY_FILE:keys.json}", "file {$LLMG_KEY_FILE:keys.json}\n\t\t\tpoll_interval 1h", 1)
	// A long window drains a request's charge over hours, so the usage check below does
	// not depend on how fast this machine runs the test.
	cfg = strings.Replace(cfg, "requests 60 1m", "requests 1000 24h", 1)
	start(t, cfg)
	base := fmt.Sprintf("http://localhost:%d/v1/", ports[8080])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	chat := func(key string) error {
		c := openai.NewClient(option.WithBaseURL(base), option.WithAPIKey(key), option.WithMaxRetries(0))
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		return err
	}

	var created struct {
		Key    string `json:"key"`
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if code := adminCall(t, "POST", "/llm_keys", `{"id":"alice","tier":"free","metadata":{"team":"a"}}`, &created); code != 201 || created.ID != "alice" || created.Status != "active" {
		t.Fatalf("create: %d %+v", code, created)
	}
	if err := chat(created.Key); err != nil {
		t.Fatalf("a created key is refused: %v", err)
	}

	t.Run("list and show never carry hashes or secrets", func(t *testing.T) {
		var raw json.RawMessage
		if code := adminCall(t, "GET", "/llm_keys", "", &raw); code != 200 || !strings.Contains(string(raw), `"alice"`) {
			t.Fatalf("list: %d %s", code, raw)
		}
		data, _ := os.ReadFile(keys)
		var file []map[string]any
		json.Unmarshal(data, &file)
		hash, _ := file[0]["hash"].(string)
		for _, path := range []string{"/llm_keys", "/llm_keys/alice"} {
			var got json.RawMessage
			adminCall(t, "GET", path, "", &got)
			if hash == "" || strings.Contains(string(got), hash) || strings.Contains(string(got), created.Key) || strings.Contains(string(got), "sha256:") {
				t.Fatalf("%s shows a hash or secret: %s", path, got)
			}
		}
	})
	t.Run("errors are JSON with the right status", func(t *testing.T) {
		for _, c := range []struct {
			method, path, body string
			status             int
		}{
			{"POST", "/llm_keys", `{"id":"alice"}`, 409},
			{"POST", "/llm_keys", `{"id":"bob","hash":"sha256:00"}`, 400},
			{"POST", "/llm_keys", `{"id":`, 400},
			{"GET", "/llm_keys/nobody", "", 404},
			{"GET", "/llm_keys/a%20b", "", 400},
			{"PATCH", "/llm_keys/alice", `{"id":"x"}`, 400},
			{"PUT", "/llm_keys/alice", `{}`, 405},
			{"POST", "/llm_keys/alice/explode", `{}`, 404},
			{"POST", "/llm_keys/alice/rotate", `{"grace":"-1h"}`, 400},
			{"GET", "/llm_keys?file=/etc/passwd", "", 404},
			{"POST", "/llm_keys", `{"id":"net","allowed_networks":["10.0.0.0/33"]}`, 400},
			{"POST", "/llm_keys", `{"id":"geo","allowed_countries":["XYZ"]}`, 400},
			{"PATCH", "/llm_keys/alice", `{"allowed_networks":"10.0.0.0/8"}`, 400},
			{"PATCH", "/llm_keys/alice", `{"allowed_countries":["Germany"]}`, 400},
			{"PATCH", "/llm_keys/alice", `{"disabled":false,"Disabled":true}`, 400},
		} {
			var e struct {
				Error string `json:"error"`
			}
			if code := adminCall(t, c.method, c.path, c.body, &e); code != c.status || e.Error == "" {
				t.Errorf("%s %s %s: %d %q, want %d with a message", c.method, c.path, c.body, code, e.Error, c.status)
			}
		}
		// A body without Content-Type: application/json (what an HTML form can send
		// cross-site) is refused.
		resp, err := http.Post(fmt.Sprintf("http://localhost:%d/llm_keys", caddytest.Default.AdminPort), "text/plain", strings.NewReader(`{"id":"csrf"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 415 {
			t.Errorf("text/plain create: %d", resp.StatusCode)
		}
	})
	t.Run("update applies at once", func(t *testing.T) {
		var v struct {
			Tier   string   `json:"tier"`
			Models []string `json:"models"`
		}
		if code := adminCall(t, "PATCH", "/llm_keys/alice", `{"models":["gpt-4o"]}`, &v); code != 200 || v.Tier != "free" || v.Models[0] != "gpt-4o" {
			t.Fatalf("patch: %d %+v", code, v)
		}
		if err := chat(created.Key); statusOf(err) != 403 {
			t.Fatalf("model narrowed by PATCH still allowed: %v", err)
		}
		adminCall(t, "PATCH", "/llm_keys/alice", `{"models":null}`, nil)
		if err := chat(created.Key); err != nil {
			t.Fatalf("after widening again: %v", err)
		}
	})
	t.Run("network and country limits are shown and set", func(t *testing.T) {
		type limits struct {
			Networks  []string `json:"allowed_networks"`
			Countries []string `json:"allowed_countries"`
		}
		var v limits
		// The test client calls from 127.0.0.1: a key limited to another network is
		// refused with 403, then admitted once its own address is allowed.
		if code := adminCall(t, "PATCH", "/llm_keys/alice", `{"allowed_networks":["192.0.2.0/24"]}`, &v); code != 200 || len(v.Networks) != 1 {
			t.Fatalf("patch: %d %+v", code, v)
		}
		if err := chat(created.Key); statusOf(err) != 403 {
			t.Fatalf("a key limited to 192.0.2.0/24 works from 127.0.0.1: %v", err)
		}
		adminCall(t, "PATCH", "/llm_keys/alice", `{"allowed_networks":["127.0.0.1","::1"]}`, nil)
		if err := chat(created.Key); err != nil {
			t.Fatalf("from an allowed network: %v", err)
		}
		if code := adminCall(t, "GET", "/llm_keys/alice", "", &v); code != 200 || len(v.Networks) != 2 || v.Networks[0] != "127.0.0.1" {
			t.Fatalf("show: %d %+v", code, v)
		}
		adminCall(t, "PATCH", "/llm_keys/alice", `{"allowed_networks":null}`, nil)
		var geo struct {
			Key string `json:"key"`
			limits
		}
		if code := adminCall(t, "POST", "/llm_keys", `{"id":"geo-de","allowed_countries":["DE"]}`, &geo); code != 201 || geo.Countries[0] != "DE" {
			t.Fatalf("create with countries: %d %+v", code, geo)
		}
		// This route has no llm_geo, so the country is unknown and the key is refused.
		if err := chat(geo.Key); statusOf(err) != 403 {
			t.Fatalf("a key limited to DE works from an unknown country: %v", err)
		}
		adminCall(t, "DELETE", "/llm_keys/geo-de", "", nil)
	})
	t.Run("rotate with grace", func(t *testing.T) {
		var rot struct {
			Key   string     `json:"key"`
			Until *time.Time `json:"previous_valid_until"`
		}
		if code := adminCall(t, "POST", "/llm_keys/alice/rotate", `{"grace":"1h"}`, &rot); code != 200 || rot.Key == created.Key || rot.Until == nil {
			t.Fatalf("rotate: %d %+v", code, rot)
		}
		for _, k := range []string{created.Key, rot.Key} {
			if err := chat(k); err != nil {
				t.Fatalf("within grace: %v", err)
			}
		}
		if code := adminCall(t, "POST", "/llm_keys/alice/rotate", `{}`, &rot); code != 200 {
			t.Fatalf("rotate without grace: %d", code)
		}
		if err := chat(rot.Key); err != nil {
			t.Fatalf("newest secret: %v", err)
		}
		created.Key = rot.Key
	})
	t.Run("concurrent creates all land", func(t *testing.T) {
		var wg sync.WaitGroup
		const n = 16
		codes := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = adminCall(t, "POST", "/llm_keys", fmt.Sprintf(`{"id":"c%d"}`, i), nil)
			}()
		}
		wg.Wait()
		var list struct {
			Keys []struct{ ID string } `json:"keys"`
		}
		adminCall(t, "GET", "/llm_keys", "", &list)
		if len(list.Keys) != n+2 { // alice, geo-de and the n new ones
			t.Fatalf("%d keys after %d concurrent creates (codes %v)", len(list.Keys), n, codes)
		}
	})
	t.Run("usage of a key from llm_rate_limit", func(t *testing.T) {
		var u struct {
			Usage []struct {
				Rule string  `json:"rule"`
				Used float64 `json:"used"`
			} `json:"usage"`
		}
		// alice has made 5 accepted requests so far (after create, after widening, 2 in
		// the grace period, 1 after the second rotation); they drain at 1000 a day.
		if code := adminCall(t, "GET", "/llm_rate_limit/usage?key=alice", "", &u); code != 200 || len(u.Usage) != 1 || u.Usage[0].Used < 4 {
			t.Fatalf("usage: %d %+v", code, u)
		}
		// Reset: the counters of alice are empty afterwards.
		var rs struct{ Reset []string }
		if code := adminCall(t, "DELETE", "/llm_rate_limit/usage?key=alice", "", &rs); code != 200 || len(rs.Reset) != 1 {
			t.Fatalf("reset: %d %+v", code, rs)
		}
		adminCall(t, "GET", "/llm_rate_limit/usage?key=alice", "", &u)
		if u.Usage[0].Used != 0 {
			t.Fatalf("usage after reset: %+v", u)
		}
	})
	t.Run("CLI against the admin endpoint", func(t *testing.T) {
		addr := fmt.Sprintf("localhost:%d", caddytest.Default.AdminPort)
		run := func(args ...string) string {
			t.Helper()
			var out strings.Builder
			c := llmauth.KeyCommand()
			c.SetArgs(append(args, "--address", addr))
			c.SetOut(&out)
			c.SetErr(io.Discard)
			if err := c.Execute(); err != nil {
				t.Fatalf("key %v: %v", args, err)
			}
			return out.String()
		}
		if list := run("list"); !strings.Contains(list, "alice") || !strings.Contains(list, "c15") || strings.Contains(list, "sha256:") {
			t.Fatalf("key list:\n%s", list)
		}
		made := strings.TrimSpace(run("new", "--id", "cli-made", "--tier", "free"))
		if err := chat(made); err != nil {
			t.Fatalf("a key created by the CLI through the admin API: %v", err)
		}
		key := strings.TrimSpace(run("rotate", "c1"))
		if err := chat(key); err != nil {
			t.Fatalf("a key rotated by the CLI: %v", err)
		}
		run("revoke", "c1")
		if err := chat(key); statusOf(err) != 401 {
			t.Fatalf("a key revoked by the CLI: %v", err)
		}
	})
	t.Run("revoke is refused at once", func(t *testing.T) {
		var v struct{ Status string }
		if code := adminCall(t, "DELETE", "/llm_keys/alice", "", &v); code != 200 || v.Status != "revoked" {
			t.Fatalf("revoke: %d %+v", code, v)
		}
		if err := chat(created.Key); statusOf(err) != 401 {
			t.Fatalf("revoked key: %v", err)
		}
		if code := adminCall(t, "POST", "/llm_keys/alice/rotate", `{}`, nil); code != 409 {
			t.Fatalf("rotate of a revoked key: %d", code)
		}
	})
	t.Run("admin actions and throttling are security events without secrets", func(t *testing.T) {
		// Wrong keys until llm_auth's failure throttle (burst 10) answers 429.
		refused := 0
		for range 100 {
			if statusOf(chat("sk-llmg-wrong")) == 429 {
				break
			}
			refused++
		}
		data, err := os.ReadFile(filepath.Join(dir, "security.log"))
		if err != nil {
			t.Fatal(err)
		}
		log := string(data)
		for _, want := range []string{`"event.code":"LLMG-1001"`, `"event.code":"LLMG-1004"`, `"llmguard.key.id":"alice"`,
			`"event.category":["iam"]`, `"ecs.version":"8.11"`, `"event.code":"LLMG-2001"`} {
			if !strings.Contains(log, want) {
				t.Fatalf("security log lacks %s:\n%s", want, log)
			}
		}
		// The failure that engaged the throttle is reported, the 429s are not; on a slow
		// machine the bucket may refill and engage again, hence a bound, not an exact count.
		if n := strings.Count(log, "LLMG-2001"); n < 1 || n > refused {
			t.Fatalf("%d throttle events for %d refused keys", n, refused)
		}
		if strings.Contains(log, "sk-llmg-") || strings.Contains(log, "sha256:") {
			t.Fatal("the admin log holds a secret or hash")
		}
	})
}
