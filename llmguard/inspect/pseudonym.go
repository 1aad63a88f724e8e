package inspect

import (
	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// replace substitutes placeholders for the findings fs of text: pseudonymised findings
// take theirs from v.Pseudonyms, redacted ones from vault. The two are sibling vaults that
// number placeholders together, so they never hand out the same placeholder and a
// redaction is never restored. Overlapping findings become one span, named after the
// first, as in detect.Redact.
func (d *Detection) replace(text string, fs []detect.Finding, vault *detect.Vault, v *Verdict) (string, int) {
	return detect.ReplaceSpans(text, detect.Spans(text, fs), func(s detect.Span) string {
		target := vault
		if d.Action(s.Finding) == detect.ActionPseudonymize {
			if v.Pseudonyms == nil {
				v.Pseudonyms = vault.Sibling()
			}
			target = v.Pseudonyms
		}
		return target.Placeholder(s.Finding.Type, text[s.Start:s.End])
	})
}
