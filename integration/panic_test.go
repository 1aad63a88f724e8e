package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// Test-only modules that panic on purpose. Nothing a client sends makes a shipped
// handler panic (that would be a bug to fix), so a test that checks what a panic looks
// like from the outside has to plant one: a handler after ours (llm_test_panic, standing
// for reverse_proxy or any other module in the route) and a detector inside llm_inspect
// (standing for a bug in one of our handlers). Both put the request's text into the panic
// value, as a careless fmt.Sprintf in a real bug would, so the test can check that the
// value never reaches a log.
const (
	markPanicBefore   = "PANIC-BEFORE"
	markPanicStream   = "PANIC-STREAM"
	markPanicDetector = "PANIC-DETECTOR"
)

func init() {
	caddy.RegisterModule(panicHandler{})
	caddy.RegisterModule(panicDetector{})
	httpcaddyfile.RegisterHandlerDirective("llm_test_panic", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		h.Next()
		return panicHandler{}, nil
	})
	// Before push, like llm_filter, whose init ran first: so right after llm_filter.
	httpcaddyfile.RegisterDirectiveOrder("llm_test_panic", httpcaddyfile.Before, "push")
}

type panicHandler struct{}

func (panicHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.llm_test_panic", New: func() caddy.Module { return panicHandler{} }}
}

func (panicHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	body, _ := io.ReadAll(r.Body)
	switch {
	case strings.HasPrefix(r.URL.Path, "/panic/"):
		panic(fmt.Sprintf("test handler failed on %v %s", r.Header, body))
	case strings.Contains(string(body), markPanicBefore):
		panic("test handler failed on " + string(body))
	case strings.Contains(string(body), markPanicStream):
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}`+"\n\n")
		_ = http.NewResponseController(w).Flush()
		panic(fmt.Errorf("test handler failed mid-stream on %s", body))
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	return next.ServeHTTP(w, r)
}

type panicDetector struct{}

func (panicDetector) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "llmguard.detectors.test_panic", New: func() caddy.Module { return new(panicDetector) }}
}

func (panicDetector) Name() string { return "test_panic" }

func (*panicDetector) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	return nil
}

func (panicDetector) Detect(text string, dst []detect.Finding) []detect.Finding {
	if strings.Contains(text, markPanicDetector) {
		panic("detector failed on " + text)
	}
	return dst
}

// TestPanicsAreAPIErrors: a panic inside one of our handlers (a detector in llm_inspect)
// or in a handler after them reaches the official SDKs as a typed 500 internal_error in
// the API's shape with the request id (OpenAI on /v1/chat/completions, Anthropic on
// /v1/messages), a panic in a stream already under way ends it with an error event the
// SDK raises, the request is still audited, the log names the request id, and no log
// holds the API key, the prompt, the panic's value or a raw stack trace. The gateway
// keeps serving afterwards.
func TestPanicsAreAPIErrors(t *testing.T) {
	dir := t.TempDir()
	kf := &keyFile{t: t, path: filepath.Join(dir, "keys.json")}
	key := kf.add("dev", []string{"developer"}, nil)
	kf.write()
	gw, up := freePort(t), freePort(t)
	global, siteLog, all, access := fileLogs(dir)
	start(t, global+fmt.Sprintf(`http://localhost:%d {
`+siteLog+`	llm_audit
	llm_auth {
		api_keys {
			file %s
			headers Authorization X-Api-Key
		}
	}
	llm_inspect {
		detect {
			detector test_panic
		}
	}
	llm_rate_limit {
		rule rpm {
			requests 100 1m
		}
	}
	llm_filter
	llm_test_panic
	reverse_proxy localhost:%d
	handle_errors {
		llm_error
	}
}
http://localhost:%d {
	llm_mock
}
`, gw, kf.path, up, up))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := fmt.Sprintf("http://localhost:%d", gw)
	oai := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	ant := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey(key), aoption.WithMaxRetries(0))
	const promptSecret = "the launch code is tangerine-57"
	var ids []string

	for _, mark := range []string{markPanicBefore, markPanicDetector} {
		t.Run("openai "+mark, func(t *testing.T) {
			var resp *http.Response
			_, err := oai.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(mark + " " + promptSecret)}}, option.WithResponseInto(&resp))
			var e *openai.Error
			if !errors.As(err, &e) || e.StatusCode != 500 || e.Code != "internal_error" || e.Type != "server_error" {
				t.Fatalf("want a typed 500 internal_error, got %v", err)
			}
			id := resp.Header.Get("x-request-id")
			if id == "" || !strings.Contains(e.Message, id) || resp.Header.Get("x-should-retry") != "true" {
				t.Fatalf("request id %q not in the message %q (headers %v)", id, e.Message, resp.Header)
			}
			ids = append(ids, id)
		})
	}
	t.Run("anthropic "+markPanicDetector, func(t *testing.T) {
		_, err := ant.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 16,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(markPanicDetector + " " + promptSecret))}})
		var e *anthropic.Error
		if !errors.As(err, &e) || e.StatusCode != 500 || e.RequestID == "" || !strings.Contains(e.Message, e.RequestID) || !strings.Contains(e.RawJSON(), `"type":"api_error"`) {
			t.Fatalf("want a typed Anthropic 500 api_error with the request id, got %v", err)
		}
		ids = append(ids, e.RequestID)
	})
	t.Run("openai stream "+markPanicStream, func(t *testing.T) {
		s := oai.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(markPanicStream + " " + promptSecret)}})
		var text string
		for s.Next() {
			if c := s.Current(); len(c.Choices) > 0 {
				text += c.Choices[0].Delta.Content
			}
		}
		// llm_filter may still hold the first event back (its window) when the panic
		// comes; whatever it had released is followed by the error event.
		if (text != "" && text != "Hello") || s.Err() == nil || !strings.Contains(s.Err().Error(), "internal_error") {
			t.Fatalf("want the stream's error event, got %q and %v", text, s.Err())
		}
	})
	t.Run("still serving", func(t *testing.T) {
		c, err := oai.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		if err != nil || len(c.Choices) == 0 {
			t.Fatalf("after the panics: %v", err)
		}
	})

	// Each panic is logged once, at error level, under the request id the client got, and
	// audited with status 500.
	raw, err := os.ReadFile(all)
	if err != nil {
		t.Fatal(err)
	}
	panicked, audited := map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		var e struct {
			Level, Msg, RequestID string
			Status                int
		}
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		var ids struct {
			RequestID string `json:"request_id"`
		}
		_ = json.Unmarshal([]byte(line), &ids)
		switch {
		case e.Msg == "handler panicked" && e.Level == "error":
			panicked[ids.RequestID] = true
		case e.Msg == "llm request" && e.Status == 500:
			audited[ids.RequestID] = true
		}
	}
	if len(panicked) != 4 {
		t.Errorf("%d panic entries, want 4 (one per panicking request)", len(panicked))
	}
	for _, id := range ids {
		if !panicked[id] || !audited[id] {
			t.Errorf("request %s: panic logged %v, audited with 500 %v", id, panicked[id], audited[id])
		}
	}
	for _, f := range []string{all, access} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, s := range map[string]string{"API key": key, "prompt": "tangerine-57",
			"panic value": "failed on", "raw stack trace": "goroutine "} {
			if strings.Contains(string(raw), s) {
				t.Errorf("%s holds the %s", filepath.Base(f), name) // never print the value
			}
		}
	}
}
