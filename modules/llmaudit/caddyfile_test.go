package llmaudit

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	h := new(Handler)
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`llm_audit {
		privacy hash
		hash_key {env.K}
		max_content_size 4KiB
		consent header:X-Purpose support
		strip_request user metadata
		strip_response system_fingerprint
		price gpt-4o* 2.5 10
		price * 1 1
		metrics_models gpt-* claude-*
		max_model_labels 5
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if h.Privacy != "hash" || h.MaxContentSize != 4096 || h.Consent.Value != "{http.request.header.X-Purpose}" ||
		len(h.Prices) != 2 || h.Prices[0].Output != 10 || h.MaxModelLabels != 5 || len(h.StripRequestFields) != 2 {
		t.Fatalf("%+v", h)
	}
	for _, bad := range []string{
		"llm_audit arg",
		"llm_audit {\n privacy some\n}",
		"llm_audit {\n privacy full\n privacy none\n}",
		"llm_audit {\n consent header:X\n}",
		"llm_audit {\n price m 1\n}",
		"llm_audit {\n price m -1 2\n}",
		"llm_audit {\n unknown\n}",
		"llm_audit {\n max_model_labels 0\n}",
	} {
		if err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzUnmarshalCaddyfile checks that no input panics either parser.
func FuzzUnmarshalCaddyfile(f *testing.F) {
	f.Add("llm_audit {\n privacy hash\n consent header:X a b\n price m 1 2\n}")
	f.Add("llm_audit_chain {\n hmac_key k\n encrypt id key\n output file /tmp/x { roll_keep_for 1d }\n}")
	f.Fuzz(func(t *testing.T, cf string) {
		_ = new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf))
		_ = new(ChainWriter).UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf))
	})
}
