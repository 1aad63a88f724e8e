package secrets

import (
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// providerKeywords are provider names that make a random-looking value assigned to an
// identifier containing them a credential (HEROKU_KEY = "…", sumologic.accessId = "…",
// cloudflare: "…"): gitleaks' "semi-generic" rules. A keyword counts only where a part of
// the identifier starts (after _ - . or a camel-case hump) and in one case (sumo, Sumo,
// SUMO), so rookTable and sumOfExposures do not name Okta or Sumo Logic.
var providerKeywords = []string{
	"adafruit", "adobe", "airtable", "algolia", "alibaba", "asana", "atlassian", "confluence",
	"jira", "beamer", "bitbucket", "bittrex", "cloudflare", "codecov", "cohere", "coinbase",
	"confluent", "contentful", "contribsys", "datadog", "discord", "droneci", "dropbox",
	"etsy", "facebook", "fastly", "finicity", "finnhub", "flickr", "freshbooks", "gitter",
	"gocardless", "heroku", "hubspot", "intercom", "jfrog", "artifactory", "bintray",
	"kraken", "kucoin", "launchdarkly", "linkedin", "looker", "mailchimp", "mailgun",
	"mapbox", "mattermost", "meraki", "messagebird", "message_bird", "message-bird",
	"netlify", "newrelic", "new_relic", "new-relic", "nytimes", "okta", "plaid", "privateai",
	"private_ai", "rapidapi", "sendbird", "sentry", "snyk", "sonar", "sourcegraph",
	"squarespace", "sumo", "telegram", "travis", "twitch", "twitter", "typeform", "yandex",
	"zendesk", "doppler", "pulumi", "postman", "shopify", "stripe", "twilio", "sendgrid",
	"gitlab", "cohere", "scalingo", "settlemint", "prefect", "planetscale", "algolia",
}

// keywordsByFirst indexes providerKeywords by first letter.
var keywordsByFirst = func() [26][]string {
	var idx [26][]string
	for _, k := range providerKeywords {
		idx[k[0]-'a'] = append(idx[k[0]-'a'], k)
	}
	return idx
}()

// providerIdent reports whether the identifier id (as written) names a provider.
func providerIdent(id string) bool {
	for k := 0; k < len(id); k++ {
		c := id[k]
		if !isUpper(c) && !isLower(c) {
			continue
		}
		if k > 0 && (isLower(id[k-1]) && !isUpper(c) || isUpper(id[k-1]) && isUpper(c) || isDigit(id[k-1])) {
			continue // not the start of a part
		}
		for _, kw := range keywordsByFirst[c|0x20-'a'] {
			if len(id)-k < len(kw) || !strings.EqualFold(id[k:k+len(kw)], kw) {
				continue
			}
			// One case (sumo, SUMO, Sumo), or camel case ending at a hump
			// (MessageBirdClientID), but not sumOf….
			if oneCase(id[k:k+len(kw)]) || k+len(kw) == len(id) || !isLower(id[k+len(kw)]) {
				return true
			}
		}
	}
	return false
}

// oneCase: all lower, all upper or capitalised.
func oneCase(s string) bool {
	lo, up := 0, 0
	for i := 1; i < len(s); i++ {
		if isLower(s[i]) {
			lo++
		} else if isUpper(s[i]) {
			up++
		}
	}
	if up > 0 && lo > 0 {
		return false
	}
	return up == 0 || isUpper(s[0])
}

// plausibleProviderValue is the value test under a provider name: random-looking, at
// least 12 bytes; hex groups such as user:password pairs of hex words count.
func plausibleProviderValue(v string) bool {
	if len(v) < 12 || len(v) > 512 || isPlaceholder(v) || looksLikeCode(v) || strings.ContainsAny(v, " /\\") {
		return false
	}
	if entropy(v) < 2.5 {
		return false
	}
	if hasRandomSegment(v) {
		return true
	}
	for i := 0; i < len(v); i++ {
		if !isHex(v[i]) && v[i] != ':' && v[i] != '-' {
			return false
		}
	}
	return len(v) >= 16
}

// knownSamples are credentials published in vendor documentation (NuGet config samples),
// as gitleaks allow-lists them.
var knownSamples = map[string]bool{"33f!!lloppa": true, "hal+9ooo_da!sY": true}

// knownPrefixRejected reports a value that starts with a provider prefix (4+ bytes) whose
// rule rejects it: a wrongly shaped stand-in, not a key of another kind.
func knownPrefixRejected(v string) bool {
	if v == "" {
		return false
	}
	for _, ri := range rulesByFirst[v[0]] {
		r := &prefixRules[ri]
		if !strings.HasPrefix(v, r.prefix) {
			continue
		}
		if len(r.prefix) < 4 {
			return false
		}
		_, ok := matchBody(v, len(r.prefix), r)
		return !ok
	}
	return false
}

// xmlKeyName finds key="Name" (or name="Name") earlier in the same tag as a value="…"
// attribute starting at vs, and returns the normalised name.
func xmlKeyName(text string, vs int, b []byte) []byte {
	lo := max(0, vs-160)
	lt := strings.LastIndexByte(text[lo:vs], '<')
	if lt < 0 {
		return nil
	}
	tag := text[lo+lt : vs]
	k := strings.Index(tag, `key="`)
	if k < 0 {
		k = strings.Index(tag, `name="`)
		if k < 0 {
			return nil
		}
		k++
	}
	name := tag[k+5:]
	q := strings.IndexByte(name, '"')
	if q <= 0 || q >= maxIdent {
		return nil
	}
	for _, c := range []byte(name[:q]) {
		switch {
		case c == '_' || c == '-' || c == '.' || c == ' ':
		case isUpper(c):
			b = append(b, c+32)
		default:
			b = append(b, c)
		}
	}
	return b
}

// k8sSecretAt checks a data: key at d opening a block in a Kubernetes Secret manifest
// (kind: Secret before it within 300 bytes, not across a --- document separator) and
// reports its first base64 value of 10+ characters.
func k8sSecretAt(text string, d int, dst *[]detect.Finding) (int, bool) {
	ls := d
	for ls > 0 && (text[ls-1] == ' ' || text[ls-1] == '\t') {
		ls--
	}
	if ls > 0 && text[ls-1] != '\n' {
		return 0, false
	}
	p := d + 5
	for p < len(text) && (text[p] == ' ' || text[p] == '\t' || text[p] == '\r') {
		p++
	}
	if p < len(text) && text[p] != '\n' || !kindSecretNear(text, d) {
		return 0, false
	}
	vs, ve, ok := firstDataValue(text, p, min(len(text), p+400))
	if !ok {
		return 0, false
	}
	*dst = append(*dst, finding(GenericSecret, vs, ve, 0.8, "kubernetes_secret"))
	return ve, true
}

// kindSecretNear looks for kind: Secret in the 300 bytes before data: at d, in the same
// YAML document. Only before: a finding must not depend on text after it, or a streamed
// response (which releases text as it goes) would be filtered differently from the whole
// text. `kubectl get -o yaml` sorts keys, putting data: before kind:, so such manifests
// are caught only through their values' other signals.
func kindSecretNear(text string, d int) bool {
	w := text[max(0, d-300):d]
	if k := strings.LastIndex(w, "\n---"); k >= 0 {
		w = w[k+4:]
	}
	for s := 0; s < len(w); {
		k := indexFoldKind(w[s:])
		if k < 0 {
			return false
		}
		p := s + k + 5
		s = p
		for p < len(w) && (w[p] == ' ' || w[p] == '\t' || w[p] == '"' || w[p] == '\'') {
			p++
		}
		if len(w)-p >= 6 && strings.EqualFold(w[p:p+6], "secret") && (p+6 == len(w) || !isAlnum(w[p+6])) {
			return true
		}
	}
	return false
}

func indexFoldKind(s string) int {
	for i := 0; i+5 <= len(s); i++ {
		if (s[i] == 'k' || s[i] == 'K') && strings.EqualFold(s[i:i+5], "kind:") && (i == 0 || !isAlnum(s[i-1])) {
			return i
		}
	}
	return -1
}

// firstDataValue returns the first key: value entry in [p, hi) whose value (inline, or
// on the next line after | or >) is base64 of 10+ characters.
func firstDataValue(text string, p, hi int) (int, int, bool) {
	for p < hi {
		ls := p + 1 // start of the next line
		le := strings.IndexByte(text[ls:hi], '\n')
		if le < 0 {
			le = hi - ls
		}
		line := text[ls : ls+le]
		p = ls + le
		t := strings.TrimLeft(line, " \t")
		if t == "" || t[0] == '#' {
			continue
		}
		c := strings.IndexByte(t, ':')
		if c <= 0 {
			return 0, 0, false
		}
		off := ls + len(line) - len(t) + c + 1
		v := strings.TrimLeft(t[c+1:], " \t")
		vs := off + (len(t[c+1:]) - len(v))
		if v == "|" || v == ">" || v == "|-" || v == ">-" {
			// block scalar: the value is on the next line
			ns := p + 1
			if ns >= hi {
				return 0, 0, false
			}
			ne := strings.IndexByte(text[ns:hi], '\n')
			if ne < 0 {
				ne = hi - ns
			}
			nl := text[ns : ns+ne]
			v = strings.TrimLeft(nl, " \t")
			vs = ns + len(nl) - len(v)
		}
		v = strings.TrimRight(v, " \t\r")
		v = strings.Trim(v, `"'`)
		if q := strings.IndexAny(text[vs:vs+1], `"'`); q == 0 {
			vs++
		}
		n := 0
		for n < len(v) && (isAlnum(v[n]) || v[n] == '+' || v[n] == '/') {
			n++
		}
		e := n
		for e < len(v) && e-n < 3 && v[e] == '=' {
			e++
		}
		if n >= 10 && e == len(v) {
			return vs, vs + e, true
		}
	}
	return 0, 0, false
}
