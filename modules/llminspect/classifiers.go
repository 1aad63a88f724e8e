package llminspect

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/remote"
)

func init() {
	caddy.RegisterModule(Classifiers{})
	httpcaddyfile.RegisterGlobalOption("llm_classifiers", parseClassifiers)
}

// Classifiers is the Caddy app llm_classifiers: remote classifiers defined once, by name,
// for llm_inspect's `remote { use <name> }` and llm_filter's `moderate { classifier { use
// <name> } }`. Users of one name share its endpoint, HTTP client and verdict cache (a
// reply that repeats a prompt is classified once); each counts its calls under its own
// direction in the metrics.
//
//	{
//		llm_classifiers {
//			<name> {
//				url … ; mode … ; model … ; labels … ; threshold … ; api_key … ; timeout … ; cache_size …
//			}
//		}
//	}
type Classifiers struct {
	// Classifiers maps a name to its connection settings (fail, action and the risk
	// thresholds are set where it is used, and refused here).
	Classifiers map[string]*Remote `json:"classifiers,omitempty"`

	clients map[string]*remote.Classifier
}

// CaddyModule returns the Caddy module information.
func (Classifiers) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "llm_classifiers", New: func() caddy.Module { return new(Classifiers) }}
}

var classifierName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Provision builds one client per name.
func (c *Classifiers) Provision(caddy.Context) error {
	c.clients = make(map[string]*remote.Classifier, len(c.Classifiers))
	for name, rm := range c.Classifiers {
		if !classifierName.MatchString(name) {
			return fmt.Errorf("llm_classifiers: name %q: use 1–64 letters, digits and . _ -", name)
		}
		if rm == nil || rm.Use != "" || rm.FailOpen || rm.Action != "" || rm.ElevatedThreshold != 0 || rm.HighThreshold != 0 {
			return fmt.Errorf("llm_classifiers: %s: define url, mode, model, labels, threshold, api_key, timeout and cache_size here; fail, action, elevated_threshold and high_threshold belong where it is used", name)
		}
		cl, err := remote.New(rm.config())
		if err != nil {
			return fmt.Errorf("llm_classifiers: %s: %v", name, err)
		}
		c.clients[name] = cl
	}
	return nil
}

// Start does nothing: the app only holds clients.
func (*Classifiers) Start() error { return nil }

// Stop does nothing.
func (*Classifiers) Stop() error { return nil }

// sharedClassifier returns the client defined under name.
func sharedClassifier(ctx caddy.Context, name string) (*remote.Classifier, error) {
	app, err := ctx.AppIfConfigured("llm_classifiers")
	if errors.Is(err, caddy.ErrNotConfigured) {
		return nil, fmt.Errorf("use %s: no llm_classifiers global option defines classifiers", name)
	}
	if err != nil {
		return nil, err
	}
	cl, ok := app.(*Classifiers).clients[name]
	if !ok {
		return nil, fmt.Errorf("use %s: llm_classifiers defines no classifier of that name", name)
	}
	return cl, nil
}

func parseClassifiers(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("llm_classifiers may appear only once")
	}
	app := &Classifiers{Classifiers: map[string]*Remote{}}
	d.Next() // the option's name
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		name := d.Val()
		if _, dup := app.Classifiers[name]; dup {
			return nil, d.Errf("classifier %q defined twice", name)
		}
		rm, err := ParseRemote(d)
		if err != nil {
			return nil, err
		}
		if rm.Use != "" || rm.FailOpen || rm.Action != "" {
			return nil, d.Errf("classifier %q: `use`, `fail` and `action` belong where the classifier is used", name)
		}
		app.Classifiers[name] = rm
	}
	return httpcaddyfile.App{Name: "llm_classifiers", Value: caddyconfig.JSON(app, nil)}, nil
}

// Interface guards
var (
	_ caddy.App         = (*Classifiers)(nil)
	_ caddy.Provisioner = (*Classifiers)(nil)
)
