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
