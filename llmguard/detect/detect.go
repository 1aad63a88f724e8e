// Package detect is the detection core of llm_inspect and llm_filter: a common interface
// for detectors (prompt injection, PII, secrets, custom patterns), the Finding they report,
// a Set that runs several detectors with an allow-list, and the redaction and reversible
// pseudonymisation helpers (Vault, Restorer) used on requests and streamed responses.
//
// The package has no Caddy imports and does no I/O. It must never log, print or otherwise
// persist matched values: a Finding carries offsets into the caller's text, never a copy,
// and a Vault keeps originals only in memory for the lifetime of one request.
package detect

import (
	"sort"
	"unicode/utf8"
)

// Finding is one detection. Start and End are byte offsets into the ORIGINAL text passed
// to Detect (End exclusive, both on rune boundaries), so that callers can redact in place
// without re-running a detector. Whole-text verdicts such as PROMPT_INJECTION cover the
// span that triggered them (or the whole text for model verdicts).
type Finding struct {
	// Detector is the Name() of the detector that reported the finding.
	Detector string `json:"detector"`
	// Type is the entity or attack type, Presidio-style upper snake case
	// (EMAIL_ADDRESS, CREDIT_CARD, OPENAI_API_KEY, PROMPT_INJECTION, INVISIBLE_TEXT, …).
	Type string `json:"type"`
	// Start and End delimit the matched bytes in the original text.
	Start int `json:"start"`
	End   int `json:"end"`
	// Score is the detector's confidence in [0,1].
	Score float64 `json:"score"`
	// Rule names the rule or feature that fired, for explanations and audit records.
	// It never contains the matched value.
	Rule string `json:"rule,omitempty"`
}

// Detector finds things in a text. Implementations must be safe for concurrent use, must
// run in time linear in len(text), and append to dst (which they may reuse) instead of
// allocating a fresh slice, so a request with many segments allocates little.
type Detector interface {
	Name() string
	Detect(text string, dst []Finding) []Finding
}

// DataDetector is a detector meant for untrusted data only — tool results, function
// outputs, documents pasted into a prompt (request.Segment.Untrusted) — such as the
// indirect-injection detector, whose cues ("add this to your answer") are ordinary in a
// user's own request. Set.Detect skips it; Set.DetectData runs it on the data span.
type DataDetector interface {
	Detector
	UntrustedData()
}

func isData(d Detector) bool {
	_, ok := d.(DataDetector)
	return ok
}

// Allowlist reports spans of a text that an operator has declared harmless. A finding that
// overlaps any allowed span is suppressed by Set.
type Allowlist interface {
	AllowedSpans(text string, dst [][2]int) [][2]int
}

// Set runs several detectors over one text and applies an optional allow-list. A nil
// Allow suppresses nothing.
type Set struct {
	Detectors []Detector
	Allow     Allowlist
}

// Detect runs every detector of the set but its data detectors and returns the findings
// sorted by Start.
func (s *Set) Detect(text string, dst []Finding) []Finding { return s.DetectExcept("", text, dst) }

// DetectExcept is Detect without the detectors named skip: llm_inspect trusts the
// operator's system prompt for injection only, and still looks for data in it.
func (s *Set) DetectExcept(skip, text string, dst []Finding) []Finding {
	first := len(dst)
	for _, d := range s.Detectors {
		if skip != "" && d.Name() == skip || isData(d) {
			continue
		}
		dst = d.Detect(text, dst)
	}
	return s.allowAndSort(text, first, dst)
}

// DetectData runs only the set's data detectors, over text[start:end] (the untrusted
// part of a segment), and returns their findings with offsets into text, sorted by Start.
func (s *Set) DetectData(text string, start, end int, dst []Finding) []Finding {
	first := len(dst)
	for _, d := range s.Detectors {
		if !isData(d) {
			continue
		}
		from := len(dst)
		dst = d.Detect(text[start:end], dst)
		for i := from; i < len(dst); i++ {
			dst[i].Start += start
			dst[i].End += start
		}
	}
	return s.allowAndSort(text, first, dst)
}

// allowAndSort drops the findings from dst[first:] that overlap an allowed span of text
// and sorts the rest.
func (s *Set) allowAndSort(text string, first int, dst []Finding) []Finding {
	if s.Allow != nil && len(dst) > first {
		spans := mergeSpans(s.Allow.AllowedSpans(text, nil))
		if len(spans) > 0 {
			kept := dst[:first]
			for _, f := range dst[first:] {
				if !overlapsAny(f, spans) {
					kept = append(kept, f)
				}
			}
			dst = kept
		}
	}
	SortFindings(dst[first:])
	return dst
}

// mergeSpans sorts spans and merges overlapping ones, so that their ends are increasing
// and overlapsAny can binary-search them.
func mergeSpans(spans [][2]int) [][2]int {
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp[0] <= last[1] {
			if sp[1] > last[1] {
				last[1] = sp[1]
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// overlapsAny binary-searches the merged spans, so many findings against many allowed
// spans stay O(n log n) instead of quadratic.
func overlapsAny(f Finding, spans [][2]int) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i][1] > f.Start })
	for ; i < len(spans) && spans[i][0] < f.End; i++ {
		if spans[i][1] > f.Start {
			return true
		}
	}
	return false
}

// SortFindings orders findings by Start, longer first on ties, so that redaction can walk
// them left to right.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Start != fs[j].Start {
			return fs[i].Start < fs[j].Start
		}
		return fs[i].End > fs[j].End
	})
}

// Valid reports whether f is well formed for text: 0 <= Start < End <= len(text), both on
// rune boundaries as Go decodes them (a stray byte of invalid UTF-8 is a rune of its
// own). Fuzz tests assert it for every detector.
func (f Finding) Valid(text string) bool {
	if f.Start < 0 || f.End > len(text) || f.Start >= f.End {
		return false
	}
	return runeStart(text, f.Start) && runeStart(text, f.End)
}

func runeStart(s string, i int) bool {
	if i == 0 || i == len(s) || utf8.RuneStart(s[i]) {
		return true
	}
	// s[i] is a continuation byte: it starts a rune only if it is not inside the valid
	// sequence that begins at the nearest start byte before it.
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		if utf8.RuneStart(s[j]) {
			_, size := utf8.DecodeRuneInString(s[j:])
			return j+size <= i
		}
	}
	return true
}
