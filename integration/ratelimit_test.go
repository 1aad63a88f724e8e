package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/limit/limittest"
)

// post sends a chat completion and returns status, headers and the decoded body.
func post(t *testing.T, url, body string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

func chatBody(model string, maxTokens int) string {
	return fmt.Sprintf(`{"model":%q,"max_tokens":%d,"messages":[{"role":"user","content":"Count to ten."}]}`, model, maxTokens)
}

func totalTokens(m map[string]any) int64 {
	u, _ := m["usage"].(map[string]any)
	f, _ := u["total_tokens"].(float64)
	return int64(f)
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestRateLimitConcurrencyProof fires 200 concurrent requests (half of them streams)
// at a small tokens-per-minute limit and checks that the tokens admitted never exceed what
// the limit allows: L + L·elapsed/window (the bucket's refill during the test), with a
// settle tolerance of 0 tokens — every request sets max_tokens and the mock's usage equals
// the gateway's count, so no settlement can exceed its reservation.
func TestRateLimitConcurrencyProof(t *testing.T) {
	gw, up := freePort(t), freePort(t)
	const limitTokens = 3000
	start(t, fmt.Sprintf(`{
	admin localhost:%d
}
http://localhost:%d {
	llm_rate_limit {
		key global
		rule proof-tpm {
			tokens %d 1m
		}
	}
	reverse_proxy localhost:%d
}
http://localhost:%d {
	llm_mock {
		chunk_delay 1ms
	}
}`, caddytest.Default.AdminPort, gw, limitTokens, up, up))
	base := fmt.Sprintf("http://localhost:%d", gw)
	begin := time.Now()
	var mu sync.Mutex
	var admitted, refused int64
	var admittedTokens int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := chatBody("gpt-4o-mini", 20)
			if i%2 == 1 {
				body = strings.Replace(body, `"max_tokens"`, `"stream":true,"stream_options":{"include_usage":true},"max_tokens"`, 1)
			}
			req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			switch resp.StatusCode {
			case 200:
				admitted++
				admittedTokens += usageOf(t, b, i%2 == 1)
			case 429:
				refused++
				if !strings.Contains(string(b), `"code":"rate_limit_exceeded"`) || resp.Header.Get("retry-after-ms") == "" {
					t.Errorf("bad 429: %s %v", b, resp.Header)
				}
			default:
				t.Errorf("status %d: %s", resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	allowed := float64(limitTokens) * (1 + elapsed.Seconds()/60)
	t.Logf("admitted %d requests (%d tokens), refused %d, in %v; allowed %.0f", admitted, admittedTokens, refused, elapsed, allowed)
	if float64(admittedTokens) > allowed {
		t.Fatalf("admitted %d tokens, more than the %.0f the limit allows", admittedTokens, allowed)
	}
	// And the limiter is not trivially refusing: it filled the limit to within one request.
	if admittedTokens < limitTokens-40 || refused == 0 {
		t.Fatalf("admitted only %d tokens of %d (refused %d)", admittedTokens, limitTokens, refused)
	}
}

// usageOf reads the total tokens of a JSON body or of a stream's usage chunk.
func usageOf(t *testing.T, b []byte, stream bool) int64 {
	if !stream {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return totalTokens(m)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(d, `"usage":{`) {
			var m map[string]any
			_ = json.Unmarshal([]byte(d), &m)
			return totalTokens(m)
		}
	}
	t.Errorf("stream without usage: %s", b)
	return 0
}

// TestRateLimitReload: counters survive a config reload that keeps the rule, and a new
// limit applies to the existing count.
func TestRateLimitReload(t *testing.T) {
	gw, up := freePort(t), freePort(t)
	cfg := func(limit int, extra string) string {
		return fmt.Sprintf(`{
	admin localhost:%d
}
http://localhost:%d {
	llm_rate_limit {
		rule reload-rpm {
			requests %d 1h
		}
		%s
	}
	reverse_proxy localhost:%d
}
http://localhost:%d {
	llm_mock
}`, caddytest.Default.AdminPort, gw, limit, extra, up, up)
	}
	base := fmt.Sprintf("http://localhost:%d", gw)
	start(t, cfg(3, ""))
	for range 2 {
		if st, _, m := post(t, base, chatBody("gpt-4o-mini", 5)); st != 200 {
			t.Fatal(st, m)
		}
	}
	// Reload with an extra rule: reload-rpm keeps its two requests.
	start(t, cfg(3, "rule reload-tpm {\n tokens 100000 1m\n }"))
	if st, h, _ := post(t, base, chatBody("gpt-4o-mini", 5)); st != 200 || h.Get("x-ratelimit-remaining-requests") != "0" {
		t.Fatalf("after reload: %d remaining %q (want 0: the count survived)", st, h.Get("x-ratelimit-remaining-requests"))
	}
	if st, _, _ := post(t, base, chatBody("gpt-4o-mini", 5)); st != 429 {
		t.Fatalf("4th request of 3: %d", st)
	}
	// Raising the limit applies at once to the existing count.
	start(t, cfg(5, ""))
	if st, h, _ := post(t, base, chatBody("gpt-4o-mini", 5)); st != 200 || h.Get("x-ratelimit-remaining-requests") != "1" {
		t.Fatalf("after raising the limit: %d remaining %q", st, h.Get("x-ratelimit-remaining-requests"))
	}
}

// TestRateLimitCutThroughProxy: on_exceed cut ends a proxied stream with an SSE error
// event the OpenAI SDK raises, and the response still ends cleanly.
func TestRateLimitCutThroughProxy(t *testing.T) {
	gw, up := freePort(t), freePort(t)
	start(t, fmt.Sprintf(`{
	admin localhost:%d
}
http://localhost:%d {
	llm_rate_limit {
		default_output_tokens 8
		on_exceed cut
		rule cut-budget {
			token_budget 40 day output
		}
	}
	reverse_proxy localhost:%d
}
http://localhost:%d {
	llm_mock
}`, caddytest.Default.AdminPort, gw, up, up))
	c := openai.NewClient(option.WithBaseURL(fmt.Sprintf("http://localhost:%d/v1/", gw)), option.WithAPIKey("x"), option.WithMaxRetries(0))
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}},
		option.WithHeader("X-Mock-Reply", strings.Repeat("lorem ipsum dolor sit amet ", 20)))
	chunks := 0
	for stream.Next() {
		chunks++
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "used up your budget 'cut-budget'") || chunks == 0 {
		t.Fatalf("after %d chunks: %v", chunks, err)
	}
}

// TestRateLimitExample runs examples/rate-limits (tiers, per-model TPM, a monthly money
// budget, Redis) with a real redis-server and the official OpenAI SDK.
func TestRateLimitExample(t *testing.T) {
	redis := limittest.StartRedis(t)
	keys := filepath.Join(t.TempDir(), "keys.json")
	mk := func() string {
		k, err := auth.NewKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	free, pro := mk(), mk()
	entries := []auth.Entry{{ID: "free-1", Hash: auth.HashKey(free), Attributes: auth.Attributes{Tier: "free"}}, {ID: "pro-1", Hash: auth.HashKey(pro), Attributes: auth.Attributes{Tier: "pro"}}}
	b, _ := json.Marshal(entries)
	if err := os.WriteFile(keys, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LLMG_KEY_FILE", keys)
	t.Setenv("REDIS_ADDR", redis.Addr)
	cfg, ports := example(t, "rate-limits", 8080, 8081)
	start(t, cfg)
	base := fmt.Sprintf("http://localhost:%d", ports[8080])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := func(key string) openai.Client {
		return openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	}
	params := func(model string, maxTokens int64) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: model, MaxTokens: openai.Int(maxTokens),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	}

	// Times of pro-1's first and last admitted requests, for the admin API's usage figure
	// (which drains as time passes).
	var proFirst, proLast time.Time
	t.Run("headers on success", func(t *testing.T) {
		var resp *http.Response
		c := client(pro)
		proFirst = time.Now()
		if _, err := c.Chat.Completions.New(ctx, params("gpt-4o-mini", 10), option.WithResponseInto(&resp)); err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("x-ratelimit-limit-requests") != "600" || resp.Header.Get("x-ratelimit-limit-tokens") != "200000" ||
			!strings.Contains(resp.Header.Get("RateLimit-Policy"), `"monthly-spend";q=2500;w=2592000;qu="usd-cents"`) {
			t.Fatalf("headers %v", resp.Header)
		}
	})
	t.Run("per-model tokens per minute", func(t *testing.T) {
		c := client(pro)
		// Pro: 200000 TPM for every model but gpt-4o, whose model limit is 10000. The
		// mock echoes a 3000-word prompt, so each call really uses ~6000 tokens and
		// settlement keeps them charged.
		long := openai.ChatCompletionNewParams{Model: "gpt-4o", MaxTokens: openai.Int(3000),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(strings.Repeat(" word", 3000))}}
		echo := option.WithHeader("X-Mock-Mode", "echo")
		if _, err := c.Chat.Completions.New(ctx, long, echo); err != nil {
			t.Fatal(err)
		}
		_, err := c.Chat.Completions.New(ctx, long, echo)
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.StatusCode != 429 || oe.Code != "rate_limit_exceeded" {
			t.Fatalf("second gpt-4o call: %v", err)
		}
		ms, _ := strconv.Atoi(oe.Response.Header.Get("retry-after-ms"))
		if ms < 8_000 || ms > 16_000 {
			t.Fatalf("retry-after-ms %d: ~2000 tokens over at 10000/min is ~12s", ms)
		}
		long.Model = "gpt-4o-mini"
		proLast = time.Now()
		if _, err := c.Chat.Completions.New(ctx, long, echo); err != nil {
			t.Fatalf("other model shares the gpt-4o counter: %v", err)
		}
	})
	t.Run("money budget", func(t *testing.T) {
		// Free tier: $1 a month. gpt-4o output is $10 per 1M tokens: 100000 tokens of
		// allowance cost $1 alone, so the request can never fit and waiting won't help.
		c := client(free)
		_, err := c.Chat.Completions.New(ctx, params("gpt-4o", 100_000))
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.StatusCode != 429 || oe.Code != "insufficient_quota" ||
			oe.Response.Header.Get("x-should-retry") != "false" {
			t.Fatalf("budget refusal: %v", err)
		}
	})
	t.Run("admin API", func(t *testing.T) {
		resp, err := http.Get(fmt.Sprintf("http://localhost:%d/llm_rate_limit/usage?key=pro-1", caddytest.Default.AdminPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Usage []struct {
				Rule string
				Used float64
			}
		}
		json.NewDecoder(resp.Body).Decode(&out)
		asked := time.Now()
		used := map[string]float64{}
		for _, u := range out.Usage {
			used[u.Rule] = u.Used
		}
		// Three admitted requests so far (the refused one consumed nothing), draining at
		// 600 per minute (10/s) since: at least what is left of all three since the first
		// was sent, and of the last one since it was sent — bounds that hold however slow
		// the machine is.
		drained := func(n float64, since time.Time) float64 { return n - 10*asked.Sub(since).Seconds() }
		least := max(0, drained(3, proFirst), drained(1, proLast))
		if used["rpm"] < least-0.01 || used["rpm"] > 3 || used["monthly-spend"] <= 0 {
			t.Fatalf("usage %+v (rpm at least %.2f)", out, least)
		}
		// With the caller's tier and a model, the limits shown are the ones that apply.
		resp2, err := http.Get(fmt.Sprintf("http://localhost:%d/llm_rate_limit/usage?key=pro-1&tier=pro&model=gpt-4o-mini", caddytest.Default.AdminPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp2.Body.Close()
		var out2 struct {
			Usage []struct {
				Rule  string
				Limit float64
			}
		}
		json.NewDecoder(resp2.Body).Decode(&out2)
		limits := map[string]float64{}
		for _, u := range out2.Usage {
			limits[u.Rule] = u.Limit
		}
		if limits["rpm"] != 600 || limits["monthly-spend"] != 25 {
			t.Fatalf("tier limits %+v", out2)
		}
	})
}

// TestRateLimitRedisOutage: a fail-closed rule refuses with 503 while Redis is down, a
// fail-open one admits, and both recover by themselves when Redis is back.
func TestRateLimitRedisOutage(t *testing.T) {
	redis := limittest.StartRedis(t)
	closedP, openP, up := freePort(t), freePort(t), freePort(t)
	site := func(port int, name, failOpen string) string {
		return fmt.Sprintf(`http://localhost:%d {
	llm_rate_limit {
		rule %s {
			requests 100 1m
			%s
		}
		store redis {
			address %s
			retry_interval 200ms
		}
	}
	reverse_proxy localhost:%d
}
`, port, name, failOpen, redis.Addr, up)
	}
	start(t, fmt.Sprintf("{\n\tadmin localhost:%d\n}\n", caddytest.Default.AdminPort)+site(closedP, "outage-closed", "")+
		site(openP, "outage-open", "fail_open")+fmt.Sprintf("http://localhost:%d {\n\tllm_mock\n}\n", up))
	closed, open := fmt.Sprintf("http://localhost:%d", closedP), fmt.Sprintf("http://localhost:%d", openP)
	if st, _, _ := post(t, closed, chatBody("gpt-4o-mini", 5)); st != 200 {
		t.Fatal(st)
	}
	redis.Stop()
	st, h, m := post(t, closed, chatBody("gpt-4o-mini", 5))
	if st != 503 || errCode(m) != "rate_limiter_unavailable" || h.Get("Retry-After") == "" {
		t.Fatalf("fail closed: %d %v", st, m)
	}
	if st, _, _ := post(t, open, chatBody("gpt-4o-mini", 5)); st != 200 {
		t.Fatalf("fail open: %d", st)
	}
	redis.Start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _, _ := post(t, closed, chatBody("gpt-4o-mini", 5))
		if st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after Redis came back: %d", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRateLimitTwoInstances runs a second Caddy as a separate process (built from
// ./cmd/caddy) next to the in-process one, both on one redis-server, and shows that the
// shared limit holds: 10 requests per hour for one key, 8 sent to each instance.
func TestRateLimitTwoInstances(t *testing.T) {
	redis := limittest.StartRedis(t)
	up, a, b, adminB := freePort(t), freePort(t), freePort(t), freePort(t)
	gateway := func(port int) string {
		return fmt.Sprintf(`http://localhost:%d {
	llm_rate_limit {
		key shared-key
		rule shared-rpm {
			requests 10 1h
		}
		store redis {
			address %s
		}
	}
	reverse_proxy localhost:%d
}
`, port, redis.Addr, up)
	}
	start(t, fmt.Sprintf("{\n\tadmin localhost:%d\n}\n", caddytest.Default.AdminPort)+gateway(a)+fmt.Sprintf("http://localhost:%d {\n\tllm_mock\n}\n", up))
	baseA, baseB := fmt.Sprintf("http://localhost:%d", a), fmt.Sprintf("http://localhost:%d", b)
	logs := startBinary(t, fmt.Sprintf("{\n\tadmin localhost:%d\n}\n", adminB)+gateway(b), baseB+"/v1/models")
	var mu sync.Mutex
	ok := map[string]int{}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := baseA
			if i%2 == 1 {
				base = baseB
			}
			st, _, _ := post(t, base, chatBody("gpt-4o-mini", 5))
			mu.Lock()
			defer mu.Unlock()
			if st == 200 {
				ok[base]++
			} else if st != 429 {
				t.Errorf("status %d", st)
			}
		}()
	}
	wg.Wait()
	if ok[baseA]+ok[baseB] != 10 || ok[baseA] == 0 || ok[baseB] == 0 {
		t.Fatalf("admitted %d on A and %d on B; want 10 in total, from both\n%s", ok[baseA], ok[baseB], logs.String())
	}
}

// BenchmarkRoute compares a full Caddy route (gateway → reverse_proxy → llm_mock) without
// llm_* handlers, with llm_rate_limit (three rules, memory store) and with llm_inspect
// (default detectors) in one run. Load generator, Caddy and the mock share the machine,
// so the ratios are what counts.
func BenchmarkRoute(b *testing.B) {
	ports := make([]int, 5)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	cfg := fmt.Sprintf(`{
	admin localhost:%d
}
http://localhost:%d {
	reverse_proxy localhost:%d
}
http://localhost:%d {
	llm_rate_limit {
		rule bench-rpm {
			requests 1000000000 1m
		}
		rule bench-tpm {
			tokens 1000000000000 1m
		}
		rule bench-month {
			token_budget 1000000000000000 month
		}
	}
	reverse_proxy localhost:%d
}
http://localhost:%d {
	llm_inspect
	reverse_proxy localhost:%d
}
http://localhost:%d {
	llm_mock
}`, ports[3], ports[0], ports[2], ports[1], ports[2], ports[4], ports[2], ports[2])
	loadForBenchmark(b, cfg)
	body := chatBody("gpt-4o-mini", 16)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	for _, c := range []struct {
		name string
		port int
	}{{"without", ports[0]}, {"with_llm_rate_limit", ports[1]}, {"with_llm_inspect", ports[4]}} {
		url := fmt.Sprintf("http://localhost:%d/v1/chat/completions", c.port)
		b.Run(c.name, func(b *testing.B) {
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Post(url, "application/json", strings.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
