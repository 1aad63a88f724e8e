package caddyfile_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/llmguard/caddy-llmguard"
)

// TestCaddyfileAdapt adapts every testdata/*.caddyfiletest (a Caddyfile, a line of
// dashes, the expected JSON) and compares, as Caddy's own caddyfile_adapt tests do. The
// goldens pin each directive's syntax, its JSON and its order among Caddy's directives.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.caddyfiletest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files found")
	}
	split := regexp.MustCompile(`(?m)^-{10,}\s*$`)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			parts := split.Split(string(data), 2)
			if len(parts) != 2 {
				t.Fatalf("%s: want a Caddyfile, a line of dashes and the JSON", f)
			}
			if !caddytest.CompareAdapt(t, f, parts[0], "caddyfile", strings.TrimSpace(parts[1])) {
				t.Errorf("%s: adapted JSON differs (diff above)", f)
			}
		})
	}
}
