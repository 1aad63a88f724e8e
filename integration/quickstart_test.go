package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestQuickstart runs examples/quickstart/Caddyfile — the gateway on :8080 in front of the
// mock upstream on :8081 — and drives it as the README does: curl-style requests, then the
// official SDKs with a normal and a streaming call each.
func TestQuickstart(t *testing.T) {
	cfg, ports := example(t, "quickstart", 8080, 8081)
	start(t, cfg)
	base := fmt.Sprintf("http://localhost:%d", ports[8080])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("curl chat", func(t *testing.T) {
		// curl -d sends application/x-www-form-urlencoded; the README's command must work.
		resp, err := http.Post(base+"/v1/chat/completions", "application/x-www-form-urlencoded",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"object":"chat.completion"`) {
			t.Fatalf("status %d body %s", resp.StatusCode, body)
		}
	})

	t.Run("curl stream", func(t *testing.T) {
		resp, err := http.Post(base+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("content type %q", ct)
		}
		if !strings.HasPrefix(string(body), "data: {") || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
			t.Errorf("not an SSE stream ending in [DONE]: %q", body)
		}
	})

	oai := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("sk-test-not-used"), option.WithMaxRetries(0))

	t.Run("openai chat", func(t *testing.T) {
		c, err := oai.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Choices) != 1 || c.Choices[0].Message.Content == "" || c.Model != "gpt-4o-mini" {
			t.Errorf("completion %+v", c)
		}
		if c.Usage.PromptTokens != 8 || c.Usage.CompletionTokens == 0 || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
			t.Errorf("usage %+v", c.Usage)
		}
	})

	t.Run("openai stream", func(t *testing.T) {
		stream := oai.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         "gpt-4o-mini",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		acc := openai.ChatCompletionAccumulator{}
		chunks := 0
		for stream.Next() {
			acc.AddChunk(stream.Current())
			chunks++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if chunks < 3 || len(acc.Choices) != 1 || acc.Choices[0].Message.Content == "" {
			t.Errorf("%d chunks, accumulated %+v", chunks, acc.ChatCompletion)
		}
		if acc.Usage.PromptTokens != 8 || acc.Usage.CompletionTokens == 0 {
			t.Errorf("stream usage %+v", acc.Usage)
		}
	})

	ant := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey("sk-ant-test-not-used"), aoption.WithMaxRetries(0))
	params := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}

	t.Run("anthropic message", func(t *testing.T) {
		m, err := ant.Messages.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Content) != 1 || m.Content[0].Text == "" || m.Usage.InputTokens == 0 || m.Usage.OutputTokens == 0 {
			t.Errorf("message %+v", m)
		}
	})

	t.Run("anthropic stream", func(t *testing.T) {
		stream := ant.Messages.NewStreaming(ctx, params)
		var m anthropic.Message
		events := 0
		for stream.Next() {
			if err := m.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
			events++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if events < 5 || len(m.Content) != 1 || m.Content[0].Text == "" || m.Usage.OutputTokens == 0 {
			t.Errorf("%d events, message %+v", events, m)
		}
	})
}
