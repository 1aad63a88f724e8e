package pii

import "github.com/llmguard/caddy-llmguard/llmguard/detect"

// group is one run of digits inside a number-like span, with the separator before it.
type group struct {
	start, end int
	sep        string // bytes between the previous group and this one ("" for the first)
}

const (
	maxSepLen   = 2 // "(415) 555": ") " is the longest separator we accept
	maxGroupsPI = 8 // most groups one entity may span; bounds the segmentation work
	// maxRunGroups cuts absurdly long digit runs ("1 2 3 4 …") into pieces, so the group
	// buffer stays small and cache-resident; real entities span at most maxGroupsPI.
	maxRunGroups = 64
)

func isNumSep(c byte) bool {
	return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')'
}

// scanNumbers finds runs of digit groups (digits joined by short separators) and segments
// each run greedily into credit cards, SSNs and phone numbers, longest match first. A run
// of "4012888888881881 4012-8888-8888-1881" thus yields two cards.
func scanNumbers(text string, dst []detect.Finding, cc, ssn, phone bool) []detect.Finding {
	var gs []group
	for i := 0; i < len(text); {
		c := text[i]
		if !isDigit(c) {
			i++
			continue
		}
		if i > 0 && (isDigit(text[i-1]) || text[i-1] == ',' && i > 1 && isDigit(text[i-2])) {
			i++ // a run never starts in the middle of digits (or of "1,000")
			continue
		}
		// Collect the run.
		gs = gs[:0]
		p := i
		sep := ""
		for {
			s := p
			for p < len(text) && isDigit(text[p]) {
				p++
			}
			gs = append(gs, group{start: s, end: p, sep: sep})
			if len(gs) >= maxRunGroups {
				break
			}
			q := p
			for q < len(text) && q-p < maxSepLen+1 && isNumSep(text[q]) {
				q++
			}
			if q == p || q-p > maxSepLen || q >= len(text) || !isDigit(text[q]) {
				break
			}
			sep = text[p:q]
			p = q
		}
		dst = segment(text, gs, dst, cc, ssn, phone)
		i = p
	}
	return dst
}

func segment(text string, gs []group, dst []detect.Finding, cc, ssn, phone bool) []detect.Finding {
	for i := 0; i < len(gs); {
		hi := i + maxGroupsPI - 1
		if hi >= len(gs) {
			hi = len(gs) - 1
		}
		found := false
		// Digit totals per candidate end: every entity has 8–19 digits, so most
		// candidates are rejected without classifying them.
		var tot [maxGroupsPI]int
		sum := 0
		for k := i; k <= hi; k++ {
			sum += gs[k].end - gs[k].start
			tot[k-i] = sum
		}
		// '+' and a leading '0' are the only facts about the text classify needs beyond
		// group sizes to reject a candidate; see mayClassify.
		plus := gs[i].sep == "" && gs[i].start > 0 && text[gs[i].start-1] == '+'
		zero := text[gs[i].start] == '0'
		first := gs[i].end - gs[i].start
		for k := hi; k >= i; k-- {
			if !mayClassify(tot[k-i], k-i+1, first, plus, zero) {
				continue
			}
			if f, ok := classify(text, gs[i:k+1], cc, ssn, phone); ok {
				dst = append(dst, f)
				i = k + 1
				found = true
				break
			}
		}
		if !found {
			i++
		}
	}
	return dst
}

// mayClassify is a necessary condition for classify to succeed on nd digits in ng groups
// (the first of size first), from sizes alone. Runs of short groups ("1 2-3.1 2-3.…")
// otherwise send a classify call with a digit copy for nearly every group; this rejects
// them in O(1). Each clause mirrors one accepting path below; keep them in step.
func mayClassify(nd, ng, first int, plus, zero bool) bool {
	switch {
	case nd < 8 || nd > 19:
		return false // no entity is shorter or longer
	case nd >= 13 && (ng == 1 || first == 4): // isCard: 13–19 digits, groupings start with 4
		return true
	case nd == 9 && ng <= 3: // isSSN: 9 digits in at most 3 groups
		return true
	case plus:
		return nd <= 15 && ng <= 6 // phone_e164; a '+' prefix rules out the other phone shapes
	case (ng == 3 || ng == 4) && nd >= 10 && nd <= 13: // phone_nanp: 3-3-4 plus ≤3 digits
		return true
	case ng == 1 && nd == 11: // phone_cn_mobile
		return true
	case zero && nd >= 9 && nd <= 12 && ng <= 6: // phone_national
		return true
	}
	return false
}

// classify decides whether the groups form one entity. Checks run in order of certainty:
// a Luhn-valid card, a valid SSN shape, then phone number shapes.
func classify(text string, gs []group, cc, ssn, phone bool) (detect.Finding, bool) {
	start, end := gs[0].start, gs[len(gs)-1].end
	if end < len(text) && (isAlpha(text[end]) || text[end] == '_') {
		return detect.Finding{}, false
	}
	var digits [20]byte
	nd := 0
	for _, g := range gs {
		if nd+(g.end-g.start) > len(digits) {
			return detect.Finding{}, false // longer than any entity we know
		}
		nd += copy(digits[nd:], text[g.start:g.end])
	}
	d := digits[:nd]
	// A '+' or '(' right before the first digits belongs to the number.
	prefix := byte(0)
	if s := gs[0].sep; s != "" {
		prefix = s[len(s)-1]
		if prefix != '(' {
			prefix = 0
		}
	} else if start > 0 && (text[start-1] == '+' || text[start-1] == '(') {
		prefix = text[start-1]
	}
	leftOK := start == 0 || !isAlnum(text[start-1])
	if cc && prefix == 0 && leftOK && isCard(d, gs) {
		return finding(CreditCard, start, end, 1.0, "credit_card_luhn"), true
	}
	if ssn && prefix == 0 && leftOK && isSSN(d, gs) {
		return finding(SSN, start, end, 0.85, "us_ssn"), true
	}
	if phone {
		if rule := phoneShape(d, gs, prefix); rule != "" {
			if prefix != 0 {
				start--
			}
			if prefix == '(' && !hasCloseParen(gs) {
				return detect.Finding{}, false
			}
			return finding(Phone, start, end, 0.75, rule), true
		}
	}
	return detect.Finding{}, false
}

func hasCloseParen(gs []group) bool {
	for _, g := range gs[1:] {
		for i := 0; i < len(g.sep); i++ {
			if g.sep[i] == ')' {
				return true
			}
		}
	}
	return false
}

// sameSep reports whether every separator after the first group equals one of allowed
// and all are the same.
func sameSep(gs []group, allowed ...string) bool {
	if len(gs) < 2 {
		return true
	}
	s := gs[1].sep
	ok := false
	for _, a := range allowed {
		ok = ok || s == a
	}
	if !ok {
		return false
	}
	for _, g := range gs[2:] {
		if g.sep != s {
			return false
		}
	}
	return true
}

// sizes returns the digit count of each group, in a fixed array (no allocation: it runs
// for every candidate segmentation).
func sizes(gs []group) ([maxGroupsPI]int, int) {
	var out [maxGroupsPI]int
	n := len(gs)
	if n > maxGroupsPI {
		n = maxGroupsPI
	}
	for i := 0; i < n; i++ {
		out[i] = gs[i].end - gs[i].start
	}
	return out, n
}

func shape(gs []group, want ...int) bool {
	if len(gs) != len(want) {
		return false
	}
	for i, g := range gs {
		if g.end-g.start != want[i] {
			return false
		}
	}
	return true
}

// isCard wants 13–19 digits with a known issuer prefix, printed contiguously or in the
// usual 4-4-4-4 / 4-6-5 / 4-6-4 groupings, and a valid Luhn checksum.
func isCard(d []byte, gs []group) bool {
	n := len(d)
	if n < 13 || n > 19 || !sameSep(gs, " ", "-") {
		return false
	}
	switch d[0] {
	case '3', '4', '6':
	case '5':
		if d[1] > '5' {
			return false
		}
	case '2':
		if d[1] < '2' || d[1] > '7' {
			return false
		}
	case '1':
		if n == 13 {
			return false // 13-digit "1…" numbers are too often other identifiers
		}
	default:
		return false
	}
	if len(gs) > 1 && !shape(gs, 4, 6, 5) && !shape(gs, 4, 6, 4) {
		sz, n := sizes(gs)
		for i, s := range sz[:n] {
			if s != 4 && !(i == n-1 && s < 4) {
				return false
			}
		}
	}
	return luhn(d)
}

func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// isSSN accepts 9 digits as ddd-dd-dddd (one separator kind), contiguous, or the
// ddd-dddddd / ddddd-dddd variants Presidio also reports, then applies the SSA rules: no
// area 000, 666 or 9xx, no group 00, no serial 0000, not all one digit, and not one of
// the numbers SSA published as examples (078-05-1120, 219-09-9999, 123-45-6789).
func isSSN(d []byte, gs []group) bool {
	if len(d) != 9 {
		return false
	}
	switch {
	case len(gs) == 1:
	case shape(gs, 3, 2, 4) && sameSep(gs, "-", " ", "."):
	case (shape(gs, 3, 6) || shape(gs, 5, 4)) && gs[1].sep == "-":
	default:
		return false
	}
	s := string(d)
	area, grp, serial := s[:3], s[3:5], s[5:]
	if area == "000" || area == "666" || area[0] == '9' || grp == "00" || serial == "0000" {
		return false
	}
	same := true
	for i := 1; i < 9; i++ {
		same = same && d[i] == d[0]
	}
	if same {
		return false
	}
	switch s {
	case "078051120", "219099999", "123456789", "987654320":
		return false
	}
	return true
}
