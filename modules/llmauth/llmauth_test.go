package llmauth

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth/authtest"
)

func TestAPIKeys(t *testing.T) {
	alice, bob, carol, dave := newKey(t), newKey(t), newKey(t), newKey(t)
	h := newHandler(t, fmt.Sprintf(`llm_auth {
		api_keys {
			key alice %s {
				roles chatter
				scopes llm:chat llm:models
				metadata team research
			}
			key bob %s {
				roles chatter
				expires 2001-01-01
			}
			key dave %s {
				roles chatter
			}
			key carol %s {
				roles embedder
				models text-embedding-3-*
				tier premium
			}
		}
		role chatter {
			endpoints chat models messages
			models gpt-4o-mini claude-*
			tier free
		}
		role embedder {
			endpoints embeddings
		}
	}`, hashOf(alice), hashOf(bob), hashOf(dave), hashOf(carol)))

	t.Run("bearer", func(t *testing.T) {
		res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+alice))
		if res.code != 200 || res.identity == nil || res.identity.ID != "alice" {
			t.Fatalf("%d %s %+v", res.code, res.body, res.identity)
		}
		if res.nextSaw.Header.Get("Authorization") != "" || res.nextSaw.Header.Get("X-Api-Key") != "" {
			t.Fatal("client credential forwarded upstream")
		}
		for k, want := range map[string]string{
			"http.auth.user.id": "alice", "http.llm.key.id": "alice", "http.llm.tier": "free",
			"http.llm.roles": "chatter", "http.llm.scopes": "llm:chat llm:models", "http.llm.auth_source": "api_key",
			"http.auth.user.team": "research", "http.llm.model": "gpt-4o-mini",
		} {
			if got, _ := res.repl.GetString(k); got != want {
				t.Errorf("{%s} = %q, want %q", k, got, want)
			}
		}
	})
	t.Run("x-api-key on the Anthropic endpoint", func(t *testing.T) {
		res := serve(t, h, "POST", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "",
			withHeader("X-Api-Key", dave))
		if res.code != 200 || res.nextSaw.Header.Get("X-Api-Key") != "" {
			t.Fatalf("%d %s", res.code, res.body)
		}
	})
	t.Run("missing", func(t *testing.T) {
		res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "")
		if res.code != 401 || !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer realm=") || !strings.Contains(res.body, `"type":"authentication_error"`) {
			t.Fatalf("%d %v %s", res.code, res.header, res.body)
		}
	})
	t.Run("invalid and unknown look the same", func(t *testing.T) {
		a := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+newKey(t)), fromIP("10.0.0.1"))
		b := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer sk-proj-somethingelse"), fromIP("10.0.0.2"))
		if a.code != 401 || a.body != b.body || a.header.Get("WWW-Authenticate") != b.header.Get("WWW-Authenticate") {
			t.Fatalf("%d %s / %d %s", a.code, a.body, b.code, b.body)
		}
		if strings.Contains(a.body, "sk-") {
			t.Fatal("error echoes the key")
		}
	})
	t.Run("anthropic error shape", func(t *testing.T) {
		res := serve(t, h, "POST", "/v1/messages", `{}`, "", withHeader("X-Api-Key", newKey(t)), fromIP("10.0.0.3"))
		if res.code != 401 || !strings.HasPrefix(res.body, `{"type":"error","error":{"type":"authentication_error"`) {
			t.Fatalf("%d %s", res.code, res.body)
		}
	})
	t.Run("expired", func(t *testing.T) {
		res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+bob), fromIP("10.0.0.4"))
		if res.code != 401 || !strings.Contains(res.body, "expired") {
			t.Fatalf("%d %s", res.code, res.body)
		}
	})
	t.Run("model not allowed", func(t *testing.T) {
		res := serve(t, h, "POST", "/v1/chat/completions", chatFor("gpt-4o"), "", withHeader("Authorization", "Bearer "+alice))
		if res.code != 403 || !strings.Contains(res.body, `model 'gpt-4o'`) || !strings.Contains(res.body, `"code":"model_not_allowed"`) || res.nextSaw != nil {
			t.Fatalf("%d %s", res.code, res.body)
		}
	})
	t.Run("endpoint not allowed by role", func(t *testing.T) {
		res := serve(t, h, "POST", "/v1/chat/completions", chatFor("text-embedding-3-small"), "", withHeader("Authorization", "Bearer "+carol))
		if res.code != 403 || !strings.Contains(res.body, "chat endpoint") {
			t.Fatalf("%d %s", res.code, res.body)
		}
	})
	t.Run("endpoint not allowed by scope", func(t *testing.T) {
		// alice's role allows messages; her llm: scopes do not.
		res := serve(t, h, "POST", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "",
			withHeader("Authorization", "Bearer "+alice))
		if res.code == 200 {
			t.Fatalf("scope did not restrict: %s", res.body)
		}
	})
	t.Run("key models narrow the role", func(t *testing.T) {
		ok := serve(t, h, "POST", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"x"}`, "", withHeader("Authorization", "Bearer "+carol))
		no := serve(t, h, "POST", "/v1/embeddings", `{"model":"text-embedding-ada-002","input":"x"}`, "", withHeader("Authorization", "Bearer "+carol))
		if ok.code != 200 || no.code != 403 {
			t.Fatalf("%d %d %s", ok.code, no.code, no.body)
		}
		if tier, _ := ok.repl.GetString("http.llm.tier"); tier != "premium" {
			t.Fatalf("tier %q", tier)
		}
	})
	t.Run("models list filtered", func(t *testing.T) {
		list := `{"object":"list","data":[{"id":"gpt-4o","object":"model"},{"id":"gpt-4o-mini","object":"model"},{"id":"claude-sonnet-4-5","object":"model"}]}`
		res := serve(t, h, "GET", "/v1/models", "", list, withHeader("Authorization", "Bearer "+alice))
		var got struct {
			Object string
			Data   []struct{ ID string }
		}
		if err := json.Unmarshal([]byte(res.body), &got); err != nil || res.code != 200 {
			t.Fatalf("%d %s", res.code, res.body)
		}
		if got.Object != "list" || len(got.Data) != 2 || got.Data[0].ID != "gpt-4o-mini" || got.Data[1].ID != "claude-sonnet-4-5" {
			t.Fatalf("filtered list %s", res.body)
		}
		if res.header.Get("Content-Length") != fmt.Sprint(len(res.body)) {
			t.Fatal("stale Content-Length")
		}
		one := serve(t, h, "GET", "/v1/models/gpt-4o", "", `{"id":"gpt-4o"}`, withHeader("Authorization", "Bearer "+alice))
		if one.code != 403 {
			t.Fatalf("retrieve of a forbidden model: %d", one.code)
		}
	})
}

func TestThrottling(t *testing.T) {
	good := newKey(t)
	h := newHandler(t, `llm_auth {
		api_keys {
			key good `+hashOf(good)+`
		}
		throttle {
			burst 3
			interval 1m
		}
	}`)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }
	for i := range 3 {
		if res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+newKey(t)), fromIP("192.0.2.7")); res.code != 401 {
			t.Fatalf("attempt %d: %d", i, res.code)
		}
	}
	res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+good), fromIP("192.0.2.7"))
	if res.code != 429 || res.header.Get("Retry-After") != "60" {
		t.Fatalf("throttled address: %d %v", res.code, res.header)
	}
	// A valid key from another address is unaffected.
	if res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+good), fromIP("192.0.2.8")); res.code != 200 {
		t.Fatalf("other address: %d %s", res.code, res.body)
	}
	now = now.Add(time.Minute)
	if res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+good), fromIP("192.0.2.7")); res.code != 200 {
		t.Fatalf("after refill: %d", res.code)
	}
}

func TestKeyFileRevocation(t *testing.T) {
	k := newKey(t)
	path := filepath.Join(t.TempDir(), "keys.json")
	write := func(disabled bool) {
		b, _ := json.Marshal([]map[string]any{{"id": "k", "hash": hashOf(k), "disabled": disabled}})
		os.WriteFile(path+".tmp", b, 0o600)
		os.Rename(path+".tmp", path)
	}
	write(false)
	h := newHandler(t, `llm_auth {
		api_keys {
			file `+path+`
			poll_interval 50ms
		}
		throttle off
	}`)
	if res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+k)); res.code != 200 {
		t.Fatalf("%d %s", res.code, res.body)
	}
	write(true)
	deadline := time.Now().Add(time.Second)
	for {
		res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+k))
		if res.code == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("revoked key still accepted after a second")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJWTSource(t *testing.T) {
	iss := authtest.NewIssuer(t)
	h := newHandler(t, `llm_auth {
		jwt {
			issuer `+iss.URL+`
			audience urn:llm-gateway
			claim roles realm_access.roles
		}
		role dev {
			models gpt-*
		}
	}`)
	now := time.Now()
	tok := iss.Token(t, map[string]any{"iss": iss.URL, "aud": "urn:llm-gateway", "sub": "svc", "exp": now.Add(time.Hour).Unix(),
		"realm_access": map[string]any{"roles": []string{"dev"}}, "scp": []string{"llm:chat"}})
	res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+tok))
	if res.code != 200 || res.identity.Source != "jwt" || res.identity.ID != "svc" {
		t.Fatalf("%d %s", res.code, res.body)
	}
	if s, _ := res.repl.GetString("http.llm.subject"); s != "svc" {
		t.Fatalf("subject %q", s)
	}
	if k, _ := res.repl.GetString("http.llm.key.id"); k != "" {
		t.Fatalf("key id %q for a JWT caller", k)
	}
	wrongAud := iss.Token(t, map[string]any{"iss": iss.URL, "aud": "other", "sub": "svc", "exp": now.Add(time.Hour).Unix()})
	if res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+wrongAud)); res.code != 401 || !strings.Contains(res.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("wrong audience: %d %s", res.code, res.body)
	}
}

func TestJWTIssuerDown(t *testing.T) {
	iss := authtest.NewIssuer(t)
	iss.SetDown(true)
	h := newHandler(t, `llm_auth {
		jwt {
			issuer `+iss.URL+`
			audience urn:llm-gateway
		}
	}`)
	tok := iss.Token(t, map[string]any{"iss": iss.URL, "aud": "urn:llm-gateway", "sub": "svc", "exp": time.Now().Add(time.Hour).Unix()})
	start := time.Now()
	res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", withHeader("Authorization", "Bearer "+tok))
	if res.code != 503 || res.header.Get("Retry-After") == "" || !strings.Contains(res.body, "issuer") {
		t.Fatalf("%d %v %s", res.code, res.header, res.body)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("request blocked for %v", el)
	}
}

func TestMTLSSource(t *testing.T) {
	h := newHandler(t, `llm_auth {
		mtls {
			id_from san_uri
			role spiffe://corp/batch/* batch
		}
		role batch {
			endpoints embeddings
		}
	}`)
	u, _ := url.Parse("spiffe://corp/batch/worker-1")
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "worker-1"}, URIs: []*url.URL{u}}
	verified := func(r *http.Request) { r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}} }
	unverified := func(r *http.Request) { r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}} }
	res := serve(t, h, "POST", "/v1/embeddings", `{"model":"e","input":"x"}`, "", verified)
	if res.code != 200 || res.identity.ID != "spiffe://corp/batch/worker-1" || res.identity.Source != "mtls" {
		t.Fatalf("%d %s", res.code, res.body)
	}
	if res := serve(t, h, "POST", "/v1/chat/completions", chatBody, "", verified); res.code != 403 {
		t.Fatalf("chat with batch role: %d", res.code)
	}
	if res := serve(t, h, "POST", "/v1/embeddings", `{"model":"e","input":"x"}`, "", unverified); res.code != 401 {
		t.Fatalf("unverified certificate: %d", res.code)
	}
}

func TestMissingCredentialMessageNamesWhatIsAccepted(t *testing.T) {
	for _, tc := range []struct {
		sources []Source
		want    string
	}{
		{[]Source{&MTLS{}}, "client certificate"},
		{[]Source{&JWT{}}, "access token"},
		{[]Source{&MTLS{}, &APIKeys{}}, "API key"},
	} {
		if got := missingCredentialMessage(tc.sources); !strings.Contains(got, tc.want) {
			t.Errorf("%T…: %q lacks %q", tc.sources[0], got, tc.want)
		}
	}
}
