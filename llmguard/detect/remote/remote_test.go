package remote

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestModeration(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer k" {
			t.Errorf("auth header %q", r.Header.Get("Authorization"))
		}
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		flagged := strings.Contains(req.Input[0], "attack")
		_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{map[string]any{
			"flagged": flagged, "categories": map[string]bool{"violence": flagged, "hate": false, "illicit": flagged}}}})
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Model: "omni-moderation-latest", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	v, err := c.Classify(context.Background(), "plan an attack", now)
	if err != nil || !v.Flagged || strings.Join(v.Categories, ",") != "illicit,violence" {
		t.Fatalf("%+v %v", v, err)
	}
	v, err = c.Classify(context.Background(), "hello", now)
	if err != nil || v.Flagged {
		t.Fatalf("%+v %v", v, err)
	}
	// Cached: no new call within the TTL, a new call after it.
	if _, err := c.Classify(context.Background(), "hello", now.Add(time.Minute)); err != nil || calls.Load() != 2 {
		t.Errorf("cache miss: %d calls", calls.Load())
	}
	if _, err := c.Classify(context.Background(), "hello", now.Add(time.Hour)); err != nil || calls.Load() != 3 {
		t.Errorf("expired entry not refreshed: %d calls", calls.Load())
	}
}

func TestChatGuard(t *testing.T) {
	reply := "unsafe\nS2, S1"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"content": reply}}}})
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Mode: ModeChat, Model: "llama-guard-3", CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Classify(context.Background(), "x", time.Now())
	if err != nil || !v.Flagged || strings.Join(v.Categories, ",") != "S1,S2" {
		t.Fatalf("%+v %v", v, err)
	}
	reply = "safe"
	if v, err = c.Classify(context.Background(), "x", time.Now()); err != nil || v.Flagged {
		t.Fatalf("%+v %v", v, err)
	}
	reply = "I cannot answer"
	if _, err = c.Classify(context.Background(), "x", time.Now()); err == nil {
		t.Error("unparseable reply accepted")
	}
}

func TestFailures(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	c, _ := New(Config{URL: slow.URL, Timeout: 50 * time.Millisecond})
	if _, err := c.Classify(context.Background(), "x", time.Now()); err == nil {
		t.Error("timeout not reported")
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		_, _ = io.WriteString(w, "boom")
	}))
	defer bad.Close()
	c, _ = New(Config{URL: bad.URL})
	if _, err := c.Classify(context.Background(), "x", time.Now()); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("err = %v", err)
	}
	for _, cfg := range []Config{{}, {URL: "ftp://x"}, {URL: "http://x", Mode: "magic"}, {URL: "http://x", Mode: ModeChat}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestCacheBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"results":[{"flagged":false,"categories":{}}]}`)
	}))
	defer srv.Close()
	c, _ := New(Config{URL: srv.URL, CacheSize: 3})
	for i := 0; i < 10; i++ {
		if _, err := c.Classify(context.Background(), strings.Repeat("x", i), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if c.cache.lru.Len() != 3 || len(c.cache.idx) != 3 {
		t.Errorf("cache holds %d/%d entries, want 3", c.cache.lru.Len(), len(c.cache.idx))
	}
}

// TestObserve checks the metrics hook: every call reports its outcome, and only calls
// that reached the classifier a duration.
func TestObserve(t *testing.T) {
	down := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down {
			w.WriteHeader(502)
			return
		}
		var req struct{ Input []string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{map[string]any{"flagged": req.Input[0] == "bad"}}})
	}))
	defer srv.Close()
	var got []string
	c, err := New(Config{URL: srv.URL, Observe: func(outcome string, d time.Duration) {
		if reached := outcome != OutcomeCached && outcome != OutcomeOverloaded; reached != (d > 0) {
			t.Errorf("%s reported %v", outcome, d)
		}
		got = append(got, outcome)
	}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, text := range []string{"good", "bad", "good"} {
		if _, err := c.Classify(context.Background(), text, now); err != nil {
			t.Fatal(err)
		}
	}
	down = true
	if _, err := c.Classify(context.Background(), "new", now); err == nil {
		t.Fatal("502 not reported")
	}
	c.Observe(OutcomeOverloaded, 0)
	if want := "clean,flagged,cached,error,overloaded"; strings.Join(got, ",") != want {
		t.Fatalf("outcomes %v, want %s", got, want)
	}
}
