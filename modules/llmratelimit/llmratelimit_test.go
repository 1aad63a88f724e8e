package llmratelimit

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

type usageJSON struct {
	Usage struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
	} `json:"usage"`
}

func remaining(t *testing.T, h http.Header, unit string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(h.Get("x-ratelimit-remaining-"+unit), 10, 64)
	if err != nil {
		t.Fatalf("x-ratelimit-remaining-%s = %q", unit, h.Get("x-ratelimit-remaining-"+unit))
	}
	return v
}

func TestReserveThenSettle(t *testing.T) {
	h, _ := newHandler(t, `llm_rate_limit {
		rule tpm {
			tokens 1000 1h
		}
		rule rpm {
			requests 10 1m
		}
	}`)
	res := serve(t, h, "/v1/chat/completions", chat(10, ""))
	if res.code != 200 {
		t.Fatalf("%d %s", res.code, res.body)
	}
	var u usageJSON
	json.Unmarshal([]byte(res.body), &u)
	prompt := u.Usage.PromptTokens
	if u.Usage.CompletionTokens != 10 || prompt == 0 {
		t.Fatalf("usage %+v", u)
	}
	// Headers show the state after the reservation: prompt + the 10-token allowance.
	if got := remaining(t, res.header, "tokens"); got != 1000-prompt-10 {
		t.Fatalf("remaining tokens %d, want %d", got, 1000-prompt-10)
	}
	if res.header.Get("x-ratelimit-limit-tokens") != "1000" || res.header.Get("x-ratelimit-limit-requests") != "10" ||
		remaining(t, res.header, "requests") != 9 {
		t.Fatalf("headers %v", res.header)
	}
	if got := res.header.Get("x-ratelimit-reset-requests"); got != "6s" {
		t.Fatalf("reset-requests %q, want 6s (one request of 10/min)", got)
	}
	wantPolicy := `"tpm";q=1000;w=3600;qu="tokens", "rpm";q=10;w=60;qu="requests"`
	if got := res.header.Get("RateLimit-Policy"); got != wantPolicy {
		t.Fatalf("RateLimit-Policy %q", got)
	}
	if got := res.header.Get("RateLimit"); !strings.HasPrefix(got, `"tpm";r=`+strconv.FormatInt(1000-prompt-10, 10)+";t=") {
		t.Fatalf("RateLimit %q", got)
	}
	// Without max_tokens the default allowance (1024) is reserved, more than is left.
	res = serve(t, h, "/v1/chat/completions", chat(0, ""))
	if res.code != 429 {
		t.Fatalf("want 429, got %d", res.code)
	}
}

func TestRefusalIsTruthful(t *testing.T) {
	h, clk := newHandler(t, `llm_rate_limit {
		rule tpm {
			tokens 100 1m
		}
	}`)
	first := serve(t, h, "/v1/chat/completions", chat(60, ""))
	if first.code != 200 {
		t.Fatal(first.body)
	}
	left := remaining(t, first.header, "tokens")
	res := serve(t, h, "/v1/chat/completions", chat(60, ""))
	if res.code != 429 || res.upstream != "" {
		t.Fatalf("want a 429 without calling the upstream: %d %q", res.code, res.upstream)
	}
	code, typ, msg := errorBody(t, res.body)
	if code != "rate_limit_exceeded" || typ != "rate_limit_error" || !strings.Contains(msg, "tpm") {
		t.Fatalf("%s %s %s", code, typ, msg)
	}
	// The refusal tells the client what is left, and charged nothing: the remaining count
	// in its headers and message is the one the admitted request left behind.
	if got := remaining(t, res.header, "tokens"); got != left || !strings.Contains(msg, "remaining "+strconv.FormatInt(left, 10)+",") {
		t.Fatalf("refusal reports remaining %d / %q; the admitted request left %d", got, msg, left)
	}
	ms, _ := strconv.ParseInt(res.header.Get("retry-after-ms"), 10, 64)
	if ms <= 0 || res.header.Get("Retry-After") == "" || res.header.Get("x-should-retry") != "" {
		t.Fatalf("retry headers %v", res.header)
	}
	// Waiting 1ms less than advertised is not enough; waiting as advertised is.
	clk.add(time.Duration(ms-2) * time.Millisecond)
	if res := serve(t, h, "/v1/chat/completions", chat(60, "")); res.code != 429 {
		t.Fatal("admitted before retry-after-ms")
	}
	clk.add(2 * time.Millisecond)
	if res := serve(t, h, "/v1/chat/completions", chat(60, "")); res.code != 200 {
		t.Fatalf("not admitted after retry-after-ms: %s", res.body)
	}
}

func TestBudgetRefusalStopsRetries(t *testing.T) {
	h, _ := newHandler(t, `llm_rate_limit {
		rule monthly {
			token_budget 100 month
			time_zone Europe/Berlin
		}
	}`)
	if res := serve(t, h, "/v1/chat/completions", chat(50, "")); res.code != 200 {
		t.Fatal(res.body)
	}
	res := serve(t, h, "/v1/chat/completions", chat(50, ""))
	code, typ, _ := errorBody(t, res.body)
	if res.code != 429 || code != "insufficient_quota" || typ != "insufficient_quota" || res.header.Get("x-should-retry") != "false" {
		t.Fatalf("%d %s %v", res.code, res.body, res.header)
	}
	// Retry-After is the time to the next month in Berlin: 2025-07-01 00:00 CEST.
	if ra := res.header.Get("Retry-After"); ra != strconv.Itoa(int((30*24*time.Hour - 14*time.Hour).Seconds())) {
		t.Fatalf("Retry-After %s", ra)
	}
}

func TestUpstreamFailuresRefund(t *testing.T) {
	h, _ := newHandler(t, `llm_rate_limit {
		rule tpm {
			tokens 1000 1h
		}
		rule rpm {
			requests 10 1h
		}
	}`)
	for _, st := range []string{"500", "429", "503"} {
		if res := serve(t, h, "/v1/chat/completions", chat(100, ""), hdr("X-Mock-Status", st)); res.code != mustAtoi(st) {
			t.Fatalf("status %d", res.code)
		}
	}
	// A client error upstream keeps the request but refunds the tokens.
	serve(t, h, "/v1/chat/completions", chat(100, ""), hdr("X-Mock-Status", "400"))
	res := serve(t, h, "/v1/chat/completions", chat(1, ""))
	var u usageJSON
	json.Unmarshal([]byte(res.body), &u)
	if got, want := remaining(t, res.header, "tokens"), 1000-u.Usage.PromptTokens-1; got != want {
		t.Fatalf("tokens not refunded: remaining %d, want %d", got, want)
	}
	if got := remaining(t, res.header, "requests"); got != 8 {
		t.Fatalf("remaining requests %d, want 8 (the 400 and this one)", got)
	}
}

func mustAtoi(s string) int { n, _ := strconv.Atoi(s); return n }

func TestStreamUsageInjectedAndHidden(t *testing.T) {
	h, _ := newHandler(t, `llm_rate_limit {
		rule tpm {
			tokens 10000 1h
		}
	}`)
	res := serve(t, h, "/v1/chat/completions", chat(12, `,"stream":true`))
	if !strings.Contains(res.upstream, `"stream_options":{"include_usage":true}`) {
		t.Fatalf("include_usage not injected: %s", res.upstream)
	}
	if strings.Contains(res.body, `"usage"`) || !strings.HasSuffix(res.body, "data: [DONE]\n\n") {
		t.Fatalf("usage leaked to a client that did not ask, or stream broken:\n%s", res.body)
	}
	// Settled to the upstream's exact usage: the next reservation sees it.
	after := serve(t, h, "/v1/chat/completions", chat(1, ""))
	var u usageJSON
	json.Unmarshal([]byte(after.body), &u)
	want := 10000 - 2*u.Usage.PromptTokens - 12 - 1
	if got := remaining(t, after.header, "tokens"); got != want {
		t.Fatalf("remaining %d want %d", got, want)
	}
	// A client that asked keeps its usage chunk.
	res = serve(t, h, "/v1/chat/completions", chat(5, `,"stream":true,"stream_options":{"include_usage":true}`))
	if !strings.Contains(res.body, `"choices":[],"usage":{`) {
		t.Fatalf("usage chunk missing:\n%s", res.body)
	}
}

func TestSelfCountedUsage(t *testing.T) {
	h, _ := newHandler(t, `llm_rate_limit {
		rule tpm {
			tokens 10000 1h
		}
	}`)
	res := serve(t, h, "/v1/chat/completions", chat(20, `,"stream":true`), hdr("X-Mock-No-Usage", "true"))
	if res.code != 200 {
		t.Fatal(res.body)
	}
	after := serve(t, h, "/v1/chat/completions", chat(1, ""))
	var u usageJSON
	json.Unmarshal([]byte(after.body), &u)
	// The mock's reply is 20 tokens; counting the streamed text gives the same (±1 for
	// chunk-boundary effects of the counter is not expected here).
	want := 10000 - 2*u.Usage.PromptTokens - 20 - 1
	if got := remaining(t, after.header, "tokens"); got != want {
		t.Fatalf("remaining %d want %d", got, want)
	}
}

func TestCutStream(t *testing.T) {
	h, _ := newHandler(t, `llm_rate_limit {
		default_output_tokens 10
		on_exceed cut
		rule daily {
			token_budget 60 day output
		}
	}`)
	res := serve(t, h, "/v1/chat/completions", chat(0, `,"stream":true`))
	if res.code != 200 {
		t.Fatal(res.body)
	}
	if !strings.Contains(res.body, `data: {"error":{"message":"The response was cut short because it used up your budget 'daily'."`) ||
		strings.Contains(res.body, "[DONE]") {
		t.Fatalf("stream not cut with an error event:\n%s", res.body)
	}
	if !strings.HasSuffix(res.body, "\n\n") {
		t.Fatal("error event not terminated")
	}
	// The budget holds: what was generated is charged, and it is at most the budget
	// plus one event (a 4-character chunk).
	res = serve(t, h, "/v1/chat/completions", chat(1, ""))
	if res.code != 429 {
		t.Fatalf("budget not exhausted: %d", res.code)
	}
	if !strings.Contains(res.body, "0 of 60 tokens remain") {
		t.Fatalf("%s", res.body)
	}
}

func TestTiersAndModels(t *testing.T) {
	h, _ := newHandler(t, `llm_rate_limit {
		rule rpm {
			requests 1 1m
			tier pro 3
			tier enterprise unlimited
			model gpt-4o 2
		}
	}`)
	for tier, n := range map[string]int{"free": 1, "pro": 3, "enterprise": 10} {
		for i := 0; i < n; i++ {
			if res := serve(t, h, "/v1/chat/completions", chat(1, ""), identity("user-"+tier, tier)); res.code != 200 {
				t.Fatalf("%s request %d refused", tier, i)
			}
		}
		if tier != "enterprise" {
			if res := serve(t, h, "/v1/chat/completions", chat(1, ""), identity("user-"+tier, tier)); res.code != 429 {
				t.Fatalf("%s: request %d admitted", tier, n+1)
			}
		}
	}
	// A model override wins over the tier.
	body := strings.Replace(chat(1, ""), "gpt-4o-mini", "gpt-4o", 1)
	for i, want := range []int{200, 200, 429} {
		if res := serve(t, h, "/v1/chat/completions", body, identity("m", "pro")); res.code != want {
			t.Fatalf("gpt-4o request %d: %d", i, res.code)
		}
	}
}

// TestRiskOverrides: llm_sentinel's level caps the rule's limit on the same counter, for
// every tier (an exempt one included), and the headers show the limit that applied.
func TestRiskOverrides(t *testing.T) {
	h, _ := newHandler(t, `llm_rate_limit {
		rule rpm {
			requests 5 1m
			tier enterprise unlimited
			risk elevated 2
			risk high 0
		}
	}`)
	call := func(id, tier string, level sentinel.Level) result {
		t.Helper()
		return serve(t, h, "/v1/chat/completions", chat(1, ""), identity(id, tier), risk(level))
	}
	for i := range 3 {
		if res := call("a", "", sentinel.Low); res.code != 200 || res.header.Get("x-ratelimit-limit-requests") != "5" {
			t.Fatalf("low request %d: %d, limit %q", i, res.code, res.header.Get("x-ratelimit-limit-requests"))
		}
	}
	// Elevated now: the 3 requests it made count against a limit of 2.
	res := call("a", "", sentinel.Elevated)
	if res.code != 429 || res.header.Get("x-ratelimit-limit-requests") != "2" || res.header.Get("x-ratelimit-remaining-requests") != "0" {
		t.Fatalf("elevated caller over its cap: %d, headers %v", res.code, res.header)
	}
	if !strings.Contains(res.body, "limit 2, remaining 0") {
		t.Fatalf("refusal %s", res.body)
	}
	if res := call("a", "", sentinel.Low); res.code != 200 {
		t.Fatalf("back to low: %d", res.code)
	}
	// An exempt tier is capped too while suspected.
	for i, want := range []int{200, 200, 429} {
		if res := call("e", "enterprise", sentinel.Elevated); res.code != want {
			t.Fatalf("elevated enterprise request %d: %d", i, res.code)
		}
	}
	if res := call("e", "enterprise", sentinel.Low); res.code != 200 || res.header.Get("x-ratelimit-limit-requests") != "" {
		t.Fatalf("low enterprise is exempt: %d %v", res.code, res.header)
	}
	res = call("h", "", sentinel.High)
	if code, _, _ := errorBody(t, res.body); res.code != 429 || code != "insufficient_quota" || res.upstream != "" {
		t.Fatalf("high caller: %d %s", res.code, res.body)
	}
}

func TestCostBudget(t *testing.T) {
	h, _ := newHandler(t, `llm_rate_limit {
		price gpt-4o-mini 1000 500 1000
		rule spend {
			cost_budget 1.00 month
		}
	}`)
	res := serve(t, h, "/v1/chat/completions", chat(10, ""))
	if res.code != 200 {
		t.Fatal(res.body)
	}
	var u usageJSON
	json.Unmarshal([]byte(res.body), &u)
	// $1000 per 1M tokens = 0.1 cent per token.
	cents := 100 - (u.Usage.PromptTokens+10)/10
	if got := res.header.Get("RateLimit"); !strings.HasPrefix(got, `"spend";r=`+strconv.FormatInt(cents, 10)+";") {
		t.Fatalf("RateLimit %q want r=%d", got, cents)
	}
	res = serve(t, h, "/v1/chat/completions", strings.Replace(chat(10, ""), "gpt-4o-mini", "my-local-llama", 1))
	if code, _, _ := errorBody(t, res.body); res.code != 403 || code != "model_not_priced" {
		t.Fatalf("%d %s", res.code, res.body)
	}
}

type downStore struct{}

func (downStore) Apply(context.Context, time.Time, []limit.Op, limit.Mode) ([]float64, bool, error) {
	return nil, false, limit.ErrUnavailable
}

func TestStoreOutage(t *testing.T) {
	closed, _ := newHandler(t, `llm_rate_limit {
		rule rpm {
			requests 10 1m
		}
	}`)
	closed.store = downStore{}
	res := serve(t, closed, "/v1/chat/completions", chat(1, ""))
	if code, _, _ := errorBody(t, res.body); res.code != 503 || code != "rate_limiter_unavailable" || res.upstream != "" {
		t.Fatalf("fail closed: %d %s", res.code, res.body)
	}
	open, _ := newHandler(t, `llm_rate_limit {
		rule rpm {
			requests 10 1m
			fail_open
		}
	}`)
	open.store = downStore{}
	if res := serve(t, open, "/v1/chat/completions", chat(1, "")); res.code != 200 {
		t.Fatalf("fail open: %d", res.code)
	}
	// One rule that fails closed outweighs any number that fail open: the request is
	// only admitted unchecked when every rule that applies to it allows that.
	mixed, _ := newHandler(t, `llm_rate_limit {
		rule rpm {
			requests 10 1m
			fail_open
		}
		rule tpm {
			tokens 1000 1m
		}
	}`)
	mixed.store = downStore{}
	res = serve(t, mixed, "/v1/chat/completions", chat(1, ""))
	if code, _, _ := errorBody(t, res.body); res.code != 503 || code != "rate_limiter_unavailable" || res.upstream != "" {
		t.Fatalf("one fail_open rule of two admitted the request: %d %s", res.code, res.body)
	}
}

func TestKeyFallsBackToClientIP(t *testing.T) {
	h, _ := newHandler(t, `llm_rate_limit {
		rule rpm {
			requests 1 1m
		}
	}`)
	if res := serve(t, h, "/v1/chat/completions", chat(1, "")); res.code != 200 {
		t.Fatal(res.body)
	}
	if res := serve(t, h, "/v1/chat/completions", chat(1, "")); res.code != 429 {
		t.Fatal("same address not limited")
	}
	if res := serve(t, h, "/v1/chat/completions", chat(1, ""), identity("alice", "")); res.code != 200 {
		t.Fatal("an identity shares the address's counter")
	}
	sts, _ := limit.Peek(context.Background(), h.store, h.now(), []limit.Charge{{Rule: h.rules[0].rule, Key: "ip:192.0.2.1", Limit: 1}})
	if sts[0].Remaining != 0 {
		t.Fatalf("ip key state %+v", sts[0])
	}
}

// TestPromptCountedOnlyWhenNeeded: a route limited by requests alone does not count the
// prompt (the costliest step of a reservation); {http.llm.rate_limit.reserved} still
// reads prompt + output allowance, counting on read, and a token rule counts up front.
func TestPromptCountedOnlyWhenNeeded(t *testing.T) {
	for _, tc := range []struct {
		rule    string
		counted bool
	}{
		{"requests 10 1m", false},
		{"concurrent 4", false},
		{"tokens 100000 1m output", false},
		{"tokens 100000 1m", true},
		{"token_budget 100000 day input", true},
	} {
		h, _ := newHandler(t, "llm_rate_limit {\n\t\trule r {\n\t\t\t"+tc.rule+"\n\t\t}\n\t}")
		var ex *exchange.Exchange
		var repl *caddy.Replacer
		grab := loaded(&ex, &repl)
		if res := serve(t, h, "/v1/chat/completions", chat(10, ""), grab); res.code != 200 {
			t.Fatalf("%s: %d %s", tc.rule, res.code, res.body)
		}
		if got := ex.PromptTokens != 0; got != tc.counted {
			t.Errorf("%q: prompt counted %v, want %v", tc.rule, got, tc.counted)
		}
		v, _ := repl.Get(PlaceholderReserved)
		if want := ex.PromptCount() + 10; v != want || ex.PromptTokens == 0 {
			t.Errorf("%q: reserved placeholder %v, want %d (prompt %d + 10)", tc.rule, v, want, ex.PromptTokens)
		}
	}
}

// TestReservedPlaceholderOfInnermostHandler: with a site-wide and a route llm_rate_limit
// stacked, {http.llm.rate_limit.reserved} reads the inner one's reservation, as when each
// Set it.
func TestReservedPlaceholderOfInnermostHandler(t *testing.T) {
	outer, _ := newHandler(t, "llm_rate_limit {\n\t\tdefault_output_tokens 1000\n\t\trule r {\n\t\t\trequests 10 1m\n\t\t}\n\t}")
	inner, _ := newHandler(t, "llm_rate_limit {\n\t\tdefault_output_tokens 100\n\t\trule r {\n\t\t\trequests 10 1m\n\t\t}\n\t}")
	var ex *exchange.Exchange
	var repl *caddy.Replacer
	grab := loaded(&ex, &repl)
	res := serveChain(t, []*Handler{outer, inner}, "/v1/chat/completions", chat(0, ""), grab)
	if res.code != 200 {
		t.Fatalf("%d %s", res.code, res.body)
	}
	v, _ := repl.Get(PlaceholderReserved)
	if want := ex.PromptCount() + 100; v != want {
		t.Errorf("reserved placeholder %v, want %d (the inner handler's allowance)", v, want)
	}
}

// loaded is an option that loads the request's exchange before the handler runs and
// keeps it and the request's replacer, for the test to read after the request.
func loaded(ex **exchange.Exchange, repl **caddy.Replacer) opt {
	return func(r *http.Request) {
		e, r2, _ := llmhttp.Load(r, 0)
		*r = *r2
		*ex, *repl = e, r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	}
}
