// Package llmprices is the gateway's one price table: the Caddy app `llm_prices` (the
// Caddyfile global option of the same name). llm_rate_limit's money budgets and
// llm_audit's cost (the event's cost and caddy_llmguard_cost_total) both price usage from
// it, so that they agree; without the app both use the built-in list, limit.DefaultPrices.
//
//	{
//		llm_prices {
//			price <model> <input> <cached_input> <output>   # USD per 1M tokens; repeatable
//			no_default_prices                               # only the listed models have a price
//		}
//	}
package llmprices

import (
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/llmguard/caddy-llmguard/llmguard/limit"
)

func init() {
	caddy.RegisterModule(App{})
	httpcaddyfile.RegisterGlobalOption("llm_prices", parseGlobalOption)
}

// App holds the config's model prices. It does nothing when started: handlers read its
// table while they are provisioned.
type App struct {
	// Prices override or add model prices (USD per 1M tokens). Model names match
	// case-insensitively, and a name also prices its dated snapshots (gpt-4o-mini prices
	// gpt-4o-mini-2024-07-18).
	Prices map[string]limit.Price `json:"prices,omitempty"`
	// NoDefaultPrices drops the built-in list, so that only Prices have a price.
	NoDefaultPrices bool `json:"no_default_prices,omitempty"`

	table *limit.PriceTable
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "llm_prices", New: func() caddy.Module { return new(App) }}
}

// Provision builds the table.
func (a *App) Provision(caddy.Context) (err error) {
	if a.table, err = limit.NewPriceTable(a.Prices, a.NoDefaultPrices); err != nil {
		return fmt.Errorf("llm_prices: %v", err)
	}
	return nil
}

// Start does nothing: the app only holds configuration.
func (*App) Start() error { return nil }

// Stop does nothing.
func (*App) Stop() error { return nil }

// Table returns the price table of ctx's config: the llm_prices app's when it is
// configured, else the built-in list.
func Table(ctx caddy.Context) (*limit.PriceTable, error) {
	app, err := ctx.AppIfConfigured("llm_prices")
	if errors.Is(err, caddy.ErrNotConfigured) {
		return limit.NewPriceTable(nil, false)
	}
	if err != nil {
		return nil, err
	}
	return app.(*App).table, nil
}

// ParsePriceLine reads the arguments of one `price <model> <input> <cached_input>
// <output>` line into prices, refusing a model listed twice. llm_rate_limit's own price
// lines use it too.
func ParsePriceLine(d *caddyfile.Dispenser, prices map[string]limit.Price) error {
	args := d.RemainingArgs()
	if len(args) != 4 {
		return d.Errf("price needs <model> <input> <cached_input> <output> (USD per 1M tokens)")
	}
	p, err := limit.ParsePrice(args[1], args[2], args[3])
	if err != nil {
		return d.Errf("price of %s: %v", args[0], err)
	}
	if _, dup := prices[args[0]]; dup {
		return d.Errf("duplicate price for model '%s'", args[0])
	}
	prices[args[0]] = p
	return nil
}

func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("llm_prices may appear only once")
	}
	a := &App{Prices: map[string]limit.Price{}}
	d.Next() // the option's name
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "price":
			if err := ParsePriceLine(d, a.Prices); err != nil {
				return nil, err
			}
		case "no_default_prices":
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			a.NoDefaultPrices = true
		default:
			return nil, d.Errf("unrecognized llm_prices option '%s'", d.Val())
		}
	}
	if len(a.Prices) == 0 {
		a.Prices = nil
	}
	return httpcaddyfile.App{Name: "llm_prices", Value: caddyconfig.JSON(a, nil)}, nil
}

// Interface guards
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
)
