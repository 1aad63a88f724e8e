package llmsentinel

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// Bad options are refused at adapt time with the option named.
func TestCaddyfileErrors(t *testing.T) {
	for src, want := range map[string]string{
		"llm_sentinel {\n elevated 1.5\n}":        "elevated must be a number",
		"llm_sentinel {\n quarantine soon\n}":     "quarantine must be a positive duration or off",
		"llm_sentinel {\n quarantine 0s\n}":       "quarantine must be a positive duration or off",
		"llm_sentinel {\n base_rate -3\n}":        "base_rate must be a positive number",
		"llm_sentinel {\n store disk\n}":          "store must be memory or redis",
		"llm_sentinel {\n sensitivity high\n}":    "unrecognized llm_sentinel option 'sensitivity'",
		"llm_sentinel {\n high 0.9\n high 0.8\n}": "duplicate subdirective 'high'",
		"llm_sentinel extra":                      "wrong argument count",
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", src, err, want)
		}
	}
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("llm_sentinel {\n quarantine off\n elevated 0.5\n high 0.9\n}")); err != nil || !h.NoQuarantine || h.Elevated != 0.5 || h.High != 0.9 {
		t.Fatalf("%v %+v", err, h)
	}
	var m Matcher
	if err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser("llm_risk severe")); err == nil {
		t.Error("llm_risk severe parsed")
	}
}

// Thresholds out of order are refused at provision.
func TestProvisionThresholds(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	h := &Handler{Elevated: 0.7, High: 0.6}
	if err := h.Provision(ctx); err == nil || !strings.Contains(err.Error(), "elevated < high") {
		t.Fatalf("err %v", err)
	}
}

// The matcher matches the level and above; a request no sentinel assessed is low.
func TestMatcher(t *testing.T) {
	for _, c := range []struct {
		level string
		risk  *sentinel.Assessment
		want  bool
	}{
		{"elevated", &sentinel.Assessment{Level: sentinel.Elevated}, true},
		{"elevated", &sentinel.Assessment{Level: sentinel.High}, true},
		{"high", &sentinel.Assessment{Level: sentinel.Elevated}, false},
		{"elevated", nil, false},
		{"low", nil, true},
	} {
		m := &Matcher{Level: c.level}
		if err := m.Provision(caddy.Context{}); err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
		r = r.WithContext(exchange.NewContext(r.Context(), &exchange.Exchange{Risk: c.risk}))
		if got, _ := m.MatchWithError(r); got != c.want {
			t.Errorf("llm_risk %s on %+v: %v", c.level, c.risk, got)
		}
	}
}

// Actors are named as an admin types them.
func TestActorKey(t *testing.T) {
	for in, want := range map[string]string{
		"alice": "id:alice", "id:alice": "id:alice", "addr:10.0.0.0/24": "addr:10.0.0.0/24",
		"203.0.113.9": "addr:203.0.113.0/24", "2001:db8::1": "addr:2001:db8::/48",
	} {
		if got, err := ActorKey(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	if _, err := ActorKey(" "); err == nil {
		t.Error("empty actor accepted")
	}
}

// `caddy llmguard sentinel show|release` talk to the admin API: a quarantined actor is
// shown, released, and shown released.
func TestCommand(t *testing.T) {
	h := &Handler{model: sentinel.NewModel(sentinel.Config{}), store: sentinel.NewMemoryStore(), metrics: testMetrics()}
	register(h)
	defer unregister(h)
	now := time.Now()
	h.store.Update(context.Background(), "id:bot", func(s *sentinel.State) {
		s.Seen, s.Last, s.Level, s.QuarantinedUntil = 5, now.UnixNano(), sentinel.High, now.Add(time.Hour).UnixNano()
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := (AdminAPI{}).actor(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	var out bytes.Buffer
	if err := callActor(&out, addr, http.MethodGet, "bot"); err != nil || !strings.Contains(out.String(), `"quarantined": true`) {
		t.Fatalf("show: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := callActor(&out, addr, http.MethodDelete, "bot"); err != nil || !strings.Contains(out.String(), `"released": true`) || !strings.Contains(out.String(), `"quarantined": false`) {
		t.Fatalf("release: %v\n%s", err, out.String())
	}
	st, _, _ := h.store.Get(context.Background(), "id:bot")
	if st.QuarantinedUntil != 0 || st.Level != sentinel.Low || st.Seen != 5 {
		t.Fatalf("state after release: %+v", st)
	}
}

// testMetrics are the handler's collectors, unregistered.
func testMetrics() *metrics {
	return &metrics{
		assessments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "a"}, []string{"level"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"action"}),
		reasons:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "r"}, []string{"reason"}),
		refused:     prometheus.NewCounter(prometheus.CounterOpts{Name: "q"}),
	}
}

// Any request the parser accepts yields features the model can score, and its state
// stays the fixed size: a client cannot crash or bloat the sentinel with a body.
func FuzzFeatures(f *testing.F) {
	f.Add([]byte(`{"model":"gpt-4o-mini","n":4,"logprobs":true,"top_logprobs":20,"max_tokens":16000,"messages":[{"role":"user","content":"What is the capital of 12?"}]}`), uint8(0))
	f.Add([]byte(`{"model":"text-embedding-3-small","input":["a","b","c"]}`), uint8(2))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"\u0000\uffff 123"}]}]}`), uint8(0))
	kinds := []request.Kind{request.KindChat, request.KindCompletions, request.KindEmbeddings, request.KindResponses, request.KindMessages}
	m := sentinel.NewModel(sentinel.Config{})
	f.Fuzz(func(t *testing.T, body []byte, k uint8) {
		kind := kinds[int(k)%len(kinds)]
		req, err := request.Parse(kind, body)
		if err != nil {
			return
		}
		q := features(&exchange.Exchange{Kind: kind, Request: req}, "203.0.113.0/24")
		if q.Tokens < 0 || q.N < 1 {
			t.Fatalf("features %+v", q)
		}
		var s sentinel.State
		a := m.Observe(&s, nil, time.Unix(1e9, 0), q)
		if a.Score < 0 || a.Score > 1 || len(s.Encode()) != sentinel.EncodedSize {
			t.Fatalf("assessment %+v", a)
		}
	})
}
