package usage

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

// BenchmarkTap measures parsing plus usage tapping of a chat stream shaped like the
// recordings (about 230 bytes per event).
func BenchmarkTap(b *testing.B) {
	var stream []byte
	for i := 0; i < 5000; i++ {
		stream = fmt.Appendf(stream, `data: {"id":"chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL","object":"chat.completion.chunk","created":1727346168,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"content":" tok%d"},"logprobs":null,"finish_reason":null}]}`+"\n\n", i)
	}
	stream = append(stream, `data: {"choices":[],"usage":{"prompt_tokens":14,"completion_tokens":5000}}`+"\n\ndata: [DONE]\n\n"...)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		tap := NewTap(request.KindChat)
		var p sse.Parser
		if err := p.Feed(stream, func(ev *sse.Event) error { tap.Observe(ev); return nil }); err != nil {
			b.Fatal(err)
		}
		if u, ok := tap.Finish(0, nil); !ok || u.OutputTokens != 5000 {
			b.Fatal(u)
		}
	}
}

// chatReply is a non-streamed chat completion of about 1 KB, as llm_mock answers the
// load harness.
var chatReply = []byte(`{"id":"chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL","object":"chat.completion","created":1727346168,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"` +
	strings.Repeat("The quarterly report shows steady growth in every region while costs stayed flat. ", 10) +
	`","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":210,"completion_tokens":160,"total_tokens":370,"prompt_tokens_details":{"cached_tokens":0}}}`)

// BenchmarkReply is the per-response decode of a JSON reply (usage for llm_rate_limit
// and llm_audit, the text for the audit's digest) in one pass.
func BenchmarkReply(b *testing.B) {
	b.SetBytes(int64(len(chatReply)))
	b.ReportAllocs()
	for b.Loop() {
		if u, ok, text := Reply(request.KindChat, chatReply); !ok || u.OutputTokens != 160 || text == "" {
			b.Fatal(u, ok)
		}
	}
}

// BenchmarkFromJSONAndOutputText is the same work in two passes, as before Reply.
func BenchmarkFromJSONAndOutputText(b *testing.B) {
	b.SetBytes(int64(len(chatReply)))
	b.ReportAllocs()
	for b.Loop() {
		if u, ok := FromJSON(request.KindChat, chatReply); !ok || u.OutputTokens != 160 || OutputText(request.KindChat, chatReply) == "" {
			b.Fatal(u, ok)
		}
	}
}

// BenchmarkDecodeReply is Reply's work done by encoding/json into structs (decodeReply),
// the way Reply did it before the byte walk.
func BenchmarkDecodeReply(b *testing.B) {
	b.SetBytes(int64(len(chatReply)))
	b.ReportAllocs()
	for b.Loop() {
		if u, ok, text := decodeReply(request.KindChat, chatReply); !ok || u.OutputTokens != 160 || text == "" {
			b.Fatal(u, ok)
		}
	}
}
