package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/caddyserver/caddy/v2/caddyconfig"
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
		max_header_size 8KB
		listener_wrappers {
			llm_error
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
	t.Run("headers too large", func(t *testing.T) {
		// net/http refuses these before any handler runs; the llm_error listener
		// wrapper gives its 431 the API error shape both SDKs read.
		big := strings.Repeat("a", 64<<10)
		c := oai(trickle)
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}, option.WithHeader("X-Big", big))
		var e *openai.Error
		if !errors.As(err, &e) || e.StatusCode != 431 || e.Code != "request_headers_too_large" || e.Message == "" {
			t.Fatalf("OpenAI SDK: want a typed 431 with a message, got %v", err)
		}
		ant := anthropic.NewClient(aoption.WithBaseURL(fmt.Sprintf("http://localhost:%d", trickle)), aoption.WithAPIKey("unused"), aoption.WithMaxRetries(0))
		_, err = ant.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 16,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}, aoption.WithHeader("X-Big", big))
		var ae *anthropic.Error
		if !errors.As(err, &ae) || ae.StatusCode != 431 || ae.Message == "" || !strings.Contains(ae.RawJSON(), `"type":"invalid_request_error"`) {
			t.Fatalf("Anthropic SDK: want a typed 431 with a message, got %v", err)
		}
	})
	t.Run("malformed request", func(t *testing.T) {
		conn, err := net.Dial("tcp", fmt.Sprintf("localhost:%d", trickle))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nNot a header line\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"type":"invalid_request_error"`) {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
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
	t.Run("slowloris connections closed", func(t *testing.T) {
		// 300 connections each trickle a header line that never ends, one byte every
		// 200 ms (40 s for the whole line); read_header is 2 s. Each must be closed by the
		// server while its client is still sending, and the gateway must answer a normal
		// request meanwhile.
		const conns, bytes = 300, 200
		results := make(chan error, conns)
		for i := 0; i < conns; i++ {
			conn, err := net.Dial("tcp", fmt.Sprintf("localhost:%d", trickle))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			stop := make(chan struct{})
			go func() {
				_, _ = io.WriteString(conn, "GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
				for j := 0; j < bytes; j++ {
					select {
					case <-stop:
						return
					case <-time.After(200 * time.Millisecond):
					}
					if _, err := conn.Write([]byte("a")); err != nil {
						return
					}
				}
			}()
			go func() {
				defer close(stop)
				_ = conn.SetReadDeadline(time.Now().Add(bytes * 200 * time.Millisecond))
				_, err := conn.Read(make([]byte, 1))
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					results <- errors.New("held open for as long as the client kept sending")
					return
				}
				results <- nil // closed (EOF or reset) by the server
			}()
		}
		resp, err := http.Get(fmt.Sprintf("http://localhost:%d/v1/models", trickle))
		if err != nil {
			t.Fatalf("a normal request while %d slow connections are held: %v", conns, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("a normal request while %d slow connections are held: %d", conns, resp.StatusCode)
		}
		held := 0
		for i := 0; i < conns; i++ {
			if err := <-results; err != nil {
				held++
			}
		}
		if held > 0 {
			t.Errorf("%d of %d slowloris connections were held open", held, conns)
		}
	})
}

// TestExamplesHardened: every example (and the quickstart) sets the server timeouts that
// cut off slow clients — read_header and read_body, idle keep-alives — and no write
// timeout (it would cut long streams), wraps its listeners with llm_error (net/http's
// own refusals as JSON), and every site that runs llm_* handlers answers its own
// failures with llm_error.
func TestExamplesHardened(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "examples", "*", "Caddyfile"))
	if err != nil || len(dirs) < 5 {
		t.Fatalf("examples: %v %v", dirs, err)
	}
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			js, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, map[string]any{"filename": path})
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct {
				Apps struct {
					HTTP struct {
						Servers map[string]struct {
							ReadTimeout       time.Duration   `json:"read_timeout"`
							ReadHeaderTimeout time.Duration   `json:"read_header_timeout"`
							WriteTimeout      time.Duration   `json:"write_timeout"`
							IdleTimeout       time.Duration   `json:"idle_timeout"`
							ListenerWrappers  json.RawMessage `json:"listener_wrappers"`
							Routes            json.RawMessage `json:"routes"`
							Errors            json.RawMessage `json:"errors"`
						}
					}
				}
			}
			if err := json.Unmarshal(js, &cfg); err != nil {
				t.Fatal(err)
			}
			for sn, srv := range cfg.Apps.HTTP.Servers {
				if srv.ReadHeaderTimeout <= 0 || srv.ReadHeaderTimeout > 30*time.Second ||
					srv.ReadTimeout <= 0 || srv.ReadTimeout > 2*time.Minute ||
					srv.IdleTimeout <= 0 || srv.IdleTimeout > 10*time.Minute || srv.WriteTimeout != 0 {
					t.Errorf("%s: timeouts read_header %v, read_body %v, idle %v, write %v", sn,
						srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout, srv.WriteTimeout)
				}
				if !strings.Contains(string(srv.ListenerWrappers), `"wrapper":"llm_error"`) {
					t.Errorf("%s: no llm_error listener wrapper (net/http's own 431/400 stay text/plain)", sn)
				}
				guarded := strings.ReplaceAll(string(srv.Routes), `"handler":"llm_mock"`, "")
				if strings.Contains(guarded, `"handler":"llm_`) && !strings.Contains(string(srv.Errors), `"handler":"llm_error"`) {
					t.Errorf("%s runs llm_* handlers without handle_errors { llm_error }", sn)
				}
			}
		})
	}
}
