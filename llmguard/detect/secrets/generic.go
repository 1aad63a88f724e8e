package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// jwtAt matches header.payload.signature in base64url starting at text[i] == 'e'. The
// header must decode to a JSON object with "alg" and the payload must carry a registered
// claim, so that look-alike test strings in documentation do not count.
func jwtAt(text string, i int) (int, bool) {
	if !strings.HasPrefix(text[i:], "eyJ") {
		return 0, false
	}
	var parts [3]string
	p := i
	for k := 0; k < 3; k++ {
		s := p
		for p < len(text) && p-s < 8192 && (isWordByte(text[p])) {
			p++
		}
		parts[k] = text[s:p]
		if k < 2 {
			if p >= len(text) || text[p] != '.' {
				return 0, false
			}
			p++
		}
	}
	if len(parts[0]) < 10 || len(parts[1]) < 4 || len(parts[2]) < 16 {
		return 0, false
	}
	var hdr map[string]any
	if !decodeJSON(parts[0], &hdr) {
		return 0, false
	}
	if _, ok := hdr["alg"]; !ok {
		return 0, false
	}
	var claims map[string]any
	if !decodeJSON(parts[1], &claims) {
		return 0, false
	}
	for _, c := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "azp", "scope", "client_id", "email", "name"} {
		if _, ok := claims[c]; ok {
			return p, true
		}
	}
	return 0, false
}

func decodeJSON(seg string, v any) bool {
	if len(seg) > 4096 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	return err == nil && json.Unmarshal(b, v) == nil
}

// bareToken is the context-free rule: a 20–128 byte word of random-looking mixed case and
// digits, standing alone (not inside a URL, a path or a larger base64 blob). Camel-case
// identifiers fail the case-alternation test, hashes fail the mixed-case test.
func bareToken(text string, s, e int) bool {
	n := e - s
	if n < 20 || n > 128 {
		return false
	}
	if s > 0 && !strings.ContainsRune(" \t\r\n\"'`=:(,[{>", rune(text[s-1])) {
		return false
	}
	if e < len(text) {
		c := text[e]
		ok := strings.ContainsRune(" \t\r\n\"'`,;)]}<&", rune(c)) ||
			(c == '.' && (e+1 == len(text) || text[e+1] == ' ' || text[e+1] == '\n'))
		if !ok {
			return false
		}
	}
	if inURL(text, s) {
		return false
	}
	tok := text[s:e]
	up, lo, dg, switches, pairs := 0, 0, 0, 0, 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case isUpper(c):
			up++
		case isLower(c):
			lo++
		case isDigit(c):
			dg++
		}
		if i > 0 && isAlnum(c) && isAlnum(tok[i-1]) {
			pairs++
			if classOf(c) != classOf(tok[i-1]) {
				switches++
			}
		}
	}
	if up < 2 || lo < 2 || dg < 2 || pairs == 0 || float64(switches)/float64(pairs) < 0.3 {
		return false
	}
	if entropy(tok) < 4.0 || isPlaceholder(tok) {
		return false
	}
	return !assignedToPublic(text, s) && !assignedToPlainName(text, s)
}

// credentialHints are parts of identifiers under which a random value may be a credential
// (as in gitleaks' generic rule); a random value assigned to any other name (rookTable =,
// sumOfExposures =) is data, an id or a hash.
var credentialHints = []string{"key", "token", "secret", "pass", "pwd", "auth", "api", "cred", "access", "private", "sign", "salt", "session", "cookie", "bearer", "license", "licence"}

// assignedToPlainName reports a bare token that is the value of ident = / ident: where the
// identifier names neither a credential nor a provider.
func assignedToPlainName(text string, s int) bool {
	p := s
	for p > 0 && s-p < 4 && (text[p-1] == ' ' || text[p-1] == '"' || text[p-1] == '\'' || text[p-1] == '\t') {
		p--
	}
	if p == 0 || text[p-1] != '=' && text[p-1] != ':' {
		return false
	}
	op := p - 1
	if op > 0 && (text[op-1] == ':' || text[op-1] == '!' || text[op-1] == '<' || text[op-1] == '>') {
		op-- // := and friends
	}
	var ib [maxIdent]byte
	id, is := identBefore(text, op, ib[:0])
	if len(id) == 0 {
		return false
	}
	for _, h := range credentialHints {
		if bytes.Contains(id, []byte(h)) {
			return false
		}
	}
	return !providerIdent(text[is:op])
}

func classOf(c byte) int {
	switch {
	case isUpper(c):
		return 0
	case isLower(c):
		return 1
	}
	return 2
}

// inURL reports whether position s lies in a whitespace-delimited word containing "://";
// URLs are full of random-looking ids that are not credentials.
func inURL(text string, s int) bool {
	w := s
	for w > 0 && s-w < 2048 && !isSpace(text[w-1]) {
		w--
	}
	return strings.Contains(text[w:s], "://")
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// assignedToPublic reports "public_key = <value>" style contexts: public keys are
// random-looking but not secret.
func assignedToPublic(text string, s int) bool {
	lo := s - 40
	if lo < 0 {
		lo = 0
	}
	return strings.Contains(strings.ToLower(text[lo:s]), "public")
}

// scanPEM reports PEM and PGP private key blocks from BEGIN to END (or to the end of the
// text when a block is truncated), and returns the spans of other armored blocks.
func scanPEM(text string, dst []detect.Finding) ([]detect.Finding, [][2]int) {
	var other [][2]int
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "-----BEGIN ")
		if j < 0 {
			break
		}
		s := i + j
		lineEnd := strings.Index(text[s+11:], "-----")
		if lineEnd < 0 || lineEnd > 40 {
			i = s + 11
			continue
		}
		label := text[s+11 : s+11+lineEnd]
		i = s + 11 + lineEnd + 5
		e := len(text)
		if k := strings.Index(text[i:], "-----END "+label+"-----"); k >= 0 {
			e = i + k + len("-----END "+label+"-----")
		}
		if strings.Contains(label, "PRIVATE KEY") {
			dst = append(dst, finding(PrivateKey, s, e, 1, "pem_private_key"))
		} else {
			other = append(other, [2]int{s, e})
		}
		i = e
	}
	return dst, other
}

// scanAzure finds Azure AD client secrets, which carry "Q~" after three characters and a
// digit: xxxdQ~ followed by 31–34 characters.
func scanAzure(text string, dst []detect.Finding) []detect.Finding {
	isBody := func(c byte) bool { return isWordByte(c) || c == '~' || c == '.' }
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "Q~")
		if j < 0 {
			break
		}
		q := i + j
		i = q + 2
		s := q - 4
		if s < 0 || !isDigit(text[q-1]) || (s > 0 && isBody(text[s-1])) {
			continue
		}
		ok := true
		for k := s; k < q-1; k++ {
			ok = ok && isBody(text[k])
		}
		e := q + 2
		for e < len(text) && e-q < 40 && isBody(text[e]) {
			e++
		}
		n := e - q - 2
		if !ok || n < 31 || n > 34 || entropy(text[s:e]) < 3.5 {
			continue
		}
		dst = append(dst, finding(AzureSecret, s, e, 0.9, "azure_client_secret"))
		i = e
	}
	return dst
}
