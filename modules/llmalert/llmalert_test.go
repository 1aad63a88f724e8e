package llmalert

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	var w Webhook
	d := caddyfile.NewTestDispenser(`llm_webhook {
		url https://alerts.example.com/x
		secret {env.S}
		batch_size 10
		flush_interval 2s
		dedup_window 5m
	}`)
	if err := w.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	if w.URL != "https://alerts.example.com/x" || w.Secret != "{env.S}" || w.BatchSize != 10 ||
		time.Duration(w.FlushInterval) != 2*time.Second || time.Duration(w.DedupWindow) != 5*time.Minute {
		t.Fatalf("%+v", w)
	}
	for _, bad := range []string{
		`llm_webhook extra { url https://a secret s }`,
		"llm_webhook {\nurl https://a\n}",
		"llm_webhook {\nurl https://a\nsecret s\nbatch_size 0\n}",
		"llm_webhook {\nurl https://a\nsecret s\nflush_interval soon\n}",
		"llm_webhook {\nurl https://a\nurl https://b\nsecret s\n}",
		"llm_webhook {\nurl https://a\nsecret s\nretries 3\n}",
		"llm_webhook {\nurl https://a b\nsecret s\n}",
	} {
		var w Webhook
		if err := w.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("accepted: %s", bad)
		}
	}
}

// Provision refuses plain http off loopback and a missing secret, and String never shows
// the URL's path (webhook URLs often embed a token).
func TestProvision(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: t.Context()})
	defer cancel()
	for _, c := range []struct {
		url, secret string
		ok          bool
	}{
		{"https://hooks.example.com/services/T0/B0/tokentoken", "s", true},
		{"http://127.0.0.1:9/x", "s", true},
		{"http://hooks.example.com/x", "s", false},
		{"https://hooks.example.com/x", "", false},
		{"not a url", "s", false},
	} {
		w := &Webhook{URL: c.url, Secret: c.secret, Format: "slack"}
		err := w.Provision(ctx)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.url, err)
		}
		if err == nil && w.format == nil {
			t.Errorf("%s: no format", c.url)
		}
		if err == nil && strings.Contains(w.String(), "/") && strings.Contains(w.String(), "token") {
			t.Errorf("String() shows the URL path: %s", w.String())
		}
	}
}

func TestProvisionFormat(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: t.Context()})
	defer cancel()
	if err := (&Webhook{URL: "https://a.example", Secret: "s", Format: "teams"}).Provision(ctx); err == nil {
		t.Fatal("unknown format accepted")
	}
}
