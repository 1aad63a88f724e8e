package integration

import (
	"fmt"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

// TestIdentityBehindBasicAuth: behind Caddy's basic_auth (one shared account in front
// of the gateway), each API key is still its own caller. basic_auth Sets
// {http.auth.user.id} to the account; llm_auth's identity must replace it, since the
// rate limiter keys on {http.auth.user.id} by default: two keys, two budgets.
func TestIdentityBehindBasicAuth(t *testing.T) {
	gw, up := freePort(t), freePort(t)
	alice, err := auth.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := auth.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	const hash = "$2a$04$qPszpqoDFHLqmsovOH0giOQ68cC6Cbzkv2EWN2kAB9v8JSg2TA7Fu" // bcrypt of "team-pass", cost 4
	start(t, fmt.Sprintf(`{
	admin localhost:%d
}
http://localhost:%d {
	route {
		basic_auth {
			team %s
		}
		llm_auth {
			api_keys {
				headers X-Api-Key
				key alice %s
				key bob %s
			}
		}
		llm_rate_limit {
			rule one-each {
				requests 1 1h
			}
		}
		reverse_proxy localhost:%d
	}
}
http://localhost:%d {
	llm_mock
}`, caddytest.Default.AdminPort, gw, hash, auth.HashKey(alice), auth.HashKey(bob), up, up))
	base := fmt.Sprintf("http://localhost:%d", gw)
	basic := "Basic dGVhbTp0ZWFtLXBhc3M=" // team:team-pass
	if st, _, m := post(t, base, chatBody("gpt-4o-mini", 5), "Authorization", basic, "X-Api-Key", alice); st != 200 {
		t.Fatalf("alice: %d %v", st, m)
	}
	if st, _, m := post(t, base, chatBody("gpt-4o-mini", 5), "Authorization", basic, "X-Api-Key", bob); st != 200 {
		t.Fatalf("bob, after alice's one request: %d %s (limited as the basic_auth account?)", st, errCode(m))
	}
	if st, _, m := post(t, base, chatBody("gpt-4o-mini", 5), "Authorization", basic, "X-Api-Key", alice); st != 429 {
		t.Fatalf("alice's second request: %d %v, want 429", st, m)
	}
}
