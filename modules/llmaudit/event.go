package llmaudit

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/audit"
	"github.com/llmguard/caddy-llmguard/llmguard/glob"
	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
	"github.com/llmguard/caddy-llmguard/llmguard/usage"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

// exchangeRun is what ServeHTTP observed of one request.
type exchangeRun struct {
	start    time.Time
	ttft     time.Duration
	status   int
	watch    *llmhttp.Watch
	tap      *llmhttp.Tap
	stripped []string
}

// firstEvent returns a tap hook that records when the first streamed event passed: the
// time to first token as the client experiences it.
func (run *exchangeRun) firstEvent(now func() time.Time) llmhttp.Hook {
	return func(_ *sse.Event, out []byte) ([]byte, bool) {
		if run.ttft == 0 {
			run.ttft = max(now().Sub(run.start), time.Nanosecond)
		}
		return out, false
	}
}

// Placeholders read from the handlers llm_audit wraps. They are spelled out rather than
// imported so that llm_audit works with any subset of the other modules.
const (
	phUserID     = "http.auth.user.id"
	phKeyID      = "http.llm.key.id"
	phSubject    = "http.llm.subject"
	phAuthSource = "http.llm.auth_source"
	phTier       = "http.llm.tier"
	phDecision   = "http.llm.inspect.decision"
	// Set by llm_filter; named here rather than imported so that auditing does not
	// depend on the filter module being compiled in.
	phFilterAction   = "http.llm.filter.action"
	phFilterFindings = "http.llm.filter.findings"
	phModeration     = "http.llm.filter.moderation" // "violence:0.97,hate:1"
	phFindings       = "http.llm.inspect.findings"
	phScore          = "http.llm.inspect.score"
	phRule           = "http.llm.rate_limit.rule"
	phUpstream       = "http.reverse_proxy.upstream.hostport"
	phClientIP       = "http.vars.client_ip"
	phRemoteHost     = "http.request.remote.host"
	phRequestID      = "http.request.uuid"
)

func (h *Handler) event(r *http.Request, repl *caddy.Replacer, run *exchangeRun, purpose string) *audit.Event {
	get := func(k string) string { s, _ := repl.GetString(k); return s }
	ev := &audit.Event{
		RequestID:      get(phRequestID),
		UserID:         get(phUserID),
		KeyID:          get(phKeyID),
		Subject:        get(phSubject),
		AuthSource:     get(phAuthSource),
		Tier:           get(phTier),
		ClientIP:       get(phClientIP),
		Country:        get(llmhttp.PlaceholderGeoCountry),
		RiskLevel:      get(llmhttp.PlaceholderRiskLevel),
		Method:         r.Method,
		Path:           r.URL.Path,
		Endpoint:       get(llmhttp.PlaceholderEndpoint),
		Model:          get(llmhttp.PlaceholderModel),
		Upstream:       get(phUpstream),
		Status:         run.status,
		Purpose:        purpose,
		Privacy:        h.Privacy,
		StrippedFields: run.stripped,
		LatencyMS:      ms(h.now().Sub(run.start)),
		TTFTMS:         ms(run.ttft),
	}
	if ev.ClientIP == "" {
		ev.ClientIP = get(phRemoteHost)
	}
	for _, ph := range []string{phFindings, phFilterFindings} {
		if f := get(ph); f != "" {
			ev.Findings = append(ev.Findings, strings.Split(f, ",")...)
		}
	}
	if sc, err := strconv.ParseFloat(get(llmhttp.PlaceholderRiskScore), 64); err == nil && sc > 0 {
		ev.RiskScore = sc
	}
	if rs := get(llmhttp.PlaceholderRiskReasons); rs != "" {
		ev.RiskReasons = strings.Split(rs, ",")
	}
	if sc, err := strconv.ParseFloat(get(phScore), 64); err == nil && sc > 0 {
		ev.InspectScore = sc
	}
	ev.Moderation = moderationScores(get(phModeration))
	ev.Decision, ev.Reasons = decide(run.status, get(llmhttp.PlaceholderErrorCode), get(phDecision), get(phRule), get(phFilterAction))

	watch := run.watch
	loaded := watch != nil && watch.Exchange != nil
	if loaded {
		ev.Stream = watch.Exchange.Request != nil && watch.Exchange.Request.Stream
		if u, reported, ok := tapUsage(run.tap); ok {
			ev.TokensIn, ev.TokensOut, ev.TokensReported = u.InputTokens, u.OutputTokens, reported
		} else {
			ev.TokensIn = watch.Exchange.PromptCount() // counted only when nothing better is known
		}
	}
	// A refused request cost nothing upstream; its prompt tokens were never sent.
	if ev.Upstream == "" {
		ev.TokensIn, ev.TokensOut = 0, 0
	}
	ev.Cost = h.cost(ev.Model, ev.TokensIn, ev.TokensOut)
	if h.Privacy != audit.PrivacyNone && loaded {
		prompt, forwarded := prompts(watch)
		if ev.Upstream == "" {
			// Nothing was forwarded: a refused prompt was never redacted (a blocked one
			// holds exactly what the gateway refused to send), so only its digest is kept.
			forwarded = ""
		}
		var resp string
		if run.tap != nil && !run.tap.Streamed() {
			resp = run.tap.OutputText() // decoded once with the reply's usage
		}
		_ = ev.SetContent(h.hasher, h.cap(prompt), h.cap(forwarded), h.cap(resp))
	}
	return ev
}

// decide maps what the inner handlers published to one decision and its reasons.
// A response llm_filter blocked mid-stream has status 200, so the filter's own action
// counts beside the status.
func decide(status int, errCode, inspect, rule, filter string) (string, []string) {
	reasons := func(def string) []string {
		if errCode != "" {
			return []string{errCode}
		}
		if def != "" {
			return []string{def}
		}
		return nil
	}
	switch {
	case status == http.StatusTooManyRequests && rule != "":
		return audit.DecisionRateLimited, []string{rule}
	case inspect == "block":
		return audit.DecisionBlock, reasons("inspect_block")
	case filter == "block":
		return audit.DecisionBlock, []string{"filter_block"}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return audit.DecisionDeny, reasons("forbidden")
	case status >= 500:
		return audit.DecisionError, reasons("upstream_5xx")
	case status >= 400:
		return audit.DecisionError, reasons("client_error")
	case inspect == "rewrite" || filter == "redact":
		return audit.DecisionRedact, nil
	}
	return audit.DecisionAllow, nil
}

func (h *Handler) cost(model string, in, out int64) float64 {
	for _, p := range h.Prices {
		if glob.Match(p.Model, model) {
			return (float64(in)*p.Input + float64(out)*p.Output) / 1e6
		}
	}
	if h.listPrices != nil {
		if p := h.listPrices.Lookup(model); p != nil {
			return p.Cost(limit.Usage{Input: in, Output: out})
		}
	}
	return 0
}

// cap cuts s to MaxContentSize bytes on a rune boundary.
func (h *Handler) cap(s string) string {
	if len(s) <= h.MaxContentSize {
		return s
	}
	cut := h.MaxContentSize
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " …[truncated]"
}

// prompts returns the prompt text as the client sent it and as forwarded upstream: the
// client's from the exchange's parsed request, the forwarded one parsed from the
// forwarded body when an edit (a redaction, include_usage) replaced it.
func prompts(w *llmhttp.Watch) (client, forwarded string) {
	ex := w.Exchange
	join := func(req *request.Request) string {
		var b strings.Builder
		for i, s := range req.Segments {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(s.Text)
		}
		return b.String()
	}
	text := func(body []byte) string {
		if len(body) == 0 {
			return ""
		}
		req, err := request.Parse(ex.Kind, body)
		if err != nil {
			return ""
		}
		return join(req)
	}
	// The exchange's request is the client's body parsed (and never rewritten): no need
	// to parse that body a second time.
	if ex.Request != nil {
		client = join(ex.Request)
	} else {
		client = text(w.ClientBody)
	}
	if bytes.Equal(ex.Body, w.ClientBody) {
		return client, client
	}
	return client, text(ex.Body)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fields renders ev as zap fields. Empty optional fields are left out.
func fields(ev *audit.Event) []zap.Field {
	f := make([]zap.Field, 0, 32)
	str := func(k, v string) {
		if v != "" {
			f = append(f, zap.String(k, v))
		}
	}
	str("request_id", ev.RequestID)
	str("user_id", ev.UserID)
	str("key_id", ev.KeyID)
	str("subject", ev.Subject)
	str("auth_source", ev.AuthSource)
	str("tier", ev.Tier)
	str("client_ip", ev.ClientIP)
	str("country", ev.Country)
	if ev.RiskLevel != "" {
		f = append(f, zap.Float64("risk_score", ev.RiskScore), zap.String("risk_level", ev.RiskLevel))
		if len(ev.RiskReasons) > 0 {
			f = append(f, zap.Strings("risk_reasons", ev.RiskReasons))
		}
	}
	str("method", ev.Method)
	str("path", ev.Path)
	str("endpoint", ev.Endpoint)
	str("model", ev.Model)
	if ev.Stream {
		f = append(f, zap.Bool("stream", true))
	}
	str("upstream", ev.Upstream)
	f = append(f, zap.Int("status", ev.Status), zap.String("decision", ev.Decision))
	if len(ev.Reasons) > 0 {
		f = append(f, zap.Strings("reasons", ev.Reasons))
	}
	if len(ev.Findings) > 0 {
		f = append(f, zap.Strings("findings", ev.Findings))
	}
	if ev.InspectScore > 0 {
		f = append(f, zap.Float64("inspect_score", ev.InspectScore))
	}
	if len(ev.Moderation) > 0 {
		// Rare (only replies with a hit); reflection encodes the keys sorted.
		f = append(f, zap.Any("moderation", ev.Moderation))
	}
	str("purpose", ev.Purpose)
	f = append(f, zap.Int64("tokens_in", ev.TokensIn), zap.Int64("tokens_out", ev.TokensOut),
		zap.Bool("tokens_reported", ev.TokensReported))
	if ev.Cost > 0 {
		f = append(f, zap.Float64("cost", ev.Cost))
	}
	f = append(f, zap.Float64("latency_ms", ev.LatencyMS))
	if ev.TTFTMS > 0 {
		f = append(f, zap.Float64("ttft_ms", ev.TTFTMS))
	}
	f = append(f, zap.String("privacy", ev.Privacy))
	str("prompt", ev.Prompt)
	str("prompt_hash", ev.PromptHash)
	str("response", ev.Response)
	str("response_hash", ev.ResponseHash)
	if len(ev.StrippedFields) > 0 {
		f = append(f, zap.Strings("stripped_fields", ev.StrippedFields))
	}
	return f
}

// stripRequest removes the configured fields from a JSON request body before any inner
// handler reads it, and returns the names removed. Bodies that are too large or
// unreadable are left for llmhttp.Load to refuse with its usual errors.
func (h *Handler) stripRequest(r *http.Request) []string {
	if r.Body == nil || r.Method != http.MethodPost {
		return nil
	}
	// No Content-Type check: llmhttp.Load also accepts JSON sent as curl's default form
	// type, and a field must not slip through because of a header. A body that is not a
	// JSON object is left unchanged by DeleteFields.
	limit := int64(llmhttp.DefaultMaxBodySize)
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil || int64(len(body)) > limit {
		// Hand the inner handlers the same stream: what was read, then the rest.
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		return nil
	}
	out, removed, _ := audit.DeleteFields(body, h.stripReq)
	llmhttp.SetBody(r, out)
	return removed
}

// moderationScores reads llm_filter's {http.llm.filter.moderation} ("violence:0.97,hate:1");
// a malformed entry is skipped rather than failing the event.
func moderationScores(v string) map[string]float64 {
	if v == "" {
		return nil
	}
	out := map[string]float64{}
	for _, part := range strings.Split(v, ",") {
		cat, score, ok := strings.Cut(part, ":")
		if sc, err := strconv.ParseFloat(score, 64); ok && cat != "" && err == nil {
			out[cat] = sc
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// tapUsage returns the response's usage from the tap, if there is one.
func tapUsage(t *llmhttp.Tap) (usage.Usage, bool, bool) {
	if t == nil {
		return usage.Usage{}, false, false
	}
	return t.Usage()
}
