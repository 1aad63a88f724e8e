package usage

import (
	"strconv"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

func TestFromJSONShapes(t *testing.T) {
	tests := []struct {
		name string
		kind request.Kind
		body string
		want Usage
		ok   bool
	}{
		{"chat cached", request.KindChat, `{"usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":8}}}`,
			Usage{InputTokens: 100, CachedInputTokens: 64, OutputTokens: 20, ReasoningTokens: 8}, true},
		{"responses details", request.KindResponses, `{"usage":{"input_tokens":100,"output_tokens":20,"input_tokens_details":{"cached_tokens":64,"cache_write_tokens":10},"output_tokens_details":{"reasoning_tokens":8}}}`,
			Usage{InputTokens: 100, CachedInputTokens: 64, CacheWriteTokens: 10, OutputTokens: 20, ReasoningTokens: 8}, true},
		{"anthropic cache adds up", request.KindMessages, `{"usage":{"input_tokens":10,"cache_read_input_tokens":100,"cache_creation_input_tokens":50,"output_tokens":7}}`,
			Usage{InputTokens: 160, CachedInputTokens: 100, CacheWriteTokens: 50, OutputTokens: 7}, true},
		{"chat kind with input_tokens names", request.KindChat, `{"usage":{"input_tokens":3,"output_tokens":4}}`, Usage{InputTokens: 3, OutputTokens: 4}, true},
		{"float and string counts", request.KindChat, `{"usage":{"prompt_tokens":3.0,"completion_tokens":"4"}}`, Usage{InputTokens: 3, OutputTokens: 4}, true},
		{"negative and huge clamp", request.KindChat, `{"usage":{"prompt_tokens":-5,"completion_tokens":1e300}}`, Usage{OutputTokens: MaxTokens}, true},
		{"odd field types do not hide usage", request.KindChat, `{"choices":"x","usage":{"prompt_tokens":1,"completion_tokens":{"a":1},"total_tokens":[]}}`, Usage{InputTokens: 1}, true},
		// Settlement must not pick one of two readings: encoding/json keeps the last usage,
		// a client or a billing pipeline may keep the first.
		{"repeated usage", request.KindChat, `{"usage":{"prompt_tokens":900,"completion_tokens":900},"usage":{"prompt_tokens":1,"completion_tokens":1}}`, Usage{}, false},
		{"repeated count", request.KindMessages, `{"usage":{"input_tokens":10,"output_tokens":900,"output_tokens":1}}`, Usage{}, false},
		{"usage null", request.KindChat, `{"usage":null}`, Usage{}, false},
		{"usage empty", request.KindChat, `{"usage":{}}`, Usage{}, false},
		{"usage not an object", request.KindChat, `{"usage":5}`, Usage{}, false},
		{"not JSON", request.KindChat, `<html>`, Usage{}, false},
		{"truncated", request.KindMessages, `{"usage":{"input_tokens":5`, Usage{}, false},
		{"empty", request.KindModels, ``, Usage{}, false},
	}
	for _, tc := range tests {
		got, ok := FromJSON(tc.kind, []byte(tc.body))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// stream builds an event stream from (name, data) pairs.
func stream(pairs ...string) []byte {
	var b []byte
	for i := 0; i+1 < len(pairs); i += 2 {
		b = sse.AppendEvent(b, &sse.Event{Name: pairs[i], Data: []byte(pairs[i+1]), Retry: -1})
	}
	return b
}

func byteCount(s string) int { return len(s) }

func TestTapSynthetic(t *testing.T) {
	t.Run("anthropic cut after message_start", func(t *testing.T) {
		tap := tapStream(t, request.KindMessages, stream(
			"message_start", `{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":100,"cache_creation_input_tokens":50,"output_tokens":1}}}`,
			"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello"}}`,
		), 5)
		if u, ok := tap.Usage(); !ok || u.InputTokens != 160 || u.OutputTokens != 1 {
			t.Fatalf("usage so far %+v", u)
		}
		u, reported := tap.Finish(999, byteCount)
		want := Usage{InputTokens: 160, CachedInputTokens: 100, CacheWriteTokens: 50, OutputTokens: 5}
		if reported || u != want || tap.Done() {
			t.Fatalf("got %+v %v", u, reported)
		}
	})
	t.Run("anthropic message_delta repeats input", func(t *testing.T) {
		tap := tapStream(t, request.KindMessages, stream(
			"message_start", `{"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}`,
			"message_delta", `{"type":"message_delta","usage":{"input_tokens":12,"cache_read_input_tokens":3,"output_tokens":40}}`,
			"message_stop", `{"type":"message_stop"}`,
		), 1000)
		if u, reported := tap.Finish(0, byteCount); !reported || u != (Usage{InputTokens: 15, CachedInputTokens: 3, OutputTokens: 40}) || !tap.Done() {
			t.Fatalf("got %+v %v", u, reported)
		}
	})
	t.Run("chat without usage counts text", func(t *testing.T) {
		tap := tapStream(t, request.KindChat, stream(
			"", `{"choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"hmm "}}],"usage":null}`,
			"", `{"choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}`,
			"", `{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}`,
			"", `[DONE]`,
		), 3)
		u, reported := tap.Finish(7, byteCount)
		if reported || u != (Usage{InputTokens: 7, OutputTokens: 8}) || !tap.Done() || tap.Err() != nil {
			t.Fatalf("got %+v %v", u, reported)
		}
	})
	t.Run("anthropic message_delta without message_start", func(t *testing.T) {
		tap := tapStream(t, request.KindMessages, stream(
			"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello"}}`,
			"message_delta", `{"type":"message_delta","usage":{"output_tokens":3}}`,
		), 1000)
		if u, reported := tap.Finish(11, byteCount); reported || u != (Usage{InputTokens: 11, OutputTokens: 3}) {
			t.Fatalf("got %+v %v", u, reported)
		}
	})
	t.Run("usage on the last choice chunk", func(t *testing.T) {
		tap := tapStream(t, request.KindChat, stream(
			"", `{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`,
			"", `{"choices":[],"usage":null}`,
		), 1000)
		if u, reported := tap.Finish(0, byteCount); !reported || u != (Usage{InputTokens: 3, OutputTokens: 1}) || tap.Done() {
			t.Fatalf("got %+v %v", u, reported)
		}
	})
	t.Run("legacy completions", func(t *testing.T) {
		tap := tapStream(t, request.KindCompletions, stream("", `{"choices":[{"text":"ab","index":0}]}`, "", `{"choices":[{"text":"c","index":0}]}`), 1000)
		if got := texts(tap); len(got) != 1 || got[0] != "abc" {
			t.Fatalf("texts %q", got)
		}
	})
	t.Run("error shapes", func(t *testing.T) {
		for _, tc := range []struct {
			kind request.Kind
			in   []byte
			want StreamError
		}{
			{request.KindChat, stream("", `{"error":"backend died"}`), StreamError{Message: "backend died"}},
			{request.KindChat, stream("", `{"error":{"code":500,"message":"x","type":null}}`), StreamError{Code: "500", Message: "x"}},
			{request.KindChat, stream("error", `not json`), StreamError{Message: "not json"}},
			{request.KindResponses, stream("error", `{"type":"error","code":"server_error","message":"boom","param":null}`), StreamError{Code: "server_error", Message: "boom"}},
			{request.KindResponses, stream("response.failed", `{"type":"response.failed","response":{"error":{"code":"rate_limit_exceeded","message":"slow down"}}}`), StreamError{Code: "rate_limit_exceeded", Message: "slow down"}},
			{request.KindResponses, stream("response.failed", `{"type":"response.failed","response":{"error":null}}`), StreamError{Type: "response.failed"}},
			{request.KindMessages, stream("error", `{"type":"error","error":{"type":"api_error","message":"Internal"}}`), StreamError{Type: "api_error", Message: "Internal"}},
		} {
			tap := tapStream(t, tc.kind, tc.in, 1000)
			if tap.Err() == nil || *tap.Err() != tc.want {
				t.Errorf("%q: err %+v, want %+v", tc.in, tap.Err(), tc.want)
			}
			if !strings.HasPrefix(tap.Err().Error(), "upstream stream error") {
				t.Errorf("Error() = %q", tap.Err().Error())
			}
		}
	})
	t.Run("responses deltas", func(t *testing.T) {
		tap := tapStream(t, request.KindResponses, stream(
			"response.reasoning_summary_text.delta", `{"type":"response.reasoning_summary_text.delta","output_index":0,"delta":"plan"}`,
			"response.output_audio.delta", `{"type":"response.output_audio.delta","output_index":1,"delta":"AAAAAAAA"}`,
			"response.refusal.delta", `{"type":"response.refusal.delta","output_index":1,"delta":"no"}`,
			"response.incomplete", `{"type":"response.incomplete","response":{"usage":{"input_tokens":5,"output_tokens":9}}}`,
		), 1000)
		if got := texts(tap); len(got) != 2 || got[0] != "plan" || got[1] != "no" {
			t.Fatalf("texts %q", got)
		}
		if u, reported := tap.Finish(0, byteCount); !reported || u.OutputTokens != 9 || !tap.Done() {
			t.Fatalf("got %+v %v", u, reported)
		}
	})
	t.Run("ignored events", func(t *testing.T) {
		tap := NewTap(request.KindChat)
		tap.Observe(nil)
		tap.Observe(&sse.Event{Empty: true, Raw: []byte(": ping\n\n")})
		tap.Observe(&sse.Event{Data: []byte("plain text")})
		tap.Observe(&sse.Event{Data: []byte(`{"choices":[{"delta":{"content":`)})
		if _, ok := tap.Usage(); ok || tap.Err() != nil || tap.Done() || len(tap.slots) != 0 {
			t.Fatal("state changed")
		}
	})
}

func TestTapTextCap(t *testing.T) {
	chunk := `{"choices":[{"index":0,"delta":{"content":"abcdefghij"}}]}`
	var in []string
	for i := 0; i < 10; i++ {
		in = append(in, "", chunk)
	}
	body := stream(in...)

	// With a counter, text past the cap is counted chunk by chunk.
	tap := NewTap(request.KindChat)
	tap.TextCap = 35
	tap.SetCounter(func(s string) int { return 100 })
	feedAll(t, tap, body)
	if tap.textBytes != 30 {
		t.Fatalf("kept %d bytes", tap.textBytes)
	}
	if u, _ := tap.Finish(0, byteCount); u.OutputTokens != 30+7*100 {
		t.Fatalf("output %d", u.OutputTokens)
	}
	// Without one, it is estimated at the ratio of the kept text.
	tap = NewTap(request.KindChat)
	tap.TextCap = 35
	feedAll(t, tap, body)
	if u, _ := tap.Finish(0, func(s string) int { return len(s) / 2 }); u.OutputTokens != 15+35 {
		t.Fatalf("output %d", u.OutputTokens)
	}
}

func feedAll(t *testing.T, tap *Tap, body []byte) {
	t.Helper()
	var p sse.Parser
	if err := p.Feed(body, func(ev *sse.Event) error { tap.Observe(ev); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestTapSlotsBounded(t *testing.T) {
	tap := NewTap(request.KindMessages)
	var in []string
	for i := 0; i < 2*maxSlots; i++ {
		in = append(in, "content_block_delta", `{"type":"content_block_delta","index":`+strings.Repeat("9", i%9+1)+`,"delta":{"text":"x"}}`)
	}
	for i := 0; i < 2*maxSlots; i++ {
		in = append(in, "content_block_delta", `{"type":"content_block_delta","index":`+strconv.Itoa(i)+`,"delta":{"text":"x"}}`)
	}
	feedAll(t, tap, stream(in...))
	if len(tap.slots) > maxSlots || tap.textBytes != 4*maxSlots {
		t.Fatalf("%d slots, %d bytes", len(tap.slots), tap.textBytes)
	}
}

// TestOutputTextShapes pins the generated text of hand-written bodies of each API (the
// public recordings are checked by the eval build); llm_filter's moderation classifies it.
func TestOutputTextShapes(t *testing.T) {
	for _, tc := range []struct {
		kind request.Kind
		body string
		want string
	}{
		{request.KindChat, `{"choices":[{"message":{"content":"hi","tool_calls":[{"function":{"arguments":"{\"a\":1}"}}]}}]}`, "hi\n{\"a\":1}"},
		{request.KindCompletions, `{"choices":[{"text":"done"}]}`, "done"},
		{request.KindMessages, `{"content":[{"type":"text","text":"yo"},{"type":"thinking","thinking":"hm"}]}`, "yo\nhm"},
		{request.KindResponses, `{"output":[{"type":"message","content":[{"type":"output_text","text":"ok"}]}]}`, "ok"},
		{request.KindChat, `not json`, ""},
	} {
		if got := OutputText(tc.kind, []byte(tc.body)); got != tc.want {
			t.Errorf("%s %s: %q", tc.kind, tc.body, got)
		}
	}
}
