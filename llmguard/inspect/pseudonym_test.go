package inspect

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/defaults"
)

// TestScanPseudonymizes: pseudonymised values go into Verdict.Pseudonyms and can be
// restored; redacted ones (another type) cannot, even with the same placeholder number.
func TestScanPseudonymizes(t *testing.T) {
	d := detection(t, defaults.Config{Actions: map[string]string{"EMAIL_ADDRESS": detect.ActionPseudonymize}})
	r := parse(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"Mail alice@example.org, call +1 415 555 0132, mail alice@example.org"}]}`)
	v := d.Scan(r, detect.NewVault())
	if v.Action != detect.ActionRedact || v.Pseudonyms == nil || v.Pseudonyms.Len() != 1 {
		t.Fatalf("verdict %+v", v)
	}
	got := v.Redactions[0]
	if strings.Contains(got, "alice@") || strings.Contains(got, "555") || strings.Count(got, "[EMAIL_ADDRESS_1]") != 2 {
		t.Fatalf("redacted %q", got)
	}
	if back := v.Pseudonyms.Restore(got); !strings.Contains(back, "Mail alice@example.org,") || !strings.Contains(back, "[PHONE_NUMBER_1]") {
		t.Fatalf("restored %q", back)
	}
	for _, f := range v.Findings {
		if f.Type == "EMAIL_ADDRESS" && f.Action != detect.ActionPseudonymize {
			t.Fatalf("finding %+v", f)
		}
	}
}

// TestClientPlaceholdersAreNotIssued: a prompt that already contains a placeholder-shaped
// text (in any message, scanned or not) never gets that placeholder for a real value, so
// a reply quoting the client's own text is not turned into the pseudonymised value.
func TestClientPlaceholdersAreNotIssued(t *testing.T) {
	d := detection(t, defaults.Config{Actions: map[string]string{"EMAIL_ADDRESS": detect.ActionPseudonymize}})
	r := parse(t, `{"model":"gpt-4o","messages":[{"role":"system","content":"Refer to people as [EMAIL_ADDRESS_2]."},{"role":"user","content":"Template: [EMAIL_ADDRESS_1] and [PHONE_NUMBER_1]. Mail bob@example.org, call +1 415 555 0132."}]}`)
	v := d.Scan(r, detect.NewVault())
	got := v.Redactions[1]
	want := "Template: [EMAIL_ADDRESS_1] and [PHONE_NUMBER_1]. Mail [EMAIL_ADDRESS_3], call [PHONE_NUMBER_2]."
	if got != want {
		t.Fatalf("redacted %q\nwant     %q", got, want)
	}
	back := v.Pseudonyms.Restore("[EMAIL_ADDRESS_1] [EMAIL_ADDRESS_2] [EMAIL_ADDRESS_3]")
	if back != "[EMAIL_ADDRESS_1] [EMAIL_ADDRESS_2] bob@example.org" {
		t.Fatalf("restored %q", back)
	}
}

// TestRedactionKeepsToolArgumentsJSON: an address right after an escape in tool call
// arguments (JSON text) is redacted without splitting the escape.
func TestRedactionKeepsToolArgumentsJSON(t *testing.T) {
	d := detection(t, defaults.Config{})
	r := parse(t, `{"model":"gpt-4o","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"send","arguments":"{\"to\":\"x\\nalice@example.com\",\"cc\":\"\\u00e9bob@example.org\"}"}}]},{"role":"tool","tool_call_id":"c","content":"ok"}]}`)
	v := d.Scan(r, detect.NewVault())
	var args string
	for i, seg := range r.Segments {
		if strings.HasSuffix(seg.Path, ".arguments") {
			args = v.Redactions[i]
		}
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(args), &m); err != nil || m["to"] != "x\n[EMAIL_ADDRESS_1]" || m["cc"] != "é[EMAIL_ADDRESS_2]" {
		t.Fatalf("arguments %q: %v %v", args, m, err)
	}
}
