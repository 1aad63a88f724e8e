package llmhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const panicSecret = "sk-llmg-PanicValueMustNotBeLogged0000000000"

// guarded runs handler behind a Guard the way an llm_* handler does, in a request with
// Caddy's variables and a request id, and returns the response, the error ServeHTTP
// returned, what was re-panicked (if anything) and the log.
func guarded(t *testing.T, path string, handler func(w http.ResponseWriter)) (rec *httptest.ResponseRecorder, err error, repanic any, logs *observer.ObservedLogs) {
	t.Helper()
	r, repl := newRequest("POST", path, "application/json", "{}")
	repl.Set("http.request.uuid", "req-7f3a")
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
	core, logs := observer.New(zapcore.DebugLevel)
	rec = httptest.NewRecorder()
	func() {
		defer func() { repanic = recover() }()
		err = func() (err error) {
			g, w := Protect(rec, r, zap.New(core))
			defer g.Recover(&err)
			if g2, _ := Protect(w, r, zap.New(core)); g2 != nil {
				t.Error("a second handler on the same request installed its own Guard")
			}
			handler(w)
			return fmt.Errorf("not reached")
		}()
	}()
	return rec, err, repanic, logs
}

// TestGuardBeforeResponse: a panic before anything was written becomes 500
// internal_error in the API's shape, with the request id in the message and the API's
// request-id header, and the log names the id but not the panic's value.
func TestGuardBeforeResponse(t *testing.T) {
	for _, tc := range []struct{ path, idHeader string }{
		{"/v1/chat/completions", "x-request-id"},
		{"/v1/messages", "request-id"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec, err, repanic, logs := guarded(t, tc.path, func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/plain")
				panic("bug while handling " + panicSecret)
			})
			if err != nil || repanic != nil {
				t.Fatalf("err %v, re-panic %v", err, repanic)
			}
			if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get(tc.idHeader) != "req-7f3a" {
				t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
			}
			var b struct {
				Type  string
				Error struct{ Message, Type, Code string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || !strings.Contains(b.Error.Message, "req-7f3a") {
				t.Fatalf("body %s", rec.Body)
			}
			if tc.path == "/v1/messages" && (b.Type != "error" || b.Error.Type != "api_error") {
				t.Errorf("not the Anthropic shape: %s", rec.Body)
			}
			if tc.path != "/v1/messages" && b.Error.Code != "internal_error" {
				t.Errorf("not OpenAI's internal_error: %s", rec.Body)
			}
			checkPanicLog(t, logs, "panic(string)", "500 internal_error")
		})
	}
}

func checkPanicLog(t *testing.T, logs *observer.ObservedLogs, kind, answer string) {
	t.Helper()
	entries := logs.FilterMessage("handler panicked").All()
	if len(entries) != 1 || entries[0].Level != zapcore.ErrorLevel {
		t.Fatalf("want one error entry, got %v", logs.All())
	}
	f := entries[0].ContextMap()
	if f["request_id"] != "req-7f3a" || f["panic"] != kind || f["answer"] != answer {
		t.Errorf("fields %v", f)
	}
	stack := fmt.Sprint(f["stack"])
	if !strings.Contains(stack, "guard_test.go") || strings.Contains(stack, "gopanic") || strings.Contains(stack, "Recover") {
		t.Errorf("the stack does not start where the handler panicked: %v", stack)
	}
	for _, e := range logs.All() {
		if strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), panicSecret) {
			t.Error("the panic's value reached the log")
		}
	}
}

// TestGuardRuntimeError: the Go runtime's own panic text (no request data) is logged.
func TestGuardRuntimeError(t *testing.T) {
	_, _, _, logs := guarded(t, "/v1/chat/completions", func(w http.ResponseWriter) {
		var m map[string]int
		m[panicSecret] = 1
	})
	checkPanicLog(t, logs, "assignment to entry in nil map", "500 internal_error")
}

// TestGuardMidStream: a stream under way at an event boundary ends with an error event
// the SDKs raise; anything else under way is aborted (no status or JSON spliced into it).
func TestGuardMidStream(t *testing.T) {
	const event = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
	sse := func(tail string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			_, _ = w.Write([]byte(event + tail))
			panic(panicSecret)
		}
	}
	rec, err, repanic, logs := guarded(t, "/v1/chat/completions", sse(""))
	if err != nil || repanic != nil || rec.Code != 200 {
		t.Fatalf("err %v, re-panic %v, status %d", err, repanic, rec.Code)
	}
	if !strings.HasPrefix(rec.Body.String(), event+"data: {\"error\":") || !strings.HasSuffix(rec.Body.String(), "\n\n") || !strings.Contains(rec.Body.String(), "internal_error") {
		t.Errorf("stream %q", rec.Body)
	}
	checkPanicLog(t, logs, "panic(string)", "stream error event")

	rec, _, _, _ = guarded(t, "/v1/messages", sse(""))
	if !strings.Contains(rec.Body.String(), "event: error\ndata: {\"type\":\"error\"") {
		t.Errorf("Anthropic stream %q", rec.Body)
	}

	for name, h := range map[string]func(http.ResponseWriter){
		"half an event": sse("data: {\"choi"),
		"JSON body": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"chatcmpl-1","choices":[`))
			panic(panicSecret)
		},
		"flushed header": func(w http.ResponseWriter) {
			w.(http.Flusher).Flush()
			panic(panicSecret)
		},
	} {
		rec, _, repanic, logs := guarded(t, "/v1/chat/completions", h)
		if repanic != http.ErrAbortHandler {
			t.Errorf("%s: re-panic %v, want http.ErrAbortHandler", name, repanic)
		}
		if strings.Contains(rec.Body.String(), "error") {
			t.Errorf("%s: an error was spliced into the body: %q", name, rec.Body)
		}
		checkPanicLog(t, logs, "panic(string)", "connection aborted")
	}
}

// TestGuardAbortPassesThrough: reverse_proxy's deliberate abort is not turned into a 500.
func TestGuardAbortPassesThrough(t *testing.T) {
	rec, _, repanic, logs := guarded(t, "/v1/chat/completions", func(w http.ResponseWriter) { panic(http.ErrAbortHandler) })
	if repanic != http.ErrAbortHandler || rec.Body.Len() != 0 || logs.Len() != 0 {
		t.Errorf("re-panic %v, body %q, logs %v", repanic, rec.Body, logs.All())
	}
}

// BenchmarkGuard: what the Guard adds to a request that does not panic (one Protect,
// one deferred Recover, a status and a 1 KB body through the wrapper).
func BenchmarkGuard(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	r, _ := newRequest("POST", "/v1/chat/completions", "application/json", "{}")
	vars := map[string]any{}
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, vars))
	w := discard{h: http.Header{}}
	nop := zap.NewNop()
	serve := func(w http.ResponseWriter) {
		w.WriteHeader(200)
		_, _ = w.Write(body)
	}
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serve(w)
		}
	})
	b.Run("guarded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			clear(vars)
			func() (err error) {
				g, gw := Protect(w, r, nop)
				defer g.Recover(&err)
				serve(gw)
				return nil
			}()
		}
	})
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}
