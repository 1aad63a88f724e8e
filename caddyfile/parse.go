package caddyfile

import (
	"math"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
)

// The helpers below read the single argument of the current subdirective (d.Val() is the
// subdirective's name) and report errors with the Caddyfile position, as Caddy's own
// directives do. They reject missing and extra arguments.

// Seen tracks the subdirectives of one block so that a repeated one is an error rather
// than a silent override.
type Seen map[string]bool

// Check returns an error if the current subdirective already appeared in this block.
func (s Seen) Check(d *caddyfile.Dispenser) error {
	if s[d.Val()] {
		return d.Errf("duplicate subdirective '%s'", d.Val())
	}
	s[d.Val()] = true
	return nil
}

// Arg reads exactly one argument.
func Arg(d *caddyfile.Dispenser) (string, error) {
	var v string
	if !d.AllArgs(&v) {
		return "", d.ArgErr()
	}
	return v, nil
}

// Args reads one or more arguments.
func Args(d *caddyfile.Dispenser) ([]string, error) {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return nil, d.ArgErr()
	}
	return args, nil
}

// OneOf reads one argument that must be one of choices.
func OneOf(d *caddyfile.Dispenser, choices ...string) (string, error) {
	name := d.Val()
	v, err := Arg(d)
	if err != nil {
		return "", err
	}
	for _, c := range choices {
		if v == c {
			return v, nil
		}
	}
	return "", d.Errf("%s must be one of %v, not '%s'", name, choices, v)
}

// PositiveInt reads one integer ≥ 1.
func PositiveInt(d *caddyfile.Dispenser) (int, error) {
	name := d.Val()
	v, err := Arg(d)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, d.Errf("%s must be a positive integer, not '%s'", name, v)
	}
	return n, nil
}

// Threshold parses v, a score threshold, as a number in (0, 1]; what names it in the
// error ("injection threshold"). It takes the value rather than reading it because
// thresholds also stand as inline arguments of a line that has others.
func Threshold(d *caddyfile.Dispenser, what, v string) (float64, error) {
	t, err := strconv.ParseFloat(v, 64)
	if err != nil || t <= 0 || t > 1 {
		return 0, d.Errf("%s must be a number in (0, 1], not '%s'", what, v)
	}
	return t, nil
}

// Duration reads one non-negative duration in Caddy's syntax (500ms, 1m30s, 2d).
func Duration(d *caddyfile.Dispenser) (caddy.Duration, error) {
	name := d.Val()
	v, err := Arg(d)
	if err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil {
		return 0, d.Errf("bad %s '%s': %v", name, v, err)
	}
	if dur < 0 {
		return 0, d.Errf("%s must not be negative", name)
	}
	return caddy.Duration(dur), nil
}

// Size reads one positive byte size with units: 8MB is 8,000,000 bytes, 8MiB is 8,388,608.
func Size(d *caddyfile.Dispenser) (int64, error) {
	name := d.Val()
	v, err := Arg(d)
	if err != nil {
		return 0, err
	}
	size, err := humanize.ParseBytes(v)
	if err != nil || size == 0 || size > math.MaxInt64 {
		return 0, d.Errf("bad %s '%s': want a positive size such as 8MiB", name, v)
	}
	return int64(size), nil
}
