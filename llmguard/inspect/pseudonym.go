package inspect

import (
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// replace substitutes placeholders for the findings fs of text: pseudonymised findings
// take theirs from v.Pseudonyms, redacted ones from vault. The two are sibling vaults that
// number placeholders together, so they never hand out the same placeholder and a
// redaction is never restored. Overlapping findings become one span, named after the
// first, as in detect.Redact.
func (d *Detection) replace(text string, fs []detect.Finding, vault *detect.Vault, v *Verdict) (string, int) {
	detect.SortFindings(fs)
	var b strings.Builder
	pos, n := 0, 0
	for i := 0; i < len(fs); {
		f := fs[i]
		end := f.End
		j := i + 1
		for ; j < len(fs) && fs[j].Start < end; j++ {
			end = max(end, fs[j].End)
		}
		i = j
		if f.Start < pos || !f.Valid(text) || end > len(text) {
			continue
		}
		target := vault
		if d.Action(f) == detect.ActionPseudonymize {
			if v.Pseudonyms == nil {
				v.Pseudonyms = vault.Sibling()
			}
			target = v.Pseudonyms
		}
		b.WriteString(text[pos:f.Start])
		b.WriteString(target.Placeholder(f.Type, text[f.Start:end]))
		pos = end
		n++
	}
	if n == 0 {
		return text, 0
	}
	b.WriteString(text[pos:])
	return b.String(), n
}
