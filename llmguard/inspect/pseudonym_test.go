package inspect

import (
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
