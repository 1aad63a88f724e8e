package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
	"github.com/llmguard/caddy-llmguard/llmguard/tokens"
)

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestServer builds a Server with an injected clock and id source, so outputs are
// reproducible.
func newTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	var n atomic.Int64
	cfg.Now = func() time.Time { return fixedNow }
	cfg.NewID = func() string { return fmt.Sprintf("test%04d", n.Add(1)) }
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// do sends one request to s and returns the recorder.
func do(t *testing.T, s *Server, method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, b)
	}
	return m
}

// get walks a decoded JSON value by keys and indices.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: not an object: %v", k, v)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("missing key %q in %v", k, m)
			}
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at [%d]: not an array of that length: %v", k, v)
			}
			v = a[k]
		}
	}
	return v
}

func num(t *testing.T, v any, path ...any) int64 {
	t.Helper()
	f, ok := get(t, v, path...).(float64)
	if !ok {
		t.Fatalf("%v is not a number", path)
	}
	return int64(f)
}

func has(v any, key string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[key]
	return ok
}

// expectTokens returns the prompt tokens the gateway would count for body and the
// token count of text, for the model of body.
func expectTokens(t *testing.T, kind request.Kind, body, text string) (prompt, completion int64) {
	t.Helper()
	req, err := request.Parse(kind, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tokens.ForModel(req.Model)
	if err != nil {
		t.Fatal(err)
	}
	return m.Prompt(req), int64(m.Count(text))
}

type event struct {
	Name string
	Data string
}

// parseSSE splits a stream body into events with the project's own SSE parser, feeding
// it in small chunks to exercise incremental parsing.
func parseSSE(t *testing.T, body []byte) []event {
	t.Helper()
	var p sse.Parser
	var out []event
	emit := func(ev *sse.Event) error {
		if !ev.Empty {
			out = append(out, event{Name: ev.Name, Data: string(ev.Data)})
		}
		return nil
	}
	for len(body) > 0 {
		n := min(7, len(body))
		if err := p.Feed(body[:n], emit); err != nil {
			t.Fatal(err)
		}
		body = body[n:]
	}
	if len(p.Pending()) != 0 {
		t.Fatalf("stream ends inside an event: %q", p.Pending())
	}
	return out
}

func names(evs []event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Name)
	}
	return out
}

// flushCounter counts flushes, to show that every event is flushed.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushCounter) Flush() { f.flushes++; f.ResponseRecorder.Flush() }

var _ http.Flusher = (*flushCounter)(nil)
