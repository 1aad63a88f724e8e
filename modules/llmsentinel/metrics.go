package llmsentinel

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

// metrics have bounded labels only: levels, transition actions and signal names, never
// identities.
type metrics struct {
	assessments *prometheus.CounterVec // by level, or "unavailable"
	transitions *prometheus.CounterVec // by action
	reasons     *prometheus.CounterVec // signals behind transitions
	refused     prometheus.Counter
}

func newMetrics(ctx caddy.Context) (*metrics, error) {
	var m metrics
	var err error
	if m.assessments, err = llmhttp.RegisterMetric(ctx, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "llmguard", Name: "risk_assessments_total",
		Help: "Requests assessed by llm_sentinel, by the caller's risk level (unavailable: the store could not be reached).",
	}, []string{"level"})); err != nil {
		return nil, err
	}
	if m.transitions, err = llmhttp.RegisterMetric(ctx, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "llmguard", Name: "risk_transitions_total",
		Help: "Risk level changes of callers (risk-raised, risk-lowered, caller-quarantined, caller-released).",
	}, []string{"action"})); err != nil {
		return nil, err
	}
	if m.reasons, err = llmhttp.RegisterMetric(ctx, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "llmguard", Name: "risk_reasons_total",
		Help: "Signals named as reasons of risk level changes.",
	}, []string{"reason"})); err != nil {
		return nil, err
	}
	if m.refused, err = llmhttp.RegisterMetric(ctx, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "llmguard", Name: "quarantined_requests_total",
		Help: "Requests refused because their caller was quarantined.",
	})); err != nil {
		return nil, err
	}
	return &m, nil
}
