package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmguard/caddy-llmguard/llmguard/audit"
)

// TestAuditComplianceExample runs examples/compliance/Caddyfile: consent, minimisation,
// PII redaction, the encrypted hash-chained audit file and the metrics. It then checks
// the audit file verifies and decrypts, and that neither it nor the metrics hold the
// planted credential or PII values.
func TestAuditComplianceExample(t *testing.T) {
	dir := t.TempDir()
	kf := &keyFile{t: t, path: filepath.Join(dir, "keys.json")}
	key := kf.add("support-bot", nil, nil)
	kf.write()
	const hmacKey, encKey = "integration-chain-secret-0123456789", "1111111111111111111111111111111111111111111111111111111111111111"
	t.Setenv("LLMG_KEY_FILE", kf.path)
	auditFile := filepath.Join(dir, "llm-audit.log")
	t.Setenv("LLMG_AUDIT_FILE", auditFile)
	t.Setenv("LLMGUARD_AUDIT_HMAC_KEY", hmacKey)
	t.Setenv("LLMGUARD_AUDIT_ENC_KEY", encKey)
	t.Setenv("LLMGUARD_AUDIT_HASH_KEY", "integration-hash-key-0123456789")
	cfg, ports := example(t, "compliance", 8080, 8081, 8082)
	issuer := startOIDCProvider(t, ports[8082])
	start(t, cfg)
	base := fmt.Sprintf("http://localhost:%d", ports[8080])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	const email, card = "jane.doe@patients.example", "4111 1111 1111 1111"
	post := func(purpose, apiKey, body string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		if purpose != "" {
			req.Header.Set("X-LLM-Purpose", purpose)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	chat := func(text string) string {
		return `{"model":"gpt-4o-mini","user":"patient-778","metadata":{"ward":"7"},"messages":[{"role":"user","content":"` + text + `"}]}`
	}

	// 1. No purpose: refused before anything else runs.
	if code, body := post("", key, chat("hello")); code != 403 || !strings.Contains(body, "consent_required") {
		t.Fatalf("without purpose: %d %s", code, body)
	}
	// 2. With a purpose, through the official SDK: e-mail redacted before the upstream.
	oai := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithHeader("X-LLM-Purpose", "support"))
	c, err := oai.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Write to " + email + " please")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Choices[0].Message.Content; strings.Contains(got, email) || !strings.Contains(got, "[EMAIL_ADDRESS") {
		t.Fatalf("upstream saw %q", got)
	}
	// 3. A card number is blocked; 4. a wrong key is refused.
	if code, _ := post("research", key, chat("card "+card)); code != 400 && code != 403 {
		t.Fatalf("card: %d", code)
	}
	if code, _ := post("support", "sk-llmg-not-a-real-key-but-planted-0000000000", chat("hi")); code != 401 {
		t.Fatalf("wrong key: %d", code)
	}
	// 5. An OIDC access token from the real provider is accepted; the record names its subject.
	token := clientCredentialsToken(t, issuer, "svc-standard", "llm:chat")
	if code, body := post("research", token, chat("hello")); code != 200 {
		t.Fatalf("OIDC token: %d %s", code, body)
	}

	raw, err := os.ReadFile(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(raw, []byte("\n")); n != 5 {
		t.Fatalf("%d audit records, want 5:\n%s", n, raw)
	}
	v := audit.NewVerifier([]byte(hmacKey))
	if err := v.Check(auditFile, bytes.NewReader(raw)); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	keys := audit.Keyring{}
	k, _ := audit.ParseAESKey(encKey)
	_ = keys.Add("k2026", k)
	var plain bytes.Buffer
	if err := audit.Decrypt(auditFile, bytes.NewReader(raw), keys, &plain); err != nil {
		t.Fatal(err)
	}
	events := strings.Split(strings.TrimSpace(plain.String()), "\n")
	for i, want := range []string{`"decision":"deny","reasons":["consent_required"]`, `"decision":"redact"`, `"decision":"block"`, `"decision":"deny"`} {
		if !strings.Contains(events[i], want) {
			t.Errorf("event %d lacks %s: %s", i, want, events[i])
		}
	}
	for _, want := range []string{`"key_id":"support-bot"`, `"purpose":"support"`, `"findings":["EMAIL_ADDRESS"]`,
		`"prompt":"Write to [EMAIL_ADDRESS`, `"tokens_out":`, `"logger":"http.handlers.llm_audit"`} {
		if !strings.Contains(events[1], want) {
			t.Errorf("redact event lacks %s: %s", want, events[1])
		}
	}

	for _, want := range []string{`"auth_source":"jwt"`, `"subject":"svc-standard"`, `"purpose":"research"`, `"decision":"allow"`} {
		if !strings.Contains(events[4], want) {
			t.Errorf("OIDC event lacks %s: %s", want, events[4])
		}
	}
	if strings.Contains(plain.String(), token) || bytes.Contains(raw, []byte(token)) {
		t.Error("the access token reached the audit log")
	}

	if !strings.Contains(events[2], `"stripped_fields":["user","metadata"]`) || strings.Contains(events[2], `"prompt":`) {
		t.Errorf("blocked event: want stripped fields and no prompt text: %s", events[2])
	}

	metrics := assertMetrics(t,
		`caddy_llmguard_requests_total{decision="redact",endpoint="chat",model="gpt-4o-mini",reason="none"} 1`,
		`caddy_llmguard_requests_total{decision="deny",endpoint="unknown",model="none",reason="consent_required"}`,
		`caddy_llmguard_detector_findings_total{type="EMAIL_ADDRESS"}`,
		`caddy_llmguard_tokens_total{direction="output",model="gpt-4o-mini"}`,
		`caddy_llmguard_cost_total{model="gpt-4o-mini"}`,
		`caddy_llmguard_upstream_duration_seconds_bucket{endpoint="chat",model="gpt-4o-mini"`)

	// No planted credential or PII value in the audit log (raw or decrypted) or metrics.
	for _, secret := range []string{key, "sk-llmg-not-a-real-key", email, card, "patient-778", hmacKey, encKey} {
		for name, data := range map[string][]byte{"audit file": raw, "decrypted audit": plain.Bytes(), "metrics": metrics} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s contains planted value %q", name, secret)
			}
		}
	}
}
