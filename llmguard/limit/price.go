package limit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Price is a model's list price in US dollars per one million tokens.
type Price struct {
	Input       float64 `json:"input"`
	CachedInput float64 `json:"cached_input,omitempty"`
	Output      float64 `json:"output"`
}

// Cost returns the dollar cost of u. Cached input is billed at CachedInput (at Input when
// CachedInput is zero); prompt-cache writes are billed as ordinary input, which is
// OpenAI's rule and a slight under-estimate for Anthropic (1.25×).
func (p *Price) Cost(u Usage) float64 {
	cached := min(max(u.CachedInput, 0), u.Input)
	cp := p.CachedInput
	if cp == 0 {
		cp = p.Input
	}
	return (float64(u.Input-cached)*p.Input + float64(cached)*cp + float64(u.Output)*p.Output) / 1e6
}

// DefaultPrices are list prices (USD per 1M tokens: input, cached input, output) of
// common OpenAI and Anthropic models as published by the providers at the time of
// writing. Prices change: admins override or extend them with the `price` option.
var DefaultPrices = map[string]Price{
	"gpt-5":                  {1.25, 0.125, 10},
	"gpt-5-mini":             {0.25, 0.025, 2},
	"gpt-5-nano":             {0.05, 0.005, 0.40},
	"gpt-4.1":                {2, 0.50, 8},
	"gpt-4.1-mini":           {0.40, 0.10, 1.60},
	"gpt-4.1-nano":           {0.10, 0.025, 0.40},
	"gpt-4o":                 {2.50, 1.25, 10},
	"gpt-4o-mini":            {0.15, 0.075, 0.60},
	"gpt-4-turbo":            {10, 0, 30},
	"gpt-4":                  {30, 0, 60},
	"gpt-3.5-turbo":          {0.50, 0, 1.50},
	"o1":                     {15, 7.50, 60},
	"o1-mini":                {1.10, 0.55, 4.40},
	"o3":                     {2, 0.50, 8},
	"o3-mini":                {1.10, 0.55, 4.40},
	"o4-mini":                {1.10, 0.275, 4.40},
	"text-embedding-3-small": {0.02, 0, 0},
	"text-embedding-3-large": {0.13, 0, 0},
	"text-embedding-ada-002": {0.10, 0, 0},
	"claude-opus-4-5":        {5, 0.50, 25},
	"claude-opus-4":          {15, 1.50, 75},
	"claude-sonnet-4":        {3, 0.30, 15},
	"claude-haiku-4-5":       {1, 0.10, 5},
	"claude-3-7-sonnet":      {3, 0.30, 15},
	"claude-3-5-sonnet":      {3, 0.30, 15},
	"claude-3-5-haiku":       {0.80, 0.08, 4},
	"claude-3-opus":          {15, 1.50, 75},
	"claude-3-haiku":         {0.25, 0.03, 1.25},
}

// PriceTable looks up model prices: an exact (case-insensitive) name first, then the
// longest name that is a prefix of the model followed by '-' (so dated snapshots such as
// gpt-4o-mini-2024-07-18 find gpt-4o-mini, and gpt-4o-mini never falls back to gpt-4o
// while its own entry exists). Provider prefixes ("openai/") are ignored.
type PriceTable struct {
	prices map[string]Price
}

// NewPriceTable returns DefaultPrices (unless noDefaults) overridden by overrides.
func NewPriceTable(overrides map[string]Price, noDefaults bool) (*PriceTable, error) {
	base := &PriceTable{}
	if !noDefaults {
		base.prices = DefaultPrices
	}
	return base.With(overrides)
}

// With returns a copy of t in which overrides replace or add entries; t is unchanged, so
// one shared table can underlie several handlers' own overrides.
func (t *PriceTable) With(overrides map[string]Price) (*PriceTable, error) {
	out := &PriceTable{prices: make(map[string]Price, len(t.prices)+len(overrides))}
	for k, v := range t.prices {
		out.prices[k] = v
	}
	for k, v := range overrides {
		if v.Input < 0 || v.CachedInput < 0 || v.Output < 0 {
			return nil, fmt.Errorf("price of %s: prices must not be negative", k)
		}
		out.prices[strings.ToLower(k)] = v
	}
	return out, nil
}

// ParsePrice reads a price given as its three amounts (USD per 1M tokens: input, cached
// input, output), the form of the Caddyfile's `price <model> <input> <cached_input>
// <output>` lines.
func ParsePrice(input, cachedInput, output string) (Price, error) {
	var v [3]float64
	for i, a := range []string{input, cachedInput, output} {
		f, err := ParseAmount(a)
		if err != nil {
			return Price{}, fmt.Errorf("%q is not a non-negative amount", a)
		}
		v[i] = f
	}
	return Price{Input: v[0], CachedInput: v[1], Output: v[2]}, nil
}

// ParseAmount parses a finite, non-negative decimal amount (a price, a limit).
func ParseAmount(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, strconv.ErrSyntax
	}
	return f, nil
}

// Lookup returns the price of model, or nil when it has none.
func (t *PriceTable) Lookup(model string) *Price {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	if p, ok := t.prices[m]; ok {
		return &p
	}
	best := ""
	for name := range t.prices {
		if len(name) > len(best) && strings.HasPrefix(m, name+"-") {
			best = name
		}
	}
	if best == "" {
		return nil
	}
	p := t.prices[best]
	return &p
}
