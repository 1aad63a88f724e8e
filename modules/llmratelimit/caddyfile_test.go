package llmratelimit

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestCaddyfileErrors(t *testing.T) {
	for cf, want := range map[string]string{
		`llm_rate_limit extra`:      "wrong argument count",
		`llm_rate_limit { nope 1 }`: "unrecognized subdirective",
		`llm_rate_limit { key a
		key b }`: "duplicate subdirective",
		`llm_rate_limit { rule a { } }`: "needs one of",
		`llm_rate_limit { rule a { requests 1 1m
		tokens 1 1m } }`: "already has a kind",
		`llm_rate_limit { rule a { requests 1 } }`:          "wrong argument count",
		`llm_rate_limit { rule a { requests 1.5 1m } }`:     "whole number",
		`llm_rate_limit { rule a { requests 1 soon } }`:     "bad window",
		`llm_rate_limit { rule a { token_budget 1 year } }`: "day or month",
		`llm_rate_limit { rule a { tokens 1 1m both } }`:    "input, output or total",
		`llm_rate_limit { rule a { requests -1 1m } }`:      "requests",
		`llm_rate_limit { rule a { concurrent 1
		tier x } }`: "tier needs",
		`llm_rate_limit { rule a { concurrent 1
		bogus } }`: "unrecognized rule subdirective",
		`llm_rate_limit { rule a { concurrent 1 }
		rule a { concurrent 2 } }`: "duplicate rule",
		`llm_rate_limit { on_exceed stop }`:  "must be one of",
		`llm_rate_limit { price m 1 2 }`:     "price needs",
		`llm_rate_limit { price m 1 x 2 }`:   "price of m",
		`llm_rate_limit { store disk }`:      "memory or redis",
		`llm_rate_limit { store redis { } }`: "needs an address",
		`llm_rate_limit { store redis {
		address a
		db -1 } }`: "db must be",
		`llm_rate_limit { store memory { size 1 } }`: "no options",
	} {
		// One line per token group, as in a real Caddyfile: "{ " and " }" start and end lines.
		cf = strings.ReplaceAll(strings.ReplaceAll(cf, "{ ", "{\n"), " }", "\n}")
		h := new(Handler)
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s\n  error %v, want %q", cf, err, want)
		}
	}
}

// FuzzCaddyfile: the parser never panics, and whatever it accepts either provisions or is
// refused with an error (never half-configured).
func FuzzCaddyfile(f *testing.F) {
	f.Add("llm_rate_limit {\n rule a {\n tokens 100 1m output\n tier free 10\n }\n}")
	f.Add("llm_rate_limit {\n price m 1 0.5 2\n store redis {\n address x:1\n }\n}")
	f.Fuzz(func(t *testing.T, cf string) {
		h := new(Handler)
		if h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf)) != nil {
			return
		}
		for _, r := range h.Rules {
			_, _ = r.compile()
		}
	})
}
