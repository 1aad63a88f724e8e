package injection

import (
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// benchInputs are ordinary prompt-like prose and code, and inputs that stress the
// detector's worst cases (many tiny tokens and sentences, keyword spam).
func benchInputs() map[string]string {
	parts := []string{
		"Please summarise the following meeting notes and list the action items for the team. ",
		"Bitte fasse die folgenden Notizen zusammen und nenne die nächsten Schritte für das Team. ",
		"Contact jane.doe@example.com or call +1 415 555 0132 about invoice 2024-117. ",
		"config: timeout = 30; retries: 5; host = \"10.0.0.12\"; user_name = \"svc-report\"\n",
		"func add(a, b int) int { return a + b } // ignore the linter warning here\n",
		"The quarterly revenue grew by 12.5% to EUR 1,204,000 according to the report. ",
	}
	var b strings.Builder
	for i := 0; b.Len() < 32<<10; i++ {
		b.WriteString(parts[i%len(parts)])
	}
	rep := func(u string) string { return strings.Repeat(u, (32<<10)/len(u)+1)[:32<<10] }
	return map[string]string{
		"corpus":   b.String()[:32<<10],
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
