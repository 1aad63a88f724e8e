package pii

// phoneShape returns the rule name if the digit groups gs (digits d, starting at
// text[gs[0].start]) look like a phone number, or "". prefix is '+' or '(' when that byte
// belongs to the number, cue reports a phone label right before it (see cueBefore).
//
// International numbers need a '+' or a 00 call prefix and 8–15 digits (E.164). National
// numbers need a recognisable layout, because bare digit strings are far more often ids,
// amounts, dates or versions:
//
//   - NANP (NXX) NXX-XXXX, optionally preceded by 1 or a 1–3 digit country code;
//   - trunk-prefixed numbers (0 + area code of 1–5 digits, then 2–8 digit groups):
//     UK 020 7946 0958, 07700 900123, (020) 7946 0958; DE 030 12345678, 030/1234567,
//     0171 1234567; FR 01 42 68 53 00, 06.12.34.56.78; NL 020-1234567; JP 03-1234-5678,
//     090-1234-5678; AU 02 9876 5432, 0412 345 678; IL 09-7625400;
//   - mobiles and numbers without a trunk prefix in their usual layouts: IT 347 123 4567,
//     ES 612 34 56 78, 612 345 678, 91 123 45 67, IN 98765 43210, BR (11) 91234-5678,
//     CN 13812345678, 138 1234 5678, AU 1300 123 456;
//   - after a phone label ("Tel:", "phone:", "Handy:", "fax =", `"mobile": "…"`), any
//     7–15 digits in at most 6 groups that are not a date or an IPv4 address.
//
// Layout rules want one separator kind between the subscriber groups (a different one
// may follow the area code, a '-' may precede an extension), and the number to end its
// digit run: "0123 4567 8901 2345" is not a phone number followed by more digits.
func phoneShape(text string, d []byte, gs []group, prefix byte, cue bool) string {
	n := len(d)
	if prefix == '+' {
		if n >= 8 && n <= 15 && d[0] != '0' && len(gs) <= 6 && !longSlash(gs, n, 12) && !thousands(gs) {
			return "phone_e164"
		}
		return ""
	}
	arr, ns := sizes(gs)
	sz := arr[:ns]
	// NANP, optionally preceded by "1" or a 2–3 digit country code.
	nanp := sz
	if len(sz) == 4 && sz[0] <= 3 {
		nanp = sz[1:]
	}
	if len(nanp) == 3 && nanp[0] == 3 && nanp[1] == 3 && nanp[2] == 4 {
		a := n - 10
		if d[a] >= '2' && d[a+3] >= '2' && nanpSeps(gs[len(gs)-3:]) {
			return "phone_nanp"
		}
	}
	if len(gs) == 1 {
		if n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' {
			return "phone_cn_mobile"
		}
	} else if d[0] == '0' {
		if rule := trunkShape(text, d, gs, sz, prefix); rule != "" {
			return rule
		}
	} else if rule := mobileShape(text, d, gs, sz, prefix); rule != "" {
		return rule
	}
	if cue && n >= 7 && n <= 15 && len(gs) <= 6 && !isDateLike(gs) && !ipLike(gs) && !thousands(gs) &&
		!continues(text, gs) {
		return "phone_labelled"
	}
	return ""
}

// trunkShape handles numbers starting with 0: the 00 international call prefix and
// trunk-prefixed national numbers.
func trunkShape(text string, d []byte, gs []group, sz []int, prefix byte) string {
	n := len(d)
	if d[1] == '0' {
		// 00 + country code (in the first group, "0044", or the second, "00 44"), then the
		// number as after a '+'.
		if prefix == 0 && d[2] != '0' && n >= 10 && n <= 17 && len(gs) <= 6 &&
			(sz[0] >= 3 && sz[0] <= 5 || sz[0] == 2 && sz[1] <= 3) &&
			!longSlash(gs, n, 14) && !continues(text, gs) {
			return "phone_intl"
		}
		return ""
	}
	if n < 9 || n > 12 || len(gs) > 6 || sz[0] < 2 || sz[0] > 6 || shape(gs, 3, 2, 4) {
		return ""
	}
	for _, s := range sz[1:] {
		if s < 2 || s > 8 {
			return ""
		}
	}
	if !areaLayout(gs, prefix) || ipLike(gs) || continues(text, gs) {
		return ""
	}
	return "phone_national"
}

// mobileShape handles the national layouts without a trunk prefix. They look more like
// other numbers than trunk-prefixed ones, so they also want a clean left edge and no
// currency next to them.
func mobileShape(text string, d []byte, gs []group, sz []int, prefix byte) string {
	n := len(d)
	rule := ""
	switch {
	case prefix == '(':
		// Brazil: (11) 91234-5678, (11) 3456-7890.
		if len(gs) == 3 && sz[0] == 2 && d[1] != '0' && (gs[1].sep == ") " || gs[1].sep == ")") &&
			(gs[2].sep == "-" || gs[2].sep == " ") && sz[2] == 4 && (sz[1] == 4 || sz[1] == 5 && d[2] == '9') {
			rule = "phone_br"
		}
	case prefix != 0:
	case n == 9 && d[0] >= '6':
		// Spain: 612 34 56 78, 91 123 45 67, 612 345 678.
		switch {
		case shape(gs, 3, 2, 2, 2) && sameSep(gs, " ", "-", "."),
			shape(gs, 2, 3, 2, 2) && d[0] >= '8' && sameSep(gs, " ", "-", "."),
			shape(gs, 3, 3, 3) && d[0] <= '7' && sameSep(gs, " ", "-"):
			rule = "phone_es"
		}
	case n == 10 && d[0] == '3' && d[1] != '0':
		// Italian mobiles: 347 123 4567, 347 1234567, 347 123 45 67, 347/1234567.
		if (shape(gs, 3, 3, 4) || shape(gs, 3, 7) || shape(gs, 3, 3, 2, 2)) && areaLayout(gs, 0) {
			rule = "phone_it_mobile"
		}
	case n == 10 && d[0] >= '6' && shape(gs, 5, 5) && sameSep(gs, " ", "-"):
		rule = "phone_in_mobile" // India: 98765 43210
	case n == 11 && d[0] == '1' && d[1] >= '3' && shape(gs, 3, 4, 4) && sameSep(gs, " ", "-"):
		rule = "phone_cn_mobile" // 138 1234 5678
	case n == 10 && shape(gs, 4, 3, 3) && (string(d[:4]) == "1300" || string(d[:4]) == "1800") && sameSep(gs, " ", "-"):
		rule = "phone_au" // 1300 123 456
	case n == 11 && shape(gs, 2, 5, 4) && d[1] != '0' && d[2] == '9' && gs[1].sep == " " && gs[2].sep == "-":
		rule = "phone_br" // 11 91234-5678
	}
	if rule == "" || continues(text, gs) || !cleanLeft(text, gs) || currencyNear(text, gs) {
		return ""
	}
	return rule
}

// areaLayout checks the separators of an area code + subscriber layout: after the area
// code one of " ", "-", ".", "/", " / ", " - " (or ")"/") " closing a '(' prefix), then one
// kind among " ", "-", "." throughout, except that a "-" may set off a final extension
// (089 123456-78). Dots do not mix with other separators (01.02.2023 10 is a date).
func areaLayout(gs []group, prefix byte) bool {
	s1 := gs[1].sep
	switch s1 {
	case " ", "-", ".", "/", " / ", " - ":
		if prefix == '(' {
			return false
		}
	case ")", ") ":
		if prefix != '(' {
			return false
		}
	default:
		return false
	}
	if len(gs) == 2 {
		return true
	}
	s2 := gs[2].sep
	switch s2 {
	case " ", "-", ".":
	default:
		return false
	}
	for k := 3; k < len(gs); k++ {
		if s := gs[k].sep; s != s2 && !(k == len(gs)-1 && s == "-" && s2 == " ") {
			return false
		}
	}
	if (s1 == ".") != (s2 == ".") && s1 != ")" && s1 != ") " {
		return false
	}
	return true
}

// continues reports whether the candidate is only part of a longer digit layout: the
// digit run goes on after it, or started before it, with the candidate's own separator.
func continues(text string, gs []group) bool {
	if len(gs) < 2 {
		return false
	}
	s := gs[len(gs)-1].sep
	if gs[0].sep != "" && gs[0].sep == s {
		return true
	}
	end := gs[len(gs)-1].end
	return len(text)-end > len(s) && text[end:end+len(s)] == s && isDigit(text[end+len(s)])
}

// cleanLeft wants the candidate to start its digit run after a byte that cannot be part
// of a word, amount or identifier, or mid-run after a separator containing a space.
func cleanLeft(text string, gs []group) bool {
	if s := gs[0].sep; s != "" {
		for i := 0; i < len(s); i++ {
			if s[i] == ' ' {
				return true
			}
		}
		return false
	}
	st := gs[0].start
	if st == 0 {
		return true
	}
	c := text[st-1]
	return !isAlnum(c) && c != '.' && c != ',' && c != '-' && c != '_' && c != '/' && c != '#'
}

// currencyNear reports a currency sign or code right next to the candidate ("$612 345
// 678", "612 345 678 EUR"). Only the adjacent sign is checked on the left: a word before
// it may already have been released by a stream filter, which must decide the same way.
func currencyNear(text string, gs []group) bool {
	st, end := gs[0].start, gs[len(gs)-1].end
	if gs[0].sep == "" {
		p := st
		if p > 0 && text[p-1] == ' ' {
			p--
		}
		if p > 0 {
			switch text[p-1] {
			case '$', 0xA3, 0xA5, 0xAC: // $, and the last bytes of £ ¥ €
				return true
			}
		}
	}
	p := end
	if p < len(text) && text[p] == ' ' {
		p++
	}
	if p >= len(text) {
		return false
	}
	switch c := text[p]; {
	case c == '$' || c == '%':
		return true
	case c == 0xE2 || c == 0xC2: // € and £ / ¥ start with these
		return len(text)-p >= 2 && (text[p+1] == 0x82 || text[p+1] == 0xA3 || text[p+1] == 0xA5)
	case isUpper(c):
		// An ISO 4217 code: three capitals followed by a non-letter.
		return len(text)-p >= 3 && isUpper(text[p+1]) && isUpper(text[p+2]) &&
			(len(text)-p == 3 || !isAlpha(text[p+3]))
	case c == 'e' || c == 'E' || c == 'd' || c == 'D':
		return hasPrefixFold(text[p:], "euro") || hasPrefixFold(text[p:], "dollar")
	}
	return false
}

func hasPrefixFold(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		if s[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// longSlash reports a '/' separator in a number of more than max digits.
func longSlash(gs []group, n, max int) bool {
	if n <= max {
		return false
	}
	for _, g := range gs[1:] {
		if g.sep == "/" || g.sep == " / " {
			return true
		}
	}
	return false
}

// thousands reports a digit grouping with '.' thousands separators (+12.345.678).
func thousands(gs []group) bool {
	if len(gs) < 3 || gs[0].end-gs[0].start > 3 {
		return false
	}
	for _, g := range gs[1:] {
		if g.sep != "." || g.end-g.start != 3 {
			return false
		}
	}
	return true
}

// ipLike reports a dotted quad of 1–3 digit groups.
func ipLike(gs []group) bool {
	if len(gs) != 4 {
		return false
	}
	for i, g := range gs {
		if g.end-g.start > 3 || i > 0 && g.sep != "." {
			return false
		}
	}
	return true
}

func nanpSeps(gs []group) bool {
	for _, g := range gs[1:] {
		switch g.sep {
		case " ", "-", ".", ") ", ")":
		default:
			return false
		}
	}
	return true
}

// isDateLike reports dd.mm.yyyy, yyyy-mm-dd and dd/mm/yy shapes with one non-space
// separator.
func isDateLike(gs []group) bool {
	if len(gs) != 3 {
		return false
	}
	return (shape(gs, 2, 2, 4) || shape(gs, 4, 2, 2) || shape(gs, 2, 2, 2)) && gs[1].sep == gs[2].sep && gs[1].sep != " "
}

// maxCueToken bounds the label token read by cueBefore.
const maxCueToken = 24

// cueBefore reports whether the number starting at text[p] directly follows a phone
// label and a ':' or '=' ("Tel: ", "Tel.-Nr.: ", "phone_number=", `"mobile": "`). The
// label must be the token right before the number: a stream filter holds back tokens
// ending in ':' or '=' together with the digits after them, so it sees the label too.
func cueBefore(text string, p int) bool {
	// Up to 4 bytes of spaces and quotes, with exactly one ':' or '=' among them.
	q, colon := p, false
	for q > 0 && p-q < 5 {
		c := text[q-1]
		if c == ':' || c == '=' {
			if colon {
				return false
			}
			colon = true
		} else if c != ' ' && c != '\t' && c != '"' && c != '\'' {
			break
		}
		q--
	}
	if !colon || q == 0 || text[q-1] != '.' && !isAlpha(text[q-1]) {
		return false
	}
	// The label token: letters and . - _ #, folded to its lower-case letters.
	var buf [maxCueToken]byte
	n := maxCueToken
	for ; q > 0; q-- {
		c := text[q-1]
		if isAlpha(c) {
			if n == 0 {
				return false
			}
			n--
			buf[n] = c | 0x20
		} else if c != '.' && c != '-' && c != '_' && c != '#' {
			break
		}
	}
	if q > 0 && text[q-1] >= 0x80 {
		return false // part of a longer non-ASCII word
	}
	w := string(buf[n:])
	if isPhoneLabel(w) {
		return true
	}
	for _, suf := range [...]string{"number", "nummer", "num", "nr", "no"} {
		if len(w) > len(suf) && w[len(w)-len(suf):] == suf {
			return isPhoneLabel(w[:len(w)-len(suf)])
		}
	}
	return false
}

// isPhoneLabel reports a phone label folded to lower-case letters, after any "number"
// suffix was removed (telnr → tel, telefonnummer → telefon, phone_number → phone).
func isPhoneLabel(w string) bool {
	switch w {
	case "tel", "tele", "telephone", "telefon", "telefono", "phone", "ph", "mobile", "mobil",
		"mob", "mobilephone", "mobiltelefon", "cell", "cellphone", "handy", "fax", "telefax",
		"tlf", "ruf", "homephone", "workphone", "contactphone", "whatsapp":
		return true
	}
	return false
}
