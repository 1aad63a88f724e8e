// Package secrets finds credentials in text: provider API keys with a recognisable prefix
// (OpenAI, Anthropic, AWS, GitHub, GitLab, Slack, Stripe, Google and more, plus the
// gateway's own sk-llmg- keys), PEM private key blocks, JWTs, credentials in HTTP
// Authorization headers, curl -u and URLs, and generic high-entropy values assigned to
// password/secret/token/api_key names.
//
// Every rule is a linear scan anchored on a literal (a prefix, an assignment operator, a
// header name) followed by bounded reads, so the detector stays linear in the input. Rules
// check length, alphabet and Shannon entropy, and reject obvious placeholders (xxxx, ****,
// <...>, $VAR), because a prompt that talks about keys must not be treated as leaking one.
// The package must never log or return matched values, only their offsets.
package secrets

import (
	"math"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// Finding types. Provider keys carry the provider name; generic rules carry what was
// found.
const (
	OpenAIKey        = "OPENAI_API_KEY"
	AnthropicKey     = "ANTHROPIC_API_KEY"
	AWSAccessKey     = "AWS_ACCESS_KEY"
	AWSSecretKey     = "AWS_SECRET_KEY"
	GitHubToken      = "GITHUB_TOKEN"
	GitLabToken      = "GITLAB_TOKEN"
	SlackToken       = "SLACK_TOKEN"
	SlackWebhook     = "SLACK_WEBHOOK_URL"
	StripeKey        = "STRIPE_API_KEY"
	GoogleAPIKey     = "GOOGLE_API_KEY"
	GCPServiceAcct   = "GCP_SERVICE_ACCOUNT"
	AzureSecret      = "AZURE_CLIENT_SECRET"
	PrivateKey       = "PRIVATE_KEY"
	JWT              = "JWT"
	GatewayKey       = "LLMGUARD_API_KEY"
	ProviderToken    = "API_TOKEN" // other providers with a distinctive prefix
	AuthCredential   = "HTTP_AUTH_CREDENTIAL"
	URLCredential    = "URL_CREDENTIALS"
	Password         = "PASSWORD"
	GenericSecret    = "GENERIC_SECRET"
	HighEntropyToken = "HIGH_ENTROPY_TOKEN"
)

// Options tunes the generic rules. The zero value is the default.
type Options struct {
	// DisableBareTokens turns off HIGH_ENTROPY_TOKEN, the rule that flags random-looking
	// mixed-case tokens without any context. It catches keys of providers we do not know,
	// at the price of occasional hits on random identifiers.
	DisableBareTokens bool
	// MinEntropy is the Shannon entropy (bits per byte) a value assigned to a secret-looking
	// name must reach; default 3.0.
	MinEntropy float64
}

// Detector reports secrets.
type Detector struct {
	opt Options
}

// New returns a secrets detector.
func New(opt Options) *Detector {
	if opt.MinEntropy == 0 {
		opt.MinEntropy = 3.0
	}
	return &Detector{opt: opt}
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return "secrets" }

// Detect implements detect.Detector. Overlapping hits of different rules are reduced to
// the most specific one (provider rules win over generic ones).
func (d *Detector) Detect(text string, dst []detect.Finding) []detect.Finding {
	first := len(dst)
	dst = scanPrefixed(text, dst, !d.opt.DisableBareTokens)
	var armored [][2]int
	dst, armored = scanPEM(text, dst)
	dst = dropInside(dst, first, armored)
	dst = scanAzure(text, dst)
	dst = scanAssignments(text, dst, d.opt.MinEntropy)
	dst = scanCurlUser(text, dst)
	dst = scanURLCreds(text, dst)
	dst = scanMisc(text, dst)
	dst = scanStructured(text, dst)
	return dedupe(dst, first)
}

func finding(typ string, s, e int, score float64, rule string) detect.Finding {
	return detect.Finding{Detector: "secrets", Type: typ, Start: s, End: e, Score: score, Rule: rule}
}

// dropInside removes bare high-entropy tokens inside armored non-secret blocks (public
// keys, certificates), whose base64 lines look random but are public. Both lists are in
// text order, so one merge pass suffices.
func dropInside(dst []detect.Finding, first int, blocks [][2]int) []detect.Finding {
	if len(blocks) == 0 {
		return dst
	}
	out := dst[:first]
	k := 0
	for _, f := range dst[first:] {
		for k < len(blocks) && blocks[k][1] <= f.Start {
			k++
		}
		if f.Type == HighEntropyToken && k < len(blocks) && blocks[k][0] <= f.Start {
			continue
		}
		out = append(out, f)
	}
	return out
}

// dedupe drops findings contained in an earlier, more specific one. Rules append in order
// of specificity, so on overlap the first kept wins.
func dedupe(dst []detect.Finding, first int) []detect.Finding {
	fs := dst[first:]
	if len(fs) < 2 {
		return dst
	}
	detect.SortFindings(fs)
	out := fs[:1]
	for _, f := range fs[1:] {
		last := &out[len(out)-1]
		if f.Start < last.End {
			if rank(f) > rank(*last) && f.End >= last.End {
				*last = f
			}
			continue
		}
		out = append(out, f)
	}
	return dst[:first+len(out)]
}

// rank orders finding types by specificity.
func rank(f detect.Finding) int {
	switch f.Type {
	case HighEntropyToken:
		return 0
	case GenericSecret, Password:
		return 1
	case AuthCredential, URLCredential:
		return 2
	}
	return 3
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if len(s) == 0 {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h, n := 0.0, float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// placeholderMarks are substrings of documentation values, never of real credentials.
var placeholderMarks = []string{"xxxx", "****", "...", "####", "<", ">", "${", "$(", "{{", "your_", "your-", "_here", "-here", "placeholder", "redacted", "changeme", "dummy"}

func isPlaceholder(v string) bool {
	if v == "" || v[0] == '$' || v[0] == '%' || v[0] == '[' {
		return true
	}
	l := strings.ToLower(v)
	for _, m := range placeholderMarks {
		if strings.Contains(l, m) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlnum(c byte) bool { return byteClass[c]&classAlnum != 0 }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// isWordByte: letters, digits, '_' and '-'.
func isWordByte(c byte) bool { return byteClass[c]&classWord != 0 }

// byteClass answers isAlnum and isWordByte with one lookup: the scanners ask them of
// nearly every byte of a prompt.
const (
	classAlnum = 1 << iota
	classWord
)

var byteClass = func() (t [256]uint8) {
	for i := range t {
		c := byte(i)
		if isDigit(c) || isUpper(c) || isLower(c) {
			t[i] = classAlnum | classWord
		} else if c == '_' || c == '-' {
			t[i] = classWord
		}
	}
	return t
}()

// DefaultAction blocks credentials — a leaked key must not reach a third party — and
// only logs bare high-entropy tokens, whose false-positive rate is higher.
func (d *Detector) DefaultAction(f detect.Finding) string {
	if f.Type == HighEntropyToken {
		return detect.ActionLog
	}
	return detect.ActionBlock
}
