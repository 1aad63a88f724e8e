package llminspect

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestRedactsForwardedBodyOnly(t *testing.T) {
	h := provision(t, &Handler{})
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Write to jane.doe@example.com about card 4111 1111 1111 1111."}]}`
	rec, fwd, repl := serve(t, h, "/v1/chat/completions", body)
	if rec.Code != 204 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Write to [EMAIL_ADDRESS_1] about card [CREDIT_CARD_1]."}]}`
	if fwd != want {
		t.Errorf("forwarded %s\nwant      %s", fwd, want)
	}
	if d, _ := repl.GetString(PlaceholderDecision); d != "rewrite" {
		t.Errorf("decision %q", d)
	}
	if f, _ := repl.GetString(PlaceholderFindings); f != "CREDIT_CARD,EMAIL_ADDRESS" {
		t.Errorf("findings %q", f)
	}
}

func TestBlocksSecretWithoutEchoingIt(t *testing.T) {
	h := provision(t, &Handler{})
	secret := "ghp_" + strings.Repeat("a1B2c3D4e5", 4)[:36]
	rec, fwd, _ := serve(t, h, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"token `+secret+`"}]}`)
	if rec.Code != 403 || fwd != "" {
		t.Fatalf("status %d forwarded %q", rec.Code, fwd)
	}
	if strings.Contains(rec.Body.String(), secret) || !strings.Contains(rec.Body.String(), "GITHUB") {
		t.Errorf("body %s", rec.Body)
	}
}

func TestDetectOffAndOverrides(t *testing.T) {
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail jane.doe@example.com"}]}`
	_, fwd, _ := serve(t, provision(t, &Handler{Detect: &Detect{Off: true}}), "/v1/chat/completions", body)
	if fwd != body {
		t.Errorf("detect off changed the body: %s", fwd)
	}
	rec, _, _ := serve(t, provision(t, &Handler{Detect: &Detect{Actions: map[string]string{"EMAIL_ADDRESS": "block"}}}), "/v1/chat/completions", body)
	if rec.Code != 403 {
		t.Errorf("override to block: %d", rec.Code)
	}
	_, fwd, _ = serve(t, provision(t, &Handler{Detect: &Detect{Deny: nil, Allow: nil, Disable: []string{"pii"}}}), "/v1/chat/completions", body)
	if fwd != body {
		t.Errorf("pii disabled still redacted: %s", fwd)
	}
}

func TestParseDetect(t *testing.T) {
	d := caddyfile.NewTestDispenser(`llm_inspect {
		detect {
			injection 0.7
			pii EMAIL_ADDRESS IBAN_CODE
			secrets off
			deny literal nocase PROJECT_NAME "Blue Falcon"
			allow support@example\.com
			action EMAIL_ADDRESS log
			scan_system
		}
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(h.Detect)
	want := `{"injection_threshold":0.7,"disable":["secrets"],"pii_entities":["EMAIL_ADDRESS","IBAN_CODE"],"deny":[{"name":"PROJECT_NAME","pattern":"Blue Falcon","literal":true,"case_insensitive":true,"type":"PROJECT_NAME"}],"allow":[{"pattern":"support@example\\.com"}],"actions":{"EMAIL_ADDRESS":"log"},"scan_system":true}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{
		"llm_inspect {\n detect on\n}",
		"llm_inspect {\n detect {\n injection 2\n }\n}",
		"llm_inspect {\n detect {\n pii off\n pii off\n }\n}",
		"llm_inspect {\n detect {\n deny onlyone\n }\n}",
		"llm_inspect {\n detect {\n action X\n }\n}",
		"llm_inspect {\n detect {\n magic\n }\n}",
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var h2 Handler
	if err := h2.UnmarshalCaddyfile(caddyfile.NewTestDispenser("llm_inspect {\n detect off\n}")); err != nil || !h2.Detect.Off {
		t.Errorf("detect off: %v %+v", err, h2.Detect)
	}
}

func TestProvisionRejectsBadDetect(t *testing.T) {
	for _, det := range []*Detect{{Disable: []string{"magic"}}, {Actions: map[string]string{"X": "nuke"}}, {Deny: nil, Allow: nil, InjectionThreshold: 3}} {
		h := &Handler{Detect: det}
		if _, err := h.Detect.build(); err == nil {
			t.Errorf("%+v accepted", det)
		}
	}
}
