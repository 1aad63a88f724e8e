package filter

import (
	"strings"
	"unicode/utf8"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/patterns"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/pii"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/secrets"
)

// Holder is implemented by detectors that can bound the tail of a growing text that
// could still become (part of) one of their findings once more text is appended. A
// stream lane releases text only before the smallest HoldFrom of its detectors (and
// never holds more than the window). Detectors that do not implement it (and are not
// built-in ones the filter knows) make the lane hold the full window.
type Holder interface {
	// HoldFrom returns the offset in text from which text must be held back: no finding
	// of the detector in text+future may start before it and end after len(text), and
	// no finding before it may depend on text after it. len(text) holds nothing.
	HoldFrom(text string) int
}

// holdPlan is how a policy bounds a lane's tail, computed once per policy.
type holdPlan struct {
	adaptive bool      // false: hold the full window (a detector cannot bound its tail)
	builtin  bool      // the PII or secret detectors are on
	lits     []literal // literal deny and allow patterns
	holders  []Holder
}

type literal struct {
	s    string
	fold bool
}

func (p *Policy) plan() *holdPlan {
	if p.hp != nil {
		return p.hp
	}
	hp := &holdPlan{adaptive: true}
	// Literal deny and allow patterns bound the hold-back to the text that could still
	// become a match; an RE2 pattern's possible matches cannot be bounded cheaply.
	addRules := func(l *patterns.List) {
		for _, r := range l.Rules() {
			if !r.Literal {
				hp.adaptive = false
				return
			}
			hp.lits = append(hp.lits, literal{r.Pattern, r.CaseInsensitive})
		}
	}
	lists := map[*patterns.List]bool{}
	add := func(d detect.Detector) {
		switch d := detect.Unwrap(d).(type) {
		case *pii.Detector, *secrets.Detector:
			hp.builtin = true
		case *patterns.List:
			if !lists[d] {
				lists[d] = true
				addRules(d)
			}
		case Holder:
			hp.holders = append(hp.holders, d)
		default:
			hp.adaptive = false
		}
	}
	if p.Set != nil {
		for _, d := range p.Set.Detectors {
			add(d)
		}
		if p.Set.Allow != nil {
			allows := detect.Allowlists{p.Set.Allow}
			if ls, ok := p.Set.Allow.(detect.Allowlists); ok {
				allows = ls
			}
			for _, a := range allows {
				d, ok := a.(detect.Detector)
				if l, isList := detect.Unwrap(d).(*patterns.List); ok && isList {
					if !lists[l] {
						lists[l] = true
						addRules(l)
					}
				} else {
					hp.adaptive = false
				}
			}
		}
	}
	for _, d := range p.Extra {
		add(d)
	}
	p.hp = hp
	return hp
}

// holdFrom returns where the held tail of s starts: the last token always, plus what
// any detector could still extend into a finding.
func (hp *holdPlan) holdFrom(s string) int {
	h := tokenStart(s, len(s))
	for _, l := range hp.lits {
		h = min(h, LiteralHold(s, l.s, l.fold))
	}
	for _, d := range hp.holders {
		h = min(h, d.HoldFrom(s))
	}
	if hp.builtin {
		h = min(h, ibanHold(s), pemHold(s), quotedValueHold(s), authHold(s))
		h = builtinExtend(s, h)
	}
	return max(h, 0)
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// tokenStart returns the start of the whitespace-delimited token containing (or ending
// at) position i, i.e. just after the last whitespace before i.
func tokenStart(s string, i int) int {
	for i > 0 && !isWS(s[i-1]) {
		i--
	}
	return i
}

// prevToken returns the token before position h (a token start), skipping whitespace.
func prevToken(s string, h int) (int, int, bool) {
	e := h
	for e > 0 && isWS(s[e-1]) {
		e--
	}
	if e == 0 {
		return 0, 0, false
	}
	return tokenStart(s, e), e, true
}

// builtinExtend extends a held tail starting at h backwards over the tokens that could
// join it into a multi-token PII or secret finding, to a fixpoint.
func builtinExtend(s string, h int) int {
	for {
		h0 := h
		h = tokenStart(s, h)
		for {
			b, e, ok := prevToken(s, h)
			if !ok {
				break
			}
			tok := s[b:e]
			// The held tail starts with an operator or a flag: the token before it is its
			// identifier ("password =", `"type" :`) or the space before " -u " matters.
			first := s[h:]
			joins := len(first) > 0 && (first[0] == ':' || first[0] == '=' || first[0] == '-')
			if !joins && !sticky(tok) {
				break
			}
			h = b
		}
		// "public" up to 40 bytes before a bare token exempts it: keep that context.
		lo := max(0, h-48)
		if i := indexFold(s[lo:h], "public"); i >= 0 {
			h = tokenStart(s, lo+i)
		}
		if h == h0 {
			return h
		}
	}
}

// sticky reports whether a complete token could be the start or middle of a finding that
// continues into the following tokens: digit groups and separators (phone numbers,
// cards, IBANs, SSNs), assignment operators and credential keywords.
func sticky(tok string) bool {
	alnum := false
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c >= '0' && c <= '9' {
			return true
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			alnum = true
		}
	}
	if !alnum || tok[0] == '-' {
		return true // separators and punctuation only, or a flag ("curl -u user:pass")
	}
	t := strings.TrimRight(tok, "\"'`")
	if last := t[len(t)-1:]; last == ":" || last == "=" {
		return true
	}
	if strings.Contains(tok, `"type"`) {
		return true
	}
	if len(tok) > maxKeywordToken {
		return true // too long to check cheaply: be conservative
	}
	var b [maxKeywordToken]byte
	n := 0
	for i := 0; i < len(tok) && n < len(b); i++ {
		c := tok[i]
		switch {
		case c == '_' || c == '-' || c == '.':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b[n] = c
		n++
	}
	norm := string(b[:n])
	for _, k := range credentialKeywords {
		if strings.Contains(norm, k) {
			return true
		}
	}
	return false
}

const maxKeywordToken = 96

// credentialKeywords are substrings of the identifiers the assignment rules of the
// secrets detector look for (normalised: lower case, no _-.).
var credentialKeywords = []string{"secret", "token", "key", "pass", "pwd", "credential", "auth"}

// ibanHold holds a trailing run of short groups that starts with an IBAN's country code
// and check digits ("GB82 WEST 1234"): its later groups may be letters only.
func ibanHold(s string) int {
	h := len(s)
	end := len(s)
	if end > 0 && isWS(s[end-1]) {
		end-- // the separator before the next group
	}
	for n := 0; n < 12 && end > 0; n++ {
		b := tokenStart(s, end)
		tok := s[b:end]
		if tok == "" {
			break
		}
		if ibanStart(tok) {
			h = b
		}
		if len(tok) > 4 || !allAlnum(tok) || b == 0 {
			break
		}
		end = b - 1
	}
	return h
}

func allAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnumByte(s[i]) {
			return false
		}
	}
	return true
}

func ibanStart(tok string) bool {
	if len(tok) < 4 {
		return false
	}
	t := tok[len(tok)-4:]
	return t[0] >= 'A' && t[0] <= 'Z' && t[1] >= 'A' && t[1] <= 'Z' && t[2] >= '0' && t[2] <= '9' && t[3] >= '0' && t[3] <= '9'
}

func isAlnumByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// pemHold holds from a "-----BEGIN " line whose matching END line has not come yet: a
// truncated private key block is a finding to the end of the text.
func pemHold(s string) int {
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "-----BEGIN")
		if j < 0 {
			return len(s)
		}
		st := i + j
		rest := s[st:]
		if len(rest) < 11 {
			return tokenStart(s, st)
		}
		if rest[10] != ' ' {
			i = st + 10
			continue
		}
		le := strings.Index(rest[11:], "-----")
		if le < 0 {
			if len(rest) <= 11+40+5 {
				return tokenStart(s, st)
			}
			i = st + 11
			continue
		}
		if le > 40 {
			i = st + 11
			continue
		}
		label := rest[11 : 11+le]
		after := st + 11 + le + 5
		k := strings.Index(s[after:], "-----END "+label+"-----")
		if k < 0 {
			return tokenStart(s, st)
		}
		i = after + k + len("-----END "+label+"-----")
	}
	return len(s)
}

// quotedValueHold holds an assignment whose quoted value has not been closed yet
// (`password = "correct horse`): the value may contain spaces.
func quotedValueHold(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != ':' && c != '=' {
			continue
		}
		p := i + 1
		for p < len(s) && (s[p] == ' ' || s[p] == '\t' || s[p] == '>' || s[p] == '=') {
			p++
		}
		if p >= len(s) {
			continue
		}
		q := s[p]
		if q != '"' && q != '\'' && q != '`' {
			continue
		}
		e := p + 1
		for e < len(s) && e-p <= 513 && s[e] != q && s[e] != '\n' {
			e++
		}
		if e >= len(s) {
			return tokenStart(s, identStart(s, i))
		}
		i = p // the quote may itself follow another operator
	}
	return len(s)
}

// identStart returns where the identifier before an operator at op starts, skipping what
// the secrets detector skips (spaces, quotes, colons).
func identStart(s string, op int) int {
	e := op
	for e > 0 && op-e < 4 && (s[e-1] == ' ' || s[e-1] == '"' || s[e-1] == '\'' || s[e-1] == ':' || s[e-1] == '\t') {
		e--
	}
	b := e
	for b > 0 && e-b < 64 && (isAlnumByte(s[b-1]) || s[b-1] == '_' || s[b-1] == '-' || s[b-1] == '.') {
		b--
	}
	return b
}

// authHold holds an Authorization header until the end of its line: its value (up to a
// quote or the end of the line) may still grow ("Authorization: Bearer abc…"), and the
// operators inside it are not assignments of their own.
func authHold(s string) int {
	stop := strings.LastIndexAny(s, "\r\n")
	for i := stop + 1; i < len(s); i++ {
		if s[i] != ':' && s[i] != '=' {
			continue
		}
		b := identStart(s, i)
		e := i
		for e > b && !isAlnumByte(s[e-1]) {
			e--
		}
		id := strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(s[b:e]))
		if strings.HasSuffix(id, "authorization") {
			return tokenStart(s, b)
		}
	}
	return len(s)
}

// indexFold is an ASCII case-insensitive strings.Index for a lower-case sub.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		ok := true
		for k := 0; k < len(sub); k++ {
			c := s[i+k]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[k] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// LiteralHold returns the start of the longest suffix of text that is a prefix of lit
// (compared with Unicode simple case folding when fold is set), or len(text): that
// suffix could still grow into a match of lit.
func LiteralHold(text, lit string, fold bool) int {
	if lit == "" {
		return len(text)
	}
	maxBytes := len(lit)
	if fold {
		maxBytes = 4 * utf8.RuneCountInString(lit)
	}
	for i := max(0, len(text)-maxBytes); i < len(text); i++ {
		if !utf8.RuneStart(text[i]) {
			continue
		}
		suf := text[i:]
		if fold {
			if hasPrefixFold(lit, suf) {
				return i
			}
		} else if strings.HasPrefix(lit, suf) {
			return i
		}
	}
	return len(text)
}

// hasPrefixFold reports whether s starts with prefix under simple case folding.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(prefix)
		if r1 != r2 && !strings.EqualFold(s[:n1], prefix[:n2]) {
			return false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return true
}
