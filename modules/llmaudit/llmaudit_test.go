package llmaudit

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/audit"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

const hashKey = "test-hash-key-0123456789"

// newHandler parses a Caddyfile block, round-trips it through JSON as Caddy does, and
// provisions it with an observed logger and a clock that advances 10 ms per call.
func newHandler(t testing.TB, cf string) (*Handler, *observer.ObservedLogs) {
	t.Helper()
	t.Setenv("TEST_AUDIT_HASH_KEY", hashKey)
	h := new(Handler)
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf)); err != nil {
		t.Fatalf("parse: %v", err)
	}
	raw, _ := json.Marshal(h)
	h = new(Handler)
	if err := json.Unmarshal(raw, h); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	t.Cleanup(func() { _ = h.Cleanup() })
	core, logs := observer.New(zapcore.InfoLevel)
	h.logger = zap.New(core)
	tick := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.now = func() time.Time { tick = tick.Add(10 * time.Millisecond); return tick }
	return h, logs
}

// upstream is the inner chain: it loads the exchange as llm_inspect would, publishes
// what llm_auth / llm_inspect publish, records what reached it, and answers.
type upstream struct {
	got        string
	status     int // refuse with this status and code instead of answering
	code       string
	reply      string
	publish    map[string]any
	redactWith string // if set, replace this text in the forwarded body with [REDACTED]
}

func (u *upstream) handler() caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		ex, r, e := llmhttp.Load(r, 0)
		if e != nil {
			return llmhttp.Fail(w, r, e)
		}
		repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		for k, v := range u.publish {
			repl.Set(k, v)
		}
		if u.redactWith != "" {
			ex.Body = []byte(strings.ReplaceAll(string(ex.Body), u.redactWith, "[REDACTED]"))
		}
		if u.status != 0 {
			return llmhttp.Fail(w, r, apierr.New(u.status, u.code, "refused"))
		}
		body, _ := io.ReadAll(r.Body)
		u.got = string(body)
		repl.Set(phUpstream, "127.0.0.1:9")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, u.reply)
		return nil
	})
}

const chatReply = `{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"message":{"role":"assistant","content":"Hello Bob"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`

func serve(t *testing.T, h *Handler, u *upstream, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	repl := caddyhttp.NewTestReplacer(r)
	repl.Set(phRequestID, "req-1")
	repl.Set(phRemoteHost, "192.0.2.7")
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r, u.handler()); err != nil {
		t.Fatal(err)
	}
	return w
}

const secretPrompt = `{"model":"gpt-4o-mini","user":"alice@example.com","metadata":{"crm":"42"},"messages":[{"role":"user","content":"my card 4111 1111 1111 1111"}]}`

// TestCostFromListPrices: without price lines, cost comes from the built-in list that
// llm_rate_limit's budgets use (gpt-4o-mini: 0.15 in, 0.60 out per 1M); a price line
// overrides it.
func TestCostFromListPrices(t *testing.T) {
	for _, tc := range []struct {
		cfg  string
		want float64
	}{
		{"llm_audit", 12*0.15/1e6 + 3*0.60/1e6},
		{"llm_audit {\n\tprice gpt-4o-mini* 1 2\n}", 12*1/1e6 + 3*2/1e6},
	} {
		h, logs := newHandler(t, tc.cfg)
		serve(t, h, &upstream{reply: chatReply}, secretPrompt, nil)
		ev := onlyEvent(t, logs)
		if c, _ := ev["cost"].(float64); c < tc.want*0.999 || c > tc.want*1.001 {
			t.Errorf("%q: cost %v, want %v", tc.cfg, ev["cost"], tc.want)
		}
	}
}

func TestEventAllowAndMinimisation(t *testing.T) {
	h, logs := newHandler(t, `llm_audit {
		strip_request user metadata
		strip_response system_fingerprint
		price gpt-4o-mini* 0.15 0.60
	}`)
	u := &upstream{reply: chatReply, publish: map[string]any{phKeyID: "team-a", phUserID: "team-a", phAuthSource: "api_key", llmhttp.PlaceholderGeoCountry: "DE"}}
	w := serve(t, h, u, secretPrompt, map[string]string{"Authorization": "Bearer sk-gw-SECRETSECRET"})
	if strings.Contains(u.got, "alice@") || strings.Contains(u.got, "metadata") || !strings.Contains(u.got, `"messages"`) {
		t.Fatalf("upstream got %s", u.got)
	}
	if strings.Contains(w.Body.String(), "system_fingerprint") || !strings.Contains(w.Body.String(), `"usage"`) {
		t.Fatalf("client got %s", w.Body.String())
	}
	if w.Header().Get("Content-Length") != "" && w.Header().Get("Content-Length") != itoa(w.Body.Len()) {
		t.Fatalf("stale Content-Length %s for %d bytes", w.Header().Get("Content-Length"), w.Body.Len())
	}
	ev := onlyEvent(t, logs)
	want := map[string]any{"request_id": "req-1", "key_id": "team-a", "client_ip": "192.0.2.7", "country": "DE", "endpoint": "chat",
		"model": "gpt-4o-mini", "upstream": "127.0.0.1:9", "status": int64(200), "decision": "allow",
		"tokens_in": int64(12), "tokens_out": int64(3), "tokens_reported": true, "privacy": "none", "latency_ms": 10.0}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("%s = %#v, want %#v", k, ev[k], v)
		}
	}
	if c, _ := ev["cost"].(float64); c < 3.59e-6 || c > 3.61e-6 { // 12*0.15/1e6 + 3*0.6/1e6
		t.Errorf("cost %v", ev["cost"])
	}
	if s := strings.Join(ev["stripped_fields"].([]string), ","); s != "user,metadata" {
		t.Errorf("stripped %q", s)
	}
	assertNoSecrets(t, logs, "sk-gw-SECRETSECRET", "4111", "alice@")
	if got := counter(h.metrics.requests.WithLabelValues("chat", "gpt-4o-mini", "allow", "none")); got != 1 {
		t.Errorf("requests_total = %v", got)
	}
	if got := counter(h.metrics.tokens.WithLabelValues("gpt-4o-mini", "output")); got != 3 {
		t.Errorf("tokens_total output = %v", got)
	}
}

func TestPrivacyLevels(t *testing.T) {
	for _, level := range []string{"none", "hash", "redacted", "full"} {
		t.Run(level, func(t *testing.T) {
			h, logs := newHandler(t, "llm_audit {\n privacy "+level+"\n hash_key {env.TEST_AUDIT_HASH_KEY}\n}")
			u := &upstream{reply: chatReply, redactWith: "4111 1111 1111 1111",
				publish: map[string]any{phDecision: "rewrite", phFindings: "CREDIT_CARD", phScore: "0.950"}}
			serve(t, h, u, secretPrompt, nil)
			ev := onlyEvent(t, logs)
			if ev["decision"] != "redact" || strings.Join(ev["findings"].([]string), ",") != "CREDIT_CARD" || ev["inspect_score"] != 0.95 {
				t.Fatalf("decision %v findings %v score %v", ev["decision"], ev["findings"], ev["inspect_score"])
			}
			prompt, _ := ev["prompt"].(string)
			switch level {
			case "none":
				if prompt != "" || ev["prompt_hash"] != nil {
					t.Fatalf("content at level none: %v", ev)
				}
			case "hash":
				if prompt != "" || ev["prompt_hash"] != audit.NewHasher([]byte(hashKey)).Sum("my card 4111 1111 1111 1111") {
					t.Fatalf("hash level: %v", ev)
				}
			case "redacted":
				if prompt != "my card [REDACTED]" || ev["response"] != nil || ev["response_hash"] == nil {
					t.Fatalf("redacted level: %v", ev)
				}
			case "full":
				if prompt != "my card 4111 1111 1111 1111" || ev["response"] != "Hello Bob" {
					t.Fatalf("full level: %v", ev)
				}
			}
			if level != "full" {
				assertNoSecrets(t, logs, "4111")
			}
		})
	}
}

func TestConsent(t *testing.T) {
	h, logs := newHandler(t, `llm_audit {
		consent header:X-LLM-Purpose support research
	}`)
	u := &upstream{reply: chatReply}
	w := serve(t, h, u, secretPrompt, map[string]string{"X-LLM-Purpose": "marketing"})
	if w.Code != 403 || !strings.Contains(w.Body.String(), "consent_required") || !strings.Contains(w.Body.String(), "support, research") {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
	if u.got != "" {
		t.Fatal("refused request reached the upstream")
	}
	ev := onlyEvent(t, logs)
	if ev["decision"] != "deny" || ev["reasons"].([]string)[0] != "consent_required" {
		t.Fatalf("%v", ev)
	}
	w = serve(t, h, u, secretPrompt, map[string]string{"X-LLM-Purpose": "support"})
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
	if ev := logs.All()[1].ContextMap(); ev["purpose"] != "support" {
		t.Fatalf("purpose not recorded: %v", ev)
	}
}

func TestRateLimitedMetrics(t *testing.T) {
	h, logs := newHandler(t, "llm_audit")
	u := &upstream{status: 429, code: "rate_limit_exceeded", publish: map[string]any{phRule: "per-key"}}
	serve(t, h, u, secretPrompt, nil)
	ev := onlyEvent(t, logs)
	if ev["decision"] != "rate_limited" || ev["tokens_in"] != int64(0) || ev["status"] != int64(429) {
		t.Fatalf("%v", ev)
	}
	if got := counter(h.metrics.rateLimit.WithLabelValues("gpt-4o-mini", "per-key")); got != 1 {
		t.Fatalf("rate_limit_rejections_total = %v", got)
	}
}

func TestDecide(t *testing.T) {
	for _, tt := range []struct {
		status                    int
		code, inspect, rule, filt string
		decision, firstReason     string
	}{
		{200, "", "allow", "", "none", "allow", ""},
		{200, "", "rewrite", "", "", "redact", ""},
		{400, "content_blocked", "block", "", "", "block", "content_blocked"},
		{429, "rate_limit_exceeded", "", "per-key", "", "rate_limited", "per-key"},
		{401, "invalid_api_key", "", "", "", "deny", "invalid_api_key"},
		{403, "", "", "", "", "deny", "forbidden"},
		{502, "", "", "", "", "error", "upstream_5xx"},
		{404, "unknown_url", "", "", "", "error", "unknown_url"},
		{200, "", "allow", "", "block", "block", "filter_block"},
		{200, "", "allow", "", "redact", "redact", ""},
		{200, "", "allow", "", "log", "allow", ""},
	} {
		d, reasons := decide(tt.status, tt.code, tt.inspect, tt.rule, tt.filt)
		first := ""
		if len(reasons) > 0 {
			first = reasons[0]
		}
		if d != tt.decision || first != tt.firstReason {
			t.Errorf("%+v: got %s %v", tt, d, reasons)
		}
	}
}

func TestModelLabelsBounded(t *testing.T) {
	m := newMetrics(nil, 2)
	for _, model := range []string{"a", "b", "c", "a"} {
		m.modelLabel(model)
	}
	if m.modelLabel("a") != "a" || m.modelLabel("c") != "other" || m.modelLabel("") != "none" {
		t.Fatal("model label cap not applied")
	}
	m = newMetrics([]string{"gpt-*"}, 5)
	if m.modelLabel("gpt-4o") != "gpt-4o" || m.modelLabel("evil-model-123") != "other" {
		t.Fatal("model patterns not applied")
	}
}

func TestValidate(t *testing.T) {
	for _, cf := range []string{
		"llm_audit {\n privacy hash\n}",
		"llm_audit {\n privacy redacted\n}",
	} {
		h := new(Handler)
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf)); err != nil {
			t.Fatal(err)
		}
		if err := h.Validate(); err == nil {
			t.Errorf("%s: accepted without hash_key", cf)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func onlyEvent(t *testing.T, logs *observer.ObservedLogs) map[string]any {
	t.Helper()
	all := logs.All()
	if len(all) != 1 {
		t.Fatalf("%d events logged, want 1", len(all))
	}
	// Round-trip through JSON so that slices compare as []any.
	raw, _ := json.Marshal(all[0].ContextMap())
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for k, v := range m {
		if l, ok := v.([]any); ok {
			ss := make([]string, len(l))
			for i := range l {
				ss[i], _ = l[i].(string)
			}
			m[k] = ss
		}
		if f, ok := v.(float64); ok && f == float64(int64(f)) && k != "latency_ms" && k != "cost" && k != "ttft_ms" {
			m[k] = int64(f)
		}
	}
	return m
}

// assertNoSecrets fails if any logged field holds one of the values.
func assertNoSecrets(t *testing.T, logs *observer.ObservedLogs, values ...string) {
	t.Helper()
	for _, e := range logs.All() {
		raw, _ := json.Marshal(e.ContextMap())
		for _, v := range values {
			if strings.Contains(string(raw)+e.Message, v) {
				t.Errorf("log entry contains %q: %s", v, raw)
			}
		}
	}
}

// counter reads a counter's value.
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

// TestStreamTTFT checks that a streamed response records the time to the first event and
// its usage, and passes through unchanged.
func TestStreamTTFT(t *testing.T) {
	h, logs := newHandler(t, "llm_audit {\n strip_response system_fingerprint\n}")
	stream := "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n" +
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}\n\n" +
		"data: [DONE]\n\n"
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		_, r, e := llmhttp.Load(r, 0)
		if e != nil {
			return llmhttp.Fail(w, r, e)
		}
		r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer).Set(phUpstream, "127.0.0.1:9")
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, stream)
		return nil
	})
	r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	repl := caddyhttp.NewTestReplacer(r)
	repl.Set(phRequestID, "req-2") // Caddy's server sets it; the test replacer cannot
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r, next); err != nil {
		t.Fatal(err)
	}
	if w.Body.String() != stream {
		t.Fatalf("stream changed: %q", w.Body.String())
	}
	ev := onlyEvent(t, logs)
	if ev["stream"] != true || ev["ttft_ms"] != 10.0 || ev["tokens_out"] != int64(1) || ev["tokens_in"] != int64(5) {
		t.Fatalf("%v", ev)
	}
}

// TestRedactedLevelRefusedPrompt checks that a prompt the gateway refused (so never
// redacted) is not logged verbatim at the redacted level.
func TestRedactedLevelRefusedPrompt(t *testing.T) {
	h, logs := newHandler(t, "llm_audit {\n privacy redacted\n hash_key {env.TEST_AUDIT_HASH_KEY}\n}")
	u := &upstream{status: 400, code: "content_blocked", publish: map[string]any{phDecision: "block", phFindings: "CREDIT_CARD"}}
	serve(t, h, u, secretPrompt, nil)
	ev := onlyEvent(t, logs)
	if ev["decision"] != "block" || ev["prompt"] != nil || ev["prompt_hash"] == nil {
		t.Fatalf("%v", ev)
	}
	assertNoSecrets(t, logs, "4111")
}

// TestStripFormTypedJSON checks that JSON sent with curl's default form Content-Type,
// which the gateway accepts, is minimised too.
func TestStripFormTypedJSON(t *testing.T) {
	h, _ := newHandler(t, "llm_audit {\n strip_request user\n}")
	u := &upstream{reply: chatReply}
	serve(t, h, u, secretPrompt, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if u.got == "" || strings.Contains(u.got, "alice@") {
		t.Fatalf("upstream got %q", u.got)
	}
}

// TestModerationScores checks that the categories and scores llm_filter's moderation
// publishes reach the event, and that a malformed entry is dropped, not fatal.
func TestModerationScores(t *testing.T) {
	h, logs := newHandler(t, "llm_audit")
	u := &upstream{reply: chatReply, publish: map[string]any{phModeration: "violence:0.97,hate:1,bogus,:2,x:y",
		phFilterAction: "block", phFilterFindings: "HARMFUL_CONTENT:violence"}}
	serve(t, h, u, secretPrompt, nil)
	ev := onlyEvent(t, logs)
	got, _ := ev["moderation"].(map[string]any)
	if len(got) != 2 || got["violence"] != 0.97 || got["hate"] != 1.0 {
		t.Fatalf("moderation %#v", ev["moderation"])
	}
	if ev["decision"] != "block" {
		t.Errorf("decision %v", ev["decision"])
	}
	if moderationScores("") != nil || moderationScores("bogus") != nil {
		t.Error("no scores should give no field")
	}
}
