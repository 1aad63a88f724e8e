package defaults

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// corpus builds n bytes of mixed prompt-like text: prose (English and German), code with
// assignments, numbers, an e-mail address and an IP now and then, so every scanner path
// is exercised.
func corpus(n int) string {
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

func BenchmarkDefaultSet(b *testing.B) {
	set, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, kb := range []int{1, 32, 512} {
		text := corpus(kb << 10)
		b.Run(fmt.Sprintf("%dKB", kb), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			var dst []detect.Finding
			c0 := cpuTime()
			for i := 0; i < b.N; i++ {
				dst = set.Detect(text, dst[:0])
			}
			report(b, kb, cpuTime()-c0)
		})
	}
}

// report adds wall and CPU microseconds per KB. CPU time includes the GC's work on the
// other core, which a request also pays for.
func report(b *testing.B, kb int, cpu time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3/float64(kb), "µs/KB")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e3/float64(kb), "cpu-µs/KB")
}

// BenchmarkAdversarial feeds inputs designed to hit each scanner's worst case (long runs
// of '@', ':', digits with separators, base64, keyword spam, invisible characters);
// µs/KB should stay close to the ordinary corpus at every size.
func BenchmarkAdversarial(b *testing.B) {
	set, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	inputs := map[string]string{
		"at":       "a@",
		"colon":    "1:",
		"digits":   "1 2-3.",
		"base64":   "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
		"keywords": "ignore previous ignore previous reveal system prompt ",
		"invis":    "a\u200b\u202e",
		"assign":   "password=",
	}
	for name, unit := range inputs {
		for _, kb := range []int{1, 32, 512} {
			text := strings.Repeat(unit, (kb<<10)/len(unit)+1)[:kb<<10]
			for len(text) > 0 && text[len(text)-1] >= 0x80 {
				text = text[:len(text)-1]
			}
			b.Run(fmt.Sprintf("%s/%dKB", name, kb), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				var dst []detect.Finding
				c0 := cpuTime()
				for i := 0; i < b.N; i++ {
					dst = set.Detect(text, dst[:0])
				}
				report(b, kb, cpuTime()-c0)
			})
		}
	}
}

// BenchmarkPerDetector shows where the time goes, at 32 KB.
func BenchmarkPerDetector(b *testing.B) {
	set, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	text := corpus(32 << 10)
	for _, d := range set.Detectors {
		b.Run(d.Name(), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			var dst []detect.Finding
			c0 := cpuTime()
			for i := 0; i < b.N; i++ {
				dst = d.Detect(text, dst[:0])
			}
			report(b, 32, cpuTime()-c0)
		})
	}
}
