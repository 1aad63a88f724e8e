package pii

import "github.com/llmguard/caddy-llmguard/llmguard/detect"

// group is one run of digits inside a number-like span, with the separator before it.
type group struct {
	start, end int
	sep        string // bytes between the previous group and this one ("" for the first)
	sepc       uint32 // sep packed into an integer, for the segmentation pre-checks
}

// sepCode packs a separator of at most 3 bytes into an integer; equal codes mean equal
// separators.
func sepCode(s string) uint32 {
	c := uint32(len(s))
	for i := 0; i < len(s); i++ {
		c |= uint32(s[i]) << (8 * (i + 1))
	}
	return c
}

const (
	// maxSepLen is the longest separator between digit groups: ") " in "(415) 555", and
	// the three-byte " / " and " - " of "030 / 1234567" (no other three-byte separator).
	maxSepLen = 3
	// maxGroupsPI is the most groups one entity may span (a card printed 4-4-4-4-3 has 5,
	// a phone number at most 6); it bounds the segmentation work.
	maxGroupsPI = 6
	// maxRunGroups cuts absurdly long digit runs ("1 2 3 4 …") into pieces, so the group
	// buffer stays small and cache-resident; real entities span at most maxGroupsPI.
	maxRunGroups = 64
	// minDigits is the fewest digits of any entity; a labelled phone number ("Tel: 555
	// 1234", see cueBefore) may have minCueDigits.
	minDigits    = 8
	minCueDigits = 7
	maxDigits    = 19
)

func isNumSep(c byte) bool {
	return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')'
}

// scanNumbers finds runs of digit groups (digits joined by short separators) and segments
// each run greedily into credit cards, SSNs and phone numbers, longest match first. A run
// of "4012888888881881 4012-8888-8888-1881" thus yields two cards.
func scanNumbers(text string, dst []detect.Finding, cc, ssn, phone bool) []detect.Finding {
	var buf [maxRunGroups]group
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i = nextDigit(text, i+1)
			continue
		}
		if i > 0 && (isDigit(text[i-1]) || text[i-1] == ',' && i > 1 && isDigit(text[i-2])) {
			i++ // a run never starts in the middle of digits (or of "1,000")
			continue
		}
		// Collect the run.
		ng := 0
		p := i
		sep := ""
		sepc := uint32(0)
		nd := 0
		for {
			s := p
			for p < len(text) && isDigit(text[p]) {
				p++
			}
			nd += p - s
			g := &buf[ng]
			g.start, g.end, g.sep, g.sepc = s, p, sep, sepc
			if ng++; ng == maxRunGroups {
				break
			}
			q := p
			for q < len(text) && q-p < maxSepLen+1 && isNumSep(text[q]) {
				q++
			}
			if q == p || q-p > maxSepLen || q >= len(text) || !isDigit(text[q]) ||
				q-p == 3 && !isWideSep(text[p:q]) {
				break
			}
			sep = text[p:q]
			sepc = sepCode(sep)
			p = q
		}
		// Runs of fewer digits than any entity ("1:2:3", "v1.2") need no segmentation.
		if nd >= minDigits || phone && nd >= minCueDigits {
			dst = segment(text, buf[:ng], dst, cc, ssn, phone)
		}
		i = p
	}
	return dst
}

// isWideSep reports the only three-byte separators: " / " and " - ".
func isWideSep(s string) bool {
	return s[0] == ' ' && s[2] == ' ' && (s[1] == '/' || s[1] == '-')
}

// numStart is where a number whose first digit is at text[i] starts: at a '+' or '('
// right before it.
func numStart(text string, i int) int {
	if i > 0 && (text[i-1] == '+' || text[i-1] == '(') {
		return i - 1
	}
	return i
}

func segment(text string, gs []group, dst []detect.Finding, cc, ssn, phone bool) []detect.Finding {
	// win is the digit count of gs[i:min(i+maxGroupsPI, len(gs))], the longest candidate
	// at i, kept up to date as i advances: a start whose longest candidate has too few
	// digits is skipped in O(1), which keeps runs of short groups ("1 2-3.1 2-3.…") cheap.
	win := 0
	for _, g := range gs[:min(len(gs), maxGroupsPI)] {
		win += g.end - g.start
	}
	// A phone label before the run loosens the layout rules for candidates at its start.
	cue := phone && win >= minCueDigits && cueBefore(text, numStart(text, gs[0].start))
	for i := 0; i < len(gs); {
		hi := min(i+maxGroupsPI, len(gs)) // candidates are gs[i:k+1], k < hi
		lc := cue && i == 0
		if win >= minDigits || lc && win >= minCueDigits {
			var k int
			if dst, k = segmentAt(text, gs, i, hi, dst, cc, ssn, phone, lc); k >= 0 {
				i = k + 1
				win = 0
				for _, g := range gs[i:min(len(gs), i+maxGroupsPI)] {
					win += g.end - g.start
				}
				continue
			}
		}
		win -= gs[i].end - gs[i].start
		if hi < len(gs) {
			win += gs[hi].end - gs[hi].start
		}
		i++
	}
	return dst
}

// segmentAt appends the longest entity gs[i:k+1] with k < hi and returns k, or -1.
func segmentAt(text string, gs []group, i, hi int, dst []detect.Finding, cc, ssn, phone, cue bool) ([]detect.Finding, int) {
	// '+', a leading '0' or "00" and the separators are the only facts about the text
	// classify needs beyond group sizes to reject a candidate; see mayClassify.
	g := gs[i]
	plus := g.sep == "" && g.start > 0 && text[g.start-1] == '+'
	zero := text[g.start] == '0'
	zz := zero && g.end-g.start > 1 && text[g.start+1] == '0'
	first := g.end - g.start
	// The layout rules want one separator from gs[i+2] on, but for a final "-" after
	// spaces (an extension): candidates ending after uni are not such layouts.
	uni := min(i+2, hi-1)
	if i+2 < hi {
		s := gs[i+2].sepc
		for uni+1 < hi && gs[uni+1].sepc == s {
			uni++
		}
		if uni+1 < hi && s == sepCode(" ") && gs[uni+1].sepc == sepCode("-") {
			uni++
		}
	}
	var tot [maxGroupsPI]int
	nd := 0
	for k := i; k < hi; k++ {
		nd += gs[k].end - gs[k].start
		tot[k-i] = nd
	}
	for k := hi - 1; k >= i; k-- {
		nd := tot[k-i]
		if nd > maxDigits {
			continue
		}
		if nd < minCueDigits {
			break // shorter candidates have fewer digits
		}
		ng := k - i + 1
		// The candidate continues into a longer layout when its last separator also
		// joins the group after it or before it (see continues).
		cont := ng >= 2 && (k+1 < len(gs) && gs[k+1].sepc == gs[k].sepc || g.sepc != 0 && g.sepc == gs[k].sepc)
		if !mayClassify(nd, ng, first, plus, zero, zz, cue, k <= uni && !cont, !cont) {
			continue
		}
		if f, ok := classify(text, gs[i:k+1], cc, ssn, phone, cue); ok {
			return append(dst, f), k
		}
	}
	return dst, -1
}

// mayClassify is a necessary condition for classify to succeed on nd digits in ng groups
// (the first of size first), from sizes and a few flags: a '+' before the number, a
// first digit '0', first digits "00", a phone label (cue), separators that may form a
// layout (one kind from the third group on, not continuing beyond the candidate) and a
// candidate that does not continue. Runs of short groups ("1 2-3.1 2-3.…") and of mixed
// separators otherwise send a classify call with a digit copy for nearly every group;
// this rejects them in O(1). Each clause mirrors one accepting path; keep them in step.
func mayClassify(nd, ng, first int, plus, zero, zz, cue, layout, alone bool) bool {
	switch {
	case nd < minCueDigits || nd > maxDigits:
		return false // no entity is shorter or longer
	case nd >= 13 && (ng == 1 || first == 4): // isCard: 13–19 digits, groupings start with 4
		return true
	case nd == 9 && ng <= 3: // isSSN: 9 digits in at most 3 groups
		return true
	case plus:
		return nd >= 8 && nd <= 15 && ng <= 6 // phone_e164; a '+' prefix rules out the other phone shapes
	case cue && alone && nd <= 15 && ng <= 6: // phone_labelled
		return true
	case nd < minDigits:
		return false
	case (ng == 3 || ng == 4) && nd >= 10 && nd <= 13: // phone_nanp: 3-3-4 plus ≤3 digits
		return true
	case ng == 1 && nd == 11: // phone_cn_mobile
		return true
	case zz: // phone_intl
		return alone && ng >= 2 && ng <= 6 && nd >= 10 && nd <= 17
	case zero: // phone_national
		return layout && ng >= 2 && ng <= 6 && nd >= 9 && nd <= 12
	case layout && ng >= 2 && ng <= 4 && nd >= 9 && nd <= 11: // mobileShape
		return true
	}
	return false
}

// classify decides whether the groups form one entity. Checks run in order of certainty:
// a Luhn-valid card, a valid SSN shape, then phone number shapes.
func classify(text string, gs []group, cc, ssn, phone, cue bool) (detect.Finding, bool) {
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
		// A '(' belongs to a phone number only if it closes right after the first group.
		if prefix == '(' && (len(gs) < 2 || gs[1].sep[0] != ')') {
			prefix = 0
		}
		if rule := phoneShape(text, d, gs, prefix, cue); rule != "" {
			if prefix != 0 {
				start--
			}
			return finding(Phone, start, end, 0.75, rule), true
		}
	}
	return detect.Finding{}, false
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
