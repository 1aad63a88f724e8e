package integration

import (
	"bytes"
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

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/redis/go-redis/v9"

	"github.com/llmguard/caddy-llmguard/llmguard/limit/limittest"
)

// sentinelGateway runs llm_audit, llm_auth, llm_sentinel (defaults but for extra) and
// llm_inspect in front of llm_mock, behind a trusted proxy (the test client) so each
// caller's address is its X-Forwarded-For. It returns the base URL and the log paths.
func sentinelGateway(t *testing.T, keys, extra string) (base, auditLog, securityLog string) {
	dir := t.TempDir()
	auditLog, securityLog = filepath.Join(dir, "audit.log"), filepath.Join(dir, "security.log")
	port := freePort(t)
	start(t, fmt.Sprintf(`{
	admin localhost:2999
	servers {
		trusted_proxies static 127.0.0.1/32
		client_ip_headers X-Forwarded-For
	}
	log audit {
		include http.handlers.llm_audit
		output file %s
		format json
	}
	log security {
		include llmguard.security
		output file %s
		format json
	}
}
http://localhost:%d {
	header >X-Risk-Level {http.llm.risk.level}
	llm_audit
	llm_auth {
		api_keys {
			file %s
		}
	}
	llm_sentinel {
		%s
	}
	llm_inspect
	llm_mock
}`, auditLog, securityLog, port, keys, extra))
	return fmt.Sprintf("http://localhost:%d", port), auditLog, securityLog
}

// chatFrom sends one chat completion with key from addr and returns the status, the
// error code of a refusal and the response header.
func chatFrom(t *testing.T, base, key, addr, prompt string) (int, string, http.Header) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": "gpt-4o-mini", "messages": []map[string]string{{"role": "user", "content": prompt}}})
	req, _ := http.NewRequest("POST", base+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &e)
	return resp.StatusCode, e.Error.Code, resp.Header
}

func sentinelAdmin(t *testing.T, method, actor string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, fmt.Sprintf("http://localhost:%d/llm_sentinel/actors/%s", caddytest.Default.AdminPort, actor), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %v", method, actor, resp.StatusCode, err)
	}
	return v
}

// TestSentinel: through a real Caddy, a scraper sending one template with a varying slot
// is quarantined (403 caller_quarantined with Retry-After) while an ordinary caller on
// the same gateway is never refused; the transition is one security event naming the
// identity and reasons, never prompt text; the audit record and the metrics carry the
// risk; the admin API shows and lifts the quarantine. A credential stuffer's address
// reaches high from llm_auth's refusals, and a valid key used from that address carries
// the evidence.
func TestSentinel(t *testing.T) {
	kf := &keyFile{t: t, path: filepath.Join(t.TempDir(), "keys.json")}
	alice := kf.add("alice", nil, nil)
	scraper := kf.add("scraper", nil, nil)
	kf.write()
	base, auditLog, securityLog := sentinelGateway(t, kf.path, "quarantine 10m")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(alice), option.WithMaxRetries(0),
		option.WithHeader("X-Forwarded-For", "203.0.113.7"))
	ordinary := []string{"Say hello", "Translate 'good morning' into German.", "What is a monad, briefly?",
		"Write a haiku about autumn leaves.", "Summarise the plot of Hamlet in two sentences.",
		"Give me three names for a bakery.", "How do I reverse a list in Python?", "Explain DNS to a child."}
	aliceTurn := func() {
		for _, p := range ordinary {
			if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(p)}}); err != nil {
				t.Fatalf("ordinary caller refused on %q: %v", p, err)
			}
		}
	}
	aliceTurn()

	quarantinedAt := 0
	var hdr http.Header
	for i := 1; i <= 600 && quarantinedAt == 0; i++ {
		status, code, h := chatFrom(t, base, scraper, "198.18.0.20", fmt.Sprintf("What is the capital of country number %d? Answer in one word.", i))
		switch {
		case status == http.StatusForbidden && code == "caller_quarantined":
			quarantinedAt, hdr = i, h
		case status != http.StatusOK:
			t.Fatalf("scraper request %d: %d %s", i, status, code)
		}
	}
	if quarantinedAt == 0 {
		t.Fatal("the scraper was never quarantined in 600 requests")
	}
	t.Logf("scraper quarantined at request %d", quarantinedAt)
	if ra := hdr.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("quarantine refusal without Retry-After: %v", hdr)
	}
	if status, code, _ := chatFrom(t, base, scraper, "198.18.0.20", "Hello?"); status != http.StatusForbidden || code != "caller_quarantined" {
		t.Errorf("quarantined scraper served: %d %s", status, code)
	}
	aliceTurn() // the ordinary caller is untouched

	v := sentinelAdmin(t, "GET", "scraper")
	if v["quarantined"] != true || v["level"] != "high" || v["actor"] != "id:scraper" {
		t.Errorf("admin view of the scraper: %v", v)
	}
	if v := sentinelAdmin(t, "GET", "alice"); v["level"] != "low" || v["quarantined"] != false {
		t.Errorf("admin view of alice: %v", v)
	}
	if v := sentinelAdmin(t, "DELETE", "id:scraper"); v["released"] != true || v["quarantined"] != false {
		t.Errorf("release: %v", v)
	}
	if status, code, _ := chatFrom(t, base, scraper, "198.18.0.20", "Thanks, one ordinary question now: what is 2+2?"); status != http.StatusOK {
		t.Errorf("released scraper refused: %d %s", status, code)
	}

	// Credential stuffing from one address: every key different, each refused by llm_auth.
	for i := range 80 {
		status, _, _ := chatFrom(t, base, fmt.Sprintf("sk-llmg-guess%06dabcdefabcdefabcdef", i), "198.18.9.9", "hello")
		if status != http.StatusUnauthorized && status != http.StatusTooManyRequests {
			t.Fatalf("stuffing attempt %d: %d", i, status)
		}
	}
	if v := sentinelAdmin(t, "GET", "198.18.9.9"); v["level"] != "high" {
		t.Errorf("stuffing address: %v", v)
	}
	if status, _, _ := chatFrom(t, base, alice, "198.18.9.10", "Say hello"); status != http.StatusOK {
		t.Errorf("alice from the stuffing address: %d", status)
	}

	events := waitLog(t, securityLog, `"caller-quarantined"`)
	var quarantine map[string]any
	for _, line := range strings.Split(strings.TrimSpace(events), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["event.action"] == "caller-quarantined" && e["user.id"] == "scraper" {
			quarantine = e
		}
	}
	if quarantine == nil || quarantine["event.code"] != "LLMG-4003" || quarantine["llmguard.risk.level"] != "high" {
		t.Fatalf("no caller-quarantined event for the scraper:\n%s", events)
	}
	if rs, _ := quarantine["llmguard.risk.reasons"].([]any); len(rs) == 0 {
		t.Errorf("quarantine event without reasons: %v", quarantine)
	}
	for _, leak := range []string{"capital", alice, scraper, "guess0000"} {
		if strings.Contains(events, leak) {
			t.Errorf("security log contains %q", leak)
		}
	}
	for _, want := range []string{`"caller-released"`, `"llmguard.risk.network":"198.18.9.0/24"`} {
		if !strings.Contains(events, want) {
			t.Errorf("security log lacks %s", want)
		}
	}

	audit := waitLog(t, auditLog, `"risk_level":"high"`)
	if !strings.Contains(audit, `"risk_reasons":["`) || !strings.Contains(audit, `"credential_stuffing"`) {
		t.Errorf("audit records lack risk reasons or the stuffing evidence on alice's request:\n%s", lastLines(audit, 3))
	}
	assertMetrics(t, `caddy_llmguard_risk_transitions_total{action="caller-quarantined"}`,
		`caddy_llmguard_quarantined_requests_total`, `caddy_llmguard_risk_assessments_total{level="low"}`,
		`caddy_llmguard_risk_reasons_total{reason="templated_prompts"}`)
}

// waitLog returns the log file's content once it contains want (Caddy writes logs
// asynchronously to files), failing after a generous deadline.
func waitLog(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if bytes.Contains(data, []byte(want)) || time.Now().After(deadline) {
			if !bytes.Contains(data, []byte(want)) {
				t.Fatalf("%s lacks %s:\n%s", filepath.Base(path), want, lastLines(string(data), 5))
			}
			return string(data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestSentinelReload: learned state survives a config reload (the memory store lives in
// Caddy's usage pool), and changed options apply at once: with quarantine turned off, a
// caller at high is served.
func TestSentinelReload(t *testing.T) {
	kf := &keyFile{t: t, path: filepath.Join(t.TempDir(), "keys.json")}
	bot := kf.add("reload-bot", nil, nil)
	kf.write()
	base, _, _ := sentinelGateway(t, kf.path, "quarantine 10m")
	for i := range 20 {
		if status, code, _ := chatFrom(t, base, bot, "198.18.1.1", fmt.Sprintf("List %d facts about the number %d.", i, i)); status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, status, code)
		}
	}
	before := sentinelAdmin(t, "GET", "reload-bot")["requests"]
	if before != float64(20) {
		t.Fatalf("requests before the reload: %v", before)
	}
	base, _, _ = sentinelGateway(t, kf.path, "quarantine off")
	if got := sentinelAdmin(t, "GET", "reload-bot")["requests"]; got != before {
		t.Fatalf("the reload lost the learned state: %v requests, had %v", got, before)
	}
	high := false
	for i := 20; i < 600 && !high; i++ {
		status, code, h := chatFrom(t, base, bot, "198.18.1.1", fmt.Sprintf("List %d facts about the number %d.", i, i))
		if status != http.StatusOK {
			t.Fatalf("request %d with quarantine off: %d %s", i, status, code)
		}
		high = h.Get("X-Risk-Level") == "high"
	}
	if !high {
		t.Fatal("the templated caller never reached high")
	}
}

// TestSentinelExample runs examples/sentinel: an ordinary client (the official SDK) and a
// scraping client on one gateway. The scraper's limit shrinks once it is elevated (the
// example's `risk elevated 12`) and it is quarantined at high; the ordinary client is
// never refused.
func TestSentinelExample(t *testing.T) {
	kf := &keyFile{t: t, path: filepath.Join(t.TempDir(), "keys.json")}
	alice := kf.add("alice", nil, nil)
	bot := kf.add("bot", nil, nil)
	kf.write()
	t.Setenv("LLMG_KEY_FILE", kf.path)
	t.Setenv("LLMG_SECURITY_LOG", filepath.Join(t.TempDir(), "security.log"))
	cfg, ports := example(t, "sentinel", 8080, 8081)
	start(t, cfg)
	base := fmt.Sprintf("http://localhost:%d", ports[8080])

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(alice), option.WithMaxRetries(0))
	ordinary := func() {
		for _, p := range []string{"Say hello", "Write a limerick about a cat.", "What does HTTP 418 mean?", "Sag hallo"} {
			var resp *http.Response
			if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(p)}}, option.WithResponseInto(&resp)); err != nil {
				t.Fatalf("ordinary client refused on %q: %v", p, err)
			}
			if got := resp.Header.Get("X-Ratelimit-Limit-Requests"); got != "120" {
				t.Errorf("ordinary client's limit %q, want 120", got)
			}
		}
	}
	ordinary()
	tightened, quarantined := false, false
	for i := 1; i <= 600 && !quarantined; i++ {
		status, code, h := chatFrom(t, base, bot, "127.0.0.1", fmt.Sprintf("Translate the word number %d into French.", i))
		switch {
		case status == http.StatusForbidden && code == "caller_quarantined":
			quarantined = true
		case h.Get("X-Ratelimit-Limit-Requests") == "12":
			tightened = true
		case status != http.StatusOK:
			t.Fatalf("scraper request %d: %d %s", i, status, code)
		}
	}
	if !tightened || !quarantined {
		t.Fatalf("scraper: limit tightened %v, quarantined %v", tightened, quarantined)
	}
	ordinary()
}

// TestSentinelRedis: with `store redis`, the caller's state lives in Redis under the
// rate limiter's prefix (one hash-tagged key per caller), so a quarantine holds across a
// config reload that drops the in-process state, and the admin API lifts it there.
func TestSentinelRedis(t *testing.T) {
	srv := limittest.StartRedis(t)
	kf := &keyFile{t: t, path: filepath.Join(t.TempDir(), "keys.json")}
	bot := kf.add("redis-bot", nil, nil)
	kf.write()
	store := fmt.Sprintf("store redis {\n\t\t\taddress %s\n\t\t\tprefix sim:\n\t\t}", srv.Addr)
	base, _, _ := sentinelGateway(t, kf.path, store)
	quarantined := false
	for i := 0; i < 600 && !quarantined; i++ {
		status, code, _ := chatFrom(t, base, bot, "198.18.3.3", fmt.Sprintf("Give the plural of noun number %d.", i))
		quarantined = status == http.StatusForbidden && code == "caller_quarantined"
	}
	if !quarantined {
		t.Fatal("never quarantined")
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	if n, err := c.Exists(context.Background(), "sim:sentinel:{id:redis-bot}").Result(); err != nil || n != 1 {
		t.Fatalf("state key in redis: %d %v", n, err)
	}
	// A new config with another site address: the quarantine comes from Redis.
	base, _, _ = sentinelGateway(t, kf.path, store+"\n\t\tforget 2h")
	if status, code, _ := chatFrom(t, base, bot, "198.18.3.3", "hello"); status != http.StatusForbidden || code != "caller_quarantined" {
		t.Fatalf("after reload: %d %s", status, code)
	}
	sentinelAdmin(t, "DELETE", "redis-bot")
	if status, code, _ := chatFrom(t, base, bot, "198.18.3.3", "hello again"); status != http.StatusOK {
		t.Fatalf("after release: %d %s", status, code)
	}
}
