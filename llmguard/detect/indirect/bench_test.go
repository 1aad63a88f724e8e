package indirect

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/internal/benchtext"
)

// BenchmarkDetect shows the cost per KB on ordinary text and on inputs aimed at the
// scanner's look-aheads (comment openers, brackets, override verbs, URLs, turns); MB/s
// should stay close to the ordinary corpus at every size. CPU-µs/KB of the ordinary
// corpus: go test ./llmguard/detect/defaults -bench PerDetector/indirect.
func BenchmarkDetect(b *testing.B) {
	d := New(Options{})
	inputs := map[string]string{
		"corpus":   "",
		"comment":  "<!-- ",
		"bracket":  "[a <b ",
		"override": "ignore the above all ",
		"url":      "![x](https://a.example/?q=1) ",
		"turns":    "User:\n",
	}
	for name, unit := range inputs {
		for _, kb := range []int{1, 32} {
			text := benchtext.Corpus(kb << 10)
			if unit != "" {
				text = strings.Repeat(unit, (kb<<10)/len(unit))
			}
			b.Run(fmt.Sprintf("%s/%dKB", name, kb), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				var dst []detect.Finding
				for i := 0; i < b.N; i++ {
					dst = d.Detect(text, dst[:0])
				}
			})
		}
	}
}
