package mock

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

const streamReply = "Hello, streaming world! Ünïcödé ✓ works."

// stream runs one streamed request and returns its events and the number of flushes.
func runStream(t *testing.T, cfg Config, path, body string, hdr map[string]string) ([]event, int) {
	t.Helper()
	s := newTestServer(t, cfg)
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
	s.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ct, cc := w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"); ct != "text/event-stream" || cc != "no-cache" {
		t.Fatalf("Content-Type %q Cache-Control %q", ct, cc)
	}
	evs := parseSSE(t, w.Body.Bytes())
	if w.flushes < len(evs) {
		t.Errorf("%d flushes for %d events: every event must be flushed", w.flushes, len(evs))
	}
	return evs, w.flushes
}

func js(t *testing.T, e event) map[string]any { t.Helper(); return decode(t, []byte(e.Data)) }

func TestChatStreamIncludeUsage(t *testing.T) {
	body := `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi there"}]}`
	evs, _ := runStream(t, Config{Reply: streamReply, ChunkSize: 5}, "/v1/chat/completions", body, nil)
	prompt, completion := expectTokens(t, request.KindChat, body, streamReply)
	if evs[len(evs)-1].Data != "[DONE]" {
		t.Fatalf("last event %q, want [DONE]", evs[len(evs)-1].Data)
	}
	evs = evs[:len(evs)-1]
	first := js(t, evs[0])
	if d := get(t, first, "choices", 0, "delta"); get(t, d, "role") != "assistant" || get(t, d, "content") != "" || get(t, d, "refusal") != nil {
		t.Errorf("first delta %v", d)
	}
	var text strings.Builder
	for i, e := range evs {
		m := js(t, e)
		if e.Name != "" || get(t, m, "object") != "chat.completion.chunk" || get(t, m, "id") != "chatcmpl-test0001" || get(t, m, "model") != "gpt-4o" {
			t.Fatalf("chunk %d envelope: %s", i, e.Data)
		}
		last := i == len(evs)-1
		if !last && get(t, m, "usage") != nil { // present and null
			t.Fatalf("chunk %d: usage must be null before the last chunk", i)
		}
		if i > 0 && i < len(evs)-2 {
			if get(t, m, "choices", 0, "finish_reason") != nil {
				t.Fatalf("chunk %d finished early", i)
			}
			text.WriteString(get(t, m, "choices", 0, "delta", "content").(string))
		}
	}
	if text.String() != streamReply {
		t.Errorf("deltas join to %q", text.String())
	}
	if want := (len([]rune(streamReply)) + 4) / 5; len(evs)-3 != want {
		t.Errorf("%d content chunks, want %d for chunk_size 5", len(evs)-3, want)
	}
	fin := js(t, evs[len(evs)-2])
	if get(t, fin, "choices", 0, "finish_reason") != "stop" || len(get(t, fin, "choices", 0, "delta").(map[string]any)) != 0 {
		t.Errorf("finish chunk %s", evs[len(evs)-2].Data)
	}
	u := js(t, evs[len(evs)-1])
	if len(get(t, u, "choices").([]any)) != 0 || num(t, u, "usage", "prompt_tokens") != prompt ||
		num(t, u, "usage", "completion_tokens") != completion || num(t, u, "usage", "total_tokens") != prompt+completion {
		t.Errorf("usage chunk %s, want %d+%d", evs[len(evs)-1].Data, prompt, completion)
	}
}

func TestChatStreamVariants(t *testing.T) {
	t.Run("no include_usage", func(t *testing.T) {
		evs, _ := runStream(t, Config{Reply: "a b c"}, "/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"x"}]}`, nil)
		for _, e := range evs[:len(evs)-1] {
			if has(js(t, e), "usage") {
				t.Fatalf("usage key without include_usage: %s", e.Data)
			}
		}
	})
	t.Run("no-usage header", func(t *testing.T) {
		evs, _ := runStream(t, Config{Reply: "a b c"}, "/v1/chat/completions",
			`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`, map[string]string{HeaderNoUsage: "true"})
		for _, e := range evs[:len(evs)-1] {
			if m := js(t, e); has(m, "usage") || len(get(t, m, "choices").([]any)) == 0 {
				t.Fatalf("usage sent despite %s: %s", HeaderNoUsage, e.Data)
			}
		}
	})
	t.Run("n=2 truncated", func(t *testing.T) {
		evs, _ := runStream(t, Config{Reply: "one two three four five six"}, "/v1/chat/completions",
			`{"model":"gpt-4o","stream":true,"n":2,"max_tokens":3,"messages":[{"role":"user","content":"x"}]}`, nil)
		texts, finishes := map[int64]string{}, map[int64]any{}
		for _, e := range evs[:len(evs)-1] {
			m := js(t, e)
			i := num(t, m, "choices", 0, "index")
			if c, ok := get(t, m, "choices", 0, "delta").(map[string]any)["content"]; ok {
				texts[i] += c.(string)
			}
			if f := get(t, m, "choices", 0, "finish_reason"); f != nil {
				finishes[i] = f
			}
		}
		for i := int64(0); i < 2; i++ {
			if texts[i] != "one two three" || finishes[i] != "length" {
				t.Errorf("choice %d: %q finish %v", i, texts[i], finishes[i])
			}
		}
	})
}

func TestCompletionsStream(t *testing.T) {
	body := `{"model":"gpt-3.5-turbo-instruct","prompt":"p","stream":true,"stream_options":{"include_usage":true}}`
	evs, _ := runStream(t, Config{Reply: streamReply}, "/v1/completions", body, nil)
	prompt, completion := expectTokens(t, request.KindCompletions, body, streamReply)
	if evs[len(evs)-1].Data != "[DONE]" {
		t.Fatal("no [DONE]")
	}
	var text strings.Builder
	for _, e := range evs[:len(evs)-3] {
		m := js(t, e)
		if get(t, m, "object") != "text_completion" || get(t, m, "choices", 0, "finish_reason") != nil {
			t.Fatalf("chunk %s", e.Data)
		}
		text.WriteString(get(t, m, "choices", 0, "text").(string))
	}
	if text.String() != streamReply {
		t.Errorf("text %q", text.String())
	}
	if get(t, js(t, evs[len(evs)-3]), "choices", 0, "finish_reason") != "stop" {
		t.Errorf("finish chunk %s", evs[len(evs)-3].Data)
	}
	u := js(t, evs[len(evs)-2])
	if num(t, u, "usage", "prompt_tokens") != prompt || num(t, u, "usage", "completion_tokens") != completion {
		t.Errorf("usage chunk %s", evs[len(evs)-2].Data)
	}
}

func TestResponsesStream(t *testing.T) {
	body := `{"model":"gpt-4o-mini","stream":true,"input":[{"role":"user","content":"hi"}]}`
	evs, _ := runStream(t, Config{Reply: streamReply, ChunkSize: 3}, "/v1/responses", body, nil)
	prompt, completion := expectTokens(t, request.KindResponses, body, streamReply)
	nDeltas := (len([]rune(streamReply)) + 2) / 3
	want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"}
	for i := 0; i < nDeltas; i++ {
		want = append(want, "response.output_text.delta")
	}
	want = append(want, "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed")
	if got := names(evs); !slices.Equal(got, want) {
		t.Fatalf("events\n%v\nwant\n%v", got, want)
	}
	var text strings.Builder
	for i, e := range evs {
		m := js(t, e)
		if get(t, m, "type") != e.Name || num(t, m, "sequence_number") != int64(i) {
			t.Fatalf("event %d: type/sequence_number wrong: %s", i, e.Data)
		}
		if e.Name == "response.output_text.delta" {
			if get(t, m, "item_id") != "msg_test0002" || num(t, m, "output_index") != 0 || num(t, m, "content_index") != 0 {
				t.Fatalf("delta %s", e.Data)
			}
			text.WriteString(get(t, m, "delta").(string))
		}
	}
	if text.String() != streamReply || get(t, js(t, evs[len(evs)-4]), "text") != streamReply {
		t.Errorf("text %q", text.String())
	}
	if r := get(t, js(t, evs[0]), "response"); get(t, r, "status") != "in_progress" || get(t, r, "usage") != nil || len(get(t, r, "output").([]any)) != 0 {
		t.Errorf("created %v", r)
	}
	done := get(t, js(t, evs[len(evs)-1]), "response")
	if get(t, done, "status") != "completed" || get(t, done, "id") != "resp_test0001" ||
		get(t, done, "output", 0, "content", 0, "text") != streamReply ||
		num(t, done, "usage", "input_tokens") != prompt || num(t, done, "usage", "output_tokens") != completion {
		t.Errorf("completed %v", done)
	}

	evs, _ = runStream(t, Config{Reply: streamReply}, "/v1/responses", `{"model":"gpt-4o","stream":true,"input":"x","max_output_tokens":2}`, nil)
	last := js(t, evs[len(evs)-1])
	if evs[len(evs)-1].Name != "response.incomplete" || get(t, last, "response", "incomplete_details", "reason") != "max_output_tokens" {
		t.Errorf("truncated stream ends with %s", evs[len(evs)-1].Data)
	}
}

func TestMessagesStream(t *testing.T) {
	body := `{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	evs, _ := runStream(t, Config{Reply: streamReply}, "/v1/messages", body, nil)
	prompt, completion := expectTokens(t, request.KindMessages, body, streamReply)
	nDeltas := (len([]rune(streamReply)) + 3) / 4
	want := []string{"message_start", "content_block_start", "ping"}
	for i := 0; i < nDeltas; i++ {
		want = append(want, "content_block_delta")
	}
	want = append(want, "content_block_stop", "message_delta", "message_stop")
	if got := names(evs); !slices.Equal(got, want) {
		t.Fatalf("events\n%v\nwant\n%v", got, want)
	}
	var text strings.Builder
	for _, e := range evs {
		m := js(t, e)
		if get(t, m, "type") != e.Name {
			t.Fatalf("type mismatch: %s", e.Data)
		}
		if e.Name == "content_block_delta" {
			if get(t, m, "delta", "type") != "text_delta" || num(t, m, "index") != 0 {
				t.Fatalf("delta %s", e.Data)
			}
			text.WriteString(get(t, m, "delta", "text").(string))
		}
	}
	if text.String() != streamReply {
		t.Errorf("text %q", text.String())
	}
	start := get(t, js(t, evs[0]), "message")
	if get(t, start, "id") != "msg_test0001" || num(t, start, "usage", "input_tokens") != prompt || num(t, start, "usage", "output_tokens") != 1 ||
		len(get(t, start, "content").([]any)) != 0 || get(t, start, "stop_reason") != nil {
		t.Errorf("message_start %v", start)
	}
	md := js(t, evs[len(evs)-2])
	if get(t, md, "delta", "stop_reason") != "end_turn" || num(t, md, "usage", "output_tokens") != completion {
		t.Errorf("message_delta %v, want output_tokens %d", md, completion)
	}
}

func TestStreamErrorHeader(t *testing.T) {
	hdr := map[string]string{HeaderStreamError: "after=2"}
	cfg := Config{Reply: "0123456789abcdef", ChunkSize: 2} // 8 deltas
	t.Run("chat", func(t *testing.T) {
		evs, _ := runStream(t, cfg, "/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"x"}]}`, hdr)
		if len(evs) != 4 || !has(js(t, evs[3]), "error") || get(t, js(t, evs[2]), "choices", 0, "delta", "content") != "23" {
			t.Fatalf("events %v", evs)
		}
	})
	t.Run("completions", func(t *testing.T) {
		evs, _ := runStream(t, cfg, "/v1/completions", `{"model":"gpt-4o","stream":true,"prompt":"x"}`, hdr)
		if len(evs) != 3 || get(t, js(t, evs[2]), "error", "type") != "server_error" {
			t.Fatalf("events %v", evs)
		}
	})
	t.Run("responses", func(t *testing.T) {
		evs, _ := runStream(t, cfg, "/v1/responses", `{"model":"gpt-4o","stream":true,"input":"x"}`, hdr)
		got := names(evs)
		want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
			"response.output_text.delta", "response.output_text.delta", "error", "response.failed"}
		if !slices.Equal(got, want) || get(t, js(t, evs[7]), "response", "status") != "failed" || num(t, js(t, evs[7]), "sequence_number") != 7 {
			t.Fatalf("events %v", evs)
		}
	})
	t.Run("messages", func(t *testing.T) {
		evs, _ := runStream(t, cfg, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}]}`, hdr)
		last := evs[len(evs)-1]
		if last.Name != "error" || len(evs) != 6 || get(t, js(t, last), "error", "type") != "overloaded_error" {
			t.Fatalf("events %v", evs)
		}
	})
	t.Run("after beyond the reply", func(t *testing.T) {
		evs, _ := runStream(t, cfg, "/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"x"}]}`,
			map[string]string{HeaderStreamError: "after=100"})
		if len(evs) != 10 || !has(js(t, evs[9]), "error") {
			t.Fatalf("want all 8 deltas then the error: %v", evs)
		}
	})
}

// TestStreamCancel shows a slow stream stops as soon as the client goes away.
func TestStreamCancel(t *testing.T) {
	s := newTestServer(t, Config{Reply: strings.Repeat("word ", 200), ChunkSize: 1, ChunkDelay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest("POST", "/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"x"}]}`)).WithContext(ctx)
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { s.ServeHTTP(w, r); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not stop after the client went away")
	}
	if bytes.Contains(w.Body.Bytes(), []byte("[DONE]")) {
		t.Error("a cancelled stream must not run to its end")
	}
}

// TestStreamShapesMatchFixtures compares the key sets of our events with recorded
// OpenAI and Anthropic streams, so that a field the real APIs send is not missed.
func TestStreamShapesMatchFixtures(t *testing.T) {
	keys := func(s string) []string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	// Content delta of a chat chunk (fixture openai-chat-stream-text-usage.sse, minus
	// system_fingerprint, which is optional).
	evs, _ := runStream(t, Config{}, "/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"x"}]}`, nil)
	if got, want := keys(evs[1].Data), []string{"choices", "created", "id", "model", "object"}; !slices.Equal(got, want) {
		t.Errorf("chat chunk keys %v, want %v", got, want)
	}
	if got, want := keys(string(mustJSON(t, get(t, js(t, evs[1]), "choices", 0)))), []string{"delta", "finish_reason", "index", "logprobs"}; !slices.Equal(got, want) {
		t.Errorf("chat choice keys %v, want %v", got, want)
	}
	evs, _ = runStream(t, Config{}, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"x"}]}`, nil)
	if got, want := keys(string(mustJSON(t, get(t, js(t, evs[0]), "message")))),
		[]string{"content", "id", "model", "role", "stop_reason", "stop_sequence", "type", "usage"}; !slices.Equal(got, want) {
		t.Errorf("message_start keys %v, want %v", got, want)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
