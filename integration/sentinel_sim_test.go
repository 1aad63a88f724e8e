package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel/sim"
	"github.com/llmguard/caddy-llmguard/modules/llmsentinel"
)

// TestSentinelSimulation replays the simulator's ten days of traffic (llmguard/sentinel/
// sim: six ordinary personas, six attacks) through a real Caddy with llm_auth,
// llm_sentinel and the default llm_inspect, on simulated time, and checks the targets:
// every attack elevated within 200 of its requests and high before 1,000; no ordinary
// persona quarantined, at most one elevated episode per 10 identity-days. The prober's
// findings come from the real llm_inspect, the stuffer's failures from the real llm_auth.
// The table it logs is the README's.
func TestSentinelSimulation(t *testing.T) {
	events := sim.Generate(1)
	keys := map[string]string{}
	var entries []auth.Entry
	for _, e := range events {
		if e.Identity != "" && keys[e.Identity] == "" {
			k, err := auth.NewKey(nil)
			if err != nil {
				t.Fatal(err)
			}
			keys[e.Identity] = k
			entries = append(entries, auth.Entry{ID: e.Identity, Hash: auth.HashKey(k)})
		}
	}
	kf := filepath.Join(t.TempDir(), "keys.json")
	b, _ := json.Marshal(entries)
	if err := os.WriteFile(kf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var now time.Time
	llmsentinel.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	t.Cleanup(func() { llmsentinel.SetClock(nil) })
	port := freePort(t)
	start(t, fmt.Sprintf(`{
	admin localhost:2999
	servers {
		trusted_proxies static 127.0.0.1/32
		client_ip_headers X-Forwarded-For
	}
}
http://localhost:%d {
	header >X-Risk-Level {http.llm.risk.level}
	llm_auth {
		api_keys {
			file %s
		}
		# The simulated stuffer's address must reach llm_sentinel, not only the throttle.
		throttle {
			burst 1000000
		}
	}
	llm_sentinel
	llm_inspect
	llm_mock
}`, port, kf))
	target := &caddyTarget{base: fmt.Sprintf("http://localhost:%d", port), keys: keys, setNow: func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }}
	rep, err := sim.Run(events, target)
	if err != nil {
		t.Fatal(err)
	}
	var tbl strings.Builder
	rep.Write(&tbl)
	t.Logf("simulated through Caddy:\n%s", tbl.String())
	for _, miss := range rep.Check() {
		t.Error(miss)
	}
}

// caddyTarget serves simulated requests through the gateway; the level comes from the
// X-Risk-Level response header, or, for a caller without a valid key, from the admin API.
type caddyTarget struct {
	base   string
	keys   map[string]string
	setNow func(time.Time)
	client http.Client
}

func (c *caddyTarget) Do(e sim.Event) (sim.Result, error) {
	c.setNow(e.At)
	body := map[string]any{"model": e.Model, "messages": []map[string]string{{"role": "user", "content": e.Prompt}}}
	if e.MaxTokens > 0 {
		body["max_tokens"] = e.MaxTokens
	}
	if e.N > 1 {
		body["n"] = e.N
	}
	if e.Logprobs {
		body["logprobs"] = true
	}
	if e.TopLogprob > 0 {
		body["top_logprobs"] = e.TopLogprob
	}
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", c.base+"/v1/chat/completions", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	key := c.keys[e.Identity]
	if e.Identity == "" {
		key = e.Credential
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Forwarded-For", e.Addr)
	resp, err := c.client.Do(req)
	if err != nil {
		return sim.Result{}, err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if e.Identity == "" {
		if resp.StatusCode != http.StatusUnauthorized {
			return sim.Result{}, fmt.Errorf("a wrong key got %d", resp.StatusCode)
		}
		return c.addressLevel(e.Addr)
	}
	res := sim.Result{Level: resp.Header.Get("X-Risk-Level")}
	switch {
	case resp.StatusCode == http.StatusForbidden && bytes.Contains(msg, []byte("caller_quarantined")):
		res.Quarantined = true
	case resp.StatusCode != http.StatusOK:
		return res, fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	if res.Level == "" {
		return res, fmt.Errorf("no risk level on the response")
	}
	return res, nil
}

func (c *caddyTarget) addressLevel(addr string) (sim.Result, error) {
	resp, err := c.client.Get(fmt.Sprintf("http://localhost:2999/llm_sentinel/actors/%s", addr))
	if err != nil {
		return sim.Result{}, err
	}
	defer resp.Body.Close()
	var v struct {
		Level       string
		Quarantined bool
	}
	err = json.NewDecoder(resp.Body).Decode(&v)
	return sim.Result{Level: v.Level, Quarantined: v.Quarantined}, err
}
