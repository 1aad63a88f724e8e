package llmaudit

import (
	"fmt"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmguard/caddy-llmguard/llmguard/audit"
	"github.com/llmguard/caddy-llmguard/llmguard/glob"
)

// DefaultMaxModelLabels bounds the distinct model label values when no metrics_models
// patterns are configured. The model name comes from the client, so without a bound a
// client could create series at will.
const DefaultMaxModelLabels = 20

// metricsPool shares one set of collectors per metrics registry: every llm_audit handler
// of a config registers into the same registry (Caddy creates one per config load), and
// the model label budget must be shared by all of them.
var metricsPool = caddy.NewUsagePool()

// metrics are llm_audit's Prometheus series. Labels are bounded: endpoint (a fixed set),
// model (capped, see modelLabel), decision (audit.Decision*), reason (gateway error codes
// and rate-limit rule names, both fixed by the code or the config) and finding type
// (detector types, fixed by the config). Never a key, user or address.
type metrics struct {
	requests   *prometheus.CounterVec
	tokens     *prometheus.CounterVec
	cost       *prometheus.CounterVec
	rateLimit  *prometheus.CounterVec
	findings   *prometheus.CounterVec
	upstream   *prometheus.HistogramVec
	ttft       *prometheus.HistogramVec
	collectors []prometheus.Collector

	mu     sync.Mutex
	models map[string]bool
	max    int
	match  []string
	all    bool // patterns configured: a model matching one is its own label
}

func (m *metrics) Destruct() error { return nil }

// loadMetrics returns the collectors registered in ctx's registry, registering them on
// first use. patterns and max are taken from the first handler (they are per gateway, not
// per route).
func loadMetrics(ctx caddy.Context, patterns []string, max int) (*metrics, string, error) {
	reg := ctx.GetMetricsRegistry()
	key := fmt.Sprintf("%p", reg)
	v, _, err := metricsPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		m := newMetrics(patterns, max)
		if reg == nil {
			return m, nil
		}
		for _, c := range m.collectors {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
		return m, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(*metrics), key, nil
}

func newMetrics(patterns []string, max int) *metrics {
	const ns, sub = "caddy", "llmguard"
	if max <= 0 {
		max = DefaultMaxModelLabels
	}
	// Latencies of LLM calls span milliseconds (cached embeddings) to minutes (long
	// generations), wider than Prometheus' default buckets.
	buckets := []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80, 160}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Audited LLM requests by endpoint, model, decision (allow, redact, block, rate_limited, deny, error) and reason."},
			[]string{"endpoint", "model", "decision", "reason"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "tokens_total",
			Help: "Tokens by model and direction (input, output)."}, []string{"model", "direction"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "cost_total",
			Help: "Cost of LLM requests by model, in the currency of the configured prices."}, []string{"model"}),
		rateLimit: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rate_limit_rejections_total",
			Help: "Requests refused by llm_rate_limit, by model and rule."}, []string{"model", "rule"}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "detector_findings_total",
			Help: "Requests with a detector finding, by finding type."}, []string{"type"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "upstream_duration_seconds",
			Help: "Duration of requests forwarded to an upstream, until the response ended.", Buckets: buckets},
			[]string{"endpoint", "model"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "time_to_first_token_seconds",
			Help: "Time from the request to the first streamed event of the response.", Buckets: buckets},
			[]string{"endpoint", "model"}),
		models: map[string]bool{},
		max:    max,
	}
	m.match = patterns
	m.all = len(m.match) > 0
	m.collectors = []prometheus.Collector{m.requests, m.tokens, m.cost, m.rateLimit, m.findings, m.upstream, m.ttft}
	return m
}

// modelLabel bounds the model label: with patterns, a model matching one is kept (up to
// max distinct values, since a pattern like gpt-4o* still matches unboundedly many
// names); without, the first max distinct models are kept. Everything else is "other".
func (m *metrics) modelLabel(model string) string {
	if model == "" {
		return "none"
	}
	if m.all && !glob.MatchAny(m.match, model) {
		return "other"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.models[model] {
		return model
	}
	if len(m.models) >= m.max {
		return "other"
	}
	m.models[model] = true
	return model
}

func (m *metrics) observe(ev *audit.Event, ttftOK bool) {
	model := m.modelLabel(ev.Model)
	endpoint := ev.Endpoint
	if endpoint == "" {
		endpoint = "unknown"
	}
	reason := "none"
	if len(ev.Reasons) > 0 {
		reason = ev.Reasons[0]
	}
	m.requests.WithLabelValues(endpoint, model, ev.Decision, reason).Inc()
	if ev.TokensIn > 0 {
		m.tokens.WithLabelValues(model, "input").Add(float64(ev.TokensIn))
	}
	if ev.TokensOut > 0 {
		m.tokens.WithLabelValues(model, "output").Add(float64(ev.TokensOut))
	}
	if ev.Cost > 0 {
		m.cost.WithLabelValues(model).Add(ev.Cost)
	}
	if ev.Decision == audit.DecisionRateLimited {
		m.rateLimit.WithLabelValues(model, reason).Inc()
	}
	for _, f := range ev.Findings {
		m.findings.WithLabelValues(f).Inc()
	}
	if ev.Upstream != "" {
		m.upstream.WithLabelValues(endpoint, model).Observe(ev.LatencyMS / 1000)
		if ttftOK {
			m.ttft.WithLabelValues(endpoint, model).Observe(ev.TTFTMS / 1000)
		}
	}
}
