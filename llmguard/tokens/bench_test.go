package tokens

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

const prose = `The gateway parses each request once, counts its tokens, and decides what may pass. ` +
	`Kunden erwarten, dass ihre Daten geschützt bleiben — auch wenn ein Modell antwortet. ` +
	`Errors are JSON; streams are never buffered whole; budgets are reserved before the call, 2024-11-28. `

// chatBody builds a chat request of about size bytes: alternating user and assistant
// messages of prose, with a system prompt, as a long conversation looks.
func chatBody(size int) []byte {
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	msgs := []msg{{"system", "You are a helpful assistant."}}
	total := 100
	for i := 0; total < size; i++ {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		n := 1 + i%4
		c := strings.Repeat(prose, n)
		msgs = append(msgs, msg{role, c})
		total += len(c) + 30
	}
	b, _ := json.Marshal(map[string]any{"model": "gpt-4o-mini", "messages": msgs, "stream": true})
	return b
}

// BenchmarkParseAndCount is the per-request cost of the request model: parse the body
// and count its prompt tokens, as every llm_* handler chain does once per request.
func BenchmarkParseAndCount(b *testing.B) {
	m, err := ForModel("gpt-4o-mini")
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{1 << 10, 32 << 10, 512 << 10} {
		body := chatBody(size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := request.Parse(request.KindChat, body)
				if err != nil {
					b.Fatal(err)
				}
				if m.Prompt(r) == 0 {
					b.Fatal("no tokens")
				}
			}
		})
	}
}

// BenchmarkParse is the parse alone, to show how the cost divides.
func BenchmarkParse(b *testing.B) {
	for _, size := range []int{1 << 10, 32 << 10, 512 << 10} {
		body := chatBody(size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := request.Parse(request.KindChat, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
