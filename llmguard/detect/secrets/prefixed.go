package secrets

import (
	"sort"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// charset selects the bytes a key body may contain.
type charset uint8

const (
	alnum          charset = iota // A-Za-z0-9
	word                          // A-Za-z0-9_-
	wordNoDsh                     // A-Za-z0-9_
	upper32                       // A-Z2-7 (AWS key ids)
	lowerHex                      // 0-9a-f
	b64                           // A-Za-z0-9+/=
	b64url                        // A-Za-z0-9_-=
	alnumDot                      // A-Za-z0-9.
	wordDot                       // A-Za-z0-9_-.
	wordDotEq                     // A-Za-z0-9_-.=
	upperAlnum                    // A-Z0-9
	upperAlnumDash                // A-Z0-9-
	lowerAlnum                    // a-z0-9
	alpha                         // A-Za-z
	alnumPct                      // A-Za-z0-9%
	nonQuote                      // any printable ASCII but space and quotes
)

func (c charset) has(b byte) bool {
	switch c {
	case alnum:
		return isAlnum(b)
	case word:
		return isWordByte(b)
	case wordNoDsh:
		return isAlnum(b) || b == '_'
	case upper32:
		return isUpper(b) || b >= '2' && b <= '7'
	case lowerHex:
		return isDigit(b) || b >= 'a' && b <= 'f'
	case b64:
		return isAlnum(b) || b == '+' || b == '/' || b == '='
	case b64url:
		return isWordByte(b) || b == '='
	case alnumDot:
		return isAlnum(b) || b == '.'
	case wordDot:
		return isWordByte(b) || b == '.'
	case wordDotEq:
		return isWordByte(b) || b == '.' || b == '='
	case upperAlnum:
		return isUpper(b) || isDigit(b)
	case upperAlnumDash:
		return isUpper(b) || isDigit(b) || b == '-'
	case lowerAlnum:
		return isLower(b) || isDigit(b)
	case alpha:
		return isUpper(b) || isLower(b)
	case alnumPct:
		return isAlnum(b) || b == '%'
	case nonQuote:
		return b > ' ' && b < 0x7f && b != '"' && b != '\'' && b != '`'
	}
	return false
}

// all reports whether every byte of s is in the charset.
func (c charset) all(s string) bool {
	for i := 0; i < len(s); i++ {
		if !c.has(s[i]) {
			return false
		}
	}
	return true
}

// prefixRule is a provider key: a literal prefix, then min..max body bytes of a charset.
type prefixRule struct {
	prefix   string
	typ      string
	body     charset
	min, max int
	minH     float64           // minimum entropy of the body
	check    func(string) bool // extra validation of the body, optional
}

// prefixRules are the core rules plus providerRules (providers.go). At a word start the
// rule with the longest matching prefix decides ("sk-ant-" before "sk-"): rulesByFirst
// orders each bucket by prefix length.
var prefixRules = append(coreRules, providerRules...)

var coreRules = []prefixRule{
	{prefix: "sk-llmg-", typ: GatewayKey, body: alnum, min: 40, max: 64, minH: 3.5},
	{prefix: "sk-ant-", typ: AnthropicKey, body: word, min: 90, max: 130, minH: 4, check: anthropicBody},
	{prefix: "sk-", typ: OpenAIKey, body: word, min: 32, max: 250, minH: 3.5, check: openAIBody},
	{prefix: "AKIA", typ: AWSAccessKey, body: upper32, min: 16, max: 16, minH: 2.5, check: notExample},
	{prefix: "ASIA", typ: AWSAccessKey, body: upper32, min: 16, max: 16, minH: 2.5, check: notExample},
	{prefix: "ABIA", typ: AWSAccessKey, body: upper32, min: 16, max: 16, minH: 2.5, check: notExample},
	{prefix: "ACCA", typ: AWSAccessKey, body: upper32, min: 16, max: 16, minH: 2.5, check: notExample},
	{prefix: "ghp_", typ: GitHubToken, body: alnum, min: 36, max: 36, minH: 3},
	{prefix: "gho_", typ: GitHubToken, body: alnum, min: 36, max: 36, minH: 3},
	{prefix: "ghu_", typ: GitHubToken, body: alnum, min: 36, max: 36, minH: 3},
	{prefix: "ghs_", typ: GitHubToken, body: alnum, min: 36, max: 36, minH: 3},
	{prefix: "ghr_", typ: GitHubToken, body: alnum, min: 36, max: 36, minH: 3},
	{prefix: "github_pat_", typ: GitHubToken, body: wordNoDsh, min: 82, max: 82, minH: 3},
	{prefix: "glpat-", typ: GitLabToken, body: wordDot, min: 20, max: 320, minH: 3, check: gitlabPATBody},
	{prefix: "glptt-", typ: GitLabToken, body: lowerHex, min: 40, max: 40, minH: 3},
	{prefix: "gldt-", typ: GitLabToken, body: word, min: 20, max: 64, minH: 3},
	{prefix: "sk_live_", typ: StripeKey, body: alnum, min: 20, max: 255, minH: 3},
	{prefix: "rk_live_", typ: StripeKey, body: alnum, min: 20, max: 255, minH: 3},
	{prefix: "sk_test_", typ: StripeKey, body: alnum, min: 20, max: 255, minH: 3},
	{prefix: "rk_test_", typ: StripeKey, body: alnum, min: 20, max: 255, minH: 3},
	{prefix: "AIza", typ: GoogleAPIKey, body: word, min: 35, max: 35, minH: 3.5, check: notGoogleExample},
	{prefix: "xapp-", typ: SlackToken, body: word, min: 40, max: 200, minH: 3.5},
	{prefix: "xoxe.xox", typ: SlackToken, body: word, min: 120, max: 260, minH: 3.5},
	{prefix: "xoxe-", typ: SlackToken, body: word, min: 120, max: 260, minH: 3.5},
	{prefix: "xox", typ: SlackToken, body: word, min: 20, max: 120, minH: 2.5, check: slackBody},
	{prefix: "hf_", typ: ProviderToken, body: alnum, min: 34, max: 34, minH: 3.5},
	{prefix: "pplx-", typ: ProviderToken, body: alnum, min: 48, max: 48, minH: 3.5},
	{prefix: "gsk_", typ: ProviderToken, body: alnum, min: 52, max: 52, minH: 3.5},
	{prefix: "xai-", typ: ProviderToken, body: alnum, min: 70, max: 90, minH: 3.5},
	{prefix: "npm_", typ: ProviderToken, body: alnum, min: 36, max: 36, minH: 3.5},
	{prefix: "pypi-AgEIcHlwaS5vcmc", typ: ProviderToken, body: word, min: 50, max: 300, minH: 3.5},
	{prefix: "dop_v1_", typ: ProviderToken, body: lowerHex, min: 64, max: 64, minH: 3},
	{prefix: "shpat_", typ: ProviderToken, body: alnum, min: 32, max: 32, minH: 3},
	{prefix: "ntn_", typ: ProviderToken, body: alnum, min: 46, max: 46, minH: 3.5, check: notionBody},
	{prefix: "sntrys_", typ: ProviderToken, body: b64url, min: 60, max: 400, minH: 4},
	{prefix: "sntryu_", typ: ProviderToken, body: lowerHex, min: 64, max: 64, minH: 3},
	{prefix: "sgp_", typ: ProviderToken, body: word, min: 40, max: 64, minH: 3, check: sourcegraphBody},
	{prefix: "ATATT3", typ: ProviderToken, body: b64url, min: 150, max: 260, minH: 4},
	{prefix: "ops_eyJ", typ: ProviderToken, body: b64, min: 250, max: 2000, minH: 4},
	{prefix: "ABSKQmVkcm9ja0FQSUtleS", typ: ProviderToken, body: b64, min: 100, max: 120, minH: 2},
	{prefix: "bedrock-api-key-", typ: ProviderToken, body: b64, min: 20, max: 2000, minH: 3.5},
	{prefix: "s-s4t2ud-", typ: ProviderToken, body: lowerHex, min: 64, max: 64, minH: 3},
	{prefix: "s-s4t2af-", typ: ProviderToken, body: lowerHex, min: 64, max: 64, minH: 3},
	{prefix: "CLOJARS_", typ: ProviderToken, body: lowerHex, min: 60, max: 60, minH: 3},
	{prefix: "sha256~", typ: ProviderToken, body: word, min: 43, max: 43, minH: 3.5},
	{prefix: "EAA", typ: ProviderToken, body: alnum, min: 100, max: 400, minH: 4, check: func(b string) bool { return b[0] == 'M' || b[0] == 'C' || b[0] == 'G' || b[0] == 'B' }},
}

// secondBytes[c] is the set of second prefix bytes of the rules in rulesByFirst[c].
var secondBytes = func() (m [256][4]uint64) {
	for _, r := range prefixRules {
		m[r.prefix[0]][r.prefix[1]>>6] |= 1 << (r.prefix[1] & 63)
	}
	return m
}()

// rulesByFirst indexes prefixRules by the first byte of the prefix, longest prefix first.
var rulesByFirst = func() [256][]int {
	var idx [256][]int
	for i, r := range prefixRules {
		idx[r.prefix[0]] = append(idx[r.prefix[0]], i)
	}
	for _, l := range idx {
		sort.SliceStable(l, func(a, b int) bool { return len(prefixRules[l[a]].prefix) > len(prefixRules[l[b]].prefix) })
	}
	return idx
}()

func openAIBody(b string) bool {
	if strings.Contains(b, "T3BlbkFJ") {
		return true
	}
	return mixedBody(b)
}

func notExample(b string) bool { return !strings.HasSuffix(b, "EXAMPLE") }

func notionBody(b string) bool {
	for i := 0; i < 11; i++ {
		if !isDigit(b[i]) {
			return false
		}
	}
	for i := 11; i < len(b); i++ {
		if !isDigit(b[i]) {
			return true
		}
	}
	return false
}

func sourcegraphBody(b string) bool {
	// sgp_<40 hex>, sgp_local_<40 hex> or sgp_<16 hex>_<40 hex>
	if i := strings.IndexByte(b, '_'); i >= 0 {
		if b[:i] != "local" && !(i == 16 && allHex(b[:i])) {
			return false
		}
		b = b[i+1:]
	}
	return len(b) == 40 && allHex(b)
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return s != ""
}

// slackBody checks xox[abposr]-…: at least one numeric segment of 8+ digits and a final
// alphanumeric segment of 8+ characters, which documentation stand-ins lack.
func slackBody(b string) bool {
	if len(b) < 3 || !strings.ContainsRune("abposr", rune(b[0])) || b[1] != '-' {
		return false
	}
	segs := strings.Split(b[2:], "-")
	last := segs[len(segs)-1]
	longNum := false
	for _, s := range segs[:len(segs)-1] {
		if len(s) >= 8 && allDigits(s) {
			longNum = true
		}
	}
	return longNum && len(last) >= 8 && !allDigits(last)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// googleExamples are keys published as examples in the Firebase Android SDK and its
// docs; they are public by design and flagging them only trains users to ignore alerts.
var googleExamples = map[string]bool{
	"AIzaSyabcdefghijklmnopqrstuvwxyz1234567": true, "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs": true,
	"AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM": true, "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU": true,
	"AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0": true, "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A": true,
	"AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c": true, "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4": true,
	"AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY": true, "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM": true,
	"AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ": true, "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g": true,
	"AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU": true, "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw": true,
	"AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE": true, "AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY": true,
}

func notGoogleExample(b string) bool { return !googleExamples["AIza"+b] }

// scanPrefixed walks word starts once. At each it tries the provider prefixes; where
// none matches (and no known prefix failed validation) it tries a JWT, then the bare
// high-entropy token rule.
func scanPrefixed(text string, dst []detect.Finding, bare bool) []detect.Finding {
	for i := 0; i < len(text); {
		c := text[i]
		if !isAlnum(c) || (i > 0 && isWordByte(text[i-1])) {
			i++
			continue
		}
		end, known := 0, false
		// "video_box.ico-…": a word after a dot inside a dotted name is a file or host
		// name part, not the start of a key.
		dotted := i > 1 && text[i-1] == '.' && isAlnum(text[i-2])
		rules := rulesByFirst[c]
		if dotted || i+1 >= len(text) || secondBytes[c][text[i+1]>>6]&(1<<(text[i+1]&63)) == 0 {
			rules = nil
		}
		for _, ri := range rules {
			r := &prefixRules[ri]
			// Every prefix has 2+ bytes: the second byte rejects most candidates cheaply.
			if i+len(r.prefix) > len(text) || text[i+1] != r.prefix[1] || text[i:i+len(r.prefix)] != r.prefix {
				continue
			}
			known = true
			e, ok := matchBody(text, i+len(r.prefix), r)
			if ok {
				dst = append(dst, finding(r.typ, i, e, 0.95, "prefix:"+r.prefix))
				end = e
			}
			break
		}
		if end == 0 && c == 'e' {
			if e, ok := jwtAt(text, i); ok {
				dst = append(dst, finding(JWT, i, e, 0.9, "jwt"))
				end = e
			}
		}
		// Skip to the end of this word either way; the bare rule looks at the whole word.
		w := i
		for w < len(text) && isWordByte(text[w]) {
			w++
		}
		if end == 0 && !known && bare {
			if bareToken(text, i, w) {
				dst = append(dst, finding(HighEntropyToken, i, w, 0.6, "entropy"))
			}
		}
		if end > w {
			w = end
		}
		i = w
	}
	return dst
}

func matchBody(text string, s int, r *prefixRule) (int, bool) {
	e := s
	for e < len(text) && e-s <= r.max && r.body.has(text[e]) {
		e++
	}
	n := e - s
	if n < r.min || n > r.max {
		return 0, false
	}
	if e < len(text) && (isWordByte(text[e]) || text[e] == '.' && e+1 < len(text) && isAlnum(text[e+1])) {
		return 0, false // the word goes on (a longer token, a file or host name)
	}
	body := text[s:e]
	if entropy(body) < r.minH || isPlaceholder(body) {
		return 0, false
	}
	if r.check != nil && !r.check(body) {
		return 0, false
	}
	return e, true
}
