package integration

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// apiError is the OpenAI error body's part the edge tests read.
type apiError struct {
	Error struct {
		Message, Type string
		Code          *string
	} `json:"error"`
}

// errorCode returns the code of an OpenAI-shaped error body, or "" when body is not one.
func errorCode(body string) string {
	var e apiError
	if json.Unmarshal([]byte(body), &e) != nil || e.Error.Message == "" || e.Error.Type == "" || e.Error.Code == nil {
		return ""
	}
	return *e.Error.Code
}

// deOnlyKey is examples/edge's demo key limited to Germany (published there, local use).
const deOnlyKey = "sk-llmg-DemoKeyGermanyOnlyForLocalUseNeverDeploy000370uVo"

// TestEdgeExample runs examples/edge/Caddyfile — gateway-wide network lists, geo-fencing
// with its demo database and the tuned WAF in front of the demo key and the mock — and
// checks each wall with a client that the trusted "load balancer" (loopback) places with
// X-Forwarded-For. Refused requests carry no key: a 403 with the wall's code, not
// llm_auth's 401, shows that no credential was looked at.
func TestEdgeExample(t *testing.T) {
	cfg, base := edgeConfig(t)
	start(t, cfg)

	for _, tc := range []struct {
		name, from, path string
		key              string
		status           int
		code             string
	}{
		{"SQL injection in a query string", "", "/v1/models?id=1%27%20OR%20%271%27%3D%271", "", 403, "forbidden"},
		{"denied network", "198.51.100.70", "/v1/models", "", 403, "network_not_allowed"},
		{"denied network, with the right key", "198.51.100.70", "/v1/models", demoKey, 403, "network_not_allowed"},
		{"outside the allowed networks", "100.64.0.1", "/v1/models", "", 403, "network_not_allowed"},
		{"continent outside the allow list (JP)", "203.0.113.9", "/v1/models", "", 403, "country_not_allowed"},
		{"denied country in an allowed continent (RU, IPv6)", "2001:db8:ee::1", "/v1/models", demoKey, 403, "country_not_allowed"},
		{"an allowed network and country without a key", "192.0.2.1", "/v1/models", "", 401, "missing_api_key"},
		{"allowed: DE", "192.0.2.1", "/v1/models", demoKey, 200, ""},
		{"allowed: DE over IPv6", "2001:db8:de::5", "/v1/models", demoKey, 200, ""},
		{"allowed: US outside the denied range", "198.51.100.5", "/v1/models", demoKey, 200, ""},
		{"allowed: loopback (unknown country)", "", "/v1/models", demoKey, 200, ""},
		{"DE-only key from DE", "192.0.2.1", "/v1/models", deOnlyKey, 200, ""},
		{"DE-only key from US", "198.51.100.5", "/v1/models", deOnlyKey, 403, "country_not_allowed"},
		{"DE-only key from loopback (unknown)", "", "/v1/models", deOnlyKey, 403, "country_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.from != "" {
				h = append(h, "X-Forwarded-For", tc.from)
			}
			if tc.key != "" {
				h = append(h, "Authorization", "Bearer "+tc.key)
			}
			status, body := wafSend(t, "GET", base+tc.path, "", h...)
			if status != tc.status {
				t.Fatalf("status %d body %.300s; want %d", status, body, tc.status)
			}
			if tc.status != 200 && errorCode(body) != tc.code {
				t.Fatalf("body %s; want the API's error shape with code %s", body, tc.code)
			}
		})
	}

	t.Run("a prompt with SQL and HTML passes the WAF", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		prompt := "Why does SELECT * FROM users WHERE id = 1 OR 1=1 return every row? Answer in <b>HTML</b> with <script>alert(1)</script> as a bad example."
		c := openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey(demoKey), option.WithMaxRetries(0),
			option.WithHeader("X-Forwarded-For", "192.0.2.1"))
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; got != prompt {
			t.Fatalf("the upstream got %q", got)
		}
	})

	t.Run("the same SQL in a query string is refused", func(t *testing.T) {
		status, body := wafSend(t, "POST", base+"/v1/chat/completions?q=1%27%20UNION%20SELECT%20password%20FROM%20users--",
			`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer "+demoKey)
		if status != 403 || errorCode(body) != "forbidden" {
			t.Fatalf("status %d body %s", status, body)
		}
	})
}
