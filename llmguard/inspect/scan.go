package inspect

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/injection"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// Detection runs the detectors over a request's text segments and turns their findings
// into one verdict.
type Detection struct {
	// Policy holds the detectors and the action per finding type. Pseudonymize is like
	// redact — the upstream sees a typed placeholder such as [EMAIL_ADDRESS_1] — but
	// reversible: the placeholders are kept in Verdict.Pseudonyms so that llm_filter maps
	// them back to the original values in the response.
	detect.Policy
	// ScanSystem also runs the injection detector over system/developer text (and tool
	// descriptions). Off by default: the operator writes those, and scanning them for
	// injection mostly finds instructions that look like injections because they are
	// instructions. Every other detector (PII, secrets, patterns) always scans them: an
	// application assembles system prompts from customer data (e-mail, account numbers),
	// which must be redacted or blocked there like anywhere else.
	ScanSystem bool
}

// Found is one finding in one segment.
type Found struct {
	detect.Finding
	Segment int
	Path    string
	Action  string
}

// Verdict is the outcome of scanning a request.
type Verdict struct {
	// Action is the strongest action of all findings: allow, log, redact or block.
	Action   string
	Findings []Found
	// Redactions maps segment index to its redacted text (for a request.Edit).
	Redactions map[int]string
	// Score is the highest finding score.
	Score float64
	// Pseudonyms maps the placeholders of pseudonymised values back to the originals;
	// nil when nothing was pseudonymised. It lives in memory for one request only.
	Pseudonyms *detect.Vault
}

// Scan checks every segment the configuration covers. Placeholders from one vault number
// equal values equally across the whole request ("[EMAIL_ADDRESS_1]" everywhere the same
// address appears).
func (d *Detection) Scan(r *request.Request, vault *detect.Vault) Verdict {
	v := Verdict{Action: detect.ActionAllow}
	var buf []detect.Finding
	reserved := false
	for i, seg := range r.Segments {
		skip := ""
		if seg.Role == "system" && !d.ScanSystem {
			skip = injection.Name
		}
		buf = d.Set.DetectExcept(skip, seg.Text, buf[:0])
		if start, end, ok := seg.Untrusted(); ok {
			// Tool results and pasted documents are also read as data: an instruction in
			// them addresses the model on someone else's behalf (indirect injection).
			n := len(buf)
			buf = d.Set.DetectData(seg.Text, start, end, buf)
			if len(buf) > n {
				detect.SortFindings(buf)
			}
		}
		if seg.JSONText() { // a redaction must not split an escape
			buf = detect.FitJSONTextAll(seg.Text, buf)
		}
		var redact []detect.Finding
		for _, f := range buf {
			act := d.Action(f)
			if act == detect.ActionAllow {
				continue
			}
			// A pseudonym hides the value from the upstream exactly like a redaction.
			rank := act
			if act == detect.ActionPseudonymize {
				rank = detect.ActionRedact
			}
			v.Action = detect.Strongest(v.Action, rank)
			v.Findings = append(v.Findings, Found{Finding: f, Segment: i, Path: seg.Path, Action: act})
			if f.Score > v.Score {
				v.Score = f.Score
			}
			if rank == detect.ActionRedact {
				redact = append(redact, f)
			}
		}
		if len(redact) > 0 {
			if !reserved {
				reserve(vault, r)
				reserved = true
			}
			out, n := d.replace(seg.Text, redact, vault, &v)
			if n > 0 {
				if v.Redactions == nil {
					v.Redactions = map[int]string{}
				}
				v.Redactions[i] = out
			}
		}
	}
	return v
}

// Types lists the distinct finding types, sorted, optionally only those with action.
func (v *Verdict) Types(action string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range v.Findings {
		if (action == "" || f.Action == action) && !seen[f.Type] {
			seen[f.Type] = true
			out = append(out, f.Type)
		}
	}
	sort.Strings(out)
	return out
}

// Refusal is the 403 for a blocked request. It names the finding types and where the
// first one is, never the matched text.
func (v *Verdict) Refusal() *apierr.Error {
	types := v.Types(detect.ActionBlock)
	param := ""
	for _, f := range v.Findings {
		if f.Action == detect.ActionBlock {
			param = f.Path
			break
		}
	}
	return &apierr.Error{Status: http.StatusForbidden, Code: "content_policy_violation", Param: param,
		Message: fmt.Sprintf("The request was blocked by the gateway's content policy: it contains %s. Remove it and try again.", strings.Join(types, ", "))}
}

// reserve keeps the vault from handing out placeholders the client's own text (any role)
// already contains, so that a reply quoting them is not "restored".
func reserve(vault *detect.Vault, r *request.Request) {
	for _, seg := range r.Segments {
		vault.Reserve(seg.Text)
	}
}
