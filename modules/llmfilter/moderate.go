package llmfilter

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/remote"
	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/filter"
	"github.com/llmguard/caddy-llmguard/llmguard/moderation"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/secevent"
	"github.com/llmguard/caddy-llmguard/llmguard/usage"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
	"github.com/llmguard/caddy-llmguard/modules/llminspect"
)

// PlaceholderModeration holds the moderation categories that hit, with their scores
// ("violence:0.93,hate:1"), once the response is complete.
const PlaceholderModeration = "http.llm.filter.moderation"

// TypeHarmful prefixes the finding type of a moderation hit in {http.llm.filter.findings}
// (HARMFUL_CONTENT:violence).
const TypeHarmful = "HARMFUL_CONTENT:"

// DefaultMaxConcurrent bounds concurrent classifier calls per handler.
const DefaultMaxConcurrent = 16

// Moderation asks a moderation or guard model about the generated text and applies
// per-category policies. The classifier is configured exactly like llm_inspect's remote
// block (same client: timeout, hashed-text cache, fail open/closed).
type Moderation struct {
	// Classifier is the remote classifier (url, mode moderation|chat|tei, model, api_key,
	// timeout, cache_size, fail open|closed). Its action is the default category action.
	Classifier *llminspect.Remote `json:"classifier"`
	// Window is how much generated text (bytes) a stream holds back and classifies at
	// once. Default 400 (about 100 tokens).
	Window int `json:"window,omitempty"`
	// MaxConcurrent bounds the classifier calls in flight; a call that cannot start
	// within the classifier's timeout counts as a classifier failure. Default 16.
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// Categories maps a normalised category to its rule; Default applies to the others.
	Categories map[string]ModerationRule `json:"categories,omitempty"`
	Default    *ModerationRule           `json:"default,omitempty"`

	client  *remote.Classifier
	policy  moderation.Policy
	timeout time.Duration
	sem     chan struct{}
	hits    *prometheus.CounterVec // caddy_llmguard_moderation_hits_total{category,action}
}

// ModerationRule is a category's action (block, log or allow) and optional threshold.
type ModerationRule struct {
	Action    string  `json:"action,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
}

func (m *Moderation) provision(ctx caddy.Context) error {
	if m.Classifier == nil {
		return fmt.Errorf("moderate needs a classifier")
	}
	var err error
	if m.client, err = m.Classifier.Build(ctx, llminspect.DirectionResponse); err != nil {
		return err
	}
	// Categories are the normalised set (unknown labels count as "other"), actions block
	// or log: the labels stay bounded.
	if m.hits, err = llmhttp.RegisterMetric(ctx, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "llmguard", Name: "moderation_hits_total",
		Help: "Harmful-content categories the moderation classifier found in replies, by the action taken."},
		[]string{"category", "action"})); err != nil {
		return fmt.Errorf("registering moderation metrics: %v", err)
	}
	if m.Window < 0 || m.MaxConcurrent < 0 {
		return fmt.Errorf("moderate window and max_concurrent must not be negative")
	}
	if m.MaxConcurrent == 0 {
		m.MaxConcurrent = DefaultMaxConcurrent
	}
	m.sem = make(chan struct{}, m.MaxConcurrent)
	m.timeout = m.client.Timeout()
	m.policy = moderation.Policy{Rules: map[string]moderation.Rule{}, Default: moderation.Rule{Action: m.Classifier.Action}}
	if m.Default != nil {
		m.policy.Default = moderation.Rule(*m.Default)
	}
	for c, r := range m.Categories {
		m.policy.Rules[c] = moderation.Rule(r)
	}
	return m.policy.Validate()
}

// classify asks the classifier, bounded by the concurrency limit and the timeout.
func (m *Moderation) classify(ctx context.Context, text string) (moderation.Decision, error) {
	t := time.NewTimer(m.timeout)
	defer t.Stop()
	select {
	case m.sem <- struct{}{}:
	case <-t.C:
		m.client.Observe(remote.OutcomeOverloaded, 0)
		return moderation.Decision{}, fmt.Errorf("moderation: too many classifier calls in flight")
	case <-ctx.Done():
		return moderation.Decision{}, ctx.Err()
	}
	defer func() { <-m.sem }()
	v, err := m.client.Classify(ctx, text, time.Now())
	if err != nil {
		return moderation.Decision{}, err
	}
	return m.policy.Decide(v), nil
}

// refusal is the API-shaped error for a blocked reply: it names the categories, never
// the content.
func moderationRefusal(d moderation.Decision) *apierr.Error {
	return &apierr.Error{Status: http.StatusForbidden, Code: "content_policy_violation",
		Message: "The response was blocked by the gateway's content policy: the moderation classifier flagged it (" +
			strings.Join(d.Categories(moderation.ActionBlock), ", ") + ")."}
}

func classifierUnavailable() *apierr.Error {
	return &apierr.Error{Status: http.StatusServiceUnavailable, Code: "classifier_unavailable", RetryAfter: time.Second,
		Message: "The gateway's content classifier is unavailable; try again shortly."}
}

// harmful is the finding types of the categories d blocked, as the filter's findings
// placeholder and the audit name them.
func harmful(d moderation.Decision) []string {
	cats := d.Categories(moderation.ActionBlock)
	for i, c := range cats {
		cats[i] = TypeHarmful + c
	}
	return cats
}

// recordModeration publishes the hits (placeholder, findings, log) without content.
func (h *Handler) recordModeration(r *http.Request, d moderation.Decision, failed int, rep *filter.Report) {
	var parts []string
	for _, hit := range d.Hits {
		parts = append(parts, hit.Category+":"+strconv.FormatFloat(hit.Score, 'g', 3, 64))
		rep.Add(TypeHarmful+hit.Category, hit.Action)
		h.Moderate.hits.WithLabelValues(hit.Category, hit.Action).Inc()
	}
	sort.Strings(parts)
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set(PlaceholderModeration, strings.Join(parts, ","))
	}
	if failed > 0 {
		h.logger.Warn("moderation classifier failed", zap.Int("failures", failed), zap.Bool("fail_open", h.Moderate.Classifier.FailOpen))
	}
}

// parseModerate reads
//
//	moderate {
//	    classifier { … llm_inspect's remote block … }
//	    window <bytes>
//	    max_concurrent <n>
//	    category <category> block|log|allow [<threshold>]
//	    default block|log|allow [<threshold>]
//	}
func parseModerate(d *caddyfile.Dispenser) (*Moderation, error) {
	m := &Moderation{}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := cfparse.Seen{}
	rule := func() (ModerationRule, error) {
		var r ModerationRule
		args := d.RemainingArgs()
		if len(args) < 1 || len(args) > 2 {
			return r, d.ArgErr()
		}
		switch r.Action = args[0]; r.Action {
		case moderation.ActionBlock, moderation.ActionLog, moderation.ActionAllow:
		default:
			return r, d.Errf("moderation action must be block, log or allow, not '%s'", r.Action)
		}
		if len(args) == 2 {
			var err error
			if r.Threshold, err = cfparse.Threshold(d, "moderation threshold", args[1]); err != nil {
				return r, err
			}
		}
		return r, nil
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if d.Val() != "category" {
			if err := seen.Check(d); err != nil {
				return nil, err
			}
		}
		var err error
		switch d.Val() {
		case "classifier":
			m.Classifier, err = llminspect.ParseRemote(d)
		case "window":
			m.Window, err = cfparse.PositiveInt(d)
		case "max_concurrent":
			m.MaxConcurrent, err = cfparse.PositiveInt(d)
		case "category":
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			c := d.Val()
			if moderation.Normalize(c) != c {
				return nil, d.Errf("unknown moderation category %q (known: %s)", c, strings.Join(moderation.Categories, ", "))
			}
			if _, dup := m.Categories[c]; dup {
				return nil, d.Errf("moderation category %s configured twice", c)
			}
			var r ModerationRule
			if r, err = rule(); err == nil {
				if m.Categories == nil {
					m.Categories = map[string]ModerationRule{}
				}
				m.Categories[c] = r
			}
		case "default":
			var r ModerationRule
			if r, err = rule(); err == nil {
				m.Default = &r
			}
		default:
			return nil, d.Errf("unrecognized moderate subdirective '%s'", d.Val())
		}
		if err != nil {
			return nil, err
		}
	}
	if m.Classifier == nil {
		return nil, d.Err("moderate needs a classifier block")
	}
	return m, nil
}

// moderationStream returns the stream moderator for one response, or nil without
// moderation.
func (h *Handler) moderationStream(r *http.Request, kind request.Kind) *moderation.Stream {
	if h.Moderate == nil {
		return nil
	}
	ctx := r.Context()
	return &moderation.Stream{Kind: kind, Window: h.Moderate.Window, FailOpen: h.Moderate.Classifier.FailOpen,
		Classify: func(text string) (moderation.Decision, error) { return h.Moderate.classify(ctx, text) }}
}

// moderationCut is the error event that ends a stream moderation stopped.
func moderationCut(ms *moderation.Stream, anthropic bool) []byte {
	if ms.Unavailable() {
		return classifierUnavailable().SSE(anthropic)
	}
	return moderationRefusal(ms.Decision).SSE(anthropic)
}

// moderateJSON classifies a complete reply; it returns the refusal to send instead, or nil.
func (h *Handler) moderateJSON(r *http.Request, ex *exchange.Exchange, body []byte, rep *filter.Report) *apierr.Error {
	// The same generated text the audit and the token count read from a reply.
	text := usage.OutputText(ex.Kind, body)
	if text == "" {
		return nil
	}
	d, err := h.Moderate.classify(r.Context(), text)
	failed := 0
	if err != nil {
		failed = 1
	}
	h.recordModeration(r, d, failed, rep)
	switch {
	case err != nil && !h.Moderate.Classifier.FailOpen:
		rep.Add(TypeHarmful+"unavailable", "block")
		return classifierUnavailable()
	case d.Block:
		h.reportBlock(r, ex, secevent.ResponseModerated, harmful(d)...)
		return moderationRefusal(d)
	}
	return nil
}
