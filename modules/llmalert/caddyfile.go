package llmalert

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the writer from Caddyfile tokens:
//
//	log security {
//		include llmguard.security
//		output llm_webhook {
//			url            https://alerts.example.com/llmguard
//			secret         {env.LLMG_ALERT_SECRET}
//			batch_size     100
//			flush_interval 1s
//			max_attempts   5
//			queue_size     10000
//			dedup_window   1m
//			timeout        10s
//			format         generic|slack|splunk_hec
//			splunk_token   {env.SPLUNK_HEC_TOKEN}
//		}
//	}
func (w *Webhook) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the writer name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		name := d.Val()
		if seen[name] {
			return d.Errf("duplicate %s", name)
		}
		seen[name] = true
		var arg string
		if !d.Args(&arg) || d.NextArg() {
			return d.ArgErr()
		}
		var err error
		switch name {
		case "url":
			w.URL = arg
		case "secret":
			w.Secret = arg
		case "format":
			w.Format = arg
		case "splunk_token":
			w.SplunkToken = arg
		case "batch_size":
			w.BatchSize, err = positive(arg)
		case "max_attempts":
			w.MaxAttempts, err = positive(arg)
		case "queue_size":
			w.QueueSize, err = positive(arg)
		case "flush_interval":
			err = duration(arg, &w.FlushInterval)
		case "dedup_window":
			err = duration(arg, &w.DedupWindow)
		case "timeout":
			err = duration(arg, &w.Timeout)
		default:
			return d.Errf("unknown llm_webhook option %q", name)
		}
		if err != nil {
			return d.Errf("%s: %v", name, err)
		}
	}
	if w.URL == "" || w.Secret == "" {
		return d.Err("llm_webhook needs url and secret")
	}
	return nil
}

func positive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, strconv.ErrSyntax
	}
	return n, nil
}

func duration(s string, dst *caddy.Duration) error {
	v, err := caddy.ParseDuration(s)
	if err != nil || v <= 0 {
		return strconv.ErrSyntax
	}
	*dst = caddy.Duration(v)
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Webhook)(nil)
