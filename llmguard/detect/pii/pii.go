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
	ib := len(dst)
	if d.on[IBAN] {
		dst = scanIBANs(text, dst)
	}
	if d.on[Phone] || d.on[CreditCard] || d.on[SSN] {
		nb := len(dst)
		dst = scanNumbers(text, dst, d.on[CreditCard], d.on[SSN], d.on[Phone])
		if nb > ib {
			dst = dropOverlaps(dst, dst[ib:nb], nb)
		}
	}
	if d.on[IP] {
		dst = scanIPs(text, dst)
	}
	return dst
}

// dropOverlaps removes the findings in dst[from:] that overlap one of keep (both sorted
// by Start, keep before from): digit groups of an IBAN are not also a card or a phone.
func dropOverlaps(dst, keep []detect.Finding, from int) []detect.Finding {
	out, k := from, 0
	for _, f := range dst[from:] {
		for k < len(keep) && keep[k].End <= f.Start {
			k++
		}
		if k < len(keep) && keep[k].Start < f.End {
			continue
		}
		dst[out] = f
		out++
	}
	return dst[:out]
}

func finding(typ string, start, end int, score float64, rule string) detect.Finding {
	return detect.Finding{Detector: "pii", Type: typ, Start: start, End: end, Score: score, Rule: rule}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// nextDigit returns the index of the first ASCII digit in s at or after i (i >= 0), or
// len(s) or more. The common cases in digit-dense text, a digit at i or i+1, are inlined.
func nextDigit(s string, i int) int {
	if i < len(s) && s[i]-'0' <= 9 {
		return i
	}
	return skipToDigit(s, i)
}

// skipToDigit implements nextDigit. Prose has few digits, so it tests eight bytes at a
// time: the word test below is Bit Twiddling Hacks' hasbetween(x, '0'-1, '9'+1), which
// never misses a digit (bytes with the high bit set, as in UTF-8 sequences, never count).
func skipToDigit(s string, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		low := x &^ highs
		if (ones*(127+'9'+1)-low)&^x&(low+ones*(127-('0'-1)))&highs != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if isDigit(s[i]) {
			return i
		}
	}
	return i
}
