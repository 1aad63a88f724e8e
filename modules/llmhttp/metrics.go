package llmhttp

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// RegisterMetric registers c in the config's metrics registry (served at the admin
// endpoint's /metrics) and returns the collector to use: c, or the one registered under
// the same name before — every handler of a config registers the same series, and they
// must share one. Without a registry (unit tests) c is returned unregistered.
func RegisterMetric[C prometheus.Collector](ctx caddy.Context, c C) (C, error) {
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
		return c, nil
	case errors.As(err, &are):
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
