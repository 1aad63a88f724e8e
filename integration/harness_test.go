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
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// startBinary builds ./cmd/caddy and runs it on the Caddyfile cfg as a second gateway
// process next to the in-process one (Caddy is one instance per process), until the test
// ends. It waits until readyURL answers and returns the process's log.
func startBinary(t *testing.T, cfg, readyURL string) *strings.Builder {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "caddy")
	build := exec.Command("go", "build", "-o", bin, "./cmd/caddy")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building cmd/caddy: %v\n%s", err, out)
	}
	path := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	proc := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	proc.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	logs := &strings.Builder{}
	proc.Stdout, proc.Stderr = logs, logs
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Process.Kill(); _ = proc.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(readyURL)
		if err == nil {
			resp.Body.Close()
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("second instance did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
