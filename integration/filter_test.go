package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

const (
	filterSecret = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
	filterPII    = "Write to bob.jones@example.org or 10.20.30.40 today."
	filterPIIOut = "Write to [REDACTED:EMAIL_ADDRESS] or [REDACTED:IP_ADDRESS] today."
)

// TestFilterExample runs examples/filter/Caddyfile: the official SDKs consume filtered
// and blocked replies, streamed two characters per event, and see redacted text or an
// API error, never a malformed stream.
func TestFilterExample(t *testing.T) {
	cfg, ports := example(t, "filter", 8080, 8081)
	start(t, cfg)
	base := fmt.Sprintf("http://localhost:%d", ports[8080])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oai := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	ant := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey("unused"), aoption.WithMaxRetries(0))
	chatParams := func(text string) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
	}
	antParams := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 200,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
	stream := func(reply string, opts ...option.RequestOption) (string, error) {
		s := oai.Chat.Completions.NewStreaming(ctx, chatParams("hi"), append(opts, option.WithHeader("X-Mock-Reply", reply))...)
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if len(acc.Choices) == 0 {
			return "", s.Err()
		}
		return acc.Choices[0].Message.Content, s.Err()
	}

	t.Run("openai stream redacted", func(t *testing.T) {
		reply := filterPII + " " + strings.Repeat("More text. ", 40) + filterPII
		got, err := stream(reply)
		if err != nil {
			t.Fatal(err)
		}
		if want := filterPIIOut + " " + strings.Repeat("More text. ", 40) + filterPIIOut; got != want {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("openai stream blocked", func(t *testing.T) {
		got, err := stream(strings.Repeat("Harmless prose. ", 30) + "token " + filterSecret + " end")
		var e *openai.Error
		if err == nil || strings.Contains(got, "ghp_") || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
			t.Fatalf("err %v (%T) text %q", err, err, got)
		}
		if errors.As(err, &e) && e.StatusCode >= 200 && e.StatusCode < 300 {
			t.Logf("stream error surfaced as API error with status %d", e.StatusCode)
		}
		if !strings.HasPrefix(got, "Harmless prose.") {
			t.Fatalf("text before the secret was not streamed: %q", got)
		}
	})

	t.Run("openai JSON", func(t *testing.T) {
		c, err := oai.Chat.Completions.New(ctx, chatParams("hi"), option.WithHeader("X-Mock-Reply", filterPII))
		if err != nil || c.Choices[0].Message.Content != filterPIIOut {
			t.Fatalf("err %v reply %+v", err, c)
		}
		_, err = oai.Chat.Completions.New(ctx, chatParams("hi"), option.WithHeader("X-Mock-Reply", "key "+filterSecret))
		var e *openai.Error
		if !errors.As(err, &e) || e.StatusCode != 403 || !strings.Contains(e.Message, "GITHUB_TOKEN") || strings.Contains(e.Message, "ghp_") {
			t.Fatalf("want 403, got %v", err)
		}
	})

	t.Run("pseudonyms restored", func(t *testing.T) {
		prompt := "Please confirm alice@corp.example receives it."
		c, err := oai.Chat.Completions.New(ctx, chatParams(prompt), option.WithHeader("X-Mock-Mode", "echo"))
		if err != nil || c.Choices[0].Message.Content != prompt {
			t.Fatalf("err %v reply %+v", err, c)
		}
		// The upstream only saw the placeholder: a reply made of it comes back as the
		// address, and a placeholder the client's prompt did not produce stays as is.
		c, err = oai.Chat.Completions.New(ctx, chatParams(prompt), option.WithHeader("X-Mock-Reply", "To [EMAIL_ADDRESS_1], not [EMAIL_ADDRESS_2]."))
		if err != nil || c.Choices[0].Message.Content != "To alice@corp.example, not [EMAIL_ADDRESS_2]." {
			t.Fatalf("err %v reply %+v", err, c)
		}
		s := oai.Chat.Completions.NewStreaming(ctx, chatParams(prompt), option.WithHeader("X-Mock-Mode", "echo"))
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil || acc.Choices[0].Message.Content != prompt {
			t.Fatalf("err %v reply %q", err, acc.Choices[0].Message.Content)
		}
	})

	t.Run("responses stream redacted", func(t *testing.T) {
		s := oai.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}},
			option.WithHeader("X-Mock-Reply", filterPII))
		text, done := "", ""
		for s.Next() {
			ev := s.Current()
			switch ev.Type {
			case "response.output_text.delta":
				text += ev.Delta
			case "response.completed":
				done = ev.Response.OutputText()
			}
		}
		if err := s.Err(); err != nil || text != filterPIIOut || done != filterPIIOut {
			t.Fatalf("err %v deltas %q completed %q", err, text, done)
		}
	})

	t.Run("anthropic stream redacted and blocked", func(t *testing.T) {
		run := func(reply string) (string, error) {
			s := ant.Messages.NewStreaming(ctx, antParams, aoption.WithHeader("X-Mock-Reply", reply))
			var m anthropic.Message
			for s.Next() {
				if err := m.Accumulate(s.Current()); err != nil {
					return "", err
				}
			}
			text := ""
			for _, b := range m.Content {
				text += b.Text
			}
			return text, s.Err()
		}
		got, err := run(filterPII)
		if err != nil || got != filterPIIOut {
			t.Fatalf("err %v text %q", err, got)
		}
		got, err = run("here: " + filterSecret)
		if err == nil || strings.Contains(got, "ghp_") || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
			t.Fatalf("err %v text %q", err, got)
		}
		_, err = ant.Messages.New(ctx, antParams, aoption.WithHeader("X-Mock-Reply", "key "+filterSecret))
		var e *anthropic.Error
		if !errors.As(err, &e) || e.StatusCode != 403 {
			t.Fatalf("want 403, got %v", err)
		}
	})
}

// BenchmarkFilterLatency measures, through a real Caddy in one run, what llm_filter adds
// to a stream: time to the first byte, to the first text and to the end, and time per
// event, for the same mock stream (4 characters per event) proxied with and without the
// filter. "burst" sends all events at once (the cost of filtering); "paced" sends one
// event per millisecond like a fast model (the delay a user sees). Run it alone:
// go test ./integration -run '^$' -bench FilterLatency -benchtime 10x
func BenchmarkFilterLatency(b *testing.B) {
	plain, filtered, burst, paced := freePortB(b), freePortB(b), freePortB(b), freePortB(b)
	cfg := fmt.Sprintf(`{
	admin off
}
http://localhost:%d {
	reverse_proxy {header.X-Upstream}
}
http://localhost:%d {
	llm_filter
	reverse_proxy {header.X-Upstream}
}
http://localhost:%d {
	llm_mock {
		chunk_size 4
	}
}
http://localhost:%d {
	llm_mock {
		chunk_size 4
		chunk_delay 1ms
	}
}`, plain, filtered, burst, paced)
	loadForBenchmark(b, cfg)
	reply := strings.Repeat("The quick brown fox jumps over the lazy dog.", 20) // 880 bytes, 220 text events
	body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	for _, up := range []struct {
		name string
		port int
	}{{"burst", burst}, {"paced", paced}} {
		for _, gw := range []struct {
			name string
			port int
		}{{"plain", plain}, {"filtered", filtered}} {
			b.Run(up.name+"/"+gw.name, func(b *testing.B) {
				var ttfb, firstText, total time.Duration
				events := 0
				for b.Loop() {
					req, _ := http.NewRequest("POST", fmt.Sprintf("http://localhost:%d/v1/chat/completions", gw.port), strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Mock-Reply", reply)
					req.Header.Set("X-Upstream", fmt.Sprintf("localhost:%d", up.port))
					t0 := time.Now()
					first, text, got, n := readStream(b, req)
					if got != reply {
						b.Fatalf("reply changed: %q", got)
					}
					ttfb += first.Sub(t0)
					firstText += text.Sub(t0)
					total += time.Since(t0)
					events += n
				}
				n := float64(b.N)
				b.ReportMetric(float64(ttfb.Microseconds())/n, "ttfb-µs")
				b.ReportMetric(float64(firstText.Microseconds())/n, "first-text-µs")
				b.ReportMetric(float64(total.Microseconds())/n, "total-µs")
				b.ReportMetric(float64(total.Microseconds())/float64(events), "µs/event")
			})
		}
	}
}

// readStream sends req and reads its chat stream: when the first byte and the first
// text arrived, the text, and the number of events.
func readStream(b *testing.B, req *http.Request) (first, text time.Time, got string, events int) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if first.IsZero() {
			first = time.Now()
		}
		if strings.HasPrefix(line, "data: {") {
			events++
			var c struct {
				Choices []struct{ Delta struct{ Content string } }
			}
			_ = json.Unmarshal([]byte(line[6:]), &c)
			if len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
				if text.IsZero() {
					text = time.Now()
				}
				got += c.Choices[0].Delta.Content
			}
		}
		if err != nil {
			return first, text, got, events
		}
	}
}

func freePortB(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
