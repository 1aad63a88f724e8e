// Package limittest runs real redis-server processes for tests of the limiter and the
// gateway: on a free loopback port, without persistence unless asked, stopped when the
// test ends.
//
// It is test support only and never imported by production code. A missing
// redis-server binary fails the test (CI installs it; see .ci/run): a silently skipped
// Redis test would hide a broken shared limit.
package limittest

import (
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"
)

// Redis is one redis-server process.
type Redis struct {
	Addr string
	port int
	cmd  *exec.Cmd
	tb   testing.TB
	args []string
}

// StartRedis starts redis-server on a free loopback port and stops it at the end of the
// test.
func StartRedis(tb testing.TB) *Redis { return StartRedisWith(tb) }

// StartRedisWith is StartRedis with extra redis-server arguments, which override the
// defaults (e.g. "--appendonly", "yes" for a persisting server). Files go to a
// temporary directory.
func StartRedisWith(tb testing.TB, args ...string) *Redis {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatalf("redis-server not found (install the Debian package redis-server): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), port: port, tb: tb, args: append([]string{"--dir", tb.TempDir()}, args...)}
	r.Start()
	tb.Cleanup(r.Stop)
	return r
}

// Start (re)starts the server on its port, empty, and waits until it accepts connections.
func (r *Redis) Start() {
	r.tb.Helper()
	r.cmd = exec.Command("redis-server", append([]string{"--port", fmt.Sprint(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "yes"}, r.args...)...)
	if err := r.cmd.Start(); err != nil {
		r.tb.Fatalf("starting redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", r.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.tb.Fatalf("redis-server did not start on %s", r.Addr)
}

// Stop stops the server (a simulated outage); Start brings it back.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}
