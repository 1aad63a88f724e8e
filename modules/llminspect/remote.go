package llminspect

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/remote"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
	"github.com/llmguard/caddy-llmguard/modules/llmdetect"
)

// TypeUnsafe is the finding type of a prompt the remote classifier flagged, in
// {http.llm.inspect.findings} and its security event.
const TypeUnsafe = "UNSAFE_CONTENT"

// Remote configures an optional external classifier asked about every prompt that the
// in-process detectors let through: an OpenAI-compatible moderation endpoint or a guard
// model (Llama Guard, for example) served behind a chat-completions endpoint, or a text
// classifier (Prompt Guard, DeBERTa- or ModernBERT-style injection models) served by Hugging
// Face text-embeddings-inference's POST /predict. The text
// sent is the prompt as it will be forwarded, i.e. after redaction, so PII the detectors
// removed does not reach the classifier either.
type Remote struct {
	// Use names a classifier defined once in the llm_classifiers app (global option), so
	// that prompts and replies share one endpoint, HTTP client and verdict cache. With
	// Use, the connection fields below (URL … CacheSize) must be empty: they come from the
	// definition. FailOpen and Action stay per use.
	Use string `json:"use,omitempty"`
	// URL is the classifier endpoint, e.g. http://guard:8000/v1/moderations. Required
	// unless Use is set.
	URL string `json:"url,omitempty"`
	// Mode is "moderation" (OpenAI's /v1/moderations schema; default), "chat" (a guard
	// model whose reply starts with "safe" or "unsafe") or "tei" (text-embeddings-inference
	// /predict: a label in Labels scoring at least Threshold flags).
	Mode string `json:"mode,omitempty"`
	// Labels (tei mode) are the classifier labels that flag the prompt, case-insensitive.
	// Default INJECTION, JAILBREAK, LABEL_1, MALICIOUS, UNSAFE; set them to the attack
	// labels of the model you serve, or its benign label will never matter and an unknown
	// attack label will never flag.
	Labels []string `json:"labels,omitempty"`
	// Threshold (tei mode) is the score in (0,1] a flagging label needs. Default 0.5;
	// raise it to block only high-confidence verdicts.
	Threshold float64 `json:"threshold,omitempty"`
	// ElevatedThreshold and HighThreshold (tei mode, llm_inspect) replace Threshold for
	// callers llm_sentinel rates elevated or high, so that a suspected caller is refused
	// on a weaker verdict (the cached label scores are re-read, not re-asked). Each must
	// be at most the threshold of the level below; default: that threshold. Unlike the
	// connection fields they are policy, so they may be set beside Use.
	ElevatedThreshold float64 `json:"elevated_threshold,omitempty"`
	HighThreshold     float64 `json:"high_threshold,omitempty"`
	// Model is sent as the request's model; required in chat mode.
	Model string `json:"model,omitempty"`
	// APIKey is sent as a Bearer token; use a placeholder such as {env.GUARD_KEY} so the
	// secret stays out of the config. Default none.
	APIKey string `json:"api_key,omitempty"`
	// Timeout bounds each call. Default 2s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// CacheSize bounds the verdict cache (keyed by a hash of the text, never the text).
	// Default 1024 entries.
	CacheSize int `json:"cache_size,omitempty"`
	// FailOpen lets requests through (and logs) when the classifier cannot answer. The
	// default, fail closed, refuses them with 503 — a guard that silently stops guarding
	// is worse than an outage.
	FailOpen bool `json:"fail_open,omitempty"`
	// Action is what a flagged prompt gets: "block" (403, default) or "log".
	Action string `json:"action,omitempty"`
}

// Build returns the classifier client, its calls counted in the metrics under direction
// (DirectionRequest or DirectionResponse); llm_filter's moderation uses the same client.
func (rm *Remote) Build(ctx caddy.Context, direction string) (*remote.Classifier, error) {
	if rm.Action != "" && rm.Action != "block" && rm.Action != "log" {
		return nil, fmt.Errorf("remote action must be block or log, not %q", rm.Action)
	}
	observe, err := classifierObserver(ctx, direction)
	if err != nil {
		return nil, fmt.Errorf("registering classifier metrics: %v", err)
	}
	if rm.Use != "" {
		if rm.URL != "" || rm.Mode != "" || len(rm.Labels) > 0 || rm.Threshold != 0 || rm.Model != "" ||
			rm.APIKey != "" || rm.Timeout != 0 || rm.CacheSize != 0 {
			return nil, fmt.Errorf("classifier %q is defined in llm_classifiers: set its url, mode, model, key, timeout and cache there, not here", rm.Use)
		}
		shared, err := sharedClassifier(ctx, rm.Use)
		if err != nil {
			return nil, err
		}
		return rm.checkRisk(shared.WithObserve(observe), direction)
	}
	cfg := rm.config()
	cfg.Observe = observe
	c, err := remote.New(cfg)
	if err != nil {
		return nil, err
	}
	return rm.checkRisk(c, direction)
}

// checkRisk refuses risk thresholds that could not take effect: on replies (whose author
// is the model, not the caller), outside tei mode (the other modes answer flagged or not,
// with no threshold of ours) or above the lower level's.
func (rm *Remote) checkRisk(c *remote.Classifier, direction string) (*remote.Classifier, error) {
	if rm.ElevatedThreshold == 0 && rm.HighThreshold == 0 {
		return c, nil
	}
	switch {
	case direction != DirectionRequest:
		return nil, fmt.Errorf("elevated_threshold and high_threshold apply to prompts (llm_inspect), not replies")
	case c.Threshold() == 0:
		return nil, fmt.Errorf("elevated_threshold and high_threshold need a classifier in tei mode")
	}
	if _, err := rm.riskThresholds(c); err != nil {
		return nil, err
	}
	return c, nil
}

// riskThresholds returns the tei threshold per llm_sentinel risk level.
func (rm *Remote) riskThresholds(c *remote.Classifier) ([sentinel.High + 1]float64, error) {
	return llmdetect.RiskThresholds("remote", c.Threshold(), rm.ElevatedThreshold, rm.HighThreshold)
}

// config is the client configuration of rm's connection fields.
func (rm *Remote) config() remote.Config {
	return remote.Config{
		URL: rm.URL, Mode: rm.Mode, Model: rm.Model, Labels: rm.Labels, Threshold: rm.Threshold,
		APIKey:  caddy.NewReplacer().ReplaceKnown(rm.APIKey, ""),
		Timeout: time.Duration(rm.Timeout), CacheSize: rm.CacheSize,
	}
}

// classify asks the remote classifier about the prompt as forwarded. It returns the
// refusal to send, or nil to go on.
func (h *Handler) classify(r *http.Request, ex *exchange.Exchange, redactions map[int]string, scanSystem bool) *apierr.Error {
	var b strings.Builder
	for i, seg := range ex.Request.Segments {
		if seg.Role == "system" && !scanSystem {
			continue
		}
		text := seg.Text
		if red, ok := redactions[i]; ok {
			text = red
		}
		b.WriteString(text)
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return nil
	}
	v, err := h.remote.Classify(r.Context(), b.String(), time.Now())
	if err != nil {
		h.logger.Warn("remote classifier failed", zap.Error(err), zap.Bool("fail_open", h.Remote.FailOpen))
		if h.Remote.FailOpen {
			return nil
		}
		return &apierr.Error{Status: http.StatusServiceUnavailable, Code: "classifier_unavailable", RetryAfter: time.Second,
			Message: "The gateway's content classifier is unavailable; try again shortly."}
	}
	// A suspected caller's verdict is re-read at its level's threshold (tei mode).
	v = h.remote.AtThreshold(v, h.remoteAt[min(ex.RiskLevel(), sentinel.High)])
	if !v.Flagged {
		return nil
	}
	appendFinding(r, TypeUnsafe)
	if h.Remote.Action == "log" {
		h.logger.Info("remote classifier flagged a prompt", zap.Strings("categories", v.Categories))
		return nil
	}
	h.reportBlock(r, ex, []string{TypeUnsafe}, zap.Strings("llmguard.finding.categories", v.Categories))
	msg := "The request was blocked by the gateway's content policy: the content classifier flagged it"
	if len(v.Categories) > 0 {
		msg += " (" + strings.Join(v.Categories, ", ") + ")"
	}
	return &apierr.Error{Status: http.StatusForbidden, Code: "content_policy_violation", Message: msg + "."}
}

// appendFinding adds a type to {http.llm.inspect.findings}.
func appendFinding(r *http.Request, typ string) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	if cur, _ := repl.GetString(PlaceholderFindings); cur != "" {
		typ = cur + "," + typ
	}
	repl.Set(PlaceholderFindings, typ)
}

// ParseRemote reads (llm_filter's moderate block reuses it)
//
//	remote {
//	    use <name>              (a classifier of the llm_classifiers global option; or:)
//	    url <url>
//	    mode moderation|chat|tei
//	    model <name>
//	    labels <label>...       (tei)
//	    threshold <0..1>        (tei)
//	    elevated_threshold <0..1>  (tei, llm_inspect: callers llm_sentinel rates elevated)
//	    high_threshold <0..1>      (tei, llm_inspect: callers rated high)
//	    api_key <key>
//	    timeout <duration>
//	    cache_size <n>
//	    fail open|closed
//	    action block|log
//	}
func ParseRemote(d *caddyfile.Dispenser) (*Remote, error) {
	rm := &Remote{}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := cfparse.Seen{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.Check(d); err != nil {
			return nil, err
		}
		var err error
		switch d.Val() {
		case "use":
			rm.Use, err = cfparse.Arg(d)
		case "url":
			rm.URL, err = cfparse.Arg(d)
		case "mode":
			rm.Mode, err = cfparse.OneOf(d, remote.ModeModeration, remote.ModeChat, remote.ModeTEI)
		case "labels":
			rm.Labels, err = cfparse.Args(d)
		case "threshold":
			var v string
			if v, err = cfparse.Arg(d); err == nil {
				rm.Threshold, err = cfparse.Threshold(d, "remote threshold", v)
			}
		case "elevated_threshold", "high_threshold":
			name, dst := d.Val(), &rm.ElevatedThreshold
			if name == "high_threshold" {
				dst = &rm.HighThreshold
			}
			var v string
			if v, err = cfparse.Arg(d); err == nil {
				*dst, err = cfparse.Threshold(d, "remote "+name, v)
			}
		case "model":
			rm.Model, err = cfparse.Arg(d)
		case "api_key":
			rm.APIKey, err = cfparse.Arg(d)
		case "timeout":
			rm.Timeout, err = cfparse.Duration(d)
		case "cache_size":
			rm.CacheSize, err = cfparse.PositiveInt(d)
		case "fail":
			var v string
			v, err = cfparse.OneOf(d, "open", "closed")
			rm.FailOpen = v == "open"
		case "action":
			rm.Action, err = cfparse.OneOf(d, "block", "log")
		default:
			return nil, d.Errf("unrecognized remote subdirective '%s'", d.Val())
		}
		if err != nil {
			return nil, err
		}
	}
	if rm.URL == "" && rm.Use == "" {
		return nil, d.Err("remote needs a url, or `use <name>` of a classifier defined in the llm_classifiers global option")
	}
	return rm, nil
}
