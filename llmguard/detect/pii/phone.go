package pii

// phoneShape returns the rule name if the digit groups look like a phone number, or "".
// International numbers need a '+' and 8–15 digits (E.164). National numbers need a
// recognisable layout, because bare digit strings are far more often ids or amounts:
// NANP (NXX) NXX-XXXX with optional 1 or country prefix, trunk-prefixed European and
// Asian numbers such as 030 1234567, 020 7123 4567, 01 42 68 53 00, 090-1234-5678,
// 09-7625400, and contiguous Chinese mobiles 1[3-9]XXXXXXXXX.
func phoneShape(d []byte, gs []group, prefix byte) string {
	n := len(d)
	for _, g := range gs[1:] {
		if g.sep == "/" && n > 12 {
			return ""
		}
	}
	if prefix == '+' {
		if n >= 8 && n <= 15 && d[0] != '0' && len(gs) <= 6 {
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
		return ""
	}
	if d[0] == '0' && n >= 9 && n <= 12 && len(gs) <= 6 && sz[len(sz)-1] >= 2 &&
		!shape(gs, 3, 2, 4) && !isDateLike(gs) {
		for _, s := range sz {
			if s > 8 {
				return ""
			}
		}
		return "phone_national"
	}
	return ""
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

func isDateLike(gs []group) bool {
	if len(gs) != 3 {
		return false
	}
	return (shape(gs, 2, 2, 4) || shape(gs, 4, 2, 2)) && gs[1].sep == gs[2].sep && gs[1].sep != " "
}
