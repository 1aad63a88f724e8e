// Package llmalert is the `llm_webhook` Caddy log writer: it posts the log entries it is
// given (normally the llmguard.security event stream) to an HTTPS webhook, batched and
// HMAC-signed, through llmguard/alert's bounded, non-blocking queue.
//
// It must never block or fail the logging call, so a slow or dead receiver never slows
// requests; what it cannot deliver is counted in metrics.
package llmalert

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmguard/caddy-llmguard/llmguard/alert"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

func init() {
	caddy.RegisterModule(Webhook{})
}

// Webhook is the caddy.logging.writers.llm_webhook module. Each log entry (a JSON object)
// becomes one element of a JSON array POSTed to URL, with the headers
// X-Llmguard-Timestamp (Unix seconds) and X-Llmguard-Signature
// ("sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>" with Secret). Receivers should
// recompute the signature and refuse timestamps older than a few minutes.
type Webhook struct {
	// URL receives the events. It must be https, except on a loopback address.
	// Placeholders such as {env.ALERT_URL} are expanded. Required.
	URL string `json:"url,omitempty"`
	// Secret signs every body; use {env.ALERT_SECRET}. Required: an unsigned alert could
	// be forged by anyone who learns the URL.
	Secret string `json:"secret,omitempty"`
	// BatchSize is the most events per request. Default 100.
	BatchSize int `json:"batch_size,omitempty"`
	// FlushInterval is the longest an event waits for its batch. Default 1s.
	FlushInterval caddy.Duration `json:"flush_interval,omitempty"`
	// MaxAttempts per batch before it is dead-lettered (counted, not kept). Default 5;
	// retries wait 500ms doubling (±50% jitter, at most 30s) on network errors, 408, 429
	// and 5xx.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// QueueSize bounds the events waiting for delivery; more are dropped and counted.
	// Default 10000.
	QueueSize int `json:"queue_size,omitempty"`
	// DedupWindow suppresses an event identical (apart from its timestamp) to one queued
	// within it, so an attack repeating one incident does not flood the receiver.
	// Default 1m.
	DedupWindow caddy.Duration `json:"dedup_window,omitempty"`
	// Timeout bounds each request. Default 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// Format of the body: "generic" (a JSON array of the events, default), "slack" (an
	// incoming-webhook {"text"} message, one line per event) or "splunk_hec" (HTTP Event
	// Collector events with sourcetype llmguard:security). All are signed alike.
	Format string `json:"format,omitempty"`
	// SplunkToken is sent as "Authorization: Splunk <token>" (HEC's scheme); use
	// {env.SPLUNK_HEC_TOKEN}. Default none.
	SplunkToken string `json:"splunk_token,omitempty"`

	url, secret string
	format      alert.Format
	events      *prometheus.CounterVec
}

// CaddyModule returns the Caddy module information.
func (Webhook) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.logging.writers.llm_webhook", New: func() caddy.Module { return new(Webhook) }}
}

// Provision expands placeholders, checks the URL and registers the metrics.
func (w *Webhook) Provision(ctx caddy.Context) error {
	repl := caddy.NewReplacer()
	w.url, w.secret = repl.ReplaceKnown(w.URL, ""), repl.ReplaceKnown(w.Secret, "")
	// The URL is not echoed in errors: webhook URLs often embed a token.
	if err := llmhttp.CheckSecureURL("url", w.url); err != nil {
		return fmt.Errorf("llm_webhook: url must be an absolute https URL (plain http only on loopback)")
	}
	if w.secret == "" {
		return errors.New("llm_webhook: a secret is required to sign alerts")
	}
	switch w.Format {
	case "", "generic":
		w.format = alert.FormatGeneric
	case "slack":
		w.format = alert.FormatSlack
	case "splunk_hec":
		w.format = alert.FormatSplunkHEC
	default:
		return fmt.Errorf("llm_webhook: format must be generic, slack or splunk_hec, not %q", w.Format)
	}
	var err error
	w.events, err = llmhttp.RegisterMetric(ctx, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "caddy", Subsystem: "llmguard", Name: "alert_events_total",
		Help: "Security events given to llm_webhook, by outcome (sent, dropped, deduplicated, dead_letter, retry)."}, []string{"outcome"}))
	return err
}

// String identifies the writer in Caddy's logs without the URL's path or query, which
// may hold a token (Slack-style webhook URLs do).
func (w *Webhook) String() string {
	u, _ := url.Parse(w.url)
	if u == nil {
		return "llm_webhook"
	}
	return "llm_webhook " + u.Scheme + "://" + u.Host
}

// WriterKey makes writers with the same destination share one queue across reloads.
func (w *Webhook) WriterKey() string { return "llm_webhook:" + w.Format + ":" + w.url }

// OpenWriter starts the delivery queue.
func (w *Webhook) OpenWriter() (io.WriteCloser, error) {
	events := w.events
	var header http.Header
	if tok := caddy.NewReplacer().ReplaceKnown(w.SplunkToken, ""); tok != "" {
		header = http.Header{"Authorization": {"Splunk " + tok}}
	}
	timeout := time.Duration(w.Timeout)
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	s, err := alert.New(alert.Config{URL: w.url, Secret: []byte(w.secret), BatchSize: w.BatchSize,
		Client: &http.Client{Timeout: timeout}, Format: w.format, Header: header,
		FlushInterval: time.Duration(w.FlushInterval), MaxAttempts: w.MaxAttempts, QueueSize: w.QueueSize,
		DedupWindow: time.Duration(w.DedupWindow), Observe: func(outcome string, n int) {
			if events != nil {
				events.WithLabelValues(outcome).Add(float64(n))
			}
		}})
	if err != nil {
		return nil, err
	}
	return writer{s}, nil
}

type writer struct{ s *alert.Sender }

// Write queues one log entry; it never blocks and never fails.
func (wr writer) Write(p []byte) (int, error) {
	wr.s.Enqueue(p)
	return len(p), nil
}

// Close delivers what is queued, for at most 5 seconds.
func (wr writer) Close() error {
	wr.s.Close(5 * time.Second)
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner  = (*Webhook)(nil)
	_ caddy.WriterOpener = (*Webhook)(nil)
)
