// Package pii finds personal data in text: EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD (Luhn),
// IBAN_CODE (per-country length and BBAN format, mod-97), US_SSN (SSA validity rules) and
// IP_ADDRESS (IPv4 and IPv6), with Presidio's entity names.
//
// Every recogniser is a hand-written linear scanner with a checksum or structural check
// instead of a broad regular expression, because the gateway runs it on every prompt and
// response (see the package benchmarks) and because checksum-invalid numbers must not be
// flagged. The package must never log or keep matched values; it returns offsets only.
package pii

import "github.com/llmguard/caddy-llmguard/llmguard/detect"

// Entity type names, as in Microsoft Presidio.
const (
	Email      = "EMAIL_ADDRESS"
	Phone      = "PHONE_NUMBER"
	CreditCard = "CREDIT_CARD"
	IBAN       = "IBAN_CODE"
	SSN        = "US_SSN"
	IP         = "IP_ADDRESS"
)

// AllEntities lists every entity the detector knows, in reporting order.
var AllEntities = []string{Email, Phone, CreditCard, IBAN, SSN, IP}

// Detector reports PII findings. The zero value is not usable; use New.
type Detector struct {
	on map[string]bool
}

// New returns a detector for the given entity types; none means all of AllEntities.
// Unknown names are ignored so that configs naming newer entities still load.
func New(entities ...string) *Detector {
	if len(entities) == 0 {
		entities = AllEntities
	}
	d := &Detector{on: map[string]bool{}}
	for _, e := range entities {
		d.on[e] = true
	}
	return d
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return "pii" }

// Detect implements detect.Detector.
func (d *Detector) Detect(text string, dst []detect.Finding) []detect.Finding {
	if d.on[Email] {
		dst = scanEmails(text, dst)
	}
	if d.on[IBAN] {
		dst = scanIBANs(text, dst)
	}
	if d.on[Phone] || d.on[CreditCard] || d.on[SSN] {
		dst = scanNumbers(text, dst, d.on[CreditCard], d.on[SSN], d.on[Phone])
	}
	if d.on[IP] {
		dst = scanIPs(text, dst)
	}
	return dst
}

func finding(typ string, start, end int, score float64, rule string) detect.Finding {
	return detect.Finding{Detector: "pii", Type: typ, Start: start, End: end, Score: score, Rule: rule}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
