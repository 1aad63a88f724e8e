package request

import (
	"strings"
	"testing"
)

// BenchmarkDocumentStart is the framing-line search on a message that frames nothing (the
// common case: every user message of every request pays it), as one long line and as
// lines of ~70 bytes.
func BenchmarkDocumentStart(b *testing.B) {
	sentence := "Please Summarise the quarterly report for the board meeting on Friday. "
	for _, c := range []struct {
		name string
		sep  string
		n    int
	}{{"1KB", " ", 1 << 10}, {"32KB", " ", 32 << 10}, {"1KB-lines", "\n", 1 << 10}, {"32KB-lines", "\n", 32 << 10}} {
		text := strings.Repeat(strings.TrimSpace(sentence)+c.sep, c.n/50+1)[:c.n]
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				if DocumentStart(text) >= 0 {
					b.Fatal("framed")
				}
			}
		})
	}
}
