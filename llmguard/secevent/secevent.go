// Package secevent is the catalogue of the gateway's security events: incidents and
// administrative actions, one stream apart from the per-request audit, with field names of
// the Elastic Common Schema (ECS) so a SIEM ingests them without a parser of its own.
// Each event has a stable code that alerting rules can key on, a category and type from
// ECS's allowed values, and a severity.
//
// It must never put a secret, a key hash or prompt text into an event: events carry ids,
// actions and outcomes only.
package secevent

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// ECSVersion is the ECS version the field names follow.
const ECSVersion = "8.11"

// Severity is event.severity: 1 low, 2 medium, 3 high, 4 critical (higher is worse, as
// Elastic's detection rules and most SIEMs rank).
type Severity int

// Severities.
const (
	Low      Severity = 1
	Medium   Severity = 2
	High     Severity = 3
	Critical Severity = 4
)

// Kind is one entry of the catalogue.
type Kind struct {
	// Code is event.code, stable across releases: alert rules match on it.
	Code string
	// Action is event.action.
	Action string
	// Category and Type are ECS event.category and event.type values.
	Category, Type string
	Severity       Severity
	// Message is the log line's message.
	Message string
}

// The catalogue. Codes are never reused or renumbered.
var (
	KeyCreated = Kind{Code: "LLMG-1001", Action: "api-key-created", Category: "iam", Type: "creation", Severity: Low, Message: "API key created"}
	KeyUpdated = Kind{Code: "LLMG-1002", Action: "api-key-updated", Category: "iam", Type: "change", Severity: Low, Message: "API key updated"}
	KeyRotated = Kind{Code: "LLMG-1003", Action: "api-key-rotated", Category: "iam", Type: "change", Severity: Low, Message: "API key rotated"}
	KeyRevoked = Kind{Code: "LLMG-1004", Action: "api-key-revoked", Category: "iam", Type: "deletion", Severity: Medium, Message: "API key revoked"}
	// AuthThrottled: an address made more failed authentications than the throttle's
	// burst allows and is refused for a while (a brute-force or credential-stuffing
	// signal). Emitted when the throttle engages, not for every refused request.
	AuthThrottled = Kind{Code: "LLMG-2001", Action: "authentication-throttled", Category: "authentication", Type: "denied", Severity: High, Message: "repeated authentication failures; address throttled"}
)

// PromptBlocked: llm_inspect refused a prompt for what its detectors found (an injection,
// a secret, personal data under a block action). Fields name the finding types, never the
// text.
var PromptBlocked = Kind{Code: "LLMG-3001", Action: "prompt-blocked", Category: "intrusion_detection", Type: "denied", Severity: Medium, Message: "prompt blocked by content policy"}

// Responses refused by llm_filter for what they contain: a detector's finding (a secret,
// the system prompt or its canary, personal data under a block action) or a harmful
// category of the moderation classifier. They are separate codes because they call for
// different responses: a blocked finding is a data-leak attempt or a prompt extraction,
// a moderated reply is a content-safety matter. Fields name the finding types (for
// moderation HARMFUL_CONTENT:<category>), never the text. An unparsable reply or an
// unreachable classifier is not an incident of the caller's making and has no event.
var (
	ResponseBlocked   = Kind{Code: "LLMG-3002", Action: "response-blocked", Category: "intrusion_detection", Type: "denied", Severity: Medium, Message: "response blocked by content policy"}
	ResponseModerated = Kind{Code: "LLMG-3003", Action: "response-moderated", Category: "intrusion_detection", Type: "denied", Severity: Medium, Message: "response blocked by the moderation classifier"}
)

// BudgetExhausted: llm_rate_limit refused a caller because a day or month budget (tokens
// or dollars) ran out — a runaway agent or a stolen key spending, where waiting does not
// help. Category web: the refused thing is a call of the gateway's HTTP API (ECS has no
// quota category). Emitted once per (limit key, rule) and period, when the budget first
// refuses (see Once); per-window rate limits and concurrency refusals have none (metrics
// and the access log's {http.llm.rate_limit.rule} count those).
var BudgetExhausted = Kind{Code: "LLMG-5001", Action: "budget-exhausted", Category: "web", Type: "denied", Severity: Medium, Message: "spending budget exhausted; caller refused until the period ends"}

// Risk transitions of llm_sentinel: a caller's level rose or fell, it was quarantined
// (level high), or its quarantine ended. Fields name the actor (user.id or the client
// network), the levels, the score and the signals behind it, never prompt text.
var (
	RiskRaised        = Kind{Code: "LLMG-4001", Action: "risk-raised", Category: "threat", Type: "indicator", Severity: Medium, Message: "caller risk level raised"}
	RiskLowered       = Kind{Code: "LLMG-4002", Action: "risk-lowered", Category: "threat", Type: "indicator", Severity: Low, Message: "caller risk level lowered"}
	CallerQuarantined = Kind{Code: "LLMG-4003", Action: "caller-quarantined", Category: "threat", Type: "denied", Severity: High, Message: "caller quarantined for unusual activity"}
	CallerReleased    = Kind{Code: "LLMG-4004", Action: "caller-released", Category: "threat", Type: "allowed", Severity: Low, Message: "caller quarantine ended"}
)

// Catalogue lists every kind, for documentation and tests.
var Catalogue = []Kind{KeyCreated, KeyUpdated, KeyRotated, KeyRevoked, AuthThrottled, PromptBlocked,
	ResponseBlocked, ResponseModerated, RiskRaised, RiskLowered, CallerQuarantined, CallerReleased, BudgetExhausted}

// Fields returns the ECS fields of an event of kind k with outcome ("success" or
// "failure") and extra fields (which must use ECS names too, e.g. source.ip, or the
// llmguard.* namespace for the gateway's own).
func (k Kind) Fields(outcome string, extra ...zap.Field) []zap.Field {
	return append([]zap.Field{
		zap.String("ecs.version", ECSVersion),
		zap.String("event.kind", "event"),
		zap.String("event.code", k.Code),
		zap.String("event.action", k.Action),
		zap.Strings("event.category", []string{k.Category}),
		zap.Strings("event.type", []string{k.Type}),
		zap.Int("event.severity", int(k.Severity)),
		zap.String("event.outcome", outcome),
	}, extra...)
}

// Level is the log level an event of kind k is written at: alerts at warn and above.
func (k Kind) Level() zapcore.Level {
	if k.Severity >= High {
		return zapcore.WarnLevel
	}
	return zapcore.InfoLevel
}

// Emit writes an event of kind k to logger (none when logger is nil).
func Emit(logger *zap.Logger, k Kind, outcome string, extra ...zap.Field) {
	if logger == nil {
		return
	}
	if ce := logger.Check(k.Level(), k.Message); ce != nil {
		ce.Write(k.Fields(outcome, extra...)...)
	}
}
