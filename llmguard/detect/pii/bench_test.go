package pii

import (
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// benchCorpus mirrors the ordinary prompt-like text of the defaults benchmarks.
func benchCorpus(n int) string {
	parts := []string{
		"Please summarise the following meeting notes and list the action items for the team. ",
		"Bitte fasse die folgenden Notizen zusammen und nenne die nächsten Schritte für das Team. ",
		"Contact jane.doe@example.com or call +1 415 555 0132 about invoice 2024-117. ",
		"config: timeout = 30; retries: 5; host = \"10.0.0.12\"; user_name = \"svc-report\"\n",
		"func add(a, b int) int { return a + b } // ignore the linter warning here\n",
		"The quarterly revenue grew by 12.5% to EUR 1,204,000 according to the report. ",
	}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(parts[i%len(parts)])
	}
	return b.String()[:n]
}

// BenchmarkPII runs the detector on ordinary text, on the adversarial units of the
// defaults benchmarks and a few more aimed at the number scanner (each repeated to
// 32 KB), and on a list of phone numbers.
func BenchmarkPII(b *testing.B) {
	inputs := []struct{ name, text string }{
		{"corpus", benchCorpus(32 << 10)},
	}
	for _, u := range []struct{ name, unit string }{
		{"digits", "1 2-3."}, {"colon", "1:"}, {"at", "a@"}, {"zeros", "01 23-45."},
		{"plus", "+1 "}, {"tel", "Tel: 1 2-3."}, {"labels", "Tel: 1234567 "}, {"dots", "12.34.56.78 "}, {"phones", "030 1234567, "},
	} {
		inputs = append(inputs, struct{ name, text string }{u.name, strings.Repeat(u.unit, (32<<10)/len(u.unit)+1)[:32<<10]})
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
