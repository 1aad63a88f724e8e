package llmaudit

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmguard/caddy-llmguard/llmguard/audit"
)

// TestGrafanaDashboard checks that examples/grafana's dashboard is valid JSON and only
// queries series llm_audit registers, so a renamed metric cannot leave it silently empty.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile("../../examples/grafana/llmguard-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ Panels []any }
	if err := json.Unmarshal(data, &d); err != nil || len(d.Panels) == 0 {
		t.Fatalf("dashboard: %v", err)
	}
	reg := prometheus.NewRegistry()
	m := newMetrics(nil, 0)
	for _, c := range m.collectors {
		reg.MustRegister(c)
	}
	ev := map[string]bool{}
	m.observe(&auditEventForDashboard, true)
	families, _ := reg.Gather()
	for _, f := range families {
		ev[f.GetName()] = true
	}
	used := regexp.MustCompile(`caddy_llmguard_[a-z_]+`).FindAllString(string(data), -1)
	if len(used) == 0 {
		t.Fatal("dashboard queries no caddy_llmguard_ series")
	}
	for _, name := range used {
		base := strings.TrimSuffix(name, "_bucket")
		if !ev[base] {
			t.Errorf("dashboard queries %s, which llm_audit does not export", name)
		}
	}
}

// auditEventForDashboard touches every series once so that Gather lists them all.
var auditEventForDashboard = audit.Event{Endpoint: "chat", Model: "m", Decision: audit.DecisionRateLimited,
	Reasons: []string{"rpm"}, Findings: []string{"EMAIL_ADDRESS"}, TokensIn: 1, TokensOut: 1, Cost: 1,
	Upstream: "u", LatencyMS: 1, TTFTMS: 1}
