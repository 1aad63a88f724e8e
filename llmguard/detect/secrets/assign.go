package secrets

import (
	"encoding/base64"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// secretNames are substrings of a normalised identifier (lower case, no _-.) that make
// its value a credential. passwordNames get the looser password rules.
var (
	secretNames   = []string{"secret", "token", "apikey", "accesskey", "secretkey", "privatekey", "authkey", "credential", "clientsecret", "signingkey", "encryptionkey", "masterkey", "sessionkey"}
	passwordNames = []string{"password", "passwd", "passphrase", "pwd"}
	// notSecretSuffixes mark identifiers that name metadata about a secret.
	notSecretSuffixes = []string{"id", "ids", "name", "names", "url", "uri", "length", "len", "size", "type", "file", "path", "count", "endpoint", "format", "header", "field", "policy", "version", "expiry", "expires", "expiresat", "ttl", "prefix", "hint", "label", "regex", "pattern", "mode", "enabled", "required", "strength", "reset", "input", "placeholder"}
)

const maxIdent = 64

// scanAssignments looks at every ':' and '=' and the identifier before it. Work per
// operator is bounded by maxIdent and the value cap, so the scan is linear.
func scanAssignments(text string, dst []detect.Finding, minH float64) []detect.Finding {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != ':' && c != '=' {
			continue
		}
		if i+1 < len(text) && (text[i+1] == '/' || text[i+1] == '=' || text[i+1] == ':') {
			i++ // "://", "==", "::"
			continue
		}
		if i > 0 && (text[i-1] == '=' || text[i-1] == '!' || text[i-1] == '<' || text[i-1] == '>') {
			continue
		}
		var ib [maxIdent]byte
		ident, is := identBefore(text, i, ib[:0])
		if len(ident) < 3 {
			continue
		}
		if string(ident) == "value" {
			// <add key="ClearTextPassword" value="…"/>: the name is in the key attribute.
			var kb [maxIdent]byte
			if k := xmlKeyName(text, is, kb[:0]); k != nil {
				ident = k
			}
		}
		kind := classifyIdent(ident)
		if kind == "" && providerIdent(text[is:i]) {
			kind = "provider"
		}
		if kind == "" {
			continue
		}
		var vs, ve int
		if kind == "auth" {
			vs, ve = headerValue(text, i+1)
		} else {
			vs, ve = valueAfter(text, i+1)
		}
		if ve <= vs {
			continue
		}
		// Operators inside the value are not assignments of their own; skipping them
		// keeps "a=a=a=…" linear.
		i = ve - 1
		v := text[vs:ve]
		switch kind {
		case "auth":
			if s, ok := authCredential(v); ok {
				dst = append(dst, finding(AuthCredential, vs+s, ve, 0.9, "authorization_header"))
			}
		case "provider":
			if plausibleProviderValue(v) && !knownPrefixRejected(v) {
				dst = append(dst, finding(ProviderToken, vs, ve, 0.8, "provider_assignment"))
			}
		case Password:
			if plausiblePassword(v) && !knownSamples[v] {
				dst = append(dst, finding(Password, vs, ve, 0.8, "password_assignment"))
			}
		case AWSSecretKey:
			if len(v) == 40 && entropy(v) >= 4 && !isPlaceholder(v) {
				dst = append(dst, finding(AWSSecretKey, vs, ve, 0.95, "aws_secret_assignment"))
			}
		default:
			if plausibleSecret(v, minH) && !knownPrefixRejected(v) {
				dst = append(dst, finding(GenericSecret, vs, ve, 0.8, "secret_assignment"))
			}
		}
	}
	return dst
}

// identBefore returns the normalised identifier ending just before an operator at op,
// skipping quotes and spaces ("api_key" : , API_KEY=, apiKey := ), and where the
// identifier starts in text.
func identBefore(text string, op int, b []byte) ([]byte, int) {
	e := op
	for e > 0 && op-e < 4 && (text[e-1] == ' ' || text[e-1] == '"' || text[e-1] == '\'' || text[e-1] == ':' || text[e-1] == '\t' || text[e-1] == '?') {
		e--
	}
	s := e
	for s > 0 && e-s < maxIdent && (isWordByte(text[s-1]) || text[s-1] == '.') {
		s--
	}
	if s == e || e-s >= maxIdent {
		return nil, op
	}
	for k := s; k < e; k++ {
		c := text[k]
		switch {
		case c == '_' || c == '-' || c == '.':
		case isUpper(c):
			b = append(b, c+32)
		default:
			b = append(b, c)
		}
	}
	return b, s
}

// classifyIdent works on the normalised identifier in a stack buffer, so the scan
// allocates nothing per operator.
func classifyIdent(b []byte) string {
	id := string(b) // does not escape: converted on the stack
	if strings.HasSuffix(id, "authorization") {
		return "auth"
	}
	if !mayNameSecret(id) {
		return "" // most identifiers: skip the suffix and name lists
	}
	for _, suf := range notSecretSuffixes {
		if strings.HasSuffix(id, suf) && !strings.HasSuffix(id, "apikey"+suf) {
			return ""
		}
	}
	kind := ""
	if strings.Contains(id, "awssecret") || strings.Contains(id, "secretaccesskey") {
		kind = AWSSecretKey
	}
	for _, n := range passwordNames {
		if kind == "" && strings.Contains(id, n) {
			kind = Password
		}
	}
	for _, n := range secretNames {
		if kind == "" && strings.Contains(id, n) {
			kind = GenericSecret
		}
	}
	if kind != "" && (strings.Contains(id, "public") || strings.Contains(id, "pubkey") || strings.Contains(id, "csrf") || strings.Contains(id, "xsrf") || strings.Contains(id, "authenticity")) {
		return "" // public keys and anti-forgery tokens are not secrets
	}
	return kind
}

// secretStems are substrings of which every name in secretNames, passwordNames and the
// AWS names contains one (TestSecretStemsCoverNames), so an identifier with none of them
// cannot classify as a secret.
var secretStems = []string{"secret", "token", "key", "credential", "pass", "pwd"}

func mayNameSecret(id string) bool {
	for _, s := range secretStems {
		if strings.Contains(id, s) {
			return true
		}
	}
	return false
}

// valueAfter returns the value following an operator: a quoted string (up to 512 bytes)
// or a bare run up to whitespace or a delimiter.
func valueAfter(text string, p int) (int, int) {
	for p < len(text) && (text[p] == ' ' || text[p] == '\t' || text[p] == '>' || text[p] == '=') {
		p++
	}
	if p >= len(text) {
		return 0, 0
	}
	if q := text[p]; q == '"' || q == '\'' || q == '`' {
		s := p + 1
		e := s
		for e < len(text) && e-s < 512 && text[e] != q && text[e] != '\n' {
			e++
		}
		if e >= len(text) || text[e] != q {
			return 0, 0
		}
		return s, e
	}
	s := p
	e := s
	for e < len(text) && e-s < 512 && !strings.ContainsRune(" \t\r\n,;'\"`)}]", rune(text[e])) {
		e++
	}
	if e < len(text) && (text[e] == '(' || text[e] == '[') {
		return 0, 0
	}
	return s, e
}

// looksLikeCode rejects member accesses and calls (config.password, getToken()).
func looksLikeCode(v string) bool {
	if strings.ContainsAny(v, "()[]") {
		return true
	}
	if !strings.Contains(v, ".") {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(isUpper(c) || isLower(c) || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

var commonNonPasswords = map[string]bool{"password": true, "secret": true, "null": true, "none": true, "true": true, "false": true, "undefined": true, "string": true, "required": true, "optional": true, "example": true, "test": true, "admin": true, "token": true}

func plausiblePassword(v string) bool {
	if len(v) < 6 || len(v) > 128 || isPlaceholder(v) || looksLikeCode(v) || commonNonPasswords[strings.ToLower(v)] {
		return false
	}
	classes := 0
	var seen [4]bool
	for i := 0; i < len(v); i++ {
		seen[classOfAny(v[i])] = true
	}
	for _, s := range seen {
		if s {
			classes++
		}
	}
	return classes >= 2 && entropy(v) >= 2.5
}

func classOfAny(c byte) int {
	switch {
	case isUpper(c):
		return 0
	case isLower(c):
		return 1
	case isDigit(c):
		return 2
	}
	return 3
}

func plausibleSecret(v string, minH float64) bool {
	if len(v) < 12 || len(v) > 512 || isPlaceholder(v) || looksLikeCode(v) || strings.ContainsRune(v, ' ') {
		return false
	}
	return hasRandomSegment(v) && entropy(v) >= minH
}

// hasRandomSegment wants at least one part of v (split at - _ . / :) that mixes letters
// and digits, or is long: "jjwt-jackson-0.11.2" and "SalesResults-1.2" are names, while
// "c4ed6c21-9dd5-…" and "Zf3D0LXC…" are not.
func hasRandomSegment(v string) bool {
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune("-_./:", r) }) {
		letters, digits := false, false
		for i := 0; i < len(part); i++ {
			letters = letters || isUpper(part[i]) || isLower(part[i])
			digits = digits || isDigit(part[i])
		}
		if letters && digits || len(part) >= 16 && letters {
			return true
		}
	}
	return false
}

// headerValue reads a header value up to the closing quote, line end or 512 bytes.
func headerValue(text string, p int) (int, int) {
	for p < len(text) && (text[p] == ' ' || text[p] == '\t') {
		p++
	}
	s := p
	for p < len(text) && p-s < 512 && !strings.ContainsRune("\"'`\r\n\\", rune(text[p])) {
		p++
	}
	for p > s && text[p-1] == ' ' {
		p--
	}
	return s, p
}

// authCredential extracts the credential of an Authorization header value ("Bearer x",
// "Basic b64", "Token x", or a bare token) and returns its offset within v. Basic
// credentials must decode to user:password.
func authCredential(v string) (int, bool) {
	cred, off := v, 0
	if sp := strings.IndexByte(v, ' '); sp > 0 {
		cred, off = strings.TrimLeft(v[sp:], " "), len(v)-len(strings.TrimLeft(v[sp:], " "))
		if strings.EqualFold(v[:sp], "basic") {
			b, err := base64.StdEncoding.DecodeString(cred)
			if err != nil || !strings.Contains(string(b), ":") {
				return 0, false
			}
			return off, true
		}
	}
	if len(cred) < 8 || isPlaceholder(cred) || strings.ContainsRune(cred, ' ') || entropy(cred) < 3 {
		return 0, false
	}
	return off, true
}

// scanCurlUser finds curl's -u / --user user:password arguments.
func scanCurlUser(text string, dst []detect.Finding) []detect.Finding {
	for _, flag := range []string{" -u ", " --user ", " --user="} {
		for i := 0; i < len(text); {
			j := strings.Index(text[i:], flag)
			if j < 0 {
				break
			}
			p := i + j + len(flag)
			i = p
			for p < len(text) && text[p] == ' ' {
				p++
			}
			vs, ve := valueAfter(text, p)
			if ve <= vs {
				continue
			}
			v := text[vs:ve]
			colon := strings.IndexByte(v, ':')
			if colon < 0 {
				continue
			}
			secret := v[colon+1:]
			if secret == "" {
				secret = v[:colon] // "key:" — the API key is the user name
			}
			if len(secret) < 6 || isPlaceholder(secret) || strings.Contains(strings.ToLower(secret), "password") {
				continue
			}
			dst = append(dst, finding(AuthCredential, vs, ve, 0.9, "curl_user"))
			i = ve
		}
	}
	return dst
}

// scanURLCreds finds scheme://user:password@host.
func scanURLCreds(text string, dst []detect.Finding) []detect.Finding {
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "://")
		if j < 0 {
			break
		}
		s := i + j + 3
		i = s
		e := s
		at, colon := -1, -1
		for e < len(text) && e-s < 256 && !isSpace(text[e]) && text[e] != '/' && text[e] != '"' && text[e] != '\'' {
			if text[e] == '@' {
				at = e
			}
			if text[e] == ':' && colon < 0 {
				colon = e
			}
			e++
		}
		if at < 0 || colon < 0 || colon > at || colon == s || at == colon+1 {
			continue
		}
		pass := text[colon+1 : at]
		if isPlaceholder(pass) || strings.EqualFold(pass, "password") {
			continue
		}
		dst = append(dst, finding(URLCredential, s, at, 0.9, "url_userinfo"))
		i = at
	}
	return dst
}

// scanMisc covers rules anchored on literals that need their own shape: Slack webhooks,
// GCP service-account key files and Facebook app tokens (app-id|secret).
func scanMisc(text string, dst []detect.Finding) []detect.Finding {
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "hooks.slack.com/services/")
		if j < 0 {
			break
		}
		s := i + j
		e := s + len("hooks.slack.com/services/")
		b := e
		for e < len(text) && e-b < 128 && (isAlnum(text[e]) || text[e] == '/') {
			e++
		}
		if e-b >= 40 {
			dst = append(dst, finding(SlackWebhook, s, e, 0.95, "slack_webhook"))
		}
		i = e
	}
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], `"service_account"`)
		if j < 0 {
			break
		}
		s := i + j
		i = s + 17
		k := strings.LastIndex(text[max(0, s-16):s], `"type"`)
		if k >= 0 {
			dst = append(dst, finding(GCPServiceAcct, s+1, s+16, 0.7, "gcp_service_account"))
		}
	}
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '|')
		if j < 0 {
			break
		}
		p := i + j
		i = p + 1
		s := p
		for s > 0 && p-s < 17 && isDigit(text[s-1]) {
			s--
		}
		if p-s < 15 || p-s > 16 || (s > 0 && isAlnum(text[s-1])) {
			continue
		}
		e := p + 1
		for e < len(text) && e-p <= 28 && isWordByte(text[e]) {
			e++
		}
		if e-p-1 == 27 && (e == len(text) || !isWordByte(text[e])) && entropy(text[p+1:e]) >= 3.5 {
			dst = append(dst, finding(ProviderToken, s, e, 0.9, "facebook_app_token"))
		}
	}
	return dst
}
