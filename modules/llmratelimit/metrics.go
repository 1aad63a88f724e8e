package llmratelimit

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/limit"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

// metrics are the limiter's Prometheus series. Labels are bounded: decision, outcome
// and the endpoint kind — never a key, user, model or address (a model label would let
// clients create series at will).
type metrics struct {
	decisions   *prometheus.CounterVec
	settles     *prometheus.CounterVec
	tokens      *prometheus.CounterVec
	storeErrors prometheus.Counter
	cuts        prometheus.Counter
}

func newMetrics(ctx caddy.Context) (*metrics, error) {
	const ns, sub = "caddy", "llmguard"
	m := &metrics{}
	// Every handler of a config registers the same series; RegisterMetric shares the first.
	var err error
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		var v *prometheus.CounterVec
		if err == nil {
			v, err = llmhttp.RegisterMetric(ctx, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, labels))
		}
		return v
	}
	counter := func(name, help string) prometheus.Counter {
		var c prometheus.Counter
		if err == nil {
			c, err = llmhttp.RegisterMetric(ctx, prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}))
		}
		return c
	}
	m.decisions = vec("rate_limit_decisions_total", "llm_rate_limit decisions by outcome (admitted, refused, fail_open, unavailable).", "decision", "endpoint")
	m.settles = vec("rate_limit_settlements_total", "Settlements by outcome (ok, refund, client_error, unknown).", "outcome")
	m.tokens = vec("rate_limit_settled_tokens_total", "Tokens charged at settlement.", "direction")
	m.storeErrors = counter("rate_limit_store_errors_total", "Limit store calls that failed (Redis unreachable).")
	m.cuts = counter("rate_limit_stream_cuts_total", "Streams ended by on_exceed cut.")
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) decision(d string, ex *exchange.Exchange) {
	m.decisions.WithLabelValues(d, ex.Kind.String()).Inc()
}

func (m *metrics) settled(outcome string, _ *exchange.Exchange, u limit.Usage) {
	m.settles.WithLabelValues(outcome).Inc()
	m.tokens.WithLabelValues("input").Add(float64(u.Input))
	m.tokens.WithLabelValues("output").Add(float64(u.Output))
}
