package pii

import (
	"math/rand"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// TestScanEquivalence checks the IBAN, IP and number scanners against the
// straightforward versions they were optimised from (refScanIBANs tries every position;
// refScanIPs walks back the full window from every colon and tries IPv4 at every digit;
// refSegment classifies every candidate of up to refMaxGroups groups with 8–19 digits,
// 7–19 after a phone label, without the mayClassify and run-length pre-checks) on random
// text built from the bytes those scanners care about, phone-like and IBAN-like inputs,
// plus long adversarial runs. It asserts identical findings, not speed.
func TestScanEquivalence(t *testing.T) {
	const alphabet = "0123456789abcdefABx:::...--  ()+/%_,@"
	r := rand.New(rand.NewSource(1))
	inputs := []string{
		strings.Repeat("1:", 500), strings.Repeat("::", 300), strings.Repeat("1::", 300),
		strings.Repeat("fe80:", 200) + "1%eth0", strings.Repeat("1 2-3.", 500),
		strings.Repeat("01 23-45.", 200), strings.Repeat("4111 ", 300), strings.Repeat("+1 ", 300),
		strings.Repeat("0", 5000), strings.Repeat("12:", 100) + " ::1 " + strings.Repeat("a:", 100),
		strings.Repeat("Tel: 1234567 ", 50), strings.Repeat("030 1234567 ", 50), strings.Repeat("0 ", 300),
		"::ffff:10.0.0.1 fe80::1%eth0 2001:db8::1 10.0.0.12 +1 415 555 0132 4012888888881881",
	}
	for n := 0; n < 20000; n++ {
		b := make([]byte, 1+r.Intn(200))
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	// Structured inputs: digit and hex groups of varied sizes joined by the separators
	// the scanners accept, so candidates of every shape reach the accepting paths.
	seps := []string{" ", "-", ".", "/", ") ", ")", " (", ":", "::", ".", "%eth0 ", ", ", "+"}
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		if r.Intn(3) == 0 {
			b.WriteString([]string{"+", "(", "0", "x", " "}[r.Intn(5)])
		}
		for g := r.Intn(12); g >= 0; g-- {
			for k := 1 + r.Intn(6); k > 0; k-- {
				if r.Intn(8) == 0 {
					b.WriteByte("abcdef"[r.Intn(6)])
				} else {
					b.WriteByte('0' + byte(r.Intn(10)))
				}
			}
			b.WriteString(seps[r.Intn(len(seps))])
		}
		inputs = append(inputs, b.String())
	}
	// Phone-like inputs: a label, prefix or currency before digit groups whose separators
	// are mostly of one kind, and text after them, so the layout rules, the phone label
	// (cue) path and their pre-checks in mayClassify are reached and rejected both ways.
	befores := []string{"", "Tel: ", "phone=", "\"mobile\": \"", "Tel.-Nr.: ", "Tel. ", "x", "$", "+", "(", "00",
		"0", "+44 (0)", "fax:(", "a ", "2024 ", ".", "-", "1 ", "0 "}
	afters := []string{"", " EUR", "-12", " 1234", ".5", ")", " €", " 0", "a", "-1", ", 030 1234567"}
	pseps := []string{" ", "-", ".", "/", " / ", " - ", ") ", ")", " ("}
	layouts := [][]int{{3, 2, 2, 2}, {2, 3, 2, 2}, {3, 3, 3}, {3, 3, 4}, {3, 7}, {5, 5}, {3, 4, 4},
		{4, 3, 3}, {2, 5, 4}, {2, 4, 4}, {3, 3, 2, 2}, {3, 4, 4, 1}, {1, 3, 3, 4}}
	for n := 0; n < 40000; n++ {
		var b strings.Builder
		b.WriteString(befores[r.Intn(len(befores))])
		main, other := pseps[r.Intn(3)], pseps[r.Intn(len(pseps))]
		sizes := layouts[r.Intn(len(layouts))]
		if r.Intn(2) == 0 {
			sizes = nil
			for g := 1 + r.Intn(6); g > 0; g-- {
				sizes = append(sizes, 1+r.Intn(5))
			}
		}
		// Leading digits the layouts look at (trunk 0, 00, Italian 3, Spanish 6/9,
		// Chinese 13, Australian 1300), then random digits with extra zeros.
		lead := []string{"", "", "0", "00", "3", "6", "9", "13", "1300", "1"}[r.Intn(10)]
		for i, size := range sizes {
			for k := 0; k < size; k++ {
				switch {
				case i == 0 && k < len(lead):
					b.WriteByte(lead[k])
				case r.Intn(4) == 0:
					b.WriteByte('0')
				default:
					b.WriteByte('0' + byte(r.Intn(10)))
				}
			}
			if i < len(sizes)-1 {
				if r.Intn(4) == 0 {
					b.WriteString(other)
				} else {
					b.WriteString(main)
				}
			}
		}
		b.WriteString(afters[r.Intn(len(afters))])
		inputs = append(inputs, b.String())
	}
	// IBAN-like inputs: valid and corrupted IBANs, grouped or not, next to each other
	// and to letters and digits.
	ibans := []string{"DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432",
		"GB82 WEST 1234 5698 7654 32", "FR1420041010050500013M02606", "NL91ABNA0417164300"}
	for n := 0; n < 5000; n++ {
		var b strings.Builder
		for k := r.Intn(4); k >= 0; k-- {
			x := []byte(ibans[r.Intn(len(ibans))])
			if r.Intn(3) == 0 {
				x[r.Intn(len(x))] = "0123456789 AZ"[r.Intn(13)]
			}
			b.Write(x)
			b.WriteString([]string{"", " ", "1", "A", "-", ". "}[r.Intn(6)])
		}
		inputs = append(inputs, b.String())
	}
	// Hex-and-colon runs longer than maxIPv6Run, where the IPv6 walk reuses earlier work.
	for n := 0; n < 5000; n++ {
		b := make([]byte, 60+r.Intn(200))
		for i := range b {
			b[i] = "0123456789abcdef:::::. "[r.Intn(23)]
		}
		inputs = append(inputs, string(b))
	}
	rules := map[string]int{}
	for _, in := range inputs {
		for _, f := range scanNumbers(in, nil, true, true, true) {
			rules[f.Rule]++
		}
	}
	// Every accepting path must be reached, or the comparison proves little about it.
	for _, rule := range []string{"credit_card_luhn", "us_ssn", "phone_e164", "phone_nanp", "phone_cn_mobile",
		"phone_intl", "phone_national", "phone_es", "phone_it_mobile", "phone_in_mobile", "phone_au", "phone_br",
		"phone_labelled"} {
		if rules[rule] == 0 {
			t.Errorf("no input reaches %s", rule)
		}
	}
	for _, in := range inputs {
		if got, want := scanIBANs(in, nil), refScanIBANs(in, nil); !slices.Equal(got, want) {
			t.Fatalf("scanIBANs(%q) = %v, want %v", in, got, want)
		}
		if got, want := scanIPs(in, nil), refScanIPs(in, nil); !slices.Equal(got, want) {
			t.Fatalf("scanIPs(%q) = %v, want %v", in, got, want)
		}
		for _, on := range [][3]bool{{true, true, true}, {false, false, true}, {true, false, false}} {
			got := scanNumbers(in, nil, on[0], on[1], on[2])
			want := refScanNumbers(in, nil, on[0], on[1], on[2])
			if !slices.Equal(got, want) {
				t.Fatalf("scanNumbers(%q, %v) = %v, want %v", in, on, got, want)
			}
		}
	}
}

// refScanIBANs tries every position; scanIBANs jumps from digit to digit.
func refScanIBANs(text string, dst []detect.Finding) []detect.Finding {
	for i := 0; i+4 < len(text); i++ {
		if end, ok := ibanAt(text, i); ok {
			dst = append(dst, finding(IBAN, i, end, 1.0, "iban_mod97"))
			i = end - 1
		}
	}
	return dst
}

func refScanIPs(text string, dst []detect.Finding) []detect.Finding {
	first := len(dst)
	v6end := -1
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], ':')
		if j < 0 {
			break
		}
		c := i + j
		// Walk back over hex digits and colons to the start of the candidate.
		s := c
		for s > 0 && c-s < maxIPv6Run && (isHex(text[s-1]) || text[s-1] == ':') {
			s--
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
		if strings.Count(text[s:e], ":") < 2 {
			continue
		}
		if (s > 0 && isAlnum(text[s-1])) || (e < len(text) && isAlnum(text[e])) {
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
	for i := 0; i < len(text); i++ {
		if !isDigit(text[i]) || (i > 0 && (isAlnum(text[i-1]) || text[i-1] == '.')) {
			continue
		}
		e, ok := ipv4At(text, i)
		if !ok {
			continue
		}
		for k < len(v6) && v6[k].End <= i {
			k++
		}
		if k == len(v6) || i < v6[k].Start || e > v6[k].End {
			dst = append(dst, finding(IP, i, e, 0.9, "ipv4"))
		}
		i = e
	}
	return dst
}

func refScanNumbers(text string, dst []detect.Finding, cc, ssn, phone bool) []detect.Finding {
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
			if sep := text[p:q]; len(sep) == 3 && sep != " / " && sep != " - " {
				break
			}
			sep = text[p:q]
			p = q
		}
		dst = refSegment(text, gs, dst, cc, ssn, phone)
		i = p
	}
	return dst
}

// refMaxGroups is larger than maxGroupsPI on purpose: candidates of 7 or 8 groups must
// never classify, which is what lets the fast scanner stop at maxGroupsPI.
const refMaxGroups = 8

func refSegment(text string, gs []group, dst []detect.Finding, cc, ssn, phone bool) []detect.Finding {
	cue := phone && cueBefore(text, numStart(text, gs[0].start))
	for i := 0; i < len(gs); {
		hi := i + refMaxGroups - 1
		if hi >= len(gs) {
			hi = len(gs) - 1
		}
		found := false
		lc := cue && i == 0
		minD := 8
		if lc {
			minD = 7
		}
		var tot [refMaxGroups]int
		sum := 0
		for k := i; k <= hi; k++ {
			sum += gs[k].end - gs[k].start
			tot[k-i] = sum
		}
		for k := hi; k >= i; k-- {
			if tot[k-i] < minD || tot[k-i] > 19 {
				continue
			}
			if f, ok := classify(text, gs[i:k+1], cc, ssn, phone, lc); ok {
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
