package caddyfile_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	// The WAF, an opt-in plugin of the reference build, for the golden that pins its
	// place in the chain (coraza_waf.caddyfiletest).
	_ "github.com/corazawaf/coraza-caddy/v2"
	_ "github.com/llmguard/caddy-llmguard"
)

var update = flag.Bool("update", false, "rewrite the JSON half of every golden file from the adapter's output")

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
			if *update {
				rewriteGolden(t, f, parts[0])
				return
			}
			if !caddytest.CompareAdapt(t, f, parts[0], "caddyfile", strings.TrimSpace(parts[1])) {
				t.Errorf("%s: adapted JSON differs (diff above)", f)
			}
		})
	}
}

// rewriteGolden replaces the expected JSON of file f with the adapter's output for the
// Caddyfile src, indented with tabs like Caddy's own goldens. Review the diff before
// committing: the golden is only as right as the eyes that checked it.
func rewriteGolden(t *testing.T, f, src string) {
	out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": f})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("adapting %s: %v %v", f, err, warnings)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "\t"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(src+"----------\n"+buf.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
