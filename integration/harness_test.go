// Package integration runs a real Caddy, in process, with the project's modules and real
// clients (the official OpenAI and Anthropic Go SDKs) against the configurations users
// run. Tests here share one Caddy instance (caddytest's admin endpoint on :2999) and so do
// not run in parallel.
package integration

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/llmguard/caddy-llmguard"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// example reads a Caddyfile from examples/ and rewrites it for the test instance: the
// admin endpoint moves to caddytest's, and each listed port to a free one, so that a
// gateway a developer runs by hand on the same ports does not collide with the tests.
// It returns the rewritten config and the new port of each old one.
func example(t *testing.T, name string, ports ...int) (string, map[int]int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", name, "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data)
	if !strings.Contains(cfg, "admin localhost:2019") {
		t.Fatalf("examples/%s/Caddyfile: expected `admin localhost:2019` in its global options", name)
	}
	cfg = strings.Replace(cfg, "admin localhost:2019", fmt.Sprintf("admin localhost:%d", caddytest.Default.AdminPort), 1)
	mapped := map[int]int{}
	for _, p := range ports {
		np := freePort(t)
		mapped[p] = np
		cfg = strings.ReplaceAll(cfg, fmt.Sprintf("localhost:%d", p), fmt.Sprintf("localhost:%d", np))
	}
	return cfg, mapped
}

// start loads cfg into the shared in-process Caddy. caddytest skips (rather than fails)
// when Caddy cannot start; .ci/run fails the build on any skipped test, so a broken
// harness cannot pass silently.
func start(t *testing.T, cfg string) {
	t.Helper()
	tester := caddytest.NewTester(t)
	tester.InitServer(cfg, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	// A (re)load shuts the previous servers down, closing their idle keep-alive
	// connections; a POST written on one of those in the same instant fails with EOF and
	// is not retried (it is not idempotent). Start every test request on a fresh
	// connection after a load.
	http.DefaultClient.CloseIdleConnections()
}

// fileLogs returns the global options of a test gateway whose every log goes to files
// in dir — Caddy's debug level and default log to all, and access (the site's access
// log, from the siteLog block) — for tests that grep everything Caddy wrote.
func fileLogs(dir string) (global, siteLog, all, access string) {
	all, access = filepath.Join(dir, "all.log"), filepath.Join(dir, "access.log")
	global = fmt.Sprintf(`{
	admin localhost:%d
	default_bind 127.0.0.1
	debug
	log {
		level DEBUG
		output file %s
	}
}
`, caddytest.Default.AdminPort, all)
	siteLog = fmt.Sprintf("\tlog {\n\t\toutput file %s\n\t}\n", access)
	return global, siteLog, all, access
}

// assertMetrics reads Caddy's metrics from the test instance's admin endpoint and fails t
// for each wanted series (a name with its labels) that is absent.
func assertMetrics(t *testing.T, want ...string) []byte {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", caddytest.Default.AdminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !bytes.Contains(metrics, []byte(w)) {
			t.Errorf("metrics lack %s", w)
		}
	}
	return metrics
}

// loadForBenchmark runs the Caddyfile cfg in this process for a benchmark (its own admin
// setting; caddytest's tester is for tests) and stops Caddy when the benchmark ends.
func loadForBenchmark(b *testing.B, cfg string) {
	b.Helper()
	js, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := caddy.Load(js, true); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = caddy.Stop() })
}
