package llmdetect

import (
	"encoding/json"
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	cfparse "github.com/llmguard/caddy-llmguard/caddyfile"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/patterns"
)

// ParseCaddyfile reads a detect block for a handler whose default set is defaults:
//
//	detect off
//	detect {
//	    injection off|<threshold> [{ threshold … elevated_threshold … high_threshold … no_invisible }]
//	    indirect off|<threshold> [{ threshold … elevated_threshold … high_threshold … }]
//	    pii off|<ENTITY>...
//	    secrets off
//	    deny [literal] [nocase] <TYPE> <pattern>
//	    allow [literal] [nocase] <pattern>
//	    detector <module> [<args>...] { … }
//	    action <TYPE> block|redact|pseudonymize|log|allow
//	    scan_system
//	}
//
// injection, indirect, pii and secrets tune or remove the default detectors (indirect is
// the indirect-injection detector, which reads only tool results and pasted documents); deny and allow lines
// make one patterns detector; `detector` adds any module of the llmguard.detectors
// namespace with its own Caddyfile syntax (e.g. `detector secrets { no_bare_tokens }`).
// The result lists the detectors only when it differs from the plain default set, so a
// default configuration stays short.
func ParseCaddyfile(d *caddyfile.Dispenser, defaults []string) (*Config, error) {
	c := &Config{}
	if d.NextArg() {
		if d.Val() != "off" || d.NextArg() {
			return nil, d.Errf("detect takes no argument but 'off'")
		}
		c.Off = true
		return c, nil
	}
	// The default detectors in order, each with its configuration (nil = defaults).
	type entry struct {
		name string
		mod  any
	}
	var list []entry
	index := map[string]int{}
	for _, name := range defaults {
		index[name] = len(list)
		list = append(list, entry{name: name})
	}
	configured := map[string]bool{}
	set := func(name string, mod any) error {
		if configured[name] {
			return d.Errf("detector '%s' is configured twice", name)
		}
		configured[name] = true
		if i, ok := index[name]; ok {
			list[i].mod = mod
			return nil
		}
		index[name] = len(list)
		list = append(list, entry{name, mod})
		return nil
	}
	changed := false
	var pats *Patterns
	seen := cfparse.Seen{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch name := d.Val(); name {
		case "injection", "indirect":
			if err := seen.Check(d); err != nil {
				return nil, err
			}
			changed = true
			parse := scoringBlock[Injection]
			if name == "indirect" {
				parse = scoringBlock[Indirect]
			}
			mod, err := parse(d)
			if err == nil {
				err = set(name, mod)
			}
			if err != nil {
				return nil, err
			}
		case "pii", "secrets", "scan_system":
			if err := seen.Check(d); err != nil {
				return nil, err
			}
			args := d.RemainingArgs()
			changed = changed || name != "scan_system"
			var err error
			switch {
			case name == "scan_system":
				if len(args) != 0 {
					return nil, d.ArgErr()
				}
				c.ScanSystem = true
			case len(args) == 1 && args[0] == "off":
				err = set(name, false)
			case name == "pii" && len(args) > 0:
				err = set(name, &PII{Entities: args})
			default:
				return nil, d.ArgErr()
			}
			if err != nil {
				return nil, err
			}
		case "deny", "allow":
			rule, err := parseRule(d, name == "deny")
			if err != nil {
				return nil, err
			}
			if pats == nil {
				pats = &Patterns{}
				if err := set("patterns", pats); err != nil {
					return nil, err
				}
				changed = true
			}
			if name == "deny" {
				pats.Deny = append(pats.Deny, rule)
			} else {
				pats.Allow = append(pats.Allow, rule)
			}
		case "detector":
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			mod := d.Val()
			unm, err := caddyfile.UnmarshalModule(d, Namespace+"."+mod)
			if err != nil {
				return nil, err
			}
			if err := set(mod, unm); err != nil {
				return nil, err
			}
			changed = true
		case "action":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return nil, d.ArgErr()
			}
			if c.Actions == nil {
				c.Actions = map[string]string{}
			}
			if _, dup := c.Actions[args[0]]; dup {
				return nil, d.Errf("duplicate action for '%s'", args[0])
			}
			c.Actions[args[0]] = args[1]
		default:
			return nil, d.Errf("unrecognized detect subdirective '%s'", name)
		}
	}
	if !changed {
		return c, nil
	}
	// Indirect injection is injection too: `injection off` switches both off unless the
	// block configures indirect itself.
	if i, ok := index["indirect"]; ok && !configured["indirect"] {
		if j, ok := index["injection"]; ok {
			if _, off := list[j].mod.(bool); off {
				list[i].mod = false
			}
		}
	}
	for _, e := range list {
		switch m := e.mod.(type) {
		case bool: // off
			continue
		case nil:
			c.DetectorsRaw = append(c.DetectorsRaw, json.RawMessage(`{"detector":"`+e.name+`"}`))
		default:
			c.DetectorsRaw = append(c.DetectorsRaw, caddyconfig.JSONModuleObject(m, "detector", e.name, nil))
		}
	}
	if len(c.DetectorsRaw) == 0 {
		// Every detector switched off: an empty list would read as "the defaults".
		c.Off = true
	}
	return c, nil
}

// parseRule reads `[literal] [nocase] <TYPE> <pattern>` (deny) or `[literal] [nocase]
// <pattern>` (allow).
func parseRule(d *caddyfile.Dispenser, withType bool) (patterns.Rule, error) {
	var r patterns.Rule
	args := d.RemainingArgs()
	for len(args) > 0 && (args[0] == "literal" || args[0] == "nocase") {
		if args[0] == "literal" {
			r.Literal = true
		} else {
			r.CaseInsensitive = true
		}
		args = args[1:]
	}
	want := 1
	if withType {
		want = 2
	}
	if len(args) != want {
		return r, d.ArgErr()
	}
	if withType {
		r.Type, args = args[0], args[1:]
		r.Name = r.Type
	}
	r.Pattern = args[0]
	return r, nil
}

// UnmarshalCaddyfile reads
//
//	detector injection [<threshold>] {
//	    threshold <t>
//	    elevated_threshold <t>
//	    high_threshold <t>
//	    no_invisible
//	}
func (m *Injection) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // module name
	_, err := m.parse(d, false)
	return err
}

// parse reads the arguments and block after the detector's name, also for the detect
// block's `injection off|<threshold> { … }` line, where off may stand alone.
func (m *Injection) parse(d *caddyfile.Dispenser, offOK bool) (off bool, err error) {
	return parseThresholds(d, "injection", offOK, &m.Threshold, &m.ElevatedThreshold, &m.HighThreshold, func(opt string) bool {
		if opt != "no_invisible" {
			return false
		}
		m.NoInvisible = true
		return true
	})
}

// UnmarshalCaddyfile reads
//
//	detector indirect [<threshold>] {
//	    threshold <t>
//	    elevated_threshold <t>
//	    high_threshold <t>
//	}
func (m *Indirect) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // module name
	_, err := m.parse(d, false)
	return err
}

// parse reads what follows the detector's name, as for injection (without no_invisible).
func (m *Indirect) parse(d *caddyfile.Dispenser, offOK bool) (off bool, err error) {
	return parseThresholds(d, "indirect", offOK, &m.Threshold, &m.ElevatedThreshold, &m.HighThreshold, nil)
}

// scoringBlock reads a scoring detector's line in a detect block (`injection` or
// `indirect`, `[off|<threshold>] [{…}]`) into a new T: false for off, else the configured
// module. The name alone changes nothing and is refused.
func scoringBlock[T comparable, P interface {
	*T
	parse(*caddyfile.Dispenser, bool) (bool, error)
}](d *caddyfile.Dispenser) (any, error) {
	m := new(T)
	off, err := P(m).parse(d, true)
	switch {
	case err != nil:
		return nil, err
	case off:
		return false, nil
	case *m == *new(T):
		return nil, d.ArgErr()
	}
	return m, nil
}

// parseThresholds reads `[off|<threshold>] [{ threshold <t>  elevated_threshold <t>
// high_threshold <t> … }]` after a scoring detector's name (off only where offOK, and
// alone); flag handles the detector's own argument-less options, reporting whether it
// knew opt. The thresholds' order across risk levels is checked at provisioning.
func parseThresholds(d *caddyfile.Dispenser, what string, offOK bool, base, elevated, high *float64, flag func(opt string) bool) (off bool, err error) {
	if d.NextArg() {
		if offOK && d.Val() == "off" {
			if d.NextArg() || d.NextBlock(d.Nesting()) {
				return false, d.Errf("%s off takes no options", what)
			}
			return true, nil
		}
		if err := threshold(d, what+" threshold", base); err != nil {
			return false, err
		}
		if d.NextArg() {
			return false, d.ArgErr()
		}
	}
	seen := cfparse.Seen{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.Check(d); err != nil {
			return false, err
		}
		switch opt := d.Val(); opt {
		case "threshold", "elevated_threshold", "high_threshold":
			dst := map[string]*float64{"threshold": base, "elevated_threshold": elevated, "high_threshold": high}[opt]
			if !d.NextArg() {
				return false, d.ArgErr()
			}
			if err := threshold(d, what+" "+opt, dst); err != nil {
				return false, err
			}
		default:
			if flag == nil || !flag(opt) {
				return false, d.Errf("unrecognized %s option '%s'", what, opt)
			}
		}
		if d.NextArg() {
			return false, d.ArgErr()
		}
	}
	return false, nil
}

func threshold(d *caddyfile.Dispenser, what string, dst *float64) error {
	t, err := cfparse.Threshold(d, what, d.Val())
	if err != nil {
		return err
	}
	*dst = t
	return nil
}

// UnmarshalCaddyfile reads `detector pii [<ENTITY>...]`.
func (m *PII) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // module name
	m.Entities = d.RemainingArgs()
	if d.NextBlock(0) {
		return d.Err("pii takes no block")
	}
	return nil
}

// UnmarshalCaddyfile reads `detector secrets { no_bare_tokens  min_entropy <bits> }`.
func (m *Secrets) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // module name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "no_bare_tokens":
			if d.NextArg() {
				return d.ArgErr()
			}
			m.NoBareTokens = true
		case "min_entropy":
			if !d.NextArg() {
				return d.ArgErr()
			}
			v, err := strconv.ParseFloat(d.Val(), 64)
			if err != nil || v <= 0 || v > 8 {
				return d.Errf("min_entropy must be a number in (0, 8], not '%s'", d.Val())
			}
			m.MinEntropy = v
			if d.NextArg() {
				return d.ArgErr()
			}
		default:
			return d.Errf("unrecognized secrets option '%s'", d.Val())
		}
	}
	return nil
}

// UnmarshalCaddyfile reads `detector patterns { deny … allow … }` with the rule syntax
// of the detect block.
func (m *Patterns) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // module name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch name := d.Val(); name {
		case "deny", "allow":
			r, err := parseRule(d, name == "deny")
			if err != nil {
				return err
			}
			if name == "deny" {
				m.Deny = append(m.Deny, r)
			} else {
				m.Allow = append(m.Allow, r)
			}
		default:
			return d.Errf("unrecognized patterns option '%s'", name)
		}
	}
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Injection)(nil)
	_ caddyfile.Unmarshaler = (*Indirect)(nil)
	_ caddyfile.Unmarshaler = (*PII)(nil)
	_ caddyfile.Unmarshaler = (*Secrets)(nil)
	_ caddyfile.Unmarshaler = (*Patterns)(nil)
)
