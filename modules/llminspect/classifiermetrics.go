package llminspect

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

// Directions of classifier calls: prompts (llm_inspect's remote) and replies
// (llm_filter's moderate).
const (
	DirectionRequest  = "request"
	DirectionResponse = "response"
)

// classifierObserver returns the remote classifier's metrics hook for one direction:
// caddy_llmguard_classifier_calls_total{direction,outcome} and
// caddy_llmguard_classifier_duration_seconds{direction}. Labels are bounded (two
// directions, five outcomes); never a model, text or caller.
func classifierObserver(ctx caddy.Context, direction string) (func(string, time.Duration), error) {
	const ns, sub = "caddy", "llmguard"
	calls, err := llmhttp.RegisterMetric(ctx, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "classifier_calls_total",
		Help: "Remote classifier calls by direction and outcome (clean, flagged, cached, error, overloaded)."},
		[]string{"direction", "outcome"}))
	if err != nil {
		return nil, err
	}
	latency, err := llmhttp.RegisterMetric(ctx, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Subsystem: sub, Name: "classifier_duration_seconds",
		Help:    "Time remote classifier calls took (cache hits excluded), failures included.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}},
		[]string{"direction"}))
	if err != nil {
		return nil, err
	}
	return func(outcome string, d time.Duration) {
		calls.WithLabelValues(direction, outcome).Inc()
		if d > 0 {
			latency.WithLabelValues(direction).Observe(d.Seconds())
		}
	}, nil
}
