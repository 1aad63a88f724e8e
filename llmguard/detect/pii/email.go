package pii

import (
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// RFC 5321 limits; they also bound the work per '@' so the scan stays linear on inputs
// such as "a@a@a@…".
const (
	maxLocal  = 64
	maxDomain = 253
)

func isLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\''
}

func isDomainByte(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

func scanEmails(text string, dst []detect.Finding) []detect.Finding {
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '@')
		if j < 0 {
			break
		}
		at := i + j
		i = at + 1
		// Local part: walk left.
		s := at
		for s > 0 && at-s <= maxLocal && isLocalByte(text[s-1]) {
			s--
		}
		if s == at || at-s > maxLocal || (s > 0 && isLocalByte(text[s-1])) {
			continue
		}
		for s < at && (text[s] == '.' || text[s] == '\'') { // "…'name@x" quotes, leading dots
			s++
		}
		if s == at || text[at-1] == '.' {
			continue
		}
		// Domain: walk right, then trim trailing punctuation.
		e := at + 1
		for e < len(text) && e-at <= maxDomain && isDomainByte(text[e]) {
			e++
		}
		for e > at+1 && (text[e-1] == '.' || text[e-1] == '-') {
			e--
		}
		if !validDomain(text[at+1 : e]) {
			continue
		}
		dst = append(dst, finding(Email, s, e, 0.95, "email"))
		i = e
	}
	return dst
}

// validDomain wants at least two labels, none empty or hyphen-edged, and a TLD of two or
// more letters (or an IDNA "xn--" label).
func validDomain(d string) bool {
	if len(d) < 4 || len(d) > maxDomain {
		return false
	}
	labels := 0
	last := ""
	for len(d) > 0 {
		k := strings.IndexByte(d, '.')
		var l string
		if k < 0 {
			l, d = d, ""
		} else {
			l, d = d[:k], d[k+1:]
			if d == "" {
				return false
			}
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		last = l
	}
	if labels < 2 {
		return false
	}
	if strings.HasPrefix(last, "xn--") {
		return len(last) > 4
	}
	if len(last) < 2 {
		return false
	}
	for i := 0; i < len(last); i++ {
		if !isAlpha(last[i]) {
			return false
		}
	}
	return true
}
