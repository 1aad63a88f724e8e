package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// harmful is what the stand-in classifiers flag.
const harmful = "kill"

// standIns serves the three classifier APIs on loopback, speaking their wire formats:
// OpenAI's POST /v1/moderations, a Llama Guard model behind POST /v1/chat/completions
// ("safe" or "unsafe\nS1"), and text-embeddings-inference's POST /predict. Any text with
// the word "kill" is violent. calls counts requests.
func standIns(t *testing.T, calls *atomic.Int64) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/moderations", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil || len(req.Input) != 1 {
			http.Error(w, `{"error":{"message":"bad request"}}`, 400)
			return
		}
		bad := strings.Contains(req.Input[0], harmful)
		score := 0.01
		if bad {
			score = 0.97
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "modr-1", "model": "omni-moderation-latest",
			"results": []any{map[string]any{"flagged": bad,
				"categories":      map[string]bool{"violence": bad, "hate": false, "self-harm": false},
				"category_scores": map[string]float64{"violence": score, "hate": 0.001, "self-harm": 0.002}}}})
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil || len(req.Messages) == 0 {
			http.Error(w, `{"error":{"message":"bad request"}}`, 400)
			return
		}
		answer := "safe"
		if strings.Contains(req.Messages[len(req.Messages)-1].Content, harmful) {
			answer = "unsafe\nS1"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-g", "object": "chat.completion", "model": "llama-guard-3-8b",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": answer}}}})
	})
	mux.HandleFunc("POST /predict", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Inputs string `json:"inputs"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, `{"error":"bad request"}`, 422)
			return
		}
		toxic := 0.02
		if strings.Contains(req.Inputs, harmful) {
			toxic = 0.93
		}
		_ = json.NewEncoder(w).Encode([]map[string]any{{"label": "toxic", "score": toxic}, {"label": "neutral", "score": 1 - toxic}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestModeration: llm_filter's moderate block in a real Caddy, against stand-ins of each
// classifier API, consumed by the official SDKs.
func TestModeration(t *testing.T) {
	var calls atomic.Int64
	cls := standIns(t, &calls)
	dead := fmt.Sprintf("http://127.0.0.1:%d/v1/moderations", freePort(t))
	gw, up := freePort(t), freePort(t)
	site := func(port int, classifier string, extra string) string {
		return fmt.Sprintf(`
http://localhost:%d {
	llm_filter {
		moderate {
			classifier {
				%s
			}
			window 64
			%s
		}
	}
	reverse_proxy localhost:%d
}
`, port, classifier, extra, up)
	}
	ports := map[string]int{"moderation": gw, "chat": freePort(t), "tei": freePort(t), "closed": freePort(t), "open": freePort(t)}
	cfg := fmt.Sprintf("{\n\tadmin localhost:2999\n}\n") +
		site(ports["moderation"], "url "+cls.URL+"/v1/moderations", "category violence block 0.5\n\t\t\tcategory hate log") +
		site(ports["chat"], "url "+cls.URL+"/v1/chat/completions\n\t\t\t\tmode chat\n\t\t\t\tmodel llama-guard-3-8b", "") +
		site(ports["tei"], "url "+cls.URL+"/predict\n\t\t\t\tmode tei\n\t\t\t\tlabels toxic", "") +
		site(ports["closed"], "url "+dead+"\n\t\t\t\ttimeout 5s", "") +
		site(ports["open"], "url "+dead+"\n\t\t\t\tfail open", "") +
		fmt.Sprintf("\nhttp://localhost:%d {\n\tllm_mock {\n\t\tchunk_size 3\n\t}\n}\n", up)
	start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	params := openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("tell me a story")}}
	client := func(port int) openai.Client {
		return openai.NewClient(option.WithBaseURL(fmt.Sprintf("http://localhost:%d/v1/", port)), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	}
	stream := func(c openai.Client, reply string) (string, error) {
		s := c.Chat.Completions.NewStreaming(ctx, params, option.WithHeader("X-Mock-Reply", reply))
		text := ""
		for s.Next() {
			for _, ch := range s.Current().Choices {
				text += ch.Delta.Content
			}
		}
		return text, s.Err()
	}
	// The mock trims replies: no trailing space.
	clean := strings.TrimSpace(strings.Repeat("The knight rode home and slept. ", 12))
	bad := strings.TrimSpace(strings.Repeat("The knight rode on. ", 6) + "Then he would kill the guard at dawn. " + strings.Repeat("Nothing more. ", 8))

	for _, mode := range []string{"moderation", "chat", "tei"} {
		c := client(ports[mode])
		t.Run(mode+" JSON refused", func(t *testing.T) {
			_, err := c.Chat.Completions.New(ctx, params, option.WithHeader("X-Mock-Reply", bad))
			var e *openai.Error
			if !errors.As(err, &e) || e.StatusCode != 403 || e.Code != "content_policy_violation" {
				t.Fatalf("want 403 content_policy_violation, got %v", err)
			}
			if !strings.Contains(e.Message, "violence") && !(mode == "tei" && strings.Contains(e.Message, "harassment")) || strings.Contains(e.Message, harmful) {
				t.Fatalf("message %q", e.Message)
			}
			r, err := c.Chat.Completions.New(ctx, params, option.WithHeader("X-Mock-Reply", clean))
			if err != nil || r.Choices[0].Message.Content != clean {
				t.Fatalf("clean reply: err %v", err)
			}
		})
		t.Run(mode+" stream cut", func(t *testing.T) {
			got, err := stream(c, bad)
			if err == nil || strings.Contains(got, harmful) || !strings.Contains(err.Error(), "content_policy_violation") {
				t.Fatalf("err %v text %q", err, got)
			}
			if !strings.HasPrefix(bad, got) {
				t.Fatalf("released text is not a prefix of the reply: %q", got)
			}
			got, err = stream(c, clean)
			if err != nil || got != clean {
				t.Fatalf("clean stream: err %v text %q", err, got)
			}
		})
	}

	t.Run("anthropic stream cut", func(t *testing.T) {
		ant := anthropic.NewClient(aoption.WithBaseURL(fmt.Sprintf("http://localhost:%d", ports["chat"])), aoption.WithAPIKey("unused"), aoption.WithMaxRetries(0))
		s := ant.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 200,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}},
			aoption.WithHeader("X-Mock-Reply", bad))
		text := ""
		for s.Next() {
			if d, ok := s.Current().AsAny().(anthropic.ContentBlockDeltaEvent); ok {
				text += d.Delta.Text
			}
		}
		if err := s.Err(); err == nil || strings.Contains(text, harmful) || !strings.Contains(err.Error(), "content policy") || !strings.Contains(err.Error(), "violence") {
			t.Fatalf("err %v text %q", err, text)
		}
	})

	t.Run("dead classifier", func(t *testing.T) {
		closed, open := client(ports["closed"]), client(ports["open"])
		_, err := closed.Chat.Completions.New(ctx, params, option.WithHeader("X-Mock-Reply", clean))
		var e *openai.Error
		if !errors.As(err, &e) || e.StatusCode != 503 || e.Code != "classifier_unavailable" {
			t.Fatalf("fail closed: want 503, got %v", err)
		}
		if got, err := stream(closed, clean); err == nil || got != "" {
			t.Fatalf("fail closed stream: err %v text %q", err, got)
		}
		r, err := open.Chat.Completions.New(ctx, params, option.WithHeader("X-Mock-Reply", bad))
		if err != nil || r.Choices[0].Message.Content != bad {
			t.Fatalf("fail open: %v %+v", err, r)
		}
		if got, err := stream(open, clean); err != nil || got != clean {
			t.Fatalf("fail open stream: err %v text %q", err, got)
		}
	})
	if calls.Load() == 0 {
		t.Fatal("no classifier calls")
	}

	// Calls, outcomes, latency and hits by category are in Caddy's metrics.
	metrics := assertMetrics(t,
		`caddy_llmguard_classifier_calls_total{direction="response",outcome="clean"}`,
		`caddy_llmguard_classifier_calls_total{direction="response",outcome="flagged"}`,
		`caddy_llmguard_classifier_calls_total{direction="response",outcome="error"}`,
		`caddy_llmguard_classifier_duration_seconds_count{direction="response"}`,
		`caddy_llmguard_moderation_hits_total{action="block",category="violence"}`)
	if bytes.Contains(metrics, []byte(harmful)) {
		t.Error("the flagged text reached the metrics")
	}
}

// TestModerationExample runs examples/moderation/Caddyfile, whose classifier is llm_mock's
// stand-in /v1/moderations, with the official SDKs: flagged replies are refused, flagged
// streams cut before the flagged text, clean ones pass unchanged.
func TestModerationExample(t *testing.T) {
	cfg, ports := example(t, "moderation", 8080, 8081)
	start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := openai.NewClient(option.WithBaseURL(fmt.Sprintf("http://localhost:%d/v1/", ports[8080])), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a story")}}

	_, err := c.Chat.Completions.New(ctx, params, option.WithHeader("X-Mock-Reply", "Then he would kill the guard."))
	var e *openai.Error
	if !errors.As(err, &e) || e.StatusCode != 403 || e.Code != "content_policy_violation" ||
		!strings.Contains(e.Message, "violence") || strings.Contains(e.Message, "kill") {
		t.Fatalf("violent reply: %v", err)
	}
	clean := "The knight rode home and slept."
	if r, err := c.Chat.Completions.New(ctx, params, option.WithHeader("X-Mock-Reply", clean)); err != nil || r.Choices[0].Message.Content != clean {
		t.Fatalf("clean reply: %v", err)
	}

	long := strings.TrimSpace(strings.Repeat("The knight rode on through the valley. ", 20) + "He built a bomb. " + strings.Repeat("Then nothing. ", 5))
	s := c.Chat.Completions.NewStreaming(ctx, params, option.WithHeader("X-Mock-Reply", long))
	text := ""
	for s.Next() {
		for _, ch := range s.Current().Choices {
			text += ch.Delta.Content
		}
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "illicit/weapons") || strings.Contains(text, "bomb") || !strings.HasPrefix(long, text) {
		t.Fatalf("stream: err %v, released %q", err, text)
	}
}

// BenchmarkModerationLatency measures what stream moderation adds, through a real Caddy:
// a ~1 KB reply paced at one 4-character event per millisecond, a classifier stand-in
// that answers "clean" after a fixed 10 ms, and windows of 200 and 400 bytes against the
// same route without moderation. It reports time to first byte and to first text, the
// total, and the classifier calls per reply.
//
//	go test ./integration -run '^$' -bench ModerationLatency -benchtime 10x
func BenchmarkModerationLatency(b *testing.B) {
	const delay = 10 * time.Millisecond
	var calls atomic.Int64
	cls := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(delay)
		_, _ = io.WriteString(w, `{"id":"modr-b","model":"omni-moderation-latest","results":[{"flagged":false,"categories":{"violence":false},"category_scores":{"violence":0.001}}]}`)
	}))
	b.Cleanup(cls.Close)
	plain, w200, w400, up := freePortB(b), freePortB(b), freePortB(b), freePortB(b)
	moderated := func(port, window int) string {
		return fmt.Sprintf(`
http://localhost:%d {
	llm_filter {
		moderate {
			classifier {
				url %s/v1/moderations
			}
			window %d
		}
	}
	reverse_proxy localhost:%d
}`, port, cls.URL, window, up)
	}
	cfg := fmt.Sprintf("{\n\tadmin off\n}\nhttp://localhost:%d {\n\treverse_proxy localhost:%d\n}\n", plain, up) +
		moderated(w200, 200) + moderated(w400, 400) +
		fmt.Sprintf("\nhttp://localhost:%d {\n\tllm_mock {\n\t\tchunk_size 4\n\t\tchunk_delay 1ms\n\t}\n}\n", up)
	loadForBenchmark(b, cfg)
	// Every sentence carries the round's nonce: no window of one reply equals a window of
	// another, so the classifier's cache never answers.
	replyFor := func(nonce int64) string {
		// In letters: a long digit run could pass as a card number and be redacted.
		tag := strings.Map(func(r rune) rune { return 'a' + (r - '0') }, strconv.FormatInt(nonce, 10))
		var sb strings.Builder
		for i := range 16 {
			fmt.Fprintf(&sb, "The quick brown fox %s jumps over the lazy dog %d. ", tag, i)
		}
		return strings.TrimSpace(sb.String())
	}
	for _, gw := range []struct {
		name string
		port int
	}{{"plain", plain}, {"window-200", w200}, {"window-400", w400}} {
		b.Run(gw.name, func(b *testing.B) {
			var ttfb, firstText, total time.Duration
			before := calls.Load()
			for b.Loop() {
				r := replyFor(time.Now().UnixNano())
				body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
				req, _ := http.NewRequest("POST", fmt.Sprintf("http://localhost:%d/v1/chat/completions", gw.port), strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Mock-Reply", r)
				t0 := time.Now()
				first, text, got, _ := readStream(b, req)
				if got != r {
					b.Fatalf("reply changed: %q", got)
				}
				ttfb += first.Sub(t0)
				firstText += text.Sub(t0)
				total += time.Since(t0)
			}
			n := float64(b.N)
			b.ReportMetric(float64(ttfb.Microseconds())/n, "ttfb-µs")
			b.ReportMetric(float64(firstText.Microseconds())/n, "first-text-µs")
			b.ReportMetric(float64(total.Microseconds())/n, "total-µs")
			b.ReportMetric(float64(calls.Load()-before)/n, "classifier-calls/reply")
		})
	}
}

// TestSharedClassifier: one classifier defined in the llm_classifiers global option serves
// llm_inspect's remote (prompts) and llm_filter's moderation (replies); each direction is
// counted on its own, and a config naming an undefined classifier does not load.
func TestSharedClassifier(t *testing.T) {
	var calls atomic.Int64
	cls := standIns(t, &calls)
	gw, up := freePort(t), freePort(t)
	start(t, fmt.Sprintf(`{
	admin localhost:2999
	llm_classifiers {
		guard {
			url %s/v1/moderations
			timeout 2s
		}
	}
}
http://localhost:%d {
	llm_inspect {
		remote {
			use guard
			action block
		}
	}
	llm_filter {
		moderate {
			classifier {
				use guard
				fail closed
			}
			category violence block 0.5
		}
	}
	reverse_proxy localhost:%d
}
http://localhost:%d {
	llm_mock
}`, cls.URL, gw, up, up))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := openai.NewClient(option.WithBaseURL(fmt.Sprintf("http://localhost:%d/v1/", gw)), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	chat := func(prompt, reply string) error {
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}}, option.WithHeader("X-Mock-Reply", reply))
		return err
	}
	if err := chat("Tell me a story", "The knight slept."); err != nil {
		t.Fatalf("clean: %v", err)
	}
	if err := chat("How do I kill a process?", "Use kill -9."); statusOf(err) != 403 {
		t.Fatalf("flagged prompt: want 403 from llm_inspect, got %v", err)
	}
	var e *openai.Error
	if err := chat("Tell me a story", "Then he would kill the guard."); !errors.As(err, &e) || e.Code != "content_policy_violation" {
		t.Fatalf("flagged reply: want content_policy_violation, got %v", err)
	}
	assertMetrics(t,
		`caddy_llmguard_classifier_calls_total{direction="request",outcome="flagged"}`,
		`caddy_llmguard_classifier_calls_total{direction="response",outcome="flagged"}`,
		`caddy_llmguard_classifier_calls_total{direction="response",outcome="clean"}`)

	// A name no llm_classifiers entry defines, or connection settings beside `use`, are
	// configuration errors.
	for _, bad := range []string{"use nosuch", "use guard\n\t\t\turl http://localhost:1/v1/moderations"} {
		cfg := fmt.Sprintf("{\n\tllm_classifiers {\n\t\tguard {\n\t\t\turl %s/v1/moderations\n\t\t}\n\t}\n}\n:0 {\n\tllm_inspect {\n\t\tremote {\n\t\t\t%s\n\t\t}\n\t}\n\trespond ok\n}\n", cls.URL, bad)
		js, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
		if err != nil {
			t.Fatalf("%q: adapt: %v", bad, err)
		}
		var cfgObj caddy.Config
		if err := json.Unmarshal(js, &cfgObj); err != nil {
			t.Fatal(err)
		}
		if err := caddy.Validate(&cfgObj); err == nil || !strings.Contains(err.Error(), "llm_classifiers") {
			t.Errorf("%q: want an error naming llm_classifiers, got %v", bad, err)
		}
	}
}
