package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// BenchmarkChain is the per-request CPU and allocation cost of each llm_* handler and of
// the full guard inside Caddy, without the network: one Caddy server with a site per
// configuration (the sites of scripts/load.sh, with llm_mock answering in place of
// reverse_proxy), driven through the server's own ServeHTTP with a 1 KB chat request.
// "plain" is llm_mock alone; the difference to it is what the handlers add. Use it with
// -cpuprofile / -memprofile to find the cost, and scripts/load.sh for throughput.
func BenchmarkChain(b *testing.B) {
	dir := b.TempDir()
	key := "sk-llmg-DemoKeyForLocalUseOnlyNeverDeployThis0000002fy1Rf"
	keyhash := "sha256:8aec5d93ca41e708fd462b48a67e350c490402ddea0b93676631be024ce9b16a"
	auth := "llm_auth {\n\t\tapi_keys {\n\t\t\tkey bench " + keyhash + "\n\t\t}\n\t}"
	inspect := "llm_inspect"
	ratelimit := "llm_rate_limit {\n\t\trule rpm {\n\t\t\trequests 1000000000 1m\n\t\t}\n\t}"
	filter := "llm_filter"
	audit := "llm_audit {\n\t\tprivacy hash\n\t\thash_key 0123456789abcdef0123456789abcdef\n\t}"
	sites := []struct{ name, handlers string }{
		{"plain", ""}, {"auth", auth}, {"inspect", inspect}, {"ratelimit", ratelimit},
		{"filter", filter}, {"audit", audit},
		{"full", strings.Join([]string{audit, auth, inspect, ratelimit, filter}, "\n\t")},
	}
	reply := strings.Repeat("The quarterly report shows steady growth in every region while costs stayed flat. ", 10)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `{
	admin off
	log default {
		exclude http.handlers.llm_audit
		level ERROR
	}
	log llm_audit {
		include http.handlers.llm_audit
		format json
		output llm_audit_chain {
			hmac_key 0123456789abcdef0123456789abcdef
			output file %s
		}
	}
}
`, filepath.Join(dir, "audit.log"))
	for _, s := range sites {
		fmt.Fprintf(&cfg, "http://%s.test:8080 {\n\t%s\n\tllm_mock {\n\t\treply %q\n\t}\n}\n", s.name, s.handlers, reply)
	}
	loadForBenchmark(b, cfg.String())
	app, err := caddy.ActiveContext().App("http")
	if err != nil {
		b.Fatal(err)
	}
	var srv *caddyhttp.Server
	for _, s := range app.(*caddyhttp.App).Servers {
		srv = s
	}
	prompt := strings.Repeat("Please summarise the following meeting notes for the weekly report and keep it short. ", 11)
	body := fmt.Sprintf(`{"model":"gpt-4o-mini","max_tokens":256,"stream":false,"messages":[{"role":"user","content":%q}]}`, prompt)
	for _, s := range sites {
		b.Run(s.name, func(b *testing.B) {
			once := func() {
				r := httptest.NewRequest("POST", "http://"+s.name+".test:8080/v1/chat/completions", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Authorization", "Bearer "+key)
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: status %d: %s", s.name, w.Code, w.Body)
				}
			}
			once()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				once()
			}
		})
	}
}
