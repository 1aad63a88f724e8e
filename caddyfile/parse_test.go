package caddyfile

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// dispenser returns a dispenser positioned on the first subdirective of `x { <line> }`.
func dispenser(t *testing.T, line string) *caddyfile.Dispenser {
	t.Helper()
	d := caddyfile.NewTestDispenser("x {\n" + line + "\n}")
	d.Next()
	if !d.NextBlock(0) {
		t.Fatalf("no subdirective in %q", line)
	}
	return d
}

func TestParsers(t *testing.T) {
	if v, err := Size(dispenser(t, "max 8MiB")); err != nil || v != 8<<20 {
		t.Errorf("Size 8MiB = %d, %v", v, err)
	}
	if v, err := Size(dispenser(t, "max 8MB")); err != nil || v != 8_000_000 {
		t.Errorf("Size 8MB = %d, %v", v, err)
	}
	if v, err := Duration(dispenser(t, "delay 1m30s")); err != nil || time.Duration(v) != 90*time.Second {
		t.Errorf("Duration = %v, %v", v, err)
	}
	if v, err := Duration(dispenser(t, "delay 1d")); err != nil || time.Duration(v) != 24*time.Hour {
		t.Errorf("Duration 1d = %v, %v", v, err)
	}
	if v, err := PositiveInt(dispenser(t, "n 7")); err != nil || v != 7 {
		t.Errorf("PositiveInt = %d, %v", v, err)
	}
	if v, err := OneOf(dispenser(t, "mode echo"), "fixed", "echo"); err != nil || v != "echo" {
		t.Errorf("OneOf = %q, %v", v, err)
	}
	if v, err := Args(dispenser(t, "models a b")); err != nil || len(v) != 2 {
		t.Errorf("Args = %v, %v", v, err)
	}
	for _, tc := range []struct {
		line string
		fn   func(*caddyfile.Dispenser) error
		want string
	}{
		{"max 0", func(d *caddyfile.Dispenser) error { _, err := Size(d); return err }, "positive size"},
		{"max lots", func(d *caddyfile.Dispenser) error { _, err := Size(d); return err }, "positive size"},
		{"delay -1s", func(d *caddyfile.Dispenser) error { _, err := Duration(d); return err }, "negative"},
		{"delay soon", func(d *caddyfile.Dispenser) error { _, err := Duration(d); return err }, "bad delay"},
		{"n 0", func(d *caddyfile.Dispenser) error { _, err := PositiveInt(d); return err }, "positive integer"},
		{"n 1 2", func(d *caddyfile.Dispenser) error { _, err := PositiveInt(d); return err }, "wrong argument count"},
		{"n", func(d *caddyfile.Dispenser) error { _, err := PositiveInt(d); return err }, "wrong argument count"},
		{"mode x", func(d *caddyfile.Dispenser) error { _, err := OneOf(d, "a", "b"); return err }, "one of"},
		{"models", func(d *caddyfile.Dispenser) error { _, err := Args(d); return err }, "wrong argument count"},
	} {
		err := tc.fn(dispenser(t, tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.line, err, tc.want)
		}
	}
}

func TestSeen(t *testing.T) {
	d := caddyfile.NewTestDispenser("x {\na 1\nb 2\na 3\n}")
	d.Next()
	seen := Seen{}
	var errs []error
	for d.NextBlock(0) {
		errs = append(errs, seen.Check(d))
		d.RemainingArgs()
	}
	if len(errs) != 3 || errs[0] != nil || errs[1] != nil || errs[2] == nil || !strings.Contains(errs[2].Error(), "duplicate subdirective 'a'") {
		t.Errorf("errs = %v", errs)
	}
}
