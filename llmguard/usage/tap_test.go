package usage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

// tapStream parses body in chunks of the given size, feeding every event to a new Tap,
// and flushes an unterminated last event, as the gateway does at EOF.
func tapStream(t testing.TB, kind request.Kind, body []byte, chunk int) *Tap {
	t.Helper()
	tap := NewTap(kind)
	var p sse.Parser
	emit := func(ev *sse.Event) error { tap.Observe(ev); return nil }
	for off := 0; off < len(body); off += chunk {
		if err := p.Feed(body[off:min(off+chunk, len(body))], emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(emit); err != nil {
		t.Fatal(err)
	}
	return tap
}

// texts returns the text the tap collected, one string per slot.
func texts(t *Tap) []string {
	var out []string
	for _, s := range t.slots {
		out = append(out, string(s.text))
	}
	return out
}

// mockReply is llm_mock's fixed reply, which the recordings in ../sse/testdata stream.
func mockReply(model string) string {
	return "This is a mock reply from llm_mock for " + model + "; it is a testing aid, not a model."
}

// TestTapOwnStreams reads llm_mock's recorded streams (../sse/testdata; the public provider
// recordings are checked by the eval build): the usage each reports, its end, its
// mid-stream error and the text, fed in odd-sized chunks.
func TestTapOwnStreams(t *testing.T) {
	chat, resp, msgs := request.KindChat, request.KindResponses, request.KindMessages
	tests := []struct {
		file    string
		kind    request.Kind
		usage   Usage
		usageOK bool
		done    bool
		errType string
		text    string
	}{
		{"mock-chat-stream-usage.sse", chat, Usage{InputTokens: 8, OutputTokens: 27}, true, true, "", mockReply("gpt-4o-mini")},
		{"mock-chat-stream-error.sse", chat, Usage{}, false, false, "server_error", ""},
		{"mock-responses-stream.sse", resp, Usage{InputTokens: 8, OutputTokens: 27}, true, true, "", mockReply("gpt-4o-mini")},
		{"mock-messages-stream.sse", msgs, Usage{InputTokens: 10, OutputTokens: 36}, true, true, "", mockReply("claude-sonnet-4-5")},
		{"mock-messages-stream-error.sse", msgs, Usage{InputTokens: 10, OutputTokens: 1}, true, false, "overloaded_error", ""},
	}
	for _, tc := range tests {
		body, err := os.ReadFile(filepath.Join("..", "sse", "testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, chunk := range []int{1, 7, len(body)} {
			tap := tapStream(t, tc.kind, body, chunk)
			u, ok := tap.Usage()
			if u != tc.usage || ok != tc.usageOK || tap.Done() != tc.done {
				t.Errorf("%s/%d: usage %+v %v, done %v", tc.file, chunk, u, ok, tap.Done())
			}
			if e := tap.Err(); (e == nil) != (tc.errType == "") || (e != nil && e.Type != tc.errType) {
				t.Errorf("%s/%d: stream error %+v, want type %q", tc.file, chunk, e, tc.errType)
			}
			if tc.text != "" && strings.Join(texts(tap), "") != tc.text {
				t.Errorf("%s/%d: text %q", tc.file, chunk, texts(tap))
			}
		}
	}
}
