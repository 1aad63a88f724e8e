package llmhttp

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLoad: reading and parsing a chat request once per request (what llm_auth alone
// costs beyond the key check), with allocations.
func BenchmarkLoad(b *testing.B) {
	for _, size := range []int{1 << 10, 32 << 10} {
		text := strings.Repeat("the report on quarterly sales shows growth ", size/43)
		body := `{"model":"gpt-4o-mini","max_tokens":256,"messages":[{"role":"user","content":"` + text + `"}]}`
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r, _ := newRequest("POST", "/v1/chat/completions", "application/json", body)
				if _, _, e := Load(r, 0); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}
