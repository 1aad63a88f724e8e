package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

// TestKeyNetworks: keys bound to networks (key file allowed_networks, an inline key's
// allowed_networks) work from those networks and are refused (403 network_not_allowed)
// from anywhere else, even with the right secret; the client address is Caddy's, so
// behind a trusted proxy it is the forwarded one. IPv4, IPv6 and IPv4-mapped IPv6.
func TestKeyNetworks(t *testing.T) {
	kf := &keyFile{t: t, path: filepath.Join(t.TempDir(), "keys.json")}
	loopback := kf.add("loopback", nil, nil)
	office := kf.add("office", nil, nil)
	anywhere := kf.add("anywhere", nil, nil)
	kf.entries[0].AllowedNetworks = []string{"127.0.0.0/8", "::1"}
	kf.entries[1].AllowedNetworks = []string{"10.0.0.0/8"}
	kf.write()
	v6, err := auth.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	gw := freePort(t)
	start(t, fmt.Sprintf(`{
	admin localhost:2999
	servers {
		# The test client is the "load balancer": its X-Forwarded-For is believed.
		trusted_proxies static 127.0.0.1/32
		client_ip_headers X-Forwarded-For
	}
}
http://localhost:%d {
	llm_auth {
		api_keys {
			file %s
			key lab-v6 %s {
				allowed_networks 2001:db8::/32
			}
		}
	}
	llm_mock
}`, gw, kf.path, auth.HashKey(v6)))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call := func(key, forwardedFor string) error {
		opts := []option.RequestOption{option.WithBaseURL(fmt.Sprintf("http://localhost:%d/v1/", gw)), option.WithAPIKey(key), option.WithMaxRetries(0)}
		if forwardedFor != "" {
			opts = append(opts, option.WithHeader("X-Forwarded-For", forwardedFor))
		}
		c := openai.NewClient(opts...)
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		return err
	}
	for _, tc := range []struct {
		name, key, from string
		status          int
	}{
		{"loopback key from loopback", loopback, "", 200},
		{"office key from loopback", office, "", 403},
		{"office key via the proxy from the office", office, "10.9.8.7", 200},
		{"office key, IPv4-mapped office address", office, "::ffff:10.9.8.7", 200},
		{"office key via the proxy from elsewhere", office, "192.0.2.1", 403},
		{"inline IPv6 key from its network", v6, "2001:db8::1", 200},
		{"inline IPv6 key from another network", v6, "2001:db9::1", 403},
		{"unbound key from anywhere", anywhere, "203.0.113.5", 200},
		{"wrong secret from the office", loopback[:len(loopback)-2] + "xx", "10.9.8.7", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := call(tc.key, tc.from)
			switch {
			case tc.status == 200 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.status != 200 && statusOf(err) != tc.status:
				t.Fatalf("want %d, got %v", tc.status, err)
			case tc.status == 403 && !strings.HasPrefix(openAIMessage(err), "network_not_allowed: "):
				t.Fatalf("message %q", openAIMessage(err))
			}
		})
	}
}

// TestGatewayIPLists runs the README's gateway-wide allow/deny configuration: Caddy's
// client_ip matcher behind a trusted proxy, refusals in the API's shape via llm_error.
func TestGatewayIPLists(t *testing.T) {
	gw := freePort(t)
	start(t, fmt.Sprintf(`{
	admin localhost:2999
	servers {
		trusted_proxies static 127.0.0.1/32
		client_ip_headers X-Forwarded-For
		trusted_proxies_strict
	}
	order error after llm_audit
}
http://localhost:%d {
	llm_audit
	@denied client_ip 203.0.113.0/24 2001:db8:dead::/48
	error @denied network_not_allowed 403
	@outside not client_ip 192.0.2.0/24 2001:db8:42::/48 private_ranges
	error @outside network_not_allowed 403
	handle_errors {
		@network vars {err.message} network_not_allowed
		llm_error @network {
			code network_not_allowed
			message "Requests from your network are not accepted by this gateway."
		}
		llm_error
	}
	llm_mock
}`, gw))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for from, want := range map[string]int{"192.0.2.5": 200, "10.1.1.1": 200, "2001:db8:42::7": 200,
		"203.0.113.9": 403, "2001:db8:dead::1": 403, "198.51.100.1": 403} {
		c := openai.NewClient(option.WithBaseURL(fmt.Sprintf("http://localhost:%d/v1/", gw)), option.WithAPIKey("unused"),
			option.WithMaxRetries(0), option.WithHeader("X-Forwarded-For", from))
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		if got := statusOf(err); (want == 200 && err != nil) || (want != 200 && (got != want || !strings.HasPrefix(openAIMessage(err), "network_not_allowed: "))) {
			t.Errorf("from %s: want %d (network_not_allowed), got %v", from, want, err)
		}
	}
}
