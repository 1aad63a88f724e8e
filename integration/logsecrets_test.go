package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth/authtest"
)

// TestCredentialsNeverInCaddyLogs sends credentials in every header llm_auth reads
// (Authorization Bearer, X-Api-Key, a configured custom header, a JWT) through success,
// 401, 403, an unreachable upstream (502) and a handler panic (500), with Caddy's debug
// level, the default log, an access log and the error log all written to files, then
// greps every file for them. The panic path is a test-only handler after llm_auth
// (llm_test_panic, panic_test.go) that puts the request's headers and body into the
// panic value. The JWT issuer is the in-process test issuer (authtest): the real OIDC
// provider needs Node.js, and the property checked is about Caddy's logs, not discovery.
func TestCredentialsNeverInCaddyLogs(t *testing.T) {
	dir := t.TempDir()
	kf := &keyFile{t: t, path: filepath.Join(dir, "keys.json")}
	good := kf.add("dev", []string{"developer"}, nil)
	kf.write()
	iss := authtest.NewIssuer(t)
	gw, up, down := freePort(t), freePort(t), freePort(t) // nothing listens on down
	global, siteLog, all, access := fileLogs(dir)
	start(t, global+fmt.Sprintf(`http://localhost:%d {
`+siteLog+`	llm_auth {
		api_keys {
			file %s
			headers Authorization X-Api-Key X-Gateway-Key
		}
		jwt {
			issuer %s
			audience urn:llm-gateway
			claim roles roles
		}
		role developer {
			endpoints chat
			models gpt-4o-mini
		}
	}
	handle /down/* {
		reverse_proxy localhost:%d
	}
	handle /panic/* {
		llm_test_panic
		reverse_proxy localhost:%d
	}
	reverse_proxy localhost:%d
	handle_errors {
		llm_error
	}
}
http://localhost:%d {
	llm_mock
}
`, gw, kf.path, iss.URL, down, up, up, up))

	now := time.Now()
	jwt := iss.Token(t, map[string]any{"iss": iss.URL, "sub": "svc-1", "aud": "urn:llm-gateway",
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "roles": []string{"developer"}})
	// A well-formed key in llm_auth's format that the key file (written above) lacks.
	unknown := kf.add("never-written", nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	post := func(path, header, value, model string) int {
		body := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
		req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("http://localhost:%d%s", gw, path), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(header, value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	creds := []struct{ header, value string }{
		{"Authorization", "Bearer " + good}, {"X-Api-Key", good}, {"X-Gateway-Key", good}, {"Authorization", "Bearer " + jwt},
	}
	for _, c := range creds {
		for _, tc := range []struct {
			path, model string
			want        int
		}{
			{"/v1/chat/completions", "gpt-4o-mini", 200},
			{"/v1/chat/completions", "gpt-5", 403},
			{"/down/v1/chat/completions", "gpt-4o-mini", 502},
			{"/panic/v1/chat/completions", "gpt-4o-mini", 500},
		} {
			if got := post(tc.path, c.header, c.value, tc.model); got != tc.want {
				t.Errorf("%s on %s (%s): status %d, want %d", c.header, tc.path, tc.model, got, tc.want)
			}
		}
	}
	for _, h := range []string{"X-Api-Key", "X-Gateway-Key"} {
		if got := post("/v1/chat/completions", h, unknown, "gpt-4o-mini"); got != 401 {
			t.Errorf("unknown key in %s: status %d", h, got)
		}
	}
	if got := post("/v1/chat/completions", "Authorization", "Bearer "+jwt+"x", "gpt-4o-mini"); got != 401 {
		t.Errorf("tampered JWT: status %d", got)
	}

	secrets := map[string]string{"api key": good, "unknown key": unknown, "JWT": jwt,
		"JWT signature": jwt[strings.LastIndex(jwt, ".")+1:]}
	for _, f := range []string{all, access} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 {
			t.Fatalf("%s is empty: the logs under test were not written", filepath.Base(f))
		}
		for name, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Errorf("%s holds the %s", filepath.Base(f), name) // never print the value
			}
		}
	}
	// The panic path ran (the grep above saw its log entries).
	raw, _ := os.ReadFile(all)
	if n := strings.Count(string(raw), `"msg":"handler panicked"`); n != len(creds) {
		t.Errorf("%d panic entries in the log, want %d", n, len(creds))
	}
	// The access log did see the requests (so the grep above had something to search).
	raw, _ = os.ReadFile(access)
	if n := strings.Count(string(raw), `"X-Gateway-Key"`); n < 3 {
		t.Errorf("access log names X-Gateway-Key in %d entries; want the header logged (redacted) on each request", n)
	}
}
