package request

import (
	"strings"
	"testing"
)

// BenchmarkDocumentStart is the framing-line search on a message that frames nothing
// (the common case: every user message of every request pays it), one long line.
func BenchmarkDocumentStart(b *testing.B) {
	for _, n := range []int{1 << 10, 32 << 10} {
		text := strings.Repeat("Please Summarise the quarterly report for the board meeting on Friday. ", n/50+1)[:n]
		b.Run(map[int]string{1 << 10: "1KB", 32 << 10: "32KB"}[n], func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if DocumentStart(text) >= 0 {
					b.Fatal("framed")
				}
			}
		})
	}
}
