package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/alert"
	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

// alertConfig is a gateway whose security events go to the llm_webhook writer at url.
func alertConfig(t *testing.T, url string) (cfg, base string) {
	port := freePort(t)
	return fmt.Sprintf(`{
	admin localhost:2999
	default_bind 127.0.0.1
	log security {
		include llmguard.security
		output llm_webhook {
			url %s
			secret test-alert-secret
			flush_interval 20ms
			max_attempts 2
		}
		format json
	}
}
http://localhost:%d {
	llm_auth {
		api_keys {
			key demo %s
		}
	}
	respond "ok"
}`, url, port, auth.HashKey("unused")), fmt.Sprintf("http://localhost:%d/v1/chat/completions", port)
}

// failUntilThrottled sends wrong keys until llm_auth answers 429, and fails the test if any
// request is not answered with 401 or 429.
func failUntilThrottled(t *testing.T, base string) {
	t.Helper()
	wrong, _ := auth.NewKey(nil)
	for range 100 {
		req, _ := http.NewRequest("POST", base, strings.NewReader(`{"model":"m","messages":[]}`))
		req.Header.Set("Authorization", "Bearer "+wrong)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case 429:
			return
		case 401:
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	t.Fatal("the failure throttle never engaged")
}

// TestSecurityEventWebhook: the throttle's security event reaches a real local webhook
// receiver through Caddy's log pipeline and the llm_webhook writer, signed; a receiver
// that hangs, and one that answers 500, do not slow or fail the gateway's answers.
func TestSecurityEventWebhook(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	arrived := make(chan struct{}, 10)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(alert.TimestampHeader), 10, 64)
		if r.Header.Get(alert.SignatureHeader) != alert.Sign([]byte("test-alert-secret"), ts, body) {
			w.WriteHeader(401)
			return
		}
		var batch []map[string]any
		json.Unmarshal(body, &batch)
		mu.Lock()
		got = append(got, batch...)
		mu.Unlock()
		arrived <- struct{}{}
	}))
	defer good.Close()
	cfg, base := alertConfig(t, good.URL)
	start(t, cfg)
	failUntilThrottled(t, base)
	<-arrived // the test's own timeout bounds this wait; no timed assertion
	mu.Lock()
	ev := got[0]
	mu.Unlock()
	if ev["event.code"] != "LLMG-2001" || ev["event.outcome"] != "failure" || ev["source.ip"] == nil {
		t.Fatalf("webhook received %v", ev)
	}
	if b, _ := json.Marshal(got); strings.Contains(string(b), "sk-llmg-") {
		t.Fatal("a key reached the webhook")
	}

	for name, h := range map[string]http.HandlerFunc{
		"hanging": func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		"500":     func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) },
	} {
		t.Run(name+" receiver", func(t *testing.T) {
			bad := httptest.NewServer(h)
			defer bad.Close()
			cfg, base := alertConfig(t, bad.URL)
			start(t, cfg)
			// Every request is answered (a blocked writer would hang this test).
			failUntilThrottled(t, base)
		})
	}
}
