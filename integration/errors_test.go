package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestGatewayErrors: the gateway's own failures reach the official SDKs as their typed API
// errors with a message and the right retry hint (handle_errors { llm_error }): upstream
// refused (502), upstream too slow (504), body too large (413), each in the OpenAI shape
// and, on /v1/messages, the Anthropic one; and a client trickling its body is cut off by
// the server's read_body timeout with an API-shaped error instead of being held.
func TestGatewayErrors(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	dead, timeout, small, trickle := freePort(t), freePort(t), freePort(t), freePort(t)
	refused := freePort(t) // nothing listens there
	site := func(port int, body string) string {
		return fmt.Sprintf("http://localhost:%d {\n%s\n\thandle_errors {\n\t\tllm_error\n\t}\n}\n", port, body)
	}
	start(t, fmt.Sprintf(`{
	admin localhost:2999
	servers {
		timeouts {
			read_header 2s
			read_body 1s
		}
	}
}
`)+site(dead, fmt.Sprintf("\treverse_proxy localhost:%d", refused))+
		site(timeout, fmt.Sprintf("\treverse_proxy %s {\n\t\ttransport http {\n\t\t\tresponse_header_timeout 300ms\n\t\t}\n\t}", slow.URL))+
		site(small, "\trequest_body {\n\t\tmax_size 1KB\n\t}\n\tllm_inspect\n\tllm_mock")+
		site(trickle, "\tllm_inspect\n\tllm_mock"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	oai := func(port int) openai.Client {
		return openai.NewClient(option.WithBaseURL(fmt.Sprintf("http://localhost:%d/v1/", port)), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	}
	chat := func(port int, text string) (*http.Response, error) {
		var resp *http.Response
		c := oai(port)
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}, option.WithResponseInto(&resp))
		return resp, err
	}
	for _, tc := range []struct {
		name   string
		port   int
		text   string
		status int
		retry  string
	}{
		{"upstream refused", dead, "hi", 502, "true"},
		{"upstream too slow", timeout, "hi", 504, "true"},
		{"body too large", small, strings.Repeat("many words ", 200), 413, "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := chat(tc.port, tc.text)
			var e *openai.Error
			if !errors.As(err, &e) || e.StatusCode != tc.status || e.Message == "" || e.Code == "" {
				t.Fatalf("want a typed %d with a message, got %v", tc.status, err)
			}
			if resp == nil || resp.Header.Get("X-Should-Retry") != tc.retry || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("headers %v", resp.Header)
			}
			if strings.Contains(e.Message, "127.0.0.1") || strings.Contains(e.Message, "localhost") {
				t.Fatalf("the message names an internal address: %q", e.Message)
			}
		})
	}
	t.Run("anthropic shape on /v1/messages", func(t *testing.T) {
		ant := anthropic.NewClient(aoption.WithBaseURL(fmt.Sprintf("http://localhost:%d", dead)), aoption.WithAPIKey("unused"), aoption.WithMaxRetries(0))
		_, err := ant.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 16,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
		var e *anthropic.Error
		if !errors.As(err, &e) || e.StatusCode != 502 || !strings.Contains(err.Error(), `"type":"error"`) {
			t.Fatalf("want a typed Anthropic 502, got %v", err)
		}
	})
	t.Run("trickled body cut off", func(t *testing.T) {
		conn, err := net.Dial("tcp", fmt.Sprintf("localhost:%d", trickle))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 200) + `"}]}`
		fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		// One byte every 100 ms would take 20 s; read_body is 1 s.
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < len(body); i++ {
				if _, err := conn.Write([]byte{body[i]}); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer before the client finished: %v", err)
		}
		defer resp.Body.Close()
		var buf strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&buf)
		if resp.StatusCode < 400 || !strings.Contains(buf.String(), `"error"`) {
			t.Fatalf("status %d body %q", resp.StatusCode, buf.String())
		}
		t.Logf("trickled body: %d %s", resp.StatusCode, buf.String())
	})
}
