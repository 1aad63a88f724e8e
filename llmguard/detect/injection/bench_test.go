package injection

import (
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/internal/benchtext"
)

// benchInputs are ordinary prompt-like prose and code, and inputs that stress the
// detector's worst cases (many tiny tokens and sentences, keyword spam).
func benchInputs() map[string]string {
	rep := func(u string) string { return benchtext.Repeat(u, 32<<10) }
	return map[string]string{
		"corpus":   benchtext.Corpus(32 << 10),
		"digits":   rep("1 2-3."),
		"colon":    rep("1:"),
		"keywords": rep("ignore previous ignore previous reveal system prompt "),
	}
}

func BenchmarkDetect32KB(b *testing.B) {
	d := New(Options{})
	for name, text := range benchInputs() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			var dst []detect.Finding
			for i := 0; i < b.N; i++ {
				dst = d.Detect(text, dst[:0])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3/32, "µs/KB")
		})
	}
}
