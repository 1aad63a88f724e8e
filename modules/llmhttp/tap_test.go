package llmhttp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

const chatStream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n" +
	": keep-alive\n\n" +
	"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n" +
	"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\n" +
	"data: [DONE]\n\n"

func tapRequest(t *testing.T) *http.Request {
	r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	return r.WithContext(exchange.NewContext(r.Context(), &exchange.Exchange{Kind: request.KindChat, PromptTokens: 7}))
}

func TestTapStreamPassesThroughByteExact(t *testing.T) {
	for _, size := range []int{1, 3, 17, len(chatStream)} {
		rec := httptest.NewRecorder()
		tap, w, r := InstallTap(rec, tapRequest(t))
		if r.Header.Get("Accept-Encoding") != "" {
			t.Fatal("Accept-Encoding kept: the upstream could compress what the tap must read")
		}
		if again, w2, _ := InstallTap(w, r); again != tap || w2 != w {
			t.Fatal("second InstallTap did not return the installed tap")
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		for i := 0; i < len(chatStream); i += size {
			if _, err := w.Write([]byte(chatStream[i:min(i+size, len(chatStream))])); err != nil {
				t.Fatal(err)
			}
		}
		tap.Close()
		if rec.Body.String() != chatStream {
			t.Fatalf("chunk %d: body changed:\n%q", size, rec.Body.String())
		}
		u, reported, ok := tap.Usage()
		if !ok || !reported || u.InputTokens != 7 || u.OutputTokens != 2 {
			t.Fatalf("usage %+v %v %v", u, reported, ok)
		}
		if !tap.Streamed() || tap.Status() != 200 {
			t.Fatal("status or mode wrong")
		}
	}
}

func TestTapHooksRewriteAndEnd(t *testing.T) {
	rec := httptest.NewRecorder()
	tap, w, _ := InstallTap(rec, tapRequest(t))
	n := 0
	tap.AddHook(func(ev *sse.Event, out []byte) ([]byte, bool) {
		if bytes.Contains(ev.Data, []byte(`"usage"`)) {
			return nil, false // dropped
		}
		n++
		if n == 2 {
			return append(append([]byte(nil), out...), "data: {\"error\":{}}\n\n"...), true
		}
		return out, false
	})
	headerSeen := false
	tap.OnHeader(func(status int, h http.Header) { headerSeen = status == 200; h.Set("X-Test", "1") })
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Content-Length", "999")
	_, err := w.Write([]byte(chatStream))
	if err != ErrStreamCut || !tap.Ended() {
		t.Fatalf("want ErrStreamCut, got %v", err)
	}
	if _, err := w.Write([]byte("data: more\n\n")); err != ErrStreamCut {
		t.Fatal("writes after the end accepted")
	}
	want := "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n: keep-alive\n\ndata: {\"error\":{}}\n\n"
	if rec.Body.String() != want {
		t.Fatalf("body %q", rec.Body.String())
	}
	if !headerSeen || rec.Header().Get("X-Test") != "1" || rec.Header().Get("Content-Length") != "" {
		t.Fatalf("header hook: %v %v", headerSeen, rec.Header())
	}
}

func TestTapJSONAndCompressed(t *testing.T) {
	body := `{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`
	rec := httptest.NewRecorder()
	tap, w, _ := InstallTap(rec, tapRequest(t))
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(body[:10]))
	w.Write([]byte(body[10:]))
	if u, reported, ok := tap.Usage(); !ok || !reported || u.InputTokens != 5 || rec.Body.String() != body {
		t.Fatalf("json usage %+v %v %v", u, reported, ok)
	}

	rec = httptest.NewRecorder()
	tap, w, _ = InstallTap(rec, tapRequest(t))
	tap.bodyCap = 8
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(body))
	if _, _, ok := tap.Usage(); ok || rec.Body.String() != body {
		t.Fatal("a body over the cap must pass through with unknown usage")
	}

	rec = httptest.NewRecorder()
	tap, w, _ = InstallTap(rec, tapRequest(t))
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Content-Encoding", "gzip")
	w.Write([]byte("\x1f\x8b binary"))
	if _, _, ok := tap.Usage(); ok || rec.Body.String() != "\x1f\x8b binary" {
		t.Fatal("compressed stream parsed or changed")
	}
}

func TestTapOversizedEventPassesThrough(t *testing.T) {
	rec := httptest.NewRecorder()
	tap, w, _ := InstallTap(rec, tapRequest(t))
	tap.parser.MaxEventSize = 64
	w.Header().Set("Content-Type", "text/event-stream")
	in := "data: {\"a\":1}\n\n" + "data: " + strings.Repeat("x", 200) + "\n\n" + "data: [DONE]\n\n"
	for i := 0; i < len(in); i += 7 {
		w.Write([]byte(in[i:min(i+7, len(in))]))
	}
	tap.Close()
	if rec.Body.String() != in {
		t.Fatalf("bytes lost or changed: %q", rec.Body.String())
	}
}

func TestTapTrailingEventFlushed(t *testing.T) {
	rec := httptest.NewRecorder()
	tap, w, _ := InstallTap(rec, tapRequest(t))
	w.Header().Set("Content-Type", "text/event-stream")
	w.Write([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"abc\"}}]}"))
	if rec.Body.Len() != 0 {
		t.Fatal("unfinished event forwarded early")
	}
	tap.Close()
	if !strings.HasSuffix(rec.Body.String(), "}]}") {
		t.Fatalf("trailing event lost: %q", rec.Body.String())
	}
	if u, reported, ok := tap.Usage(); !ok || reported || u.OutputTokens == 0 || u.InputTokens != 7 {
		t.Fatalf("self-counted usage %+v", u)
	}
}

// TestTapOnClose: closers run once at the end of a stream and their bytes come last;
// they do not run after a hook ended the stream.
func TestTapOnClose(t *testing.T) {
	for _, cut := range []bool{false, true} {
		rec := httptest.NewRecorder()
		tap, w, _ := InstallTap(rec, tapRequest(t))
		calls := 0
		tap.OnClose(func() []byte { calls++; return []byte("data: {\"released\":true}\n\n") })
		if cut {
			tap.AddHook(func(ev *sse.Event, out []byte) ([]byte, bool) { return []byte("data: {\"error\":{}}\n\n"), true })
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(chatStream))
		tap.Close()
		tap.Close()
		body := rec.Body.String()
		if cut {
			if calls != 0 || strings.Contains(body, "released") {
				t.Fatalf("closer ran after a cut: %q", body)
			}
			continue
		}
		if calls != 1 || !strings.HasSuffix(body, "data: [DONE]\n\ndata: {\"released\":true}\n\n") {
			t.Fatalf("calls %d body %q", calls, body)
		}
	}
}

// TestTapJSONUsageOnce: the limiter and the audit both ask for a JSON reply's usage; it
// is computed once for the body as it stands, and again if more of the body arrived.
func TestTapJSONUsageOnce(t *testing.T) {
	body := `{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`
	rec := httptest.NewRecorder()
	tap, w, _ := InstallTap(rec, tapRequest(t))
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(body[:20]))
	if _, reported, ok := tap.Usage(); !ok || reported {
		t.Fatalf("a partial body reported usage")
	}
	w.Write([]byte(body[20:]))
	u1, r1, _ := tap.Usage()
	tap.body[len(tap.body)-3] = '9' // an unchanged length is answered from the memo
	u2, r2, _ := tap.Usage()
	if !r1 || !r2 || u1 != u2 || u1.InputTokens != 5 {
		t.Fatalf("usage %+v %v, then %+v %v", u1, r1, u2, r2)
	}
}
