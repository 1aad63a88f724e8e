package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// Decisions an event records. They are few and fixed so that they can label metrics.
const (
	DecisionAllow       = "allow"        // forwarded unchanged
	DecisionRedact      = "redact"       // forwarded after the gateway rewrote the prompt
	DecisionBlock       = "block"        // refused by prompt inspection or a response filter
	DecisionRateLimited = "rate_limited" // refused by llm_rate_limit
	DecisionDeny        = "deny"         // refused by authentication, authorization or consent
	DecisionError       = "error"        // the gateway or the upstream failed
)

// Privacy levels: how much prompt and response content an event carries.
const (
	// PrivacyNone records no content at all: only metadata. The default.
	PrivacyNone = "none"
	// PrivacyHash records keyed HMAC-SHA256 digests of the prompt and response text, so
	// that identical prompts can be correlated without the log revealing them. The key is
	// the chain's secret, so a dictionary attack needs it.
	PrivacyHash = "hash"
	// PrivacyRedacted records the prompt as forwarded upstream, i.e. after llm_inspect's
	// PII and secret redaction, and a digest of the response.
	PrivacyRedacted = "redacted"
	// PrivacyFull records the client's prompt and the upstream's response verbatim. Only
	// for debugging or where the law requires it; the log then holds personal data.
	PrivacyFull = "full"
)

// ValidPrivacy reports whether p names a privacy level.
func ValidPrivacy(p string) bool {
	switch p {
	case PrivacyNone, PrivacyHash, PrivacyRedacted, PrivacyFull:
		return true
	}
	return false
}

// Event is one audited request. Field names are the snake_case keys of the log entry.
// Identity fields are identifiers (key id, subject), never credentials.
type Event struct {
	RequestID  string `json:"request_id,omitempty"`
	UserID     string `json:"user_id,omitempty"`
	KeyID      string `json:"key_id,omitempty"`
	Subject    string `json:"subject,omitempty"`
	AuthSource string `json:"auth_source,omitempty"`
	Tier       string `json:"tier,omitempty"`
	ClientIP   string `json:"client_ip,omitempty"`
	// Country is the client's country from llm_geo (ISO code or "unknown"); empty without llm_geo.
	Country string `json:"country,omitempty"`
	// RiskScore, RiskLevel and RiskReasons are llm_sentinel's assessment of the caller
	// (see its placeholders); empty without llm_sentinel.
	RiskScore    float64  `json:"risk_score,omitempty"`
	RiskLevel    string   `json:"risk_level,omitempty"`
	RiskReasons  []string `json:"risk_reasons,omitempty"`
	Method       string   `json:"method,omitempty"`
	Path         string   `json:"path,omitempty"`
	Endpoint     string   `json:"endpoint,omitempty"`
	Model        string   `json:"model,omitempty"`
	Stream       bool     `json:"stream,omitempty"`
	Upstream     string   `json:"upstream,omitempty"`
	Status       int      `json:"status"`
	Decision     string   `json:"decision"`
	Reasons      []string `json:"reasons,omitempty"`
	Findings     []string `json:"findings,omitempty"`
	InspectScore float64  `json:"inspect_score,omitempty"`
	// Moderation holds the harmful-content categories llm_filter's moderation found in
	// the reply, with the classifier's score (1 for a guard model's codes).
	Moderation     map[string]float64 `json:"moderation,omitempty"`
	Purpose        string             `json:"purpose,omitempty"`
	TokensIn       int64              `json:"tokens_in"`
	TokensOut      int64              `json:"tokens_out"`
	TokensReported bool               `json:"tokens_reported"`
	Cost           float64            `json:"cost,omitempty"`
	LatencyMS      float64            `json:"latency_ms"`
	TTFTMS         float64            `json:"ttft_ms,omitempty"`
	Privacy        string             `json:"privacy"`
	Prompt         string             `json:"prompt,omitempty"`
	PromptHash     string             `json:"prompt_hash,omitempty"`
	Response       string             `json:"response,omitempty"`
	ResponseHash   string             `json:"response_hash,omitempty"`
	StrippedFields []string           `json:"stripped_fields,omitempty"`
}

// Hasher computes the keyed content digests of PrivacyHash. A plain SHA-256 of a short
// prompt could be reversed by guessing; a keyed one cannot without the key.
//
// Every audited request hashes its prompt and response, so the keyed HMAC states are
// pooled (Reset restores the keyed state instead of deriving it again) together with a
// buffer the text is copied through, rather than converting each text to a new []byte.
type Hasher struct {
	key  []byte
	pool sync.Pool // *hmacBuf
}

type hmacBuf struct {
	mac hash.Hash
	buf [1024]byte
}

// NewHasher returns a Hasher keyed with key (copied).
func NewHasher(key []byte) *Hasher {
	h := &Hasher{key: append([]byte(nil), key...)}
	h.pool.New = func() any { return &hmacBuf{mac: hmac.New(sha256.New, h.key)} }
	return h
}

const sumPrefix = "hmac-sha256:"

// Sum returns "hmac-sha256:<hex>" of text.
func (h *Hasher) Sum(text string) string {
	b := h.pool.Get().(*hmacBuf)
	b.mac.Reset()
	for len(text) > 0 {
		n := copy(b.buf[:], text)
		b.mac.Write(b.buf[:n])
		text = text[n:]
	}
	var sum [sha256.Size]byte
	b.mac.Sum(sum[:0])
	clear(b.buf[:]) // no prompt text left in an idle pooled buffer
	h.pool.Put(b)
	var out strings.Builder
	out.Grow(len(sumPrefix) + 2*sha256.Size)
	out.WriteString(sumPrefix)
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], sum[:])
	out.Write(hx[:])
	return out.String()
}

// SetContent fills the content fields of e per e.Privacy. prompt is the client's prompt
// text, forwarded the prompt as sent upstream (after redaction), response the response
// text; any may be empty when unknown.
func (e *Event) SetContent(h *Hasher, prompt, forwarded, response string) error {
	switch e.Privacy {
	case PrivacyNone, "":
		e.Privacy = PrivacyNone
	case PrivacyHash:
		e.PromptHash = sumIf(h, prompt)
		e.ResponseHash = sumIf(h, response)
	case PrivacyRedacted:
		e.Prompt = forwarded
		e.PromptHash = sumIf(h, prompt)
		// The response is only hashed: the audit sees the upstream's bytes, not what a
		// response filter made of them, so its verbatim text may hold unredacted data.
		e.ResponseHash = sumIf(h, response)
	case PrivacyFull:
		e.Prompt, e.Response = prompt, response
	default:
		return fmt.Errorf("unknown privacy level %q", e.Privacy)
	}
	return nil
}

func sumIf(h *Hasher, s string) string {
	if s == "" || h == nil {
		return ""
	}
	return h.Sum(s)
}
