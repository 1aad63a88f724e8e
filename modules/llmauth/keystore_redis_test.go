package llmauth

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmguard/caddy-llmguard/llmguard/limit/limittest"
)

func sharedHandler(t *testing.T, addr, localHash string) *Handler {
	return newHandler(t, `llm_auth {
	throttle off
	api_keys {
		key local `+localHash+`
		store redis {
			address `+addr+`
			timeout 200ms
			prefix `+strings.ReplaceAll(t.Name(), "/", "-")+`:
		}
	}
}`)
}

// Until the shared set has been read, a well-formed key the instance does not know may be
// a genuine shared key: it gets 503 (retry), not 401 (bad key). Inline keys work
// throughout, and malformed keys are refused with 401 whatever Redis does.
func TestSharedStoreUnavailableIs503(t *testing.T) {
	local := newKey(t)
	h := sharedHandler(t, "127.0.0.1:1", hashOf(local)) // nothing listens on port 1
	unknown := newKey(t)
	if res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+unknown)); res.code != 503 ||
		res.header.Get("Retry-After") == "" || !strings.Contains(res.body, "shared key store") {
		t.Fatalf("unknown key with the store unreachable: %d %s", res.code, res.body)
	}
	if res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+local)); res.code != 200 {
		t.Fatalf("inline key with the store unreachable: %d %s", res.code, res.body)
	}
	if res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer sk-llmg-short")); res.code != 401 {
		t.Fatalf("malformed key: %d", res.code)
	}

	// Once the set is read, an unknown key is simply invalid.
	srv := limittest.StartRedis(t)
	h = sharedHandler(t, srv.Addr, hashOf(local))
	shared := h.sources[0].(*APIKeys).shared
	deadline := time.Now().Add(20 * time.Second)
	for !shared.Available() {
		if time.Now().After(deadline) {
			t.Fatal("the shared set was never read")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+unknown)); res.code != 401 {
		t.Fatalf("unknown key with the set loaded: %d %s", res.code, res.body)
	}
}

// FuzzRedisKeysCaddyfile: whatever the block, the parser refuses it or yields a store
// with an address and no negative duration — never a panic.
func FuzzRedisKeysCaddyfile(f *testing.F) {
	for _, s := range []string{"store redis {\naddress a:1\nmax_stale 1m\npoll_interval 100ms\nprefix p:\n}",
		"store redis {\naddress a:1 b:2\ncluster\npassword {env.X}\ndb 3\ntimeout 1s\n}", "store redis {\n}",
		"store redis x", "store redis {\naddress a:1\nmax_stale -1s\n}", "store redis {\naddress a:1\ndb -1\n}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cf string) {
		var k RedisKeys
		if k.UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf)) != nil {
			return
		}
		if len(k.Addresses) == 0 || k.MaxStale < 0 || k.PollInterval < 0 || k.Timeout < 0 || k.DB < 0 {
			t.Fatalf("accepted %q as %+v", cf, k)
		}
	})
}
