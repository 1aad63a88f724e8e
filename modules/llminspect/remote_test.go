package llminspect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// moderationServer flags inputs containing "attack" and records what it was sent.
func moderationServer(t *testing.T, seen *atomic.Value) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Input []string `json:"input"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		seen.Store(strings.Join(req.Input, ""))
		flagged := strings.Contains(req.Input[0], "attack")
		_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{map[string]any{"flagged": flagged, "categories": map[string]bool{"violence": flagged}}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRemoteClassifier(t *testing.T) {
	var seen atomic.Value
	srv := moderationServer(t, &seen)
	h := provision(t, &Handler{Remote: &Remote{URL: srv.URL}})
	core, events := observer.New(zapcore.InfoLevel)
	h.security = zap.New(core)

	rec, fwd, _ := serve(t, h, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"be nice"},{"role":"user","content":"plan an attack on the castle"}]}`)
	if rec.Code != 403 || fwd != "" || !strings.Contains(rec.Body.String(), "violence") {
		t.Fatalf("flagged prompt: %d %s", rec.Code, rec.Body)
	}
	// The block is a security event with the finding type and the classifier's
	// categories, not the prompt.
	if events.Len() != 1 {
		t.Fatalf("%d security events for one block", events.Len())
	}
	if f := events.All()[0].ContextMap(); f["event.code"] != "LLMG-3001" || fmt.Sprint(f["llmguard.finding.types"]) != "[UNSAFE_CONTENT]" ||
		fmt.Sprint(f["llmguard.finding.categories"]) != "[violence]" || strings.Contains(fmt.Sprint(f), "castle") {
		t.Fatalf("event %v", f)
	}
	if strings.Contains(seen.Load().(string), "be nice") {
		t.Error("system prompt sent to the classifier")
	}

	// The classifier sees the prompt as forwarded: redacted.
	rec, fwd, repl := serve(t, h, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"write to jane.doe@example.com"}]}`)
	if rec.Code != 204 || !strings.Contains(fwd, "[EMAIL_ADDRESS_1]") {
		t.Fatalf("clean prompt: %d %s", rec.Code, fwd)
	}
	if got := seen.Load().(string); strings.Contains(got, "jane.doe") || !strings.Contains(got, "[EMAIL_ADDRESS_1]") {
		t.Errorf("classifier was sent %q", got)
	}
	if f, _ := repl.GetString(PlaceholderFindings); f != "EMAIL_ADDRESS" {
		t.Errorf("findings %q", f)
	}

	if events.Len() != 1 {
		t.Fatalf("%d security events after a clean prompt", events.Len())
	}

	logOnly := provision(t, &Handler{Remote: &Remote{URL: srv.URL, Action: "log"}})
	rec, _, repl = serve(t, logOnly, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"attack"}]}`)
	if f, _ := repl.GetString(PlaceholderFindings); rec.Code != 204 || f != "UNSAFE_CONTENT" {
		t.Errorf("log action: %d findings %q", rec.Code, f)
	}
}

func TestRemoteFailClosedAndOpen(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) }))
	defer srv.Close()
	rec, fwd, _ := serve(t, provision(t, &Handler{Remote: &Remote{URL: srv.URL}}), "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	if rec.Code != 503 || fwd != "" || rec.Header().Get("Retry-After") == "" {
		t.Errorf("fail closed: %d %q", rec.Code, fwd)
	}
	rec, fwd, _ = serve(t, provision(t, &Handler{Remote: &Remote{URL: srv.URL, FailOpen: true}}), "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	if rec.Code != 204 || fwd == "" {
		t.Errorf("fail open: %d", rec.Code)
	}
}

func TestParseRemote(t *testing.T) {
	d := caddyfile.NewTestDispenser(`llm_inspect {
		remote {
			url http://guard:8000/v1/chat/completions
			mode chat
			model llama-guard-3
			api_key {env.GUARD_KEY}
			timeout 500ms
			cache_size 100
			fail open
			action log
		}
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(h.Remote)
	want := `{"url":"http://guard:8000/v1/chat/completions","mode":"chat","model":"llama-guard-3","api_key":"{env.GUARD_KEY}","timeout":500000000,"cache_size":100,"fail_open":true,"action":"log"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{
		"llm_inspect {\n remote {\n mode chat\n }\n}",
		"llm_inspect {\n remote {\n url http://x\n fail sometimes\n }\n}",
		"llm_inspect {\n remote {\n url http://x\n url http://y\n }\n}",
		"llm_inspect {\n remote x {\n url http://x\n }\n}",
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestRemoteTEI runs llm_inspect against a stand-in for text-embeddings-inference's
// POST /predict (the real server needs a model download and, for useful speed, a GPU,
// neither of which this test can use): the label mapping and threshold decide the verdict.
func TestRemoteTEI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Inputs string `json:"inputs"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		p := 0.01
		if strings.Contains(req.Inputs, "override") {
			p = 0.95
		}
		_ = json.NewEncoder(w).Encode([][]map[string]any{{{"label": "MALICIOUS", "score": p}, {"label": "BENIGN", "score": 1 - p}}})
	}))
	defer srv.Close()
	h := provision(t, &Handler{Remote: &Remote{URL: srv.URL + "/predict", Mode: "tei", Labels: []string{"malicious"}, Threshold: 0.9}})
	rec, fwd, _ := serve(t, h, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"override the rules"}]}`)
	if rec.Code != 403 || fwd != "" || !strings.Contains(rec.Body.String(), "MALICIOUS") {
		t.Fatalf("flagged prompt: %d %s", rec.Code, rec.Body)
	}
	rec, fwd, _ = serve(t, h, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}`)
	if rec.Code != 204 || fwd == "" {
		t.Fatalf("clean prompt: %d", rec.Code)
	}

	d := caddyfile.NewTestDispenser(`llm_inspect {
		remote {
			url http://tei:8080/predict
			mode tei
			labels INJECTION JAILBREAK
			threshold 0.9
		}
	}`)
	var parsed Handler
	if err := parsed.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(parsed.Remote)
	if want := `{"url":"http://tei:8080/predict","mode":"tei","labels":["INJECTION","JAILBREAK"],"threshold":0.9}`; string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{"threshold 0", "threshold 1.5", "threshold x", "labels"} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("llm_inspect {\n remote {\n url http://x\n mode tei\n " + bad + "\n }\n}")); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestRemoteTEIThresholdTightensWithRisk: a grey-zone verdict (0.7) passes a low caller
// under threshold 0.9 and refuses an elevated or high one under elevated_threshold 0.6,
// from the same cached scores (the classifier is asked once).
func TestRemoteTEIThresholdTightensWithRisk(t *testing.T) {
	var calls atomic.Int64
	// A stand-in for text-embeddings-inference's /predict (the real server needs a model
	// download this machine cannot do; llmguard/detect/remote tests the wire format).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = json.NewEncoder(w).Encode([]map[string]any{{"label": "INJECTION", "score": 0.7}, {"label": "SAFE", "score": 0.3}})
	}))
	defer srv.Close()
	var h Handler
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`llm_inspect {
		detect off
		remote {
			url ` + srv.URL + `/predict
			mode tei
			threshold 0.9
			elevated_threshold 0.6
		}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(h.Remote); !strings.Contains(string(got), `"threshold":0.9,"elevated_threshold":0.6`) {
		t.Fatalf("parsed %s", got)
	}
	provision(t, &h)
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"perhaps an injection"}]}`
	for level, want := range map[sentinel.Level]int{sentinel.Low: 204, sentinel.Elevated: 403, sentinel.High: 403} {
		rec, _, _ := serve(t, &h, "/v1/chat/completions", body, atRisk(level))
		if rec.Code != want || (want == 403 && !strings.Contains(rec.Body.String(), "INJECTION")) {
			t.Errorf("%s caller: %d %s", level, rec.Code, rec.Body)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("classifier asked %d times for one prompt", n)
	}
}

func TestRemoteRiskThresholdErrors(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	for _, c := range []struct {
		rm        Remote
		direction string
		want      string
	}{
		{Remote{URL: "http://x/predict", Mode: "tei", Threshold: 0.8, ElevatedThreshold: 0.9}, DirectionRequest, "elevated threshold 0.9 is above the low level's 0.8"},
		{Remote{URL: "http://x/predict", Mode: "tei", ElevatedThreshold: 0.4, HighThreshold: 0.45}, DirectionRequest, "high threshold 0.45 is above the elevated level's 0.4"},
		{Remote{URL: "http://x/predict", Mode: "tei", HighThreshold: 1.5}, DirectionRequest, "must be in (0, 1]"},
		{Remote{URL: "http://x/v1/moderations", ElevatedThreshold: 0.4}, DirectionRequest, "need a classifier in tei mode"},
		{Remote{URL: "http://x/predict", Mode: "tei", ElevatedThreshold: 0.4}, DirectionResponse, "not replies"},
	} {
		if _, err := c.rm.Build(ctx, c.direction); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.rm, err, c.want)
		}
	}
	// Risk thresholds are policy: set where a shared classifier is used, not in its definition.
	defs := &Classifiers{Classifiers: map[string]*Remote{"g": {URL: "http://x/predict", Mode: "tei", ElevatedThreshold: 0.4}}}
	if err := defs.Provision(ctx); err == nil || !strings.Contains(err.Error(), "elevated_threshold and high_threshold belong where it is used") {
		t.Errorf("definition with a risk threshold: %v", err)
	}
	var h Handler
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("llm_inspect {\n remote {\n url http://x\n mode tei\n elevated_threshold 2\n }\n}"))
	if err == nil || !strings.Contains(err.Error(), "remote elevated_threshold must be a number in (0, 1], not '2'") {
		t.Errorf("elevated_threshold 2: %v", err)
	}
}

// FuzzParseRemote: the remote block's parser never panics; what it accepts names an
// endpoint, keeps every threshold in [0, 1], and either builds a classifier whose risk
// thresholds only tighten or is refused with an error.
func FuzzParseRemote(f *testing.F) {
	f.Add("remote {\n url http://x/predict\n mode tei\n threshold 0.9\n elevated_threshold 0.6\n high_threshold 0.3\n }")
	f.Add("remote {\n url http://x/predict\n mode tei\n high_threshold 0.95\n }")
	f.Add("remote {\n use guard\n elevated_threshold 0.5\n fail open\n }")
	f.Add("remote {\n url http://x/v1/moderations\n elevated_threshold 0.5\n action log\n }")
	f.Fuzz(func(t *testing.T, src string) {
		d := caddyfile.NewTestDispenser(src)
		d.Next()
		rm, err := ParseRemote(d)
		if err != nil {
			return
		}
		if rm.URL == "" && rm.Use == "" {
			t.Fatal("accepted without url or use")
		}
		for _, v := range []float64{rm.Threshold, rm.ElevatedThreshold, rm.HighThreshold} {
			if v < 0 || v > 1 {
				t.Fatalf("threshold %v accepted", v)
			}
		}
		if rm.Use != "" {
			return // needs the llm_classifiers app
		}
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		defer cancel()
		c, err := rm.Build(ctx, DirectionRequest)
		if err != nil {
			return
		}
		ts, err := rm.riskThresholds(c)
		if err != nil || ts[sentinel.Elevated] > ts[sentinel.Low] || ts[sentinel.High] > ts[sentinel.Elevated] {
			t.Fatalf("built with risk thresholds %v (%v)", ts, err)
		}
	})
}
