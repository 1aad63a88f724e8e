package sse

import (
	"fmt"
	"testing"
)

// syntheticOpenAIStream builds a chat completions stream of n content chunks shaped like
// the recordings (about 230 bytes per event), delivered in reads of readSize bytes.
func syntheticOpenAIStream(n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		b = fmt.Appendf(b, `data: {"id":"chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL","object":"chat.completion.chunk","created":1727346168,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":{"content":" tok%d"},"logprobs":null,"finish_reason":null}]}`+"\n\n", i)
	}
	return append(b, "data: [DONE]\n\n"...)
}

func BenchmarkParser(b *testing.B) {
	stream := syntheticOpenAIStream(20000)
	for _, readSize := range []int{1 << 20, 4096, 512} {
		b.Run(fmt.Sprintf("read=%d", readSize), func(b *testing.B) {
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			var p Parser
			events := 0
			emit := func(*Event) error { events++; return nil }
			for b.Loop() {
				p.Reset()
				for off := 0; off < len(stream); off += readSize {
					end := min(off+readSize, len(stream))
					if err := p.Feed(stream[off:end], emit); err != nil {
						b.Fatal(err)
					}
				}
			}
			if events == 0 {
				b.Fatal("no events")
			}
		})
	}
}
