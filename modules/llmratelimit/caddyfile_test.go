package llmratelimit

import (
	"math"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
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
		`llm_rate_limit { rule a { concurrent 1
		risk high } }`: "risk needs",
		`llm_rate_limit { rule a { concurrent 1
		risk low 1 } }`: "risk level must be elevated or high",
		`llm_rate_limit { rule a { concurrent 1
		risk severe 1 } }`: "risk level must be elevated or high",
		`llm_rate_limit { rule a { concurrent 1
		risk high 1
		risk high 2 } }`: "duplicate risk",
		`llm_rate_limit { rule a { concurrent 1
		risk high lots } }`: "rule 'a', risk",
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

// FuzzCaddyfile: the parser never panics, whatever it accepts either compiles or is
// refused with an error (never half-configured), and a compiled rule's risk overrides
// only tighten.
func FuzzCaddyfile(f *testing.F) {
	f.Add("llm_rate_limit {\n rule a {\n tokens 100 1m output\n tier free 10\n }\n}")
	f.Add("llm_rate_limit {\n rule a {\n requests 10 1m\n risk elevated 5\n risk high unlimited\n }\n}")
	f.Add("llm_rate_limit {\n rule a {\n requests 10 1m\n risk elevated 20\n }\n}") // a cap above the limit changes nothing
	f.Add("llm_rate_limit {\n rule a {\n requests 10 1m\n tier gold unlimited\n risk elevated unlimited\n risk high 3\n }\n}")
	f.Add("llm_rate_limit {\n price m 1 0.5 2\n store redis {\n address x:1\n }\n}")
	f.Fuzz(func(t *testing.T, cf string) {
		h := new(Handler)
		if h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf)) != nil {
			return
		}
		for _, rc := range h.Rules {
			r, err := rc.compile()
			if err != nil {
				continue
			}
			// A risk level never loosens a limit: for every tier, the limit at high is
			// at most the one at elevated, which is at most the one at low.
			tiers := []string{""}
			for tier := range rc.Tiers {
				tiers = append(tiers, tier)
			}
			for _, tier := range tiers {
				prev := math.Inf(1)
				for _, lvl := range []sentinel.Level{sentinel.Low, sentinel.Elevated, sentinel.High} {
					lim, ok := r.LimitFor(tier, lvl, "any-model")
					if !ok {
						lim = math.Inf(1)
					}
					if lim > prev {
						t.Fatalf("rule %s, tier %q: %s allows %v, more than the level below (%v)", r.Name, tier, lvl, lim, prev)
					}
					prev = lim
				}
			}
		}
	})
}

// TestRiskConfigErrors: risk overrides that could not take effect are refused when the
// config loads, in the JSON as in the Caddyfile.
func TestRiskConfigErrors(t *testing.T) {
	for _, c := range []struct {
		risks map[string]float64
		want  string
	}{
		{map[string]float64{"elevated": 5, "high": 10}, "risk high is looser than risk elevated"},
		{map[string]float64{"elevated": 5, "high": -1}, "risk high is looser than risk elevated"},
		{map[string]float64{"low": 5}, "apply at elevated or high"},
		{map[string]float64{"severe": 5}, `unknown risk level "severe"`},
		{map[string]float64{"high": -3}, "limits must be ≥ 0"},
	} {
		r := &Rule{Name: "a", Kind: "concurrent", Limit: 9, Risks: c.risks}
		if _, err := r.compile(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.risks, err, c.want)
		}
	}
	ok := &Rule{Name: "a", Kind: "concurrent", Limit: 9, Risks: map[string]float64{"elevated": -1, "high": 3}}
	if _, err := ok.compile(); err != nil {
		t.Errorf("unlimited at elevated, tighter at high: %v", err)
	}
}
