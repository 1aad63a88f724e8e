package filter

import (
	"runtime"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

// benchEvents renders ~1 MB of generated text as chat events of 16 bytes each, parsed
// once, so the benchmark measures the filter, not the SSE parser.
func benchEvents(b *testing.B) (events []*sse.Event, textBytes int) {
	text := strings.Repeat(corpus+" ", 1<<20/len(corpus))
	var chunks []string
	for i := 0; i < len(text); i += 16 {
		chunks = append(chunks, text[i:min(i+16, len(text))])
	}
	var p sse.Parser
	_ = p.Feed([]byte(chatStream(chunks)), func(ev *sse.Event) error {
		events = append(events, ev.Clone())
		return nil
	})
	return events, len(text)
}

// BenchmarkStreamThroughput: MB/s of generated text through the stream filter with the
// default detectors and window.
func BenchmarkStreamThroughput(b *testing.B) {
	events, n := benchEvents(b)
	p := testPolicy(b)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		s := NewStream(p, request.KindChat)
		for _, ev := range events {
			s.Event(ev, ev.Raw)
		}
		s.Close()
	}
}

// BenchmarkStreamMemory reports the heap held by one in-flight stream (after 8 KiB of
// text, mid-lane) beyond its window, averaged over 200 concurrent streams.
func BenchmarkStreamMemory(b *testing.B) {
	events, _ := benchEvents(b)
	events = events[:1+8<<10/16]
	p := testPolicy(b)
	const n = 200
	for b.Loop() {
		streams := make([]*Stream, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range streams {
			streams[i] = NewStream(p, request.KindChat)
			for _, ev := range events {
				streams[i].Event(ev, ev.Raw)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/stream")
		b.ReportMetric(float64(streams[0].MaxHeld()), "held-B/stream")
		runtime.KeepAlive(streams)
	}
}

// BenchmarkJSONReply: a clean ~1 KB chat completion reply (the load harness's shape)
// through the JSON filter with the default detectors; it is passed through as sent.
func BenchmarkJSONReply(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-mock","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("The quarterly report shows steady growth in every region while costs stayed flat. ", 10) +
		`","refusal":null},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":230,"completion_tokens":160,"total_tokens":390,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp_mock"}`)
	p := testPolicy(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, blocked, err := p.JSON(request.KindChat, body, &Report{}); err != nil || blocked {
			b.Fatal(err, blocked)
		}
	}
}
