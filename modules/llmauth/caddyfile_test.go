package llmauth

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

const h1 = "sha256:0000000000000000000000000000000000000000000000000000000000000001"

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	cases := map[string]string{
		"no source":            `llm_auth`,
		"extra arg":            `llm_auth x { mtls }`,
		"unknown":              `llm_auth { mtls; bogus }`,
		"duplicate":            `llm_auth { mtls; realm a; realm b }`,
		"dup role":             `llm_auth { mtls; role a; role a }`,
		"role sub":             `llm_auth { mtls; role a { bogus x } }`,
		"throttle arg":         `llm_auth { mtls; throttle on }`,
		"throttle burst":       "llm_auth {\nmtls\nthrottle {\nburst -1\n}\n}",
		"bad size":             `llm_auth { mtls; max_body_size lots }`,
		"key is not a hash":    "llm_auth {\napi_keys {\nkey a sk-llmg-0123\n}\n}",
		"key missing hash":     "llm_auth {\napi_keys {\nkey a\n}\n}",
		"key bad expires":      "llm_auth {\napi_keys {\nkey a " + h1 + " {\nexpires tomorrow\n}\n}\n}",
		"key dup sub":          "llm_auth {\napi_keys {\nkey a " + h1 + " {\ntier a\ntier b\n}\n}\n}",
		"store not redis":      "llm_auth {\napi_keys {\nstore file\n}\n}",
		"store no address":     "llm_auth {\napi_keys {\nstore redis {\nprefix x\n}\n}\n}",
		"store unknown sub":    "llm_auth {\napi_keys {\nstore redis {\naddress a:1\nretry_interval 1s\n}\n}\n}",
		"store dup sub":        "llm_auth {\napi_keys {\nstore redis {\naddress a:1\nmax_stale 1m\nmax_stale 2m\n}\n}\n}",
		"store bad max_stale":  "llm_auth {\napi_keys {\nstore redis {\naddress a:1\nmax_stale soon\n}\n}\n}",
		"jwt no audience":      "llm_auth {\njwt {\nissuer https://x\n}\n}",
		"jwt bad claim field":  "llm_auth {\njwt {\nissuer https://x\naudience a\nclaim group x\n}\n}",
		"jwt dup claim":        "llm_auth {\njwt {\nissuer https://x\naudience a\nclaim roles x\nclaim roles y\n}\n}",
		"jwt bad duration":     "llm_auth {\njwt {\nissuer https://x\naudience a\nclock_skew soon\n}\n}",
		"mtls bad field":       "llm_auth {\nmtls {\nid_from serial\n}\n}",
		"mtls role needs role": "llm_auth {\nmtls {\nrole *.corp\n}\n}",
	}
	for name, cf := range cases {
		t.Run(name, func(t *testing.T) {
			cf = strings.ReplaceAll(cf, "; ", "\n")
			cf = strings.ReplaceAll(cf, "{ ", "{\n")
			cf = strings.ReplaceAll(cf, " }", "\n}")
			if err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf)); err == nil {
				t.Fatalf("accepted:\n%s", cf)
			}
		})
	}
}

func TestProvisionErrors(t *testing.T) {
	for name, js := range map[string]string{
		"http issuer":     `{"sources":[{"source":"jwt","issuer":"http://idp.example.com","audiences":["a"]}]}`,
		"hmac alg":        `{"sources":[{"source":"jwt","issuer":"https://idp.example.com","audiences":["a"],"algorithms":["HS256"]}]}`,
		"empty key set":   `{"sources":[{"source":"api_keys"}]}`,
		"missing file":    `{"sources":[{"source":"api_keys","file":"/nonexistent/keys.json"}]}`,
		"bad hash":        `{"sources":[{"source":"api_keys","keys":[{"id":"a","hash":"sha256:00"}]}]}`,
		"file and store":  `{"sources":[{"source":"api_keys","file":"keys.json","store":{"type":"redis","addresses":["127.0.0.1:1"]}}]}`,
		"store no addr":   `{"sources":[{"source":"api_keys","store":{"type":"redis"}}]}`,
		"unknown default": `{"sources":[{"source":"mtls"}],"default_roles":["x"]}`,
		"bad endpoint":    `{"sources":[{"source":"mtls"}],"roles":{"r":{"endpoints":["chats"]}}}`,
		"no sources":      `{}`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := provisionJSON(t, js); err == nil {
				t.Fatal("provisioned")
			}
		})
	}
}
