package pii

import (
	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// ibanFormats holds each country's BBAN structure in the IBAN registry notation (n digits,
// a upper-case letters, c alphanumerics), e.g. Germany "18n". The structure check matters
// as much as mod-97: one in 97 random strings passes the checksum.
var ibanFormats = map[string]string{
	"AD": "8n12c", "AE": "19n", "AL": "8n16c", "AT": "16n", "AZ": "4a20c", "BA": "16n",
	"BE": "12n", "BG": "4a6n8c", "BH": "4a14c", "BI": "23n", "BR": "23n1a1c", "BY": "4c4n16c",
	"CH": "5n12c", "CR": "18n", "CY": "8n16c", "CZ": "20n", "DE": "18n", "DJ": "23n",
	"DK": "14n", "DO": "4c20n", "EE": "16n", "EG": "25n", "ES": "20n", "FI": "14n",
	"FK": "2a12n", "FO": "14n", "FR": "10n11c2n", "GB": "4a14n", "GE": "2a16n", "GI": "4a15c",
	"GL": "14n", "GR": "7n16c", "GT": "4c20c", "HN": "4a20n", "HR": "17n", "HU": "24n",
	"IE": "4c14n", "IL": "19n", "IQ": "4a15n", "IS": "22n", "IT": "1a10n12c", "JO": "4a4n18c",
	"KW": "4a22c", "KZ": "3n13c", "LB": "4n20c", "LC": "4a24c", "LI": "5n12c", "LT": "16n",
	"LU": "3n13c", "LV": "4a13c", "LY": "21n", "MC": "10n11c2n", "MD": "2c18c", "ME": "18n",
	"MK": "3n10c2n", "MN": "16n", "MR": "23n", "MT": "4a5n18c", "MU": "4a19n3a", "NI": "4a20n",
	"NL": "4a10n", "NO": "11n", "OM": "3n16c", "PK": "4c16n", "PL": "24n", "PS": "4c21n",
	"PT": "21n", "QA": "4a21c", "RO": "4a16c", "RS": "18n", "RU": "14n15c", "SA": "2n18c",
	"SC": "4a20n3a", "SD": "14n", "SE": "20n", "SI": "15n", "SK": "20n", "SM": "1a10n12c",
	"SO": "19n", "ST": "21n", "SV": "4a20n", "TL": "19n", "TN": "20n", "TR": "5n17c",
	"UA": "6n19c", "VA": "18n", "VG": "4c16n", "XK": "16n", "YE": "4a4n18c",
}

// ibanClasses expands every format once ("2a3n" → "aannn").
var ibanClasses = func() map[string]string {
	m := make(map[string]string, len(ibanFormats))
	for cc, f := range ibanFormats {
		var out []byte
		n := 0
		for i := 0; i < len(f); i++ {
			if isDigit(f[i]) {
				n = n*10 + int(f[i]-'0')
				continue
			}
			for ; n > 0; n-- {
				out = append(out, f[i])
			}
		}
		m[cc] = string(out)
	}
	return m
}()

// scanIBANs looks for a country code and check digits at a word start, then reads exactly
// the country's BBAN length, allowing one consistent separator (space or dash) between the
// printed groups of four. Work per candidate is bounded by the longest IBAN (34 chars).
func scanIBANs(text string, dst []detect.Finding) []detect.Finding {
	// Candidates are found by their first check digit j = i+2, which starts a run of
	// digits: the scan jumps from run to run, skipping prose eight bytes at a time.
	for j := nextDigit(text, 2); j+2 < len(text); j = nextDigit(text, runEnd(text, j)+1) {
		i := j - 2
		end, ok := ibanAt(text, i)
		if !ok {
			continue
		}
		dst = append(dst, finding(IBAN, i, end, 1.0, "iban_mod97"))
		j = end // the next candidate starts at end or later (runEnd(text, end) == end)
	}
	return dst
}

// ibanAt reports whether a valid IBAN starts at text[i] (country code, two check digits,
// a country's BBAN layout, mod-97) and where it ends.
func ibanAt(text string, i int) (int, bool) {
	if i+3 >= len(text) || !isUpper(text[i]) || !isUpper(text[i+1]) || !isDigit(text[i+2]) || !isDigit(text[i+3]) {
		return 0, false
	}
	if i > 0 && isAlnum(text[i-1]) {
		return 0, false
	}
	classes, ok := ibanClasses[text[i:i+2]]
	if !ok {
		return 0, false
	}
	var buf [40]byte
	end, compact, ok := readIBAN(text, i, classes, &buf)
	if !ok || !ibanChecksum(compact) {
		return 0, false
	}
	return end, true
}

// readIBAN returns the end offset and the compact form (without separators, in buf) of
// an IBAN starting at i whose BBAN must follow classes.
func readIBAN(text string, i int, classes string, buf *[40]byte) (int, []byte, bool) {
	compact := append(buf[:0], text[i:i+4]...)
	p := i + 4
	var sep byte
	for k := 0; k < len(classes); k++ {
		if p >= len(text) {
			return 0, nil, false
		}
		if (4+k)%4 == 0 && (text[p] == ' ' || text[p] == '-') {
			if sep == 0 && k == 0 {
				sep = text[p]
			}
			if text[p] != sep {
				return 0, nil, false
			}
			p++
			if p >= len(text) {
				return 0, nil, false
			}
		} else if sep != 0 && (4+k)%4 == 0 {
			return 0, nil, false // grouped IBANs keep grouping to the end
		}
		c := text[p]
		switch classes[k] {
		case 'n':
			ok := isDigit(c)
			if !ok {
				return 0, nil, false
			}
		case 'a':
			if !isUpper(c) {
				return 0, nil, false
			}
		default:
			if !isAlnum(c) {
				return 0, nil, false
			}
		}
		compact = append(compact, c)
		p++
	}
	if p < len(text) && isAlnum(text[p]) {
		return 0, nil, false
	}
	return p, compact, true
}

// ibanChecksum is ISO 7064 mod 97-10 over BBAN + country + check digits.
func ibanChecksum(iban []byte) bool {
	r := 0
	add := func(c byte) {
		switch {
		case isDigit(c):
			r = (r*10 + int(c-'0')) % 97
		case isUpper(c):
			r = (r*100 + int(c-'A'+10)) % 97
		case isLower(c):
			r = (r*100 + int(c-'a'+10)) % 97
		}
	}
	for _, c := range iban[4:] {
		add(c)
	}
	for _, c := range iban[:4] {
		add(c)
	}
	return r == 1
}

// IBANChecksumValid reports whether s (compact or grouped) passes mod-97 and its
// country's structure; exported for configuration validation and tests.
func IBANChecksumValid(s string) bool {
	if len(s) < 5 {
		return false
	}
	classes, ok := ibanClasses[s[:2]]
	if !ok {
		return false
	}
	var buf [40]byte
	end, compact, ok := readIBAN(s, 0, classes, &buf)
	return ok && end == len(s) && ibanChecksum(compact)
}
