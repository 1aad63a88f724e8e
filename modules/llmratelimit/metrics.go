package llmratelimit

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/limit"
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
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rate_limit_decisions_total",
			Help: "llm_rate_limit decisions by outcome (admitted, refused, fail_open, unavailable)."}, []string{"decision", "endpoint"}),
		settles: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rate_limit_settlements_total",
			Help: "Settlements by outcome (ok, refund, client_error, unknown)."}, []string{"outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rate_limit_settled_tokens_total",
			Help: "Tokens charged at settlement."}, []string{"direction"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rate_limit_store_errors_total",
			Help: "Limit store calls that failed (Redis unreachable)."}),
		cuts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rate_limit_stream_cuts_total",
			Help: "Streams ended by on_exceed cut."}),
	}
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.decisions, m.settles, m.tokens, m.storeErrors, m.cuts} {
		if err := reg.Register(c); err != nil {
			// Every handler of a config registers the same series; share the first.
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			switch existing := are.ExistingCollector.(type) {
			case *prometheus.CounterVec:
				switch c {
				case m.decisions:
					m.decisions = existing
				case m.settles:
					m.settles = existing
				case m.tokens:
					m.tokens = existing
				}
			case prometheus.Counter:
				switch c {
				case m.storeErrors:
					m.storeErrors = existing
				case m.cuts:
					m.cuts = existing
				}
			}
		}
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
