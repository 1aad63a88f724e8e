package llmmock

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/tokens"
)

// The official SDKs are the strictest readers of the mock's output: these tests show
// that they parse every response and stream and see the reply and the usage that the
// gateway's own counter gives for the request they sent.

// sdkServer runs a provisioned Handler on a loopback httptest.Server and remembers the
// last request body, so tests can count its prompt tokens as the gateway would.
type sdkServer struct {
	*httptest.Server
	mu   sync.Mutex
	body []byte
	path string
}

func newSDKServer(t *testing.T, h *Handler) *sdkServer {
	t.Helper()
	h = provisioned(t, h)
	s := &sdkServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.body, s.path = body, r.URL.Path
		s.mu.Unlock()
		req := newRequestWithReplacer(r.Method, r.URL.Path, string(body))
		req.Header = r.Header
		req = req.WithContext(r.Context())
		if err := h.ServeHTTP(w, req, terminal(t)); err != nil {
			t.Errorf("ServeHTTP: %v", err)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// promptTokens counts the last request's prompt tokens with the gateway's counter.
func (s *sdkServer) promptTokens(t *testing.T) int64 {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	req, err := request.Parse(request.KindFromPath(s.path), s.body)
	if err != nil {
		t.Fatalf("the SDK sent a body the gateway cannot parse: %v", err)
	}
	m, _ := tokens.ForModel(req.Model)
	return m.Prompt(req)
}

func countTokens(t *testing.T, model, text string) int64 {
	t.Helper()
	m, err := tokens.ForModel(model)
	if err != nil {
		t.Fatal(err)
	}
	return int64(m.Count(text))
}

func openaiClient(s *sdkServer, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(s.URL + "/v1/"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0)}, opts...)...)
}

func anthropicClient(s *sdkServer) anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(s.URL), aoption.WithAPIKey("sk-ant-test"), aoption.WithMaxRetries(0))
}

const sdkReply = "Hello from the mock, streamed in small pieces: ünïcode ✓."

func TestOpenAIChatSDK(t *testing.T) {
	s := newSDKServer(t, &Handler{Reply: sdkReply, ChunkSize: 3})
	client := openaiClient(s)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Say hello.")},
	}
	res, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	want := countTokens(t, "gpt-4o-mini", sdkReply)
	if res.Choices[0].Message.Content != sdkReply || res.Choices[0].FinishReason != "stop" || res.Model != "gpt-4o-mini" ||
		!strings.HasPrefix(res.ID, "chatcmpl-") || res.Usage.PromptTokens != s.promptTokens(t) || res.Usage.CompletionTokens != want ||
		res.Usage.TotalTokens != res.Usage.PromptTokens+want {
		t.Fatalf("completion %+v", res)
	}

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	acc := openai.ChatCompletionAccumulator{}
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if chunks < len([]rune(sdkReply))/3 {
		t.Errorf("only %d chunks", chunks)
	}
	if acc.Choices[0].Message.Content != sdkReply || acc.Choices[0].FinishReason != "stop" ||
		acc.Usage.PromptTokens != s.promptTokens(t) || acc.Usage.CompletionTokens != want {
		t.Fatalf("accumulated %q finish %q usage %+v", acc.Choices[0].Message.Content, acc.Choices[0].FinishReason, acc.Usage)
	}
}

func TestOpenAIErrorsSDK(t *testing.T) {
	s := newSDKServer(t, &Handler{})
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}}
	limited := openaiClient(s, option.WithHeader("X-Mock-Status", "429"))
	_, err := limited.Chat.Completions.New(context.Background(), params)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type != "rate_limit_error" {
		t.Fatalf("err = %v", err)
	}
	failing := openaiClient(s, option.WithHeader("X-Mock-Stream-Error", "after=2"))
	stream := failing.Chat.Completions.NewStreaming(context.Background(), params)
	var text strings.Builder
	for stream.Next() {
		if len(stream.Current().Choices) > 0 {
			text.WriteString(stream.Current().Choices[0].Delta.Content)
		}
	}
	if stream.Err() == nil || text.Len() == 0 || text.Len() > 8 {
		t.Fatalf("stream error %v after %q", stream.Err(), text.String())
	}
}

func TestOpenAIEmbeddingsSDK(t *testing.T) {
	s := newSDKServer(t, &Handler{EmbeddingDimensions: 12})
	client := openaiClient(s)
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		res, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
			Model:          "text-embedding-3-small",
			Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha", "beta"}},
			EncodingFormat: format,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) != 2 || res.Usage.PromptTokens != s.promptTokens(t) || res.Usage.TotalTokens != res.Usage.PromptTokens || res.Model != "text-embedding-3-small" {
			t.Fatalf("%s: %+v", format, res)
		}
		for _, d := range res.Data {
			var norm float64
			for _, x := range d.Embedding {
				norm += x * x
			}
			if len(d.Embedding) != 12 || math.Abs(norm-1) > 1e-5 {
				t.Fatalf("%s: embedding %d has %d dims, norm %v", format, d.Index, len(d.Embedding), norm)
			}
		}
	}
	res, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "text-embedding-3-small", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}, Dimensions: openai.Int(3),
	})
	if err != nil || len(res.Data[0].Embedding) != 3 {
		t.Fatalf("dimensions: %v %+v", err, res)
	}
}

func TestOpenAIResponsesSDK(t *testing.T) {
	s := newSDKServer(t, &Handler{Mode: "echo"})
	client := openaiClient(s)
	ctx := context.Background()
	params := responses.ResponseNewParams{
		Model:        "gpt-4o",
		Instructions: openai.String("Repeat after me."),
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("The capital of France is Paris.")},
	}
	res, err := client.Responses.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	want := countTokens(t, "gpt-4o", "The capital of France is Paris.")
	if res.OutputText() != "The capital of France is Paris." || res.Status != "completed" || !strings.HasPrefix(res.ID, "resp_") ||
		res.Usage.InputTokens != s.promptTokens(t) || res.Usage.OutputTokens != want {
		t.Fatalf("response %q %s usage %+v", res.OutputText(), res.Status, res.Usage)
	}

	stream := client.Responses.NewStreaming(ctx, params)
	var text strings.Builder
	var types []string
	var final responses.Response
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "The capital of France is Paris." || final.OutputText() != text.String() ||
		final.Usage.InputTokens != s.promptTokens(t) || final.Usage.OutputTokens != want {
		t.Fatalf("streamed %q, final %q usage %+v, events %v", text.String(), final.OutputText(), final.Usage, types)
	}
	if types[0] != "response.created" || types[len(types)-1] != "response.completed" {
		t.Errorf("events %v", types)
	}
}

func TestAnthropicMessagesSDK(t *testing.T) {
	s := newSDKServer(t, &Handler{Reply: sdkReply, ChunkSize: 5})
	client := anthropicClient(s)
	ctx := context.Background()
	params := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 1024,
		System:    []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello."))},
	}
	msg, err := client.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	want := countTokens(t, "claude-sonnet-4-5", sdkReply)
	if len(msg.Content) != 1 || msg.Content[0].Text != sdkReply || msg.StopReason != "end_turn" || string(msg.Model) != "claude-sonnet-4-5" ||
		msg.Usage.InputTokens != s.promptTokens(t) || msg.Usage.OutputTokens != want {
		t.Fatalf("message %+v", msg)
	}

	stream := client.Messages.NewStreaming(ctx, params)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Content) != 1 || acc.Content[0].Text != sdkReply || acc.StopReason != "end_turn" ||
		acc.Usage.InputTokens != s.promptTokens(t) || acc.Usage.OutputTokens != want {
		t.Fatalf("accumulated %+v", acc)
	}

	// Truncation and a mid-stream error, as the SDK reports them.
	params.MaxTokens = 3
	msg, err = client.Messages.New(ctx, params)
	if err != nil || msg.StopReason != "max_tokens" || msg.Usage.OutputTokens > 3 || !strings.HasPrefix(sdkReply, msg.Content[0].Text) {
		t.Fatalf("truncated: %v %+v", err, msg)
	}
	errClient := anthropic.NewClient(aoption.WithBaseURL(s.URL), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0), aoption.WithHeader("X-Mock-Stream-Error", "after=1"))
	stream = errClient.Messages.NewStreaming(ctx, params)
	for stream.Next() {
	}
	var apiErr *anthropic.Error
	if !errors.As(stream.Err(), &apiErr) || !bytes.Contains([]byte(apiErr.RawJSON()), []byte("overloaded_error")) {
		t.Fatalf("stream error = %v", stream.Err())
	}
}
