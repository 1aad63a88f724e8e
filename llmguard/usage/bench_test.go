package usage

import (
	"fmt"
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
