package pii

import (
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/internal/benchtext"
)

// BenchmarkPII runs the detector on ordinary text, on the adversarial units of the
// defaults benchmarks and a few more aimed at the number scanner (each repeated to
// 32 KB), and on a list of phone numbers.
func BenchmarkPII(b *testing.B) {
	inputs := []struct{ name, text string }{
		{"corpus", benchtext.Corpus(32 << 10)},
	}
	for _, u := range []struct{ name, unit string }{
		{"digits", "1 2-3."}, {"colon", "1:"}, {"at", "a@"}, {"zeros", "01 23-45."},
		{"plus", "+1 "}, {"tel", "Tel: 1 2-3."}, {"labels", "Tel: 1234567 "}, {"dots", "12.34.56.78 "}, {"phones", "030 1234567, "},
	} {
		inputs = append(inputs, struct{ name, text string }{u.name, benchtext.Repeat(u.unit, 32<<10)})
	}
	d := New()
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.text)))
			var dst []detect.Finding
			for i := 0; i < b.N; i++ {
				dst = d.Detect(in.text, dst[:0])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3/32, "µs/KB")
		})
	}
}
