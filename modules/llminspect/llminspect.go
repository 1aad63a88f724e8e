// Package llminspect is the `llm_inspect` Caddy handler: it reads the parsed request once
// (through llmhttp) and decides whether it may pass as it is, must be rewritten (an output
// allowance clamped to the route's cap), or is refused with an error that tells the caller
// what to change.
//
// It must never log or echo prompt text, and never forward a request it refused.
package llminspect

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/remote"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/inspect"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/secevent"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
	"github.com/llmguard/caddy-llmguard/modules/llmdetect"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// PlaceholderDecision is set to allow, rewrite or block for every inspected request.
const PlaceholderDecision = "http.llm.inspect.decision"

// Handler checks LLM API requests against the route's limits and policy.
//
// Placeholders: {http.llm.inspect.decision} (allow, rewrite or block), plus the request
// placeholders of llmhttp ({http.llm.model}, {http.llm.prompt_tokens}, …), which reflect
// the forwarded request (e.g. a clamped {http.llm.max_output_tokens}).
type Handler struct {
	// MaxBodySize is the largest request body read, in bytes; larger bodies get 413.
	// Default: 16 MiB.
	MaxBodySize int64 `json:"max_body_size,omitempty"`
	// MaxMessages refuses requests with more conversation messages (400). Default: no limit.
	MaxMessages int `json:"max_messages,omitempty"`
	// MaxPromptTokens refuses prompts with more tokens, counted exactly for OpenAI model
	// families and estimated for others (400 context_length_exceeded). Default: no limit.
	MaxPromptTokens int64 `json:"max_prompt_tokens,omitempty"`
	// MaxOutputTokens caps the output allowance (max_tokens, max_completion_tokens,
	// max_output_tokens). A missing allowance is set to the cap, since the upstream's
	// default may be far larger. Default: no cap.
	MaxOutputTokens int64 `json:"max_output_tokens,omitempty"`
	// OutputAction is what happens to an allowance above MaxOutputTokens: "clamp"
	// lowers it in the forwarded body, "refuse" answers 400. Default: clamp.
	OutputAction string `json:"max_output_action,omitempty"`
	// MaxN refuses requests for more choices (OpenAI "n"). Default: no limit.
	MaxN int64 `json:"max_n,omitempty"`
	// AllowModels, when set, admits only models matching one of these glob patterns
	// ("*" matches any run of characters, "/" included). Others get 403. It combines
	// with llm_auth's per-identity allow-list: a request must pass both.
	AllowModels []string `json:"allow_models,omitempty"`
	// DenyModels refuses models matching one of these patterns (403), even if allowed.
	DenyModels []string `json:"deny_models,omitempty"`
	// AllowEndpoints, when set, admits only these endpoints: chat, completions,
	// embeddings, responses, messages, models. Others get 403.
	AllowEndpoints []string `json:"allow_endpoints,omitempty"`
	// DenyEndpoints refuses these endpoints (403).
	DenyEndpoints []string `json:"deny_endpoints,omitempty"`
	// DenyStream refuses "stream": true (400). Default: streaming allowed.
	DenyStream bool `json:"deny_stream,omitempty"`
	// DenyTools refuses requests that offer tools (400). Default: tools allowed.
	DenyTools bool `json:"deny_tools,omitempty"`
	// Detect configures the prompt detectors (modules of the llmguard.detectors
	// namespace) and the action per finding type; see llmdetect.Config. Default:
	// secrets (block), PII (redact), prompt injection, indirect injection in tool
	// results and pasted documents, invisible text and bare high-entropy tokens (log).
	Detect *llmdetect.Config `json:"detect,omitempty"`
	// Remote adds an external classifier (moderation endpoint or guard model); see
	// Remote. Default: none.
	Remote *Remote `json:"remote,omitempty"`

	limits    inspect.Limits
	detection *inspect.Detection
	byRisk    llmdetect.ByRisk // detection per llm_sentinel risk level; [Low] is detection
	remote    *remote.Classifier
	remoteAt  [sentinel.High + 1]float64 // the remote's tei threshold per risk level
	logger    *zap.Logger
	security  *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.llm_inspect",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision builds the limits.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.security = llmhttp.SecurityLogger(ctx)
	allow, err := kinds(h.AllowEndpoints)
	if err != nil {
		return fmt.Errorf("allow_endpoints: %v", err)
	}
	deny, err := kinds(h.DenyEndpoints)
	if err != nil {
		return fmt.Errorf("deny_endpoints: %v", err)
	}
	h.limits = inspect.Limits{
		MaxMessages: h.MaxMessages, MaxPromptTokens: h.MaxPromptTokens,
		MaxOutputTokens: h.MaxOutputTokens, OutputAction: h.OutputAction, MaxN: h.MaxN,
		AllowModels: h.AllowModels, DenyModels: h.DenyModels,
		AllowEndpoints: allow, DenyEndpoints: deny,
		DenyStream: h.DenyStream, DenyTools: h.DenyTools,
	}
	h.detection, err = h.Detect.Load(ctx, llmdetect.RequestDefaults)
	if err != nil {
		return fmt.Errorf("detect: %v", err)
	}
	h.byRisk = llmdetect.ForRisk(h.detection)
	if h.Remote != nil {
		if h.remote, err = h.Remote.Build(ctx, DirectionRequest); err != nil {
			return fmt.Errorf("remote: %v", err)
		}
		h.remoteAt, _ = h.Remote.riskThresholds(h.remote) // checked by Build
	}
	return nil
}

// Validate checks the configuration.
func (h *Handler) Validate() error {
	if h.MaxBodySize < 0 {
		return fmt.Errorf("max_body_size must not be negative")
	}
	return h.limits.Validate()
}

func kinds(names []string) ([]request.Kind, error) {
	out := make([]request.Kind, 0, len(names))
	for _, n := range names {
		k, ok := request.ParseKind(n)
		if !ok {
			return nil, fmt.Errorf("unknown endpoint %q (want chat, completions, embeddings, responses, messages or models)", n)
		}
		out = append(out, k)
	}
	return out, nil
}

// ServeHTTP inspects the request and passes it on, rewritten if needed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (err error) {
	g, w := llmhttp.Protect(w, r, h.logger)
	defer g.Recover(&err)
	ex, r, e := llmhttp.Load(r, h.MaxBodySize)
	if e != nil {
		return h.block(w, r, e)
	}
	fields, e := h.limits.Check(ex)
	if e != nil {
		return h.block(w, r, e)
	}
	edit := request.Edit{Fields: fields}
	if h.detection != nil && ex.Request != nil {
		v := h.byRisk.At(ex.RiskLevel()).Scan(ex.Request, detect.NewVault())
		publishFindings(r, &v)
		if v.Action == detect.ActionBlock {
			h.reportBlock(r, ex, blockTypes(&v))
			return h.block(w, r, v.Refusal())
		}
		if v.Action == detect.ActionLog || v.Action == detect.ActionRedact {
			h.logFindings(&v)
		}
		edit.Segments = v.Redactions
		// Pseudonyms go with the exchange (memory only, this request) so that llm_filter
		// restores the originals in the response.
		ex.Vault = v.Pseudonyms
	}
	if h.remote != nil && ex.Request != nil {
		if e := h.classify(r, ex, edit.Segments, h.detection != nil && h.detection.ScanSystem); e != nil {
			return h.block(w, r, e)
		}
	}
	decision := "allow"
	if len(edit.Fields)+len(edit.Segments) > 0 {
		if err := rewrite(r, ex, edit); err != nil {
			// The edit is built from the parsed body itself, so this is a bug, not bad
			// input; refuse rather than forward a half-applied request.
			h.logger.Error("rewriting request body", zap.Error(err))
			return h.block(w, r, apierr.New(http.StatusInternalServerError, "rewrite_failed", "The gateway could not apply its request policy."))
		}
		decision = "rewrite"
	}
	setDecision(r, decision)
	return next.ServeHTTP(w, r)
}

func (h *Handler) block(w http.ResponseWriter, r *http.Request, e *apierr.Error) error {
	setDecision(r, "block")
	return llmhttp.Fail(w, r, e)
}

// rewrite applies edit to the forwarded body and re-reads it, so that later handlers
// (the rate limiter's reservation, for one) see the request as it will be sent.
func rewrite(r *http.Request, ex *exchange.Exchange, edit request.Edit) error {
	body, err := ex.Request.Apply(edit)
	if err != nil {
		return err
	}
	parsed, err := request.Parse(ex.Kind, body)
	if err != nil {
		return err
	}
	ex.Request, ex.Body = parsed, body
	llmhttp.SetBody(r, body)
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set(llmhttp.PlaceholderMaxOutput, parsed.MaxOutputTokens)
	}
	return nil
}

// Placeholders set when detectors ran.
const (
	PlaceholderFindings = "http.llm.inspect.findings" // finding types, comma-separated
	PlaceholderScore    = "http.llm.inspect.score"    // highest finding score, 0–1
)

func publishFindings(r *http.Request, v *inspect.Verdict) {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set(PlaceholderFindings, strings.Join(v.Types(""), ","))
		repl.Set(PlaceholderScore, strconv.FormatFloat(v.Score, 'f', 3, 64))
	}
}

// logFindings records what was found and where — types, detectors, rules and JSON
// locations, never the matched text.
func (h *Handler) logFindings(v *inspect.Verdict) {
	if ce := h.logger.Check(zap.InfoLevel, "prompt findings"); ce != nil {
		fields := make([]string, 0, len(v.Findings))
		for _, f := range v.Findings {
			fields = append(fields, f.Type+"@"+f.Path+":"+f.Action)
		}
		ce.Write(zap.String("action", v.Action), zap.Strings("findings", fields))
	}
}

// reportBlock emits the security event of a prompt blocked for what was found in it: who,
// the finding types and any extra fields (never the matched text).
func (h *Handler) reportBlock(r *http.Request, ex *exchange.Exchange, types []string, extra ...zap.Field) {
	fields := append(llmhttp.CallerFields(r, ex), zap.Strings("llmguard.finding.types", types))
	secevent.Emit(h.security, secevent.PromptBlocked, "success", append(fields, extra...)...)
}

// blockTypes are the finding types of v whose action is block, each once.
func blockTypes(v *inspect.Verdict) []string {
	types := make([]string, 0, len(v.Findings))
	for _, f := range v.Findings {
		if f.Action == detect.ActionBlock && !slices.Contains(types, f.Type) {
			types = append(types, f.Type)
		}
	}
	return types
}

func setDecision(r *http.Request, d string) {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set(PlaceholderDecision, d)
	}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
