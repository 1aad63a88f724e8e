package pii

import (
	"net/netip"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// maxIPv6Run bounds one IPv6 candidate (45 chars plus a zone), keeping the scan linear.
const maxIPv6Run = 64

// scanIPs reports IPv6 addresses (validated by net/netip, zones and embedded IPv4
// included) and then IPv4 dotted quads that are not part of an IPv6 address.
func scanIPs(text string, dst []detect.Finding) []detect.Finding {
	first := len(dst)
	v6end := -1
	// The candidate start for a colon c is max(c-maxIPv6Run, L), L being where the run of
	// hex digits and colons holding c begins. Walking back the full maxIPv6Run bytes from
	// every colon made a long colon run ("1:1:1:…") cost maxIPv6Run steps per colon, so
	// the walk stops at the previous colon visited (prevC) and reuses its start (prevS):
	// if text[prevC:c] is all hex digits and colons, L(c) = L(prevC), and prevS =
	// max(prevC-maxIPv6Run, L(prevC)), hence max(c-maxIPv6Run, prevS) is exactly the
	// start the full walk would find. Each byte is then walked back over at most once.
	prevC, prevS := -1, 0
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], ':')
		if j < 0 {
			break
		}
		c := i + j
		// Walk back over hex digits and colons to the start of the candidate.
		lo := max(c-maxIPv6Run, 0)
		stop := max(lo, prevC)
		s := c
		for s > stop && (isHex(text[s-1]) || text[s-1] == ':') {
			s--
		}
		if s == prevC { // reached the previous colon (so prevC >= lo): reuse its start
			s = max(lo, prevS)
		}
		prevC, prevS = c, s
		if c-s >= maxIPv6Run {
			// The candidate was cut at maxIPv6Run bytes, so it is longer than any IPv6
			// address (45 bytes before a zone), and so is every later colon's in this run
			// of hex digits and colons: skip to its end.
			for i = c + 1; i < len(text) && (isHex(text[i]) || text[i] == ':'); i++ {
			}
			continue
		}
		e := c
		for e < len(text) && e-s < maxIPv6Run && (isHex(text[e]) || text[e] == ':' || text[e] == '.') {
			e++
		}
		if e < len(text) && text[e] == '%' { // zone: fe80::1%eth0
			z := e + 1
			for z < len(text) && z-e < 16 && isAlnum(text[z]) {
				z++
			}
			if z > e+1 {
				e = z
			}
		}
		i = e + 1
		if s < v6end {
			continue
		}
		for e > s && (text[e-1] == '.' || text[e-1] == ':' && !(e-2 >= s && text[e-2] == ':')) {
			e--
		}
		// Boundary check before counting colons: both are plain filters, and this one is
		// O(1), which matters when a length-capped candidate sits inside a long run.
		if (s > 0 && isAlnum(text[s-1])) || (e < len(text) && isAlnum(text[e])) {
			continue
		}
		if strings.Count(text[s:e], ":") < 2 {
			continue
		}
		if _, err := netip.ParseAddr(text[s:e]); err != nil {
			continue
		}
		dst = append(dst, finding(IP, s, e, 0.9, "ipv6"))
		v6end = e
	}
	v6 := dst[first:]
	k := 0 // v6 findings are sorted; walk them alongside the IPv4 scan
	// Only the first digit of a run of digits can start an address; the scan jumps from
	// one run to the next.
	for i := nextDigit(text, 0); i < len(text); {
		if (i == 0 || !isAlnum(text[i-1]) && text[i-1] != '.') && dotWithin3(text, i) {
			if e, ok := ipv4At(text, i); ok {
				for k < len(v6) && v6[k].End <= i {
					k++
				}
				if k == len(v6) || i < v6[k].Start || e > v6[k].End {
					dst = append(dst, finding(IP, i, e, 0.9, "ipv4"))
				}
				i = nextDigit(text, e+1)
				continue
			}
		}
		i = nextDigit(text, runEnd(text, i)+1)
	}
	return dst
}

// runEnd returns the end of the run of digits starting at text[i].
func runEnd(text string, i int) int {
	for i < len(text) && isDigit(text[i]) {
		i++
	}
	return i
}

// dotWithin3 reports a '.' at text[i+1], text[i+2] or text[i+3]: a cheap necessary
// condition for ipv4At (the first octet has at most three digits).
func dotWithin3(text string, i int) bool {
	t := text[i+1 : min(i+4, len(text))]
	return len(t) > 0 && t[0] == '.' || len(t) > 1 && t[1] == '.' || len(t) > 2 && t[2] == '.'
}

// ipv4At parses four decimal octets (0–255, at most three digits) at text[i].
func ipv4At(text string, i int) (int, bool) {
	p := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if p >= len(text) || text[p] != '.' {
				return 0, false
			}
			p++
		}
		s, v := p, 0
		for p < len(text) && isDigit(text[p]) && p-s < 4 {
			v = v*10 + int(text[p]-'0')
			p++
		}
		if p == s || p-s > 3 || v > 255 {
			return 0, false
		}
	}
	if p < len(text) && isAlnum(text[p]) {
		return 0, false
	}
	if text[i] == '0' && isDigit(text[i+1]) && len(text)-p >= 2 && text[p] == '.' && isDigit(text[p+1]) {
		return 0, false // zero-padded and a fifth group: a French phone number (06.12.34.56.78)
	}
	return p, true
}
