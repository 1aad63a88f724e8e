package defaults

import (
	"fmt"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/internal/benchtext"
)

func BenchmarkDefaultSet(b *testing.B) {
	set, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, kb := range []int{1, 32, 512} {
		text := benchtext.Corpus(kb << 10)
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
			text := benchtext.Repeat(unit, kb<<10)
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
	text := benchtext.Corpus(32 << 10)
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

// BenchmarkUntrustedData is the data detectors' share of a tool result or pasted document
// (Set.DetectData: the indirect-injection detector), on the ordinary corpus and on inputs
// aimed at its look-aheads (comment openers, brackets, override verbs, URLs, fake turns).
func BenchmarkUntrustedData(b *testing.B) {
	set, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
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
				text = benchtext.Repeat(unit, kb<<10)
			}
			b.Run(fmt.Sprintf("%s/%dKB", name, kb), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				var dst []detect.Finding
				c0 := cpuTime()
				for i := 0; i < b.N; i++ {
					dst = set.DetectData(text, 0, len(text), dst[:0])
				}
				report(b, kb, cpuTime()-c0)
			})
		}
	}
}
